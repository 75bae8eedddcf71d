"""Scrollable cursors through oktaql serve: DECLARE ... SCROLL CURSOR, FETCH / MOVE in every
direction PostgreSQL has, with its positions (before the first row, after the last) and its
command tags, and NO SCROLL cursors refusing to go back with its error.

The same script runs against a real PostgreSQL (the ``postgres_url`` fixture) when one can be
started: every answer (tag and rows, or SQLSTATE) must be the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import oktaql
from oktaql._settings import Settings
from oktaql.emulator import EmulatorConfig, RunningEmulator
from oktaql.emulator import start_in_thread as start_emulator
from oktaql.serve import RunningServer, ServeConfig, start_in_thread
from oktaql.serve._cursors import Fetch, parse

TOKEN = "test-token"
FIVE = "SELECT n FROM (VALUES (1), (2), (3), (4), (5)) AS t(n) ORDER BY n"
EMPTY = "SELECT n FROM (VALUES (1)) AS t(n) WHERE n > 1"

# each: a command and what it answers, as (tag, rows); the position it leaves is the next's
SCRIPT: list[tuple[str, str, list[int]]] = [
    ("FETCH NEXT FROM c", "FETCH 1", [1]),
    ("FETCH c", "FETCH 1", [2]),
    ("FETCH PRIOR FROM c", "FETCH 1", [1]),
    ("FETCH PRIOR FROM c", "FETCH 0", []),  # before the first row now
    ("FETCH PRIOR FROM c", "FETCH 0", []),
    ("FETCH NEXT FROM c", "FETCH 1", [1]),
    ("FETCH LAST FROM c", "FETCH 1", [5]),
    ("FETCH NEXT FROM c", "FETCH 0", []),  # after the last
    ("FETCH NEXT FROM c", "FETCH 0", []),
    ("FETCH PRIOR FROM c", "FETCH 1", [5]),
    ("FETCH FIRST FROM c", "FETCH 1", [1]),
    ("FETCH ABSOLUTE 3 FROM c", "FETCH 1", [3]),
    ("FETCH ABSOLUTE -2 FROM c", "FETCH 1", [4]),
    ("FETCH ABSOLUTE 9 FROM c", "FETCH 0", []),
    ("FETCH PRIOR FROM c", "FETCH 1", [5]),
    ("FETCH ABSOLUTE -9 FROM c", "FETCH 0", []),
    ("FETCH NEXT FROM c", "FETCH 1", [1]),
    ("FETCH ABSOLUTE 0 FROM c", "FETCH 0", []),
    ("FETCH RELATIVE 2 FROM c", "FETCH 1", [2]),
    ("FETCH RELATIVE 0 FROM c", "FETCH 1", [2]),  # the current row again
    ("FETCH RELATIVE -1 FROM c", "FETCH 1", [1]),
    ("FETCH RELATIVE 3 FROM c", "FETCH 1", [4]),
    ("FETCH RELATIVE 5 FROM c", "FETCH 0", []),
    ("FETCH RELATIVE -2 FROM c", "FETCH 1", [4]),
    ("FETCH FORWARD 3 FROM c", "FETCH 1", [5]),
    ("FETCH BACKWARD 2 FROM c", "FETCH 2", [5, 4]),
    ("FETCH BACKWARD ALL FROM c", "FETCH 3", [3, 2, 1]),
    ("FETCH FORWARD ALL FROM c", "FETCH 5", [1, 2, 3, 4, 5]),
    ("FETCH BACKWARD 0 FROM c", "FETCH 0", []),  # after the last: no current row
    ("FETCH -2 FROM c", "FETCH 2", [5, 4]),
    ("FETCH 0 FROM c", "FETCH 1", [4]),
    ("FETCH FORWARD -1 FROM c", "FETCH 1", [3]),
    ("FETCH BACKWARD -2 FROM c", "FETCH 2", [4, 5]),
    ("FETCH ALL FROM c", "FETCH 0", []),
    ("MOVE BACKWARD 2 FROM c", "MOVE 2", []),
    ("FETCH NEXT FROM c", "FETCH 1", [5]),
    ("MOVE ABSOLUTE 2 FROM c", "MOVE 1", []),
    ("FETCH NEXT FROM c", "FETCH 1", [3]),
    ("MOVE 0 FROM c", "MOVE 1", []),
    ("MOVE RELATIVE -1 FROM c", "MOVE 1", []),
    ("FETCH NEXT IN c", "FETCH 1", [3]),
    ("MOVE FORWARD ALL FROM c", "MOVE 2", []),
    ("MOVE 0 FROM c", "MOVE 0", []),
    ("MOVE BACKWARD ALL FROM c", "MOVE 5", []),
    ("FETCH 2 FROM c", "FETCH 2", [1, 2]),
    ("MOVE BACKWARD ALL FROM c", "MOVE 1", []),
    ("MOVE LAST FROM c", "MOVE 1", []),
    ("MOVE NEXT FROM c", "MOVE 0", []),
    ("MOVE ABSOLUTE -9 FROM c", "MOVE 0", []),
    ("MOVE 99 FROM c", "MOVE 5", []),
    ("FETCH PRIOR c", "FETCH 1", [5]),
]

# a NO SCROLL cursor (and one declared without either word): each line declares it afresh,
# runs the moves, then the last command, which must answer the tag or fail with 55000
NO_SCROLL: list[tuple[list[str], str, str | None]] = [
    ([], "FETCH ABSOLUTE 1 FROM c", "FETCH 1"),  # not moved yet: no rewind needed
    ([], "FETCH ALL FROM c", "FETCH 5"),
    (["FETCH 2 FROM c"], "FETCH ABSOLUTE 4 FROM c", "FETCH 1"),  # forward from row 2
    (["FETCH 2 FROM c"], "MOVE RELATIVE 2 FROM c", "MOVE 1"),
    (["FETCH 2 FROM c"], "MOVE 0 FROM c", "MOVE 1"),
    ([], "FETCH PRIOR FROM c", None),
    (["FETCH 2 FROM c"], "FETCH PRIOR FROM c", None),
    (["FETCH 2 FROM c"], "FETCH FIRST FROM c", None),
    (["FETCH 2 FROM c"], "FETCH RELATIVE 0 FROM c", None),
    (["FETCH 2 FROM c"], "FETCH ABSOLUTE 2 FROM c", None),
    (["FETCH 1 FROM c"], "FETCH LAST FROM c", None),  # last, then back one
    (["FETCH 3 FROM c"], "MOVE BACKWARD ALL FROM c", None),
    (["FETCH 3 FROM c"], "FETCH -1 FROM c", None),
]


def _answer(cur: psycopg.Cursor[Any], sql: str) -> tuple[str, list[int]]:
    cur.execute(sql)
    rows = [r[0] for r in cur.fetchall()] if cur.description else []
    return cur.statusmessage or "", rows


def _run_script(conn: psycopg.Connection[Any], query: str) -> list[tuple[str, str, list[int]]]:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"DECLARE c SCROLL CURSOR FOR {query}")
        assert cur.statusmessage == "DECLARE CURSOR"
        return [(sql, *_answer(cur, sql)) for sql, _, _ in SCRIPT]


def _run_no_scroll(conn: psycopg.Connection[Any], how: str) -> list[str | None]:
    out: list[str | None] = []
    for moves, last, _ in NO_SCROLL:
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.execute(f"DECLARE c {how}CURSOR FOR {FIVE}")
                for sql in moves:
                    cur.execute(sql)
                out.append(_answer(cur, last)[0])
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:
            assert str(exc).startswith("cursor can only scan forward"), exc
            assert exc.diag.message_hint == "Declare it with SCROLL option to enable backward scan."
            out.append(None)
    return out


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(token=TOKEN, users=30)) as emu:
        yield emu


@pytest.fixture(scope="module")
def server(org: RunningEmulator) -> Iterator[RunningServer]:
    settings = Settings.of(org_url=org.url, token=TOKEN, db=":memory:")
    with start_in_thread(settings, ServeConfig(port=0)) as running:
        yield running


@pytest.fixture()
def conn(server: RunningServer) -> Iterator[psycopg.Connection[Any]]:
    dsn = f"host=127.0.0.1 port={server.port} dbname=okta user=analyst"
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


def test_fetch_and_move_parse_every_direction() -> None:
    assert parse("FETCH c") == Fetch("c", "forward", 1, False)
    assert parse("fetch prior from c") == Fetch("c", "backward", 1, False)
    assert parse("FETCH FIRST c") == Fetch("c", "absolute", 1, False)
    assert parse("FETCH LAST IN c;") == Fetch("c", "absolute", -1, False)
    assert parse("MOVE ABSOLUTE - 3 FROM c") == Fetch("c", "absolute", -3, True)
    assert parse("MOVE RELATIVE +2 FROM c") == Fetch("c", "relative", 2, True)
    assert parse("FETCH -4 FROM c") == Fetch("c", "backward", 4, False)
    assert parse("FETCH BACKWARD -4 FROM c") == Fetch("c", "forward", 4, False)
    assert parse('FETCH BACKWARD ALL FROM "My c"') == Fetch("My c", "backward", None, False)
    assert parse("FETCH ALL c") == Fetch("c", "forward", None, False)
    assert parse("FETCH next") == Fetch("next", "forward", 1, False)  # a cursor named next


def test_scroll_cursor_moves_as_postgres_does(conn: psycopg.Connection[Any]) -> None:
    got = _run_script(conn, FIVE)
    assert got == SCRIPT


def test_scroll_cursor_over_no_rows(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction(), conn.cursor() as cur:
        cur.execute(f"DECLARE e SCROLL CURSOR FOR {EMPTY}")
        assert _answer(cur, "FETCH NEXT FROM e") == ("FETCH 0", [])
        assert _answer(cur, "FETCH PRIOR FROM e") == ("FETCH 0", [])
        assert _answer(cur, "MOVE LAST FROM e") == ("MOVE 0", [])
        assert _answer(cur, "MOVE BACKWARD ALL FROM e") == ("MOVE 0", [])


def test_no_scroll_cursor_refuses_going_back(conn: psycopg.Connection[Any]) -> None:
    want = [tag for _, _, tag in NO_SCROLL]
    assert _run_no_scroll(conn, "NO SCROLL ") == want
    assert _run_no_scroll(conn, "") == want  # oktaql's default: forward only
    # the connection goes on after the refusals
    assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_same_answers_as_postgres(conn: psycopg.Connection[Any], postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as real:
        assert _run_script(real, FIVE) == _run_script(conn, FIVE) == SCRIPT
        assert _run_no_scroll(real, "NO SCROLL ") == _run_no_scroll(conn, "NO SCROLL ")
        with real.transaction(), real.cursor() as cur:
            cur.execute(f"DECLARE e SCROLL CURSOR FOR {EMPTY}")
            assert _answer(cur, "MOVE LAST FROM e") == ("MOVE 0", [])
            assert _answer(cur, "MOVE BACKWARD ALL FROM e") == ("MOVE 0", [])


def test_psycopg_scrollable_named_cursor(
    conn: psycopg.Connection[Any], org: RunningEmulator
) -> None:
    sql = "SELECT id FROM okta.users.users ORDER BY id"
    with oktaql.connect(org_url=org.url, token=TOKEN) as direct:
        want = [r[0] for r in direct.execute(sql).fetchall()]
    assert len(want) > 20
    with conn.transaction(), conn.cursor(name="users_s", scrollable=True) as cur:
        cur.execute(sql)
        assert [r[0] for r in cur.fetchmany(3)] == want[:3]
        cur.scroll(-2)  # back to the first row
        assert cur.fetchone() == (want[1],)
        cur.scroll(10, mode="absolute")
        assert cur.fetchone() == (want[10],)
        cur.scroll(0, mode="absolute")
        assert [r[0] for r in cur.fetchall()] == want
        cur.scroll(-1)
        assert cur.fetchone() is None  # after the last row again
        cur.scroll(5, mode="absolute")
        assert [r[0] for r in cur.fetchmany(2)] == want[5:7]
    with conn.transaction(), conn.cursor(name="users_ns", scrollable=False) as cur:
        cur.execute(sql)
        assert cur.fetchone() == (want[0],)
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            cur.scroll(-1)


def test_psql_scroll_cursor(server: RunningServer) -> None:
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    script = (
        f"BEGIN;\nDECLARE c SCROLL CURSOR FOR {FIVE};\nFETCH LAST FROM c;\nMOVE BACKWARD 3 IN c;"
        "\nFETCH PRIOR FROM c;\nFETCH ABSOLUTE -1 FROM c;\nMOVE FORWARD ALL FROM c;\nCOMMIT;\n"
    )
    args = [psql, "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(server.port), "-U", "analyst"]
    done = subprocess.run(
        [*args, "-d", "okta", "-v", "ON_ERROR_STOP=1"],
        input=script, capture_output=True, text=True, timeout=60, env=dict(os.environ),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == [
        "BEGIN", "DECLARE CURSOR", "5", "MOVE 3", "1", "5", "MOVE 0", "COMMIT", "",
    ]  # fmt: skip


def test_scroll_cursor_keeps_a_bounded_number_of_rows() -> None:
    from oktaql.serve._cursors import Position
    from oktaql.serve._engine import StatementError

    position = Position(iter([(1,), (2,), (3,), (4,)]), scroll=True, limit=3)
    assert list(position.fetch("forward", 3, False)) == [(1,), (2,), (3,)]
    assert position.fetch("backward", 1, False) == [(2,)]
    with pytest.raises(StatementError) as raised:
        position.fetch("absolute", -1, True)  # would keep the fourth row
    assert raised.value.sqlstate == "54000" and "at most 3 rows" in raised.value.message
    # a NO SCROLL cursor keeps nothing: any number of rows, read once
    forward = Position(iter((n,) for n in range(10_000)), scroll=False, limit=3)
    assert forward.fetch("forward", None, True) == 10_000 and forward.kept == []
