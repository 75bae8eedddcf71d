"""Output formats: hostile API data stays visible text, every DuckDB type has one JSON form, and a
read that fails part way leaves an honest output (json complete or absent, a note on stderr)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import oktaql
from oktaql import output
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.shell import Shell, format_row

# a window title change, a screen clear, a C1 CSI (U+009B), a right-to-left override
HOSTILE_FIRST = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eexe.txt"
HOSTILE_LAST = "x\nerror: spoofed line\r[bold]Evil[/x]"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


def _create_user(emu: RunningEmulator, first: str, last: str, login: str) -> str:
    body = {"profile": {"firstName": first, "lastName": last, "email": login, "login": login}}
    r = httpx.post(
        f"{emu.url}/api/v1/users?activate=false",
        json=body,
        headers={"Authorization": f"SSWS {emu.config.token}"},
    )
    assert r.status_code == 200, r.text
    user_id: str = r.json()["id"]
    return user_id


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[RunningEmulator, str]]:
    """An org with one user whose names hold terminal escapes, put there through Okta's API."""
    with start_in_thread(EmulatorConfig(token="test-token", users=3, groups=1)) as emu:
        yield emu, _create_user(emu, HOSTILE_FIRST, HOSTILE_LAST, "evil@example.com")


def _exec(emu: RunningEmulator, *args: str) -> Any:
    return CliRunner().invoke(
        main,
        ["exec", "--org-url", emu.url, "--db", ":memory:", "--max-retries", "0", *args],
        env={"OKTA_API_TOKEN": emu.config.token},
    )


# one through DuckDB (->> gives VARCHAR), one streamed straight from the API
QUERIES = [
    "SELECT id, profile->>'$.firstName' AS first, profile->>'$.lastName' AS last "
    "FROM okta.users.users WHERE profile->>'$.login' = 'evil@example.com'",
    "SELECT id, profile FROM okta.users.users",
]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
@pytest.mark.parametrize("sql", QUERIES)
def test_control_characters_from_the_api_are_shown_not_sent(
    hostile: tuple[RunningEmulator, str], fmt: str, sql: str
) -> None:
    emu, user_id = hostile
    res = _exec(emu, "-o", fmt, sql)
    assert res.exit_code == 0, res.output
    assert user_id in res.stdout
    for raw in RAW:
        assert raw not in res.stdout, (fmt, repr(raw))
    shown = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eexe.txt"
    if "profile->>" in sql:
        assert shown in res.stdout
        if fmt != "csv":  # a newline in a cell is shown, so it cannot start a line of its own
            assert "x\\nerror: spoofed line\\r[bold]Evil[/x]" in res.stdout
            assert not any(line.startswith("error") for line in res.stdout.splitlines())
        else:  # csv quotes the newline; the carriage return is shown
            rows = list(csv.reader(io.StringIO(res.stdout)))
            assert rows[1] == [user_id, shown, "x\nerror: spoofed line\\r[bold]Evil[/x]"]
    elif fmt != "table":  # the JSON text of the profile: JSON escapes C0, oktaql the rest
        assert "\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u202eexe.txt" in res.stdout
    else:  # a table shortens wide JSON
        assert '"firstName":"\\u001b]' in res.stdout


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
@pytest.mark.parametrize("sql", QUERIES)
def test_json_keeps_the_exact_data_escaped_by_json(
    hostile: tuple[RunningEmulator, str], fmt: str, sql: str
) -> None:
    emu, user_id = hostile
    res = _exec(emu, "-o", fmt, sql)
    assert res.exit_code == 0, res.output
    for raw in RAW:
        assert raw not in res.stdout, (fmt, repr(raw))
    rows = (
        json.loads(res.stdout) if fmt == "json" else list(map(json.loads, res.stdout.splitlines()))
    )
    (row,) = [r for r in rows if r["id"] == user_id]
    if "profile->>" in sql:
        assert (row["first"], row["last"]) == (HOSTILE_FIRST, HOSTILE_LAST)
    else:
        assert row["profile"]["firstName"] == HOSTILE_FIRST
        assert row["profile"]["lastName"] == HOSTILE_LAST


def test_an_error_quoting_api_data_is_shown_not_sent(hostile: tuple[RunningEmulator, str]) -> None:
    emu, _ = hostile
    # DuckDB's conversion error quotes the value it could not convert: the hostile name
    res = _exec(
        emu,
        "SELECT CAST(profile->>'$.firstName' AS INTEGER) FROM okta.users.users "
        "WHERE profile->>'$.login' = 'evil@example.com'",
    )
    assert res.exit_code == 1
    assert res.stderr.startswith("error: ")
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eexe.txt" in res.stderr
    for raw in RAW:
        assert raw not in res.stderr, repr(raw)


