"""What users write means what DuckDB means: the dialect changes nothing on the way.

Statements are read as StackQL's SQLite-flavoured SQL (``json_extract`` gives text, as
StackQL's docs rely on) but run in DuckDB, so DuckDB's own syntax must survive the reading.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import oktaql


@pytest.mark.parametrize(
    ("sql", "want"),
    [
        # sqlglot kept only '1 day' of the text: a wrong answer, silently
        ("SELECT INTERVAL '1 day 02:03:04.5'", dt.timedelta(days=1, seconds=7384.5)),
        ("SELECT INTERVAL '90' DAY", dt.timedelta(days=90)),
        ("SELECT INTERVAL 90 DAY", dt.timedelta(days=90)),
        ("SELECT INTERVAL '2 hours'", dt.timedelta(hours=2)),
        # SQLite reads [...] as a quoted name
        ("SELECT [1, 2, NULL]", [1, 2, None]),
        # DuckDB's lists are 1-based; SQLite's reading shifted the index
        ("SELECT ([10, 20, 30])[1]", 10),
        ("SELECT ([10, 20, 30])[2:3]", [20, 30]),
        # strftime keeps its arguments in the order written (DuckDB takes both)
        ("SELECT strftime(TIMESTAMPTZ '2024-01-02 03:04:00Z', '%H:%M')", "03:04"),
        ("SELECT strftime('%H:%M', TIMESTAMPTZ '2024-01-02 03:04:00Z')", "03:04"),
        # StackQL's docs: json_extract gives the value as text
        ("""SELECT json_extract('{"a": "x"}', '$.a')""", "x"),
    ],
)
def test_duckdb_syntax_keeps_its_meaning(sql: str, want: Any) -> None:
    cur = oktaql.connect().cursor()
    cur.execute(sql)
    assert cur.fetchall() == [(want,)]


def test_backquoted_and_double_quoted_names_still_name_columns() -> None:
    cur = oktaql.connect(org_url="https://acme.okta.com").cursor()
    cur.execute("EXPLAIN SELECT `id` FROM okta.apps.tokens WHERE \"appId\" = 'a'")
    assert cur.fetchone()[4] == "https://acme.okta.com/api/v1/apps/a/tokens?limit=200"
