"""A connection's cursors over a long life: closed ones are let go, and the scratch tables of
one dropped without close() are freed by the next statement (a dashboard's connection through
`oktaql serve` runs statements for days)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

import oktaql
from oktaql.errors import InterfaceError

JOIN = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"


def _scratch_tables(conn: oktaql.Connection) -> list[str]:
    rows = conn.session.duck.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'oktaql_scratch'"
    ).fetchall()
    return sorted(r[0] for r in rows)


def test_closed_cursors_are_not_kept_by_the_connection(emulator: Any) -> None:
    with oktaql.connect(org_url=emulator.url, token="test-token") as conn:
        refs = []
        for _ in range(50):
            cur = conn.cursor()
            cur.execute("SELECT id FROM okta.apps.applications LIMIT 1").fetchall()
            cur.close()
            refs.append(weakref.ref(cur))
        del cur
        gc.collect()
        assert [r for r in refs if r() is not None] == []


def test_a_cursor_dropped_unclosed_has_its_scratch_tables_freed_by_the_next_statement(
    emulator: Any,
) -> None:
    with oktaql.connect(org_url=emulator.url, token="test-token") as conn:
        cur = conn.cursor()
        cur.execute(JOIN)
        assert cur.fetchone() is not None  # rows still to come: its tables stay meanwhile
        held = _scratch_tables(conn)
        assert len(held) == 2  # the apps and the tokens
        del cur
        gc.collect()
        assert _scratch_tables(conn) == held  # nothing is dropped from the collector
        rows = conn.cursor().execute("SELECT 1 AS one").fetchall()
        assert rows == [(1,)]
        assert _scratch_tables(conn) == []


def test_closing_the_connection_closes_its_open_cursors(emulator: Any) -> None:
    conn = oktaql.connect(org_url=emulator.url, token="test-token")
    cur = conn.cursor()
    cur.execute(JOIN)
    conn.close()
    with pytest.raises(InterfaceError, match="the cursor is closed"):
        cur.fetchall()