def test_the_shell_shows_rows_errors_and_a_row_in_full_visibly(
    hostile: tuple[RunningEmulator, str],
) -> None:
    emu, user_id = hostile
    out = io.StringIO()
    sh = Shell({"org_url": emu.url, "token": emu.config.token}, stdout=out, width=200)
    sh.connect()
    try:
        assert sh.run_statement(QUERIES[0])
        assert sh.meta(".show 1")
        assert not sh.run_statement(
            "SELECT CAST(profile->>'$.firstName' AS INTEGER) FROM okta.users.users "
            "WHERE profile->>'$.login' = 'evil@example.com'"
        )
        assert sh.run_statement(QUERIES[1] + f" WHERE id = '{user_id}'")
        assert sh.meta(".show 1")
    finally:
        sh.close()
    text = out.getvalue()
    for raw in RAW:
        assert raw not in text, repr(raw)
    assert (
        text.count("\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202eexe.txt") == 3
    )  # table, .show, error
    assert "first: \\x1b]0;pwned" in text  # .show 1
    assert not any(line.startswith("error: spoofed") for line in text.splitlines())


def test_format_row_shows_control_characters() -> None:
    text = format_row(["a", "b"], ("\x1b[2J\n", {"k": "\x9b\u202e"}))
    assert text == 'a: \\x1b[2J\\n\nb: {\n     "k": "\\u009b\\u202e"\n   }'


@pytest.mark.parametrize(
    ("text", "cell", "lines"),
    [
        ("plain ünïcode ✓ 👩‍💻 \\ back\\slash", "plain ünïcode ✓ 👩‍💻 \\ back\\slash", None),
        ("\x00\x1b\x7f", "\\x00\\x1b\\x7f", None),
        ("a\tb\nc\rd", "a\\tb\\nc\\rd", "a\tb\nc\\rd"),
        ("\x85\x9b\x9f", "\\x85\\x9b\\x9f", None),
        ("\u061c\u200e\u200f\u202a\u202e\u2066\u2069\u2028\u2029", "\\u061c\\u200e\\u200f"
         "\\u202a\\u202e\\u2066\\u2069\\u2028\\u2029", None),
    ],
)  # fmt: skip
def test_visible(text: str, cell: str, lines: str | None) -> None:
    assert output.visible(text) == cell
    assert output.visible(text, lines=True) == (cell if lines is None else lines)


def test_rich_markup_in_data_is_text() -> None:
    buf = io.StringIO()
    output.write("table", ["[b]h[/b]"], [("[bold]x[/bold] [/oops]",)], buf, width=80)
    assert "[bold]x[/bold] [/oops]" in buf.getvalue() and "[b]h[/b]" in buf.getvalue()


# --- one JSON form per DuckDB type -----------------------------------------------------------

