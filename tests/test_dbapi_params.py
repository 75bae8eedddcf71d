"""DB-API parameters (PEP 249): ``:name`` with a mapping, ``?`` with a sequence, bound as literals.

Requests are counted at the emulator: a bound value reaches Okta as exactly one path segment,
and a statement refused for its parameters sends nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

TOKEN = "params-token-5Tq9"


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(seed=3, apps=3, tokens_per_app=3, token=TOKEN)) as e:
        yield e


@pytest.fixture
def conn(emu: RunningEmulator) -> Iterator[oktaql.Connection]:
    with oktaql.connect(org_url=emu.url, token=TOKEN) as c:
        emu.reset_log()
        yield c


def paths(emu: RunningEmulator) -> list[tuple[str, str]]:
    return [(method, target) for method, target, _ in emu.request_log]


def test_named_parameter_binds(emu: RunningEmulator, conn: oktaql.Connection) -> None:
    app = emu.org.oidc_apps[0]["id"]
    cur = conn.cursor()
    cur.execute("SELECT id FROM okta.apps.tokens WHERE appId = :app ORDER BY id", {"app": app})
    assert [r[0] for r in cur.fetchall()] == sorted(emu.org.token_ids(app))
    assert [p for _, p in paths(emu)] == [f"/api/v1/apps/{app}/tokens?limit=200"]


def test_qmark_parameters_bind_in_order(emu: RunningEmulator, conn: oktaql.Connection) -> None:
    app = emu.org.oidc_apps[1]["id"]
    token = emu.org.token_ids(app)[1]
    cur = conn.cursor()
    cur.execute("SELECT id FROM okta.apps.tokens WHERE appId = ? AND tokenId = ?", (app, token))
    assert cur.fetchall() == [(token,)]
    assert [p for _, p in paths(emu)] == [f"/api/v1/apps/{app}/tokens/{token}"]


@pytest.mark.parametrize(
    "value", ["x' OR '1'='1", "../users", "a/b?c=d#e", "0oa1' --", "{{ other }}", ":app", "?"]
)
def test_a_bound_value_is_one_path_segment(
    emu: RunningEmulator, conn: oktaql.Connection, value: str
) -> None:
    cases: list[tuple[str, Any]] = [
        ("SELECT id FROM okta.apps.tokens WHERE appId = ?", [value]),
        ("SELECT id FROM okta.apps.tokens WHERE appId = :app", {"app": value}),
    ]
    for sql, params in cases:
        emu.reset_log()
        with pytest.raises(oktaql.APIError) as err:
            conn.cursor().execute(sql, params).fetchall()
        assert err.value.status == 404
        assert [p for _, p in paths(emu)] == [
            f"/api/v1/apps/{quote(value, safe='')}/tokens?limit=200"
        ]


def test_markers_in_strings_comments_and_casts_are_not_parameters(
    conn: oktaql.Connection,
) -> None:
    sql = (
        "SELECT ':app' AS a, '?' AS b, \"?\" AS c, 2::INTEGER AS d, ? AS e -- :app ?\n"
        'FROM (SELECT 1 AS "?") /* ? :app */'
    )
    cur = conn.cursor()
    cur.execute(sql, ["it's -- ok"])
    assert cur.fetchall() == [(":app", "?", 1, 2, "it's -- ok")]
    cur.execute(sql.replace("? AS e", ":e AS e"), {"e": "x", "app": "never"})
    assert cur.fetchall() == [(":app", "?", 1, 2, "x")]


def test_struct_keys_and_slices_are_not_parameters() -> None:
    from oktaql.templates import PARAMETERS, render

    sql = "SELECT {'k':v}, l[1:n], :p FROM t"  # DuckDB's struct and slice syntax
    assert render(sql, {PARAMETERS: {"p": 1, "v": 2, "n": 3}}) == "SELECT {'k':v}, l[1:n], 1 FROM t"


def test_values_keep_their_python_type(conn: oktaql.Connection) -> None:
    cur = conn.cursor()
    values = [
        "12",
        12,
        -1.5,
        Decimal("-1E+2"),
        True,
        None,
        dt.date(2024, 1, 5),
        {"a": ["b'c"]},
        "{{ x }}",
    ]
    cur.execute("SELECT " + ", ".join("?" for _ in values), values)
    assert cur.fetchall() == [
        ("12", 12, -1.5, -100, True, None, "2024-01-05", '{"a": ["b\'c"]}', "{{ x }}")
    ]


def test_templates_and_named_parameters_share_the_mapping(conn: oktaql.Connection) -> None:
    cur = conn.cursor()
    cur.execute("SELECT '{{ n }}' AS t, :n AS p, {{ n }} AS b", {"n": "12"})
    assert cur.fetchall() == [("12", "12", 12)]  # a template reads "12" as a number; :n keeps str


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        (
            "SELECT id FROM okta.apps.tokens WHERE appId = ?",
            ["a", "b"],
            "the statement has 1 ? parameter(s) but 2 value(s) were given",
        ),
        ("SELECT id FROM okta.apps.tokens WHERE appId = ?", [], "has 1 ? parameter(s) but 0"),
        ("SELECT 1", ["a"], "the statement has 0 ? parameter(s) but 1 value(s) were given"),
        (
            "SELECT id FROM okta.apps.tokens WHERE appId = :app",
            {"ap": "x"},
            "parameter :app has no value: add 'app' to the parameters",
        ),
        (
            "SELECT id FROM okta.apps.tokens WHERE appId = ?",
            {"app": "x"},
            "the statement has 1 ? parameter(s) but a mapping was given",
        ),
        (
            "SELECT id FROM okta.apps.tokens WHERE appId = :app",
            ["x"],
            "the statement has :app but a sequence was given",
        ),
        ("SELECT ?, :a", {"a": 1}, "the statement mixes ? and :name parameters"),
        ("SELECT ?1", [1], "numbered parameters (?1, ?2) are not supported"),
        ("SELECT ?", "ab", "parameters must be a mapping (for :name and {{ name }}) or a sequence"),
        ("SELECT ?", b"a", "or a sequence (for ?), not bytes"),
        ("SELECT ?", 5, "or a sequence (for ?), not int"),
        ("SELECT ?", {1}, "or a sequence (for ?), not set"),
        ("SELECT :a", {1: "x"}, "parameter names must be strings, not int (1)"),
        ("SELECT ?", [b"x"], "parameter ?1 is a bytes: bind str, int, float"),
        ("SELECT ?", [object()], "parameter ?1 is a object"),
        ("SELECT ?", [float("inf")], "parameter ?1 is inf, not a finite number"),
        ("SELECT ?", [{"a": float("nan")}], "parameter ?1 cannot be sent as JSON"),
    ],
)
def test_parameter_mistakes_are_programming_errors_and_send_nothing(
    emu: RunningEmulator, conn: oktaql.Connection, sql: str, params: Any, message: str
) -> None:
    with pytest.raises(oktaql.ProgrammingError) as err:
        conn.cursor().execute(sql, params)
    assert message in str(err.value)
    assert emu.request_log == []


def test_executemany_runs_each_set(emu: RunningEmulator, conn: oktaql.Connection) -> None:
    app = emu.org.oidc_apps[0]["id"]
    first, second, kept = emu.org.token_ids(app)
    cur = conn.cursor()
    cur.executemany(
        "DELETE FROM okta.apps.tokens WHERE appId = ? AND tokenId = ?",
        [(app, first), [app, second]],
    )
    assert cur.rowcount == 2
    assert emu.org.token_ids(app) == [kept]
    assert paths(emu) == [
        ("DELETE", f"/api/v1/apps/{app}/tokens/{first}"),
        ("DELETE", f"/api/v1/apps/{app}/tokens/{second}"),
    ]
    emu.reset_log()
    conn.executemany(
        "DELETE FROM okta.apps.tokens WHERE appId = :a AND tokenId = :t", [{"a": app, "t": kept}]
    )
    assert emu.org.token_ids(app) == []
    assert paths(emu) == [("DELETE", f"/api/v1/apps/{app}/tokens/{kept}")]


@pytest.mark.parametrize("seq", ["ab", {"a": 1}, 5])
def test_executemany_needs_a_sequence_of_sets(
    emu: RunningEmulator, conn: oktaql.Connection, seq: Any
) -> None:
    with pytest.raises(oktaql.ProgrammingError, match="executemany takes a sequence of parameter"):
        conn.cursor().executemany("SELECT ?", seq)
    assert emu.request_log == []


def test_executemany_stops_at_the_first_bad_set(
    emu: RunningEmulator, conn: oktaql.Connection
) -> None:
    app = emu.org.oidc_apps[0]["id"]
    first = emu.org.token_ids(app)[0]
    with pytest.raises(oktaql.ProgrammingError, match=re.escape("has 2 ? parameter(s) but 1")):
        conn.cursor().executemany(
            "DELETE FROM okta.apps.tokens WHERE appId = ? AND tokenId = ?",
            [(app, first), (app,)],
        )
    assert paths(emu) == [("DELETE", f"/api/v1/apps/{app}/tokens/{first}")]
