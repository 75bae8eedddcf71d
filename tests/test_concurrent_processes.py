"""Several oktaql processes (and sessions) on one database file at once.

Real processes against the emulator running in this test process: plain API queries never open
the file, readers share it, and a writer waits for the others, saying so, then gives up
clearly. The process holding the file is plain DuckDB, as another oktaql statement holds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import oktaql

TIMEOUT = 120  # two cores shared by many processes: startup alone can take seconds

_HOLDER = """
import duckdb, sys
db = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read")
print("holding", flush=True)
sys.stdin.readline()  # until the test says so
db.close()
print("released", flush=True)
"""


def _oktaql(emu: Any, db: Path, sql: str) -> subprocess.Popen[str]:
    """``oktaql exec`` in a process of its own, on the emulator and ``db``."""
    env = {**os.environ, "OKTA_API_TOKEN": emu.config.token}
    return subprocess.Popen(
        [
            sys.executable, "-c", "from oktaql.cli import main; main()",
            "exec", "--org-url", emu.url, "--db", str(db), "-o", "json", sql,
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
        env=env,
    )  # fmt: skip


def _finish(proc: subprocess.Popen[str]) -> tuple[int, list[Any], str]:
    """Exit status, the JSON arrays printed (one per statement), stderr."""
    out, err = proc.communicate(timeout=TIMEOUT)
    decoder, arrays, pos = json.JSONDecoder(), [], 0
    while out[pos:].strip():
        pos += len(out[pos:]) - len(out[pos:].lstrip())
        value, pos = decoder.raw_decode(out, pos)
        arrays.append(value)
    return proc.returncode, arrays, err


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Any]:
    """Start a process that keeps the file open ("read" or "write") until released."""
    procs: list[subprocess.Popen[str]] = []

    def start(db: Path, mode: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, str(db), mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "released"


def _tokens_per_label(emu: Any) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for app in emu.org.apps:
        n = emu.org.token_count(app["id"]) if app in emu.org.oidc_apps else 0
        if n:
            counts[app["label"]] = counts.get(app["label"], 0) + n
    return [{"label": k, "n": v} for k, v in sorted(counts.items())]


# a join that fans out, ORDER BY and GROUP BY (DuckDB runs it), and a streamed query
PLAIN = (
    "SELECT a.label, count(t.id) AS n FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id GROUP BY a.label ORDER BY a.label; "
    "SELECT id FROM okta.apps.applications"
)


def _check_plain(emu: Any, result: tuple[int, list[Any], str]) -> None:
    code, arrays, err = result
    assert (code, err) == (0, "")
    assert arrays[0] == _tokens_per_label(emu)
    assert sorted(r["id"] for r in arrays[1]) == sorted(a["id"] for a in emu.org.apps)


def test_plain_api_queries_at_once_never_create_the_file(emulator: Any, tmp_path: Path) -> None:
    db = tmp_path / "data" / "oktaql.duckdb"
    first, second = _oktaql(emulator, db, PLAIN), _oktaql(emulator, db, PLAIN)
    _check_plain(emulator, _finish(first))
    _check_plain(emulator, _finish(second))
    assert not db.parent.exists()  # neither the file nor its folder


def test_plain_api_queries_run_while_another_process_writes_the_file(
    emulator: Any, tmp_path: Path, holder: Any
) -> None:
    db = tmp_path / "state.duckdb"
    holder(db, "write")
    start = time.monotonic()
    first, second = _oktaql(emulator, db, PLAIN), _oktaql(emulator, db, PLAIN)
    _check_plain(emulator, _finish(first))  # no "waiting for" on stderr either
    _check_plain(emulator, _finish(second))
    assert time.monotonic() - start < 60


@pytest.fixture
def local_objects(emulator: Any, tmp_path: Path) -> Path:
    """A file with a view over the API, a materialized view and a user table."""
    db = tmp_path / "state.duckdb"
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token, db=str(db))
    cur = conn.cursor()
    cur.execute("CREATE VIEW labels AS SELECT label FROM okta.apps.applications")
    cur.execute("CREATE MATERIALIZED VIEW apps_mv AS SELECT id, status FROM okta.apps.applications")
    cur.execute("CREATE TABLE notes AS SELECT 'watch' AS note")
    conn.close()
    return db


READ = (
    "SELECT label FROM labels ORDER BY label; "
    "SELECT count(*) AS n FROM apps_mv; "
    "SELECT n.note, count(*) AS apps FROM notes n, okta.apps.applications a GROUP BY n.note"
)


def _check_read(emu: Any, result: tuple[int, list[Any], str]) -> None:
    code, arrays, err = result
    assert (code, err) == (0, "")
    apps = emu.org.apps
    assert arrays == [
        [{"label": label} for label in sorted(a["label"] for a in apps)],
        [{"n": len(apps)}],
        [{"note": "watch", "apps": len(apps)}],
    ]


def test_two_readers_at_once_while_a_third_reads(
    emulator: Any, local_objects: Path, holder: Any
) -> None:
    holder(local_objects, "read")  # a reader holds the file: readers share it
    first, second = _oktaql(emulator, local_objects, READ), _oktaql(emulator, local_objects, READ)
    _check_read(emulator, _finish(first))
    _check_read(emulator, _finish(second))


def test_writer_waits_for_a_writer_then_says_what_to_do(
    emulator: Any, tmp_path: Path, holder: Any
) -> None:
    db = tmp_path / "busy.duckdb"
    holder(db, "write")
    start = time.monotonic()
    code, arrays, err = _finish(_oktaql(emulator, db, "CREATE TABLE t (a INTEGER)"))
    assert time.monotonic() - start >= 5
    assert (code, arrays) == (1, [])
    assert err.splitlines()[0] == f"waiting for {db}: another oktaql process is writing it"
    assert (
        f"database {db} is in use: another oktaql process is writing it (waited 5 s); run the "
        "statement again once it is done, or keep this session's views and tables in another "
        "file (--db PATH, db= in Python; :memory: keeps nothing)"
    ) in err.splitlines()[1]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("mode", "holder_does"), [("write", "writing"), ("read", "reading or writing")]
)
def test_writer_goes_ahead_once_the_other_process_is_done(
    emulator: Any, tmp_path: Path, holder: Any, mode: str, holder_does: str
) -> None:
    db = tmp_path / "state.duckdb"
    if mode == "read":
        duckdb.connect(str(db)).execute("CREATE TABLE other (x INTEGER)").close()
    other = holder(db, mode)
    writer = _oktaql(emulator, db, "CREATE TABLE t AS SELECT 42 AS a")
    assert writer.stderr is not None
    # a reader lets the writer plan (views are read); it cannot let it write
    assert (
        writer.stderr.readline()
        == f"waiting for {db}: another oktaql process is {holder_does} it\n"
    )
    _release(other)
    code, _, err = _finish(writer)
    assert (code, err) == (0, "1 row(s) affected\n")
    with duckdb.connect(str(db), read_only=True) as check:
        assert check.execute("SELECT a FROM t").fetchall() == [(42,)]


def test_sessions_of_one_process_take_turns(
    emulator: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "state.duckdb")
    a = oktaql.connect(org_url=emulator.url, token=emulator.config.token, db=db).cursor()
    b = oktaql.connect(org_url=emulator.url, token=emulator.config.token, db=db).cursor()
    a.execute("CREATE TABLE t (x INTEGER)")
    b.execute("INSERT INTO t VALUES (1)")
    a.execute("CREATE VIEW v AS SELECT count(*) AS n FROM t")
    b.execute("SELECT n FROM v")
    assert b.fetchall() == [(1,)]
    # while one session has the file, the other waits for it
    seen: list[Any] = []
    with a.connection.session.local_state(write=True):
        reader = threading.Thread(target=lambda: seen.append(b.execute("SELECT x FROM t")))
        reader.start()
        time.sleep(1.0)
        assert seen == []
    reader.join(timeout=30)
    assert b.fetchall() == [(1,)]
    assert capsys.readouterr().err == (
        f"waiting for {db}: another connection in this process is writing it\n"
    )


def test_one_session_from_two_threads_takes_turns(emulator: Any, tmp_path: Path) -> None:
    """The shell's next statement may start while a cancelled one still unwinds: it must not
    share (and then lose) the other thread's attachment."""
    conn = oktaql.connect(
        org_url=emulator.url, token=emulator.config.token, db=str(tmp_path / "state.duckdb")
    )
    cur = conn.cursor()
    cur.execute("CREATE TABLE t AS SELECT 7 AS x")
    done = threading.Event()
    rows: list[Any] = []

    def read() -> None:
        other = conn.cursor()
        other.execute("SELECT x FROM t")
        rows.extend(other.fetchall())
        done.set()

    with conn.session.local_state(write=True):
        reader = threading.Thread(target=read)
        reader.start()
        assert not done.wait(1.0)  # it waits for this thread's block
    reader.join(timeout=30)
    assert rows == [(7,)]