# (literal lists are written list_value(...): oktaql's parser reads [1, 2] as a quoted name)
JSON_FORMS = [
    ("INTERVAL 1 MONTH", '"P30D"'),  # DuckDB's timedelta: a month is 30 days
    (
        "INTERVAL 1 DAY + INTERVAL 2 HOUR + INTERVAL 3 MINUTE + INTERVAL 4500 MILLISECOND",
        '"P1DT2H3M4.5S"',
    ),
    ("INTERVAL 90 MINUTE", '"PT1H30M"'),
    ("to_microseconds(1)", '"PT0.000001S"'),
    ("INTERVAL 0 SECOND", '"PT0S"'),
    ("-INTERVAL 1 SECOND", '"-PT1S"'),
    ("-(INTERVAL 3 DAY + INTERVAL 1 HOUR)", '"-P3DT1H"'),
    ("1.23::DECIMAL(10,2)", "1.23"),
    ("1.20::DECIMAL(10,2)", "1.20"),
    ("-0.5::DECIMAL(4,3)", "-0.500"),
    ("12345678901234567890.1234567890::DECIMAL(38,10)", "12345678901234567890.1234567890"),
    ("list_value(1.5::DECIMAL(3,1), NULL)", "[1.5, null]"),
    ("{'d': 2.25::DECIMAL(4,2), 'i': INTERVAL 1 HOUR}", '{"d": 2.25, "i": "PT1H"}'),
    ("'5b0c6a3e-1e7e-4b1a-9f3c-1d2e3f4a5b6c'::UUID", '"5b0c6a3e-1e7e-4b1a-9f3c-1d2e3f4a5b6c"'),
    ("'ab\\x00\\xFF'::BLOB", '"YWIA/w=="'),  # base64
    ("170141183460469231731687303715884105727::HUGEINT", "170141183460469231731687303715884105727"),
    (
        "-170141183460469231731687303715884105727::HUGEINT",
        "-170141183460469231731687303715884105727",
    ),
    ("18446744073709551615::UBIGINT", "18446744073709551615"),
    ("42::TINYINT", "42"),
    ("2.5::DOUBLE", "2.5"),
    ("2.5::REAL", "2.5"),
    ("'nan'::DOUBLE", '"NaN"'),
    ("'inf'::DOUBLE", '"Infinity"'),
    ("'-inf'::FLOAT", '"-Infinity"'),
    ("true", "true"),
    ("NULL", "null"),
    ("'text'", '"text"'),
    ("TIME '12:34:56.5'", '"12:34:56.500"'),
    ("TIME '12:34:56.123456'", '"12:34:56.123456"'),
    ("'12:34:56+05:30'::TIMETZ", '"12:34:56.000+05:30"'),
    ("DATE '2024-02-29'", '"2024-02-29"'),
    ("TIMESTAMPTZ '2024-01-01 00:00:00Z'", '"2024-01-01T00:00:00.000Z"'),
    ("TIMESTAMPTZ '2024-01-01 09:00:00+09:00'", '"2024-01-01T00:00:00.000Z"'),  # UTC session
    ("TIMESTAMP '2024-01-01 00:00:00.123456'", '"2024-01-01T00:00:00.123456"'),  # no zone
    ("'2024-01-01 00:00:00.123456789'::TIMESTAMP_NS", '"2024-01-01T00:00:00.123456"'),
    ("'2024-01-01'::TIMESTAMP_S", '"2024-01-01T00:00:00.000"'),
    ("list_value(1, 2, NULL)", "[1, 2, null]"),
    ("array_value(1, 2)", "[1, 2]"),  # ARRAY (fixed size): a tuple in Python
    ("list_value(list_value(DATE '2024-01-01'), list_value())", '[["2024-01-01"], []]'),
    (
        "{'a': 1, 'b': list_value(1.5::DOUBLE), 'c': {'d': NULL}}",
        '{"a": 1, "b": [1.5], "c": {"d": null}}',
    ),
    ("MAP {1: 'x', 2: 'y'}", '{"1": "x", "2": "y"}'),
    ("MAP {DATE '2024-01-01': INTERVAL 2 DAY}", '{"2024-01-01": "P2D"}'),
    ("MAP {}::MAP(VARCHAR, INTEGER)", "{}"),
    ('\'{"a": [1, {"b": null}]}\'::JSON', '{"a": [1, {"b": null}]}'),
    ("'a'::ENUM('a', 'b')", '"a"'),
    ("union_value(k := 2)", "2"),
    ("'101'::BIT", '"101"'),
    ("'a\u202eb\x9b'", '"a\\u202eb\\u009b"'),  # exact once decoded; no raw control
    ("'\x1b'", '"\\u001b"'),
]


@pytest.mark.parametrize(("expr", "want"), JSON_FORMS)
def test_every_duckdb_type_has_one_json_form(expr: str, want: str) -> None:
    cur = oktaql.connect().cursor()
    cur.execute(f"SELECT {expr} AS v")
    rows = cur.fetchall()
    for fmt, expected in (("jsonl", f'{{"v": {want}}}\n'), ("json", f'[\n  {{"v": {want}}}\n]\n')):
        buf = io.StringIO()
        assert output.write(fmt, ["v"], rows, buf) == 1
        assert buf.getvalue() == expected
        assert json.loads(buf.getvalue())  # valid JSON, whatever the type
    assert json.loads(want) == json.loads(output.json_text(rows[0][0]))


@pytest.mark.parametrize(
    ("expr", "want"),
    [
        ("INTERVAL 1 DAY + INTERVAL 4500 MILLISECOND", "P1DT4.5S"),
        ("1.20::DECIMAL(10,2)", "1.20"),
        ("'ab\\x00\\xFF\\x5C'::BLOB", "ab\\x00\\xFF\\x5C"),  # as DuckDB shows a BLOB
        ("TIMESTAMPTZ '2024-01-01 00:00:00Z'", "2024-01-01T00:00:00.000Z"),
        ("'nan'::DOUBLE", "NaN"),
        ("{'d': 2.25::DECIMAL(4,2)}", '{"d":2.25}'),
        ("MAP {1: 'x'}", '{"1":"x"}'),
        ("true", "true"),
        ("NULL", ""),
    ],
)
def test_csv_shows_the_same_scalar_text(expr: str, want: str) -> None:
    cur = oktaql.connect().cursor()
    cur.execute(f"SELECT {expr} AS v")
    buf = io.StringIO()
    output.write("csv", ["v"], cur.fetchall(), buf)
    assert list(csv.reader(io.StringIO(buf.getvalue()))) == [["v"], [want]]


