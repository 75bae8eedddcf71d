"""An empty SET (StackQL's docs write ``SET -- No updatable properties``) is an Update with no
assignments: the planner sends the call with no body fields, and no placeholder column exists
anywhere between the parser and the request."""

from __future__ import annotations

import json

import pytest

import oktaql
from oktaql.parser import Update, parse

SQL = [
    "REPLACE okta.apps.applications SET -- No updatable properties\nWHERE appId = '0oa1'",
    "REPLACE okta.apps.applications SET\nWHERE appId = '0oa1'",
    "replace okta.apps.applications set where appId = '0oa1'",
]


@pytest.mark.parametrize("sql", SQL)
def test_an_empty_set_is_an_update_without_assignments(sql: str) -> None:
    stmt = parse(sql)
    assert isinstance(stmt, Update) and stmt.replace
    assert stmt.ast.expressions == []
    cur = oktaql.connect(org_url="https://acme.okta.com").cursor()
    cur.execute("EXPLAIN " + sql)
    rows = cur.fetchall()
    assert [(r[2], r[3], r[4], json.loads(r[6])) for r in rows] == [
        ("replace_application", "PUT", "https://acme.okta.com/api/v1/apps/0oa1", {})
    ]
