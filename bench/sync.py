"""``oktaql sync``: rows per second landed in each destination, and requests against the minimum.

    .venv/bin/python bench/sync.py                 # 20 apps x 2000 tokens, users, the System Log
    .venv/bin/python bench/sync.py --quick         # a smaller org: a smoke test
    OKTAQL_BENCH_POSTGRES_URL=postgresql://... .venv/bin/python bench/sync.py

The emulator runs as a separate process (``oktaql emulator``) and so does each sync (``python
-m oktaql.cli sync -o json``); rows/s is rows landed over the summary's seconds (reading and
writing, without the interpreter's start). The minimum requests are the pages a reader must
fetch at Okta's largest page size (``minimum_requests``). PostgreSQL is
``$OKTAQL_BENCH_POSTGRES_URL``, else a throwaway cluster from the PostgreSQL binaries
(skipped when there are none). The last table compares PostgreSQL load paths for the same
rows: psycopg ``COPY`` (what sync uses) and ``executemany`` INSERTs.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
RESOURCES = "okta.users.users,okta.apps.applications,okta.apps.tokens,okta.logs.system_log_events"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OKTA_API_TOKEN": TOKEN}


@contextlib.contextmanager
def emulator(apps: int, tokens: int, users: int) -> Iterator[str]:
    cmd = [sys.executable, "-m", "oktaql.cli", "emulator", "--port", "0", "--token", TOKEN,
           "--apps", str(apps), "--tokens-per-app", str(tokens), "--users", str(users)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    try:
        url = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"emulator exited: {proc.stderr.read() if proc.stderr else ''}")
            if "listening on" in line:
                url = line.split()[-1]
                break
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def postgres() -> Iterator[str | None]:
    given = os.environ.get("OKTAQL_BENCH_POSTGRES_URL")
    if given:
        yield given
        return
    found = shutil.which("initdb")
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found or (dirs[-1] if dirs else None)
    if initdb is None:
        yield None
        return
    bindir = Path(initdb).parent
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = tempfile.mkdtemp(prefix="oktaql-bench-pg-")
    if as_user:
        shutil.chown(root, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(root, "data")
    quiet = {"check": True, "capture_output": True}
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], **quiet)  # type: ignore[call-overload]  # fmt: skip
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", data, "-l", os.path.join(root, "log"), "-w", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], **quiet)  # type: ignore[call-overload]  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "fast", "stop"], capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def fresh_pg_db(url: str) -> str:
    import psycopg

    name = f"bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


def run_sync(url: str, to: str) -> tuple[float, list[dict[str, Any]]]:
    cmd = [sys.executable, "-m", "oktaql.cli", "sync", "--org-url", url, "--to", to,
           "--resources", RESOURCES, "-o", "json", "--since", "2000-01-01"]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(cmd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"sync into {to} failed: {done.stderr.strip()}")
    return wall, json.loads(done.stdout)


def minimum_requests(apps: int, tokens: int, users: int, events: int) -> int:
    """The pages a reader must fetch at Okta's largest page sizes: the apps listing once (the
    tokens fan out from its rows), one token page per 200 (at least one per app), one users
    page per 200 (a re-sync: the one page of what changed), one System Log page per 1000
    events (at least one)."""
    return (
        max(1, math.ceil(apps / 200))
        + apps * max(1, math.ceil(tokens / 200))
        + max(1, math.ceil(users / 200))
        + max(1, math.ceil(events / 1000))
    )


def load_paths(pg_url: str, rows: int) -> list[tuple[str, float]]:
    """PostgreSQL load paths for the same rows: COPY (sync's) against executemany INSERT."""
    import datetime as dt

    import psycopg

    url = fresh_pg_db(pg_url)
    now = dt.datetime.now(dt.UTC)
    data = [
        (f"oar{i:017d}", now, '{"a": 1, "b": [1, 2]}', "ACTIVE", f"00u{i % 997:017d}")
        for i in range(rows)
    ]
    out = []
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TABLE t (id text, created timestamptz, doc jsonb, status text, u text)"
        )
        conn.commit()
        start = time.perf_counter()
        with conn.cursor().copy("COPY t FROM STDIN") as copy:
            for row in data:
                copy.write_row(row)
        conn.commit()
        out.append(("psycopg COPY (write_row)", rows / (time.perf_counter() - start)))
        conn.execute("TRUNCATE t")
        conn.commit()
        start = time.perf_counter()
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s)", data)
        conn.commit()
        out.append(("executemany INSERT", rows / (time.perf_counter() - start)))
    return out


