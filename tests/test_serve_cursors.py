"""Server-side cursors through oktaql serve: psycopg's named cursors, SQLAlchemy's
stream_results, and DECLARE/FETCH/CLOSE by hand, against the emulated org over real HTTP.

A cursor's query runs once, at DECLARE; FETCH reads on: a streamed listing pages from the API
only as far as the client has fetched (counted at the emulator's request log).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import oktaql
from oktaql._settings import Settings
from oktaql.emulator import EmulatorConfig, RunningEmulator
from oktaql.emulator import start_in_thread as start_emulator
from oktaql.serve import RunningServer, ServeConfig, start_in_thread

TOKEN = "test-token"
USERS = "SELECT id, status FROM okta.users.users"


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(token=TOKEN, users=450)) as emu:
        yield emu


@pytest.fixture(scope="module")
def server(org: RunningEmulator) -> Iterator[RunningServer]:
    settings = Settings.of(org_url=org.url, token=TOKEN, db=":memory:")
    with start_in_thread(settings, ServeConfig(port=0)) as running:
        yield running


def _dsn(srv: RunningServer) -> str:
    return f"host=127.0.0.1 port={srv.port} dbname=okta user=analyst"


def _direct(org: RunningEmulator, sql: str) -> list[tuple[Any, ...]]:
    with oktaql.connect(org_url=org.url, token=TOKEN) as conn:
        return conn.execute(sql).fetchall()


def _user_pages(org: RunningEmulator) -> int:
    return sum(
        1 for m, p, *_ in list(org.request_log) if m == "GET" and p.split("?")[0] == "/api/v1/users"
    )


def test_named_cursor_streams_pages_as_far_as_fetched(
    server: RunningServer, org: RunningEmulator
) -> None:
    before = _user_pages(org)
    want = _direct(org, USERS)
    pages = _user_pages(org) - before
    assert len(want) > 400 and pages >= 3  # the listing takes several pages
    with psycopg.connect(_dsn(server)) as conn:  # a transaction, as named cursors need
        before = _user_pages(org)
        with conn.cursor(name="users_c") as cur:
            cur.execute(USERS)
            assert [d.name for d in cur.description or []] == ["id", "status"]
            first = cur.fetchmany(10)
            assert first == want[:10]
            assert _user_pages(org) - before == 1  # one page read: nothing past what was fetched
            assert cur.fetchone() == want[10]
            rest = cur.fetchall()
        assert first + [want[10]] + rest == want
        assert _user_pages(org) - before == pages  # the whole listing, read once
        conn.commit()


def test_named_cursor_itersize_over_a_join(server: RunningServer, org: RunningEmulator) -> None:
    sql = (
        "SELECT a.label, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t "
        "ON t.appId = a.id ORDER BY a.label, t.id"
    )
    want = _direct(org, sql)
    assert len(want) > 7
    with psycopg.connect(_dsn(server)) as conn:
        cur = conn.cursor(name="joined")
        cur.itersize = 7  # FETCH FORWARD 7, again and again
        cur.execute(sql)
        assert list(cur) == want
        cur.close()
        conn.commit()


def test_sqlalchemy_stream_results(server: RunningServer, org: RunningEmulator) -> None:
    import sqlalchemy

    want = _direct(org, USERS + " ORDER BY id")
    engine = sqlalchemy.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{server.port}/okta")
    try:
        with engine.connect() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=50).execute(
                sqlalchemy.text(USERS + " ORDER BY id")
            )
            got = [tuple(r) for part in result.partitions(100) for r in part]
        assert got == want
    finally:
        engine.dispose()


def test_declare_fetch_move_close_by_hand(server: RunningServer, org: RunningEmulator) -> None:
    want = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id")
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        conn.execute("BEGIN")
        declared = conn.execute(
            "DECLARE apps_c CURSOR FOR SELECT id FROM okta.apps.applications ORDER BY id"
        )
        assert declared.statusmessage == "DECLARE CURSOR"
        cur = conn.execute("FETCH 2 FROM apps_c")
        assert cur.fetchall() == want[:2] and cur.statusmessage == "FETCH 2"
        assert conn.execute("MOVE FORWARD 1 IN apps_c").statusmessage == "MOVE 1"
        assert conn.execute("FETCH NEXT FROM apps_c").fetchall() == want[3:4]
        assert conn.execute("FETCH ALL FROM apps_c").fetchall() == want[4:]
        assert conn.execute("FETCH 5 FROM apps_c").fetchall() == []  # at the end: no rows
        # declared without SCROLL: forward only, as PostgreSQL refuses it
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="scan forward"):
            conn.execute("FETCH BACKWARD 1 FROM apps_c")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("DECLARE apps_c CURSOR FOR SELECT id FROM okta.apps.applications")
        assert conn.execute("CLOSE apps_c").statusmessage == "CLOSE CURSOR"
        with pytest.raises(psycopg.errors.InvalidCursorName, match='cursor "apps_c" does not'):
            conn.execute("FETCH 1 FROM apps_c")
        conn.execute("ROLLBACK")
        # a cursor ends with its transaction, unless WITH HOLD
        conn.execute("BEGIN")
        conn.execute("DECLARE gone CURSOR FOR SELECT 1 AS one")
        conn.execute("DECLARE kept CURSOR WITH HOLD FOR SELECT 2 AS two")
        conn.execute("COMMIT")
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("FETCH 1 FROM gone")
        assert conn.execute("FETCH 1 FROM kept").fetchall() == [(2,)]
        conn.execute("CLOSE ALL")


_DESCRIBE_FETCH = """
import json, sys
import psycopg

