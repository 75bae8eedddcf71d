"""Clear errors for the mistakes a new user makes first: each names what is wrong and the fix."""

from __future__ import annotations

import pytest

import oktaql

ORG = "https://acme.okta.com"


def _error(sql: str) -> oktaql.Error:
    cur = oktaql.connect(org_url=ORG).cursor()
    with pytest.raises(oktaql.Error) as err:
        cur.execute("EXPLAIN " + sql)
    return err.value


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            'SELECT id FROM okta.apps.tokens WHERE appId = "0oa1abc"',
            'okta.apps.tokens: SELECT needs appId; "0oa1abc" is a name in SQL (double quotes '
            "name columns): write a value in single quotes, '0oa1abc'",
        ),
        (
            'SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = "0oa1"',
            'okta.apps.tokens: SELECT needs appId; "0oa1" is a name in SQL (double quotes '
            "name columns): write a value in single quotes, '0oa1'",
        ),
        (
            "SELECT id FROM okta.apps.tokens WHERE appId IN (\"a\", 'b')",
            'okta.apps.tokens: SELECT needs appId; "a" is a name in SQL (double quotes '
            "name columns): write a value in single quotes, 'a'",
        ),
    ],
)
def test_double_quoted_values_say_what_double_quotes_mean(sql: str, message: str) -> None:
    err = _error(sql)
    assert isinstance(err, oktaql.ProgrammingError)
    assert str(err) == message


def test_double_quoted_value_in_delete_gets_the_same_hint() -> None:
    err = _error("DELETE FROM okta.apps.tokens WHERE appId = \"0oa1\" AND tokenId = 'x'")
    assert str(err).endswith(
        '"0oa1" is a name in SQL (double quotes name columns): write a value in single '
        "quotes, '0oa1'"
    )


def test_a_quoted_header_name_gets_no_hint() -> None:
    # StackQL's docs write header names bare: they are quoted names compared to a value
    cur = oktaql.connect(org_url=ORG).cursor()
    cur.execute("EXPLAIN SELECT id FROM okta.apps.tokens WHERE \"appId\" = 'a'")
    assert cur.fetchone()[4] == f"{ORG}/api/v1/apps/a/tokens?limit=200"


@pytest.mark.parametrize(
    ("sql", "line", "col", "caret"),
    [
        ("SELECT id FROM okta.apps.tokens WHERE appId = '0oa1abc", 1, 47, " " * 46 + "^"),
        (
            "SELECT id FROM okta.apps.tokens\nWHERE appId = 'x' AND status = 'ACTIVE",
            2,
            32,
            " " * 31 + "^",
        ),
        ("SELECT 'it''s", 1, 8, " " * 7 + "^"),
        ('SELECT "label FROM okta.apps.applications', 1, 8, " " * 7 + "^"),
    ],
)
def test_unterminated_string_points_at_its_opening_quote(
    sql: str, line: int, col: int, caret: str
) -> None:
    cur = oktaql.connect(org_url=ORG).cursor()
    with pytest.raises(oktaql.Error) as raised:
        cur.execute(sql)
    err = raised.value
    assert isinstance(err, oktaql.SQLSyntaxError)
    assert (err.line, err.col) == (line, col)  # type: ignore[attr-defined]
    first, shown, marker = str(err).splitlines()
    kind = "string" if sql.count("'") % 2 else "quoted name"
    quote = "'" if kind == "string" else '"'
    assert first == (
        f"unterminated {kind}: the {quote} opened here is never closed (line {line}, column {col})"
    )
    assert shown.strip() == sql.splitlines()[line - 1].strip()
    assert marker.rstrip() == "  " + caret


def test_a_closed_string_with_doubled_quotes_parses() -> None:
    cur = oktaql.connect(org_url=ORG).cursor()
    cur.execute("SELECT 'it''s', '--not a comment'")
    assert cur.fetchall() == [("it's", "--not a comment")]
