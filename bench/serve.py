"""Rows per second of a 5,000-row read through ``oktaql serve`` and psql, against
``oktaql exec -o csv``: the same statement, the same emulated org (its own process).

    python bench/serve.py [--reps N]

Each psql run is a new connection (so a new session on the server, as a dashboard's refresh
would be); each exec run is a new process. Both send the same 25 page requests (200 rows a
page), so the difference is the server's work: the Postgres protocol, the text encoding of
every cell, and no Python start-up per query.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import OKTAQL, TOKEN, Emulator, Stat  # noqa: E402

ROWS = 5000
SQL = "SELECT id, status, clientId, created, scopes FROM okta.apps.tokens WHERE appId = '{app}'"


def _serve(url: str, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [OKTAQL, "serve", "--org-url", url, "--port", "0", "--db", ":memory:"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError("oktaql serve exited before listening")
        if "listening on" in line:
            return proc, int(line.rsplit(":", 1)[1])
    raise RuntimeError("oktaql serve did not announce its port within 60 s")


def _timed(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=True)
    took = time.perf_counter() - start
    return took, len(done.stdout.splitlines())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    psql = shutil.which("psql")
    if psql is None:
        print("psql is not installed (apt-get install postgresql-client)", file=sys.stderr)
        return 1
    env = {**os.environ, "OKTA_API_TOKEN": TOKEN}
    env.pop("OKTA_CLIENT_ORGURL", None)
    with Emulator(apps=1, tokens_per_app=ROWS) as emu:
        sql = SQL.format(app=emu.first_app_id())
        server, port = _serve(emu.url, env)
        try:
            exec_args = [OKTAQL, "exec", "--org-url", emu.url, "--db", ":memory:", "-o", "csv",
                         "-H", sql]  # fmt: skip
            psql_args = [psql, "-X", "-q", "-A", "-t", "-F", ",", "-h", "127.0.0.1", "-p",
                         str(port), "-d", "okta", "-c", sql]  # fmt: skip
            via_exec, via_psql = Stat(), Stat()
            _timed(psql_args, env)  # warm: the server's first session loads the provider
            for _ in range(args.reps):  # alternated, so both see the same machine load
                took, n = _timed(exec_args, env)
                assert n == ROWS, f"exec returned {n} rows"
                via_exec.add(ROWS / took)
                took, n = _timed(psql_args, env)
                assert n == ROWS, f"psql returned {n} rows"
                via_psql.add(ROWS / took)
        finally:
            server.terminate()
            server.wait(10)
    print(f"| {ROWS:,}-row read, {args.reps} runs | median (min–max) |")
    print("|---|---|")
    for label, stat in [
        ("`oktaql exec -o csv` (a process per run)", via_exec),
        ("psql → `oktaql serve` (a connection per run)", via_psql),
    ]:
        print(f"| {label} | {stat.fmt('rows/s', digits=0)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