def write_paths(url: str, targets: list[tuple[str, str]]) -> list[tuple[str, str, int, float]]:
    """The destinations' write path alone: the tokens, read once, landed into each (a first
    load, then a merge of the same rows)."""
    import datetime as dt

    sys.path.insert(0, str(ROOT / "src"))
    from oktaql.session import Session
    from oktaql.sync._destinations import open_destination
    from oktaql.sync._table import TableSpec

    session = Session(org_url=url, token=TOKEN)
    try:
        result = session.execute(
            "SELECT * FROM okta.apps.tokens WHERE appId IN (SELECT id FROM okta.apps.applications)"
        )
        rows = (
            result.relation.fetchall() if result.relation is not None else list(result.stream or ())
        )
        spec = TableSpec.of("bench_tokens", result.columns)
    finally:
        session.close()
    out = []
    for name, to in targets:
        dest = open_destination(to)
        try:
            for run in ("load", "merge"):
                start = time.perf_counter()
                writer = dest.writer(spec, "bench", "okta.apps.tokens", dt.datetime.now(dt.UTC))
                for i in range(0, len(rows), 1000):
                    writer.add(rows[i : i + 1000])
                writer.commit("snapshot", None)
                out.append((name, run, len(rows), len(rows) / (time.perf_counter() - start)))
        finally:
            dest.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a smaller org: a smoke test")
    args = ap.parse_args()
    apps, tokens, users = (5, 300, 100) if args.quick else (20, 2000, 2000)
    print(f"org: {apps} apps x {tokens} refresh tokens, {users} users, and its System Log\n")
    rows_out = []
    with emulator(apps, tokens, users) as url, postgres() as pg_url:
        work = Path(tempfile.mkdtemp(prefix="oktaql-bench-sync-"))
        targets = [("duckdb", str(work / "landed.duckdb")), ("parquet", f"parquet:{work / 'lake'}")]
        if pg_url:
            targets.insert(1, ("postgres", fresh_pg_db(pg_url)))
        else:
            print("PostgreSQL: skipped (no server and no PostgreSQL binaries)\n")
        for name, to in targets:
            for run in ("first", "again"):
                wall, summary = run_sync(url, to)
                landed = sum(int(r["inserted"]) + int(r["updated"]) for r in summary)
                read = sum(int(r["read"]) for r in summary)
                secs = sum(float(r["seconds"]) for r in summary)
                requests = sum(int(r["requests"]) for r in summary)
                events = next(int(r["read"]) for r in summary if r["resource"] == "okta.logs.system_log_events")  # fmt: skip
                # a re-sync: users changed since the cursor (none) and log events since it
                floor = minimum_requests(apps, tokens, users if run == "first" else 0, events)
                rows_out.append(
                    (
                        name,
                        run,
                        read,
                        landed,
                        secs,
                        read / secs if secs else 0.0,
                        wall,
                        requests,
                        floor,
                    )
                )
        writes = write_paths(
            url,
            [
                ("duckdb", str(work / "writes.duckdb")),
                *([("postgres", fresh_pg_db(pg_url))] if pg_url else []),
                ("parquet", f"parquet:{work / 'writes'}"),
            ],
        )
        shutil.rmtree(work, ignore_errors=True)
        paths = load_paths(pg_url, 20_000 if args.quick else 100_000) if pg_url else []
    head = (
        "destination",
        "run",
        "rows read",
        "rows landed",
        "seconds",
        "rows/s",
        "wall s",
        "requests",
        "minimum",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows_out:
        print(
            f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.2f} | {r[5]:,.0f} | {r[6]:.2f} | {r[7]} | {r[8]} |"
        )
    print(
        "\nminimum: the pages a reader must fetch. The apps listing is read once and the "
        "tokens fan out from its rows; the System Log is a bounded read (until = a minute before the run's "
        "start), so its last page ends it. A re-sync reads users by lastUpdated and the log "
        "from its cursor; apps and tokens have no lastUpdated filter and are read in full."
    )
    print("\n| destination (write path alone) | run | rows | rows/s |\n|---|---|---|---|")
    for name, run, n, rate in writes:
        print(f"| {name} | {run} | {n} | {rate:,.0f} |")
    if paths:
        print("\n| PostgreSQL load path | rows/s |\n|---|---|")
        for label, rate in paths:
            print(f"| {label} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