def test_json_and_jsonl_of_an_interval_through_the_cli(emulator: Any) -> None:
    sql = (
        "SELECT id, age(TIMESTAMPTZ '2030-01-01 00:00:00Z', lastMembershipUpdated) AS a, "
        "lastMembershipUpdated - lastMembershipUpdated AS zero FROM okta.groups.groups ORDER BY id"
    )
    groups = sorted(emulator.org.groups, key=lambda g: g["id"])
    for fmt in ("json", "jsonl"):
        res = _exec(emulator, "-o", fmt, sql)
        assert res.exit_code == 0, res.output
        out = res.stdout
        rows = json.loads(out) if fmt == "json" else list(map(json.loads, out.splitlines()))
        assert [r["id"] for r in rows] == [g["id"] for g in groups]
        assert all(re.fullmatch(r"P\d+D(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?", r["a"]) for r in rows)
        assert {r["zero"] for r in rows} == {"PT0S"}


# --- a read that fails part way ---------------------------------------------------------------


@pytest.fixture
def fails_on_page_two() -> Iterator[tuple[RunningEmulator, str, int]]:
    """An app with 12 tokens read 5 a page; the emulator's fault injection answers every
    request for a later page (``after=``) with 503, so a read fails on page 2."""
    cfg = EmulatorConfig(
        token="test-token", apps=1, tokens_per_app=12, fault_rate=1.0, fault_kinds=("503",)
    )
    with start_in_thread(cfg) as emu:
        chaos = emu.app.state.chaos
        chaos._draw = lambda method, target: "503" if "after=" in target else None
        yield emu, emu.org.oidc_apps[0]["id"], 5


STREAMED = "SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = {page}"


@pytest.mark.parametrize(("fmt", "lines_out"), [("csv", 1 + 5), ("jsonl", 5), ("markdown", 2 + 5)])
def test_a_failed_stream_says_how_many_rows_were_written(
    fails_on_page_two: tuple[RunningEmulator, str, int], fmt: str, lines_out: int
) -> None:
    emu, app, page = fails_on_page_two
    res = _exec(emu, "-o", fmt, STREAMED.format(app=app, page=page))
    assert res.exit_code == 1
    assert len(res.stdout.splitlines()) == lines_out  # page 1, as far as it went
    ids = emu.org.token_ids(app)[:page]
    assert all(i in res.stdout for i in ids)
    err = res.stderr.splitlines()
    assert err[0].startswith("error: ") and "503" in err[0]
    assert err[-1] == "5 rows written before the error"
    assert [t for m, t, _ in emu.request_log if "after=" in t]  # page 2 was asked for


@pytest.mark.parametrize("sql_tail", ["", " ORDER BY id"])  # streamed, and through DuckDB
@pytest.mark.parametrize("fmt", ["json", "table"])
def test_json_and_table_are_complete_or_absent(
    fails_on_page_two: tuple[RunningEmulator, str, int], fmt: str, sql_tail: str
) -> None:
    emu, app, page = fails_on_page_two
    res = _exec(emu, "-o", fmt, STREAMED.format(app=app, page=page) + sql_tail)
    assert res.exit_code == 1
    assert res.stdout == ""  # no half array, no half table
    assert res.stderr.startswith("error: ") and "503" in res.stderr
    if not sql_tail:  # the output had begun when page 2 failed
        assert res.stderr.splitlines()[-1] == "0 rows written before the error"


def test_a_complete_read_has_no_note(fails_on_page_two: tuple[RunningEmulator, str, int]) -> None:
    emu, app, _ = fails_on_page_two
    res = _exec(emu, "-o", "json", STREAMED.format(app=app, page=50))  # one page: no fault
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in json.loads(res.stdout)] == emu.org.token_ids(app)
    assert res.stderr == ""


def test_write_counts_rows_up_to_the_failure() -> None:
    def rows() -> Iterator[tuple[int]]:
        yield (1,)
        yield (2,)
        raise oktaql.OperationalError("cut")

    for fmt, text in (("jsonl", '{"n": 1}\n{"n": 2}\n'), ("csv", "n\n1\n2\n"), ("json", "")):
        buf, written = io.StringIO(), output.Written()
        with pytest.raises(oktaql.OperationalError):
            output.write(fmt, ["n"], rows(), buf, written=written)
        assert (buf.getvalue(), written.rows) == (text, 0 if fmt == "json" else 2)