conn = psycopg.connect(sys.argv[1])
pg = conn.pgconn
pg.exec_(b"BEGIN")
pg.exec_(b"DECLARE apps_c CURSOR FOR SELECT id, label, created FROM okta.apps.applications ORDER BY id")
assert pg.prepare(b"f", b"FETCH 3 FROM apps_c").status == psycopg.pq.ExecStatus.COMMAND_OK
desc = pg.describe_prepared(b"f")
res = pg.exec_prepared(b"f", [])
print(json.dumps({
    "columns": [[desc.fname(i).decode(), desc.ftype(i)] for i in range(desc.nfields)],
    "rows": [res.get_value(i, 0).decode() for i in range(res.ntuples)],
    "status": res.command_status.decode(),
}))
"""


def test_describe_of_a_fetch_answers_its_cursor_s_columns(
    server: RunningServer, org: RunningEmulator
) -> None:
    """pgx and JDBC describe a statement before they run it: a prepared FETCH's columns are
    its cursor's. (libpq's blocking calls run in a process of their own.)"""
    import json
    import subprocess
    import sys

    want = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id LIMIT 3")
    done = subprocess.run(
        [sys.executable, "-c", _DESCRIBE_FETCH, _dsn(server)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got == {
        "columns": [["id", 25], ["label", 25], ["created", 1184]],
        "rows": [r[0] for r in want],
        "status": "FETCH 3",
    }


def test_scroll_cursor_reads_pages_only_as_far_as_it_moves(
    server: RunningServer, org: RunningEmulator
) -> None:
    want = _direct(org, USERS)
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        conn.execute("BEGIN")
        before = _user_pages(org)
        conn.execute(f"DECLARE s SCROLL CURSOR FOR {USERS}")
        assert conn.execute("FETCH 10 FROM s").fetchall() == want[:10]
        assert _user_pages(org) - before == 1
        # back over the rows it keeps: no request
        assert conn.execute("FETCH BACKWARD 3 FROM s").fetchall() == want[8:5:-1]
        assert conn.execute("FETCH ABSOLUTE 2 FROM s").fetchall() == want[1:2]
        assert _user_pages(org) - before == 1
        last = conn.execute("FETCH LAST FROM s")
        assert last.fetchall() == want[-1:] and last.statusmessage == "FETCH 1"
        pages = _user_pages(org) - before
        assert pages >= 3
        moved = conn.execute("MOVE BACKWARD ALL FROM s")
        assert moved.statusmessage == f"MOVE {len(want) - 1}"
        assert conn.execute("FETCH ALL FROM s").fetchall() == want
        assert _user_pages(org) - before == pages  # the listing was read once
        conn.execute("COMMIT")
