"""oktaql serve against the emulator, with real clients: psql, psycopg, SQLAlchemy.

Every test starts a server (an event loop thread, port 0) whose sessions read the emulated org
over real HTTP; what the clients get is compared with what ``oktaql.connect`` gets, and the
requests that reach the org are counted in its request log.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

import oktaql
from oktaql._settings import Settings
from oktaql.emulator import EmulatorConfig, RunningEmulator
from oktaql.emulator import start_in_thread as start_emulator
from oktaql.errors import ConfigError
from oktaql.serve import RunningServer, ServeConfig, Server, check_config, start_in_thread

TOKEN = "test-token"
PSQL = shutil.which("psql")
FAN_OUT = (
    "SELECT a.label, t.id, t.status FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id ORDER BY a.label, t.id"
)


def _settings(emu: Any) -> Settings:
    # 16 requests in flight: the cancel tests bound what a cancel lets through by it
    return Settings.of(org_url=emu.url, token=TOKEN, db=":memory:", concurrency=16)


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(token=TOKEN)) as emu:
        yield emu


@pytest.fixture(scope="module")
def server(org: RunningEmulator) -> Iterator[RunningServer]:
    with start_in_thread(_settings(org), ServeConfig(port=0)) as running:
        yield running


def _dsn(srv: RunningServer, **extra: str) -> str:
    parts = {"host": "127.0.0.1", "port": str(srv.port), "dbname": "okta", "user": "analyst"}
    parts.update(extra)
    return " ".join(f"{k}={v}" for k, v in parts.items())


def _direct(org: RunningEmulator, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with oktaql.connect(org_url=org.url, token=TOKEN) as conn:
        return conn.execute(sql, params).fetchall()


def _psql(srv: RunningServer, *commands: str, env: dict[str, str] | None = None) -> str:
    if PSQL is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    args = [PSQL, "-X", "-h", "127.0.0.1", "-p", str(srv.port), "-U", "analyst", "-d", "okta"]
    for c in commands:
        args += ["-c", c]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- psql ---------------------------------------------------------------------------------------


def test_psql_runs_a_query(server: RunningServer, org: RunningEmulator) -> None:
    out = _psql(server, "SELECT id, label FROM okta.apps.applications ORDER BY id")
    want = _direct(org, "SELECT id, label FROM okta.apps.applications ORDER BY id")
    lines = out.strip().splitlines()
    assert lines[0].split("|")[0].strip() == "id"
    rows = [tuple(c.strip() for c in line.split("|")) for line in lines[2:-1]]
    assert rows == [tuple(r) for r in want]
    assert lines[-1] == f"({len(want)} rows)"


def test_psql_lists_and_describes_tables(server: RunningServer) -> None:
    tables = _psql(server, r"\dt apps.*")
    assert " apps   | tokens " in tables.replace("  ", " ").replace("  ", " ") or any(
        line.split("|")[0].strip() == "apps" and line.split("|")[1].strip() == "tokens"
        for line in tables.splitlines()
        if line.count("|") == 3
    )
    described = _psql(server, r"\d okta.apps.tokens")
    assert 'Table "apps.tokens"' in described
    columns = {
        line.split("|")[0].strip(): line.split("|")[1].strip()
        for line in described.splitlines()
        if line.count("|") >= 4
    }
    assert columns["id"] == "text"
    assert columns["created"] == "timestamp with time zone"
    assert columns["scopes"] == "jsonb"
    assert columns["appId"] == "text"  # the path parameter a WHERE names


def test_psql_meta_commands(server: RunningServer, org: RunningEmulator) -> None:
    """\\l, \\dn and \\d+ (descriptions from the provider) answer from the catalog."""
    databases = _psql(server, r"\l")
    assert any(line.split("|")[0].strip() == "okta" for line in databases.splitlines())
    schemas = {line.split("|")[0].strip() for line in _psql(server, r"\dn").splitlines()}
    assert {"apps", "users", "groups"} <= schemas
    described = _psql(server, r"\d+ okta.apps.tokens")
    line = next(x for x in described.splitlines() if x.split("|")[0].strip() == "id")
    assert line.split("|")[-1].strip() == "Id of the refresh token."
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        (note,) = conn.execute(
            "SELECT description FROM pg_description WHERE classoid = 'pg_class'::regclass "
            "AND objsubid = 0 AND objoid = (SELECT oid FROM pg_class WHERE relname = 'tokens')"
        ).fetchone() or (None,)
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'apps' ORDER BY 1"
        ).fetchall()
    assert note and "refresh tokens" in note
    assert ("tokens",) in tables


def test_psql_reports_an_error_and_goes_on(server: RunningServer) -> None:
    if PSQL is None:
        pytest.skip("psql is not installed")
    done = subprocess.run(
        [PSQL, "-X", "-h", "127.0.0.1", "-p", str(server.port), "-d", "okta", "-U", "a",
         "-c", "SELEC 1", "-c", "SELECT 41 + 1 AS answer"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert "ERROR:  unknown statement 'SELEC'" in done.stderr
    assert " answer \n--------\n     42\n" in done.stdout


def test_psql_shows_where_a_syntax_error_is(server: RunningServer) -> None:
    """oktaql's syntax errors carry their line and column: the ErrorResponse's position, so
    psql prints the line and a caret under the spot, in the text as the client sent it (a
    two-part name oktaql completes, a second statement of the same query string)."""
    if PSQL is None:
        pytest.skip("psql is not installed")
    cases = [
        ("SELEC 1", "LINE 1: SELEC 1\n        ^"),
        (
            "SELECT 1 AS a;\nSELECT id FROM apps.applications WHERE (",
            "LINE 2: SELECT id FROM apps.applications WHERE (\n" + " " * 47 + "^",
        ),
        (
            "SELECT id,\n  FROM okta.apps.applications WHERE a = = 1",
            "LINE 2:   FROM okta.apps.applications WHERE a = = 1\n" + " " * 48 + "^",
        ),
    ]
    for sql, shown in cases:
        done = subprocess.run(
            [PSQL, "-X", "-h", "127.0.0.1", "-p", str(server.port), "-d", "okta", "-c", sql],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        lines = done.stderr.rstrip("\n").split("\n")
        assert lines[0].startswith("ERROR:  ") and "(line" not in lines[0], done.stderr
        assert "\n".join(lines[1:]) == shown, done.stderr
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.SyntaxError) as caught:
            conn.execute("SELECT id FROM okta.apps.applications WHERE appId = %s AND (", ("x",))
        assert caught.value.diag.statement_position == "60"  # its "(", past the $1 bound


# --- psycopg ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prepare", [False, True])
def test_psycopg_parameters(server: RunningServer, org: RunningEmulator, prepare: bool) -> None:
    apps = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id")
    app = next(
        a for (a,) in apps if _direct(org, "SELECT id FROM okta.apps.tokens WHERE appId = ?", [a])
    )
    sql = "SELECT id, status, created, scopes FROM okta.apps.tokens WHERE appId = %s ORDER BY id"
    want = _direct(org, sql.replace("%s", "?"), [app])
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        for _ in range(2):  # a prepared statement is reused
            cur = conn.execute(sql, (app,), prepare=prepare)
            assert [d.name for d in cur.description] == ["id", "status", "created", "scopes"]
            assert [d.type_code for d in cur.description] == [25, 25, 1184, 3802]
            assert cur.fetchall() == want
            assert cur.statusmessage == f"SELECT {len(want)}"


def test_types_are_postgres_types(server: RunningServer, org: RunningEmulator) -> None:
    sql = (
        "SELECT id, CAST(1 AS BIGINT) AS n, 2.5 :: DOUBLE AS x, true AS b, created, "
        "credentials FROM okta.users.users ORDER BY id LIMIT 3"
    )
    want = _direct(org, sql)
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        cur = conn.execute(sql.replace(":: DOUBLE", "::float8"))
        got = cur.fetchall()
        names = [psycopg.adapters.types[d.type_code].name for d in cur.description]
    assert names == ["text", "int8", "float8", "bool", "timestamptz", "jsonb"]
    assert got == want
    assert isinstance(got[0][5], dict)  # jsonb comes back as an object


def test_transactions_are_accepted(server: RunningServer) -> None:
    with psycopg.connect(_dsn(server)) as conn:  # not autocommit: psycopg sends BEGIN
        assert conn.execute("SELECT 1 AS one").fetchall() == [(1,)]
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        conn.commit()
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def test_fan_out_join_is_exec_s_rows(server: RunningServer, org: RunningEmulator) -> None:
    want = _direct(org, FAN_OUT)
    assert len(want) > 10
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        assert conn.execute(FAN_OUT).fetchall() == want


def test_sqlalchemy_inspector(server: RunningServer) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(f"postgresql+psycopg://analyst@127.0.0.1:{server.port}/okta")
    try:
        insp = sqlalchemy.inspect(engine)
        assert {"apps", "users", "groups"} <= set(insp.get_schema_names())
        assert {"applications", "tokens"} <= set(insp.get_table_names(schema="apps"))
        cols = {c["name"]: c["type"] for c in insp.get_columns("tokens", schema="apps")}
        assert str(cols["id"]) == "TEXT"
        assert str(cols["created"]) == "TIMESTAMP"  # with time zone
        assert cols["created"].timezone is True
        assert str(cols["scopes"]) == "JSONB"
    finally:
        engine.dispose()


def test_information_schema(server: RunningServer) -> None:
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position LIMIT 2",
            ("apps", "tokens"),
        ).fetchall()
    assert rows == [("id", "text"), ("_embedded", "jsonb")]


# --- errors -------------------------------------------------------------------------------------


def test_errors_carry_sqlstate_and_keep_the_connection(
    server: RunningServer, org: RunningEmulator
) -> None:
    app = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id LIMIT 1")[0][0]
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        for sql, params, code in [
            ("SELEC 1", None, "42601"),
            ("SELECT * FROM okta.apps.nope", None, "42P01"),
            ("SELECT * FROM okta.apps.tokens", None, "22023"),  # appId is required
        ]:
            with pytest.raises(psycopg.Error) as caught:
                conn.execute(sql, params)
            assert caught.value.sqlstate == code, caught.value
        before = len(org.request_log)
        for sql in [
            "DELETE FROM okta.apps.tokens WHERE appId = %s AND tokenId = 'x'",
            "EXEC okta.apps.applications.deactivate_application @appId = %s",
            "REGISTRY PULL okta -- %s",
        ]:
            with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
                conn.execute(sql, (app,))
            assert "read-only" in str(refused.value)
        assert org.request_log[before:] == []  # nothing was sent
        assert conn.execute("SELECT 2 AS two").fetchall() == [(2,)]


def test_allow_writes(tmp_path: Path) -> None:
    with start_emulator(EmulatorConfig(token=TOKEN)) as emu:
        srv = start_in_thread(_settings(emu), ServeConfig(port=0, read_only=False))
        try:
            app, token = _direct(
                emu,
                "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t "
                "ON t.appId = a.id ORDER BY a.id, t.id LIMIT 1",
            )[0]
            with psycopg.connect(_dsn(srv), autocommit=True) as conn:
                cur = conn.execute(
                    "DELETE FROM okta.apps.tokens WHERE appId = %s AND tokenId = %s", (app, token)
                )
                assert cur.statusmessage == "DELETE 1"
            assert ("DELETE", f"/api/v1/apps/{app}/tokens/{token}") in [
                (m, p) for m, p, *_ in emu.request_log
            ]
        finally:
            srv.stop()


# --- security -----------------------------------------------------------------------------------


def test_beyond_loopback_needs_tls_and_a_password() -> None:
    with pytest.raises(ConfigError, match="needs TLS .* and a password"):
        check_config(ServeConfig(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="needs a password"):
        check_config(ServeConfig(host="0.0.0.0", tls_cert="c.pem", tls_key="k.pem"))
    check_config(ServeConfig(host="0.0.0.0", tls_cert="c", tls_key="k", password="pw"))
    check_config(ServeConfig(host="::1"))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate to serve TLS with")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(d / "cert.pem"), str(d / "key.pem")


def test_tls_and_scram_password(org: RunningEmulator, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    cfg = ServeConfig(port=0, password="s3cret-pw", tls_cert=cert, tls_key=key)
    srv = start_in_thread(_settings(org), cfg)
    try:
        with psycopg.connect(_dsn(srv, password="s3cret-pw", sslmode="require")) as conn:
            assert conn.info.pgconn.ssl_in_use
            assert conn.execute("SELECT 'ok' AS x").fetchall() == [("ok",)]
            shown = str(conn.execute("SHOW ALL").fetchall())
            assert TOKEN not in shown  # the Okta token never reaches a client
        with pytest.raises(psycopg.OperationalError) as wrong:
            psycopg.connect(_dsn(srv, password="guess", sslmode="require"))
        assert 'password authentication failed for user "analyst"' in str(wrong.value)
        with pytest.raises(psycopg.OperationalError, match="TLS connections only"):
            psycopg.connect(_dsn(srv, password="s3cret-pw", sslmode="disable"))
        out = _psql(srv, "SELECT 'via psql' AS x", env={"PGPASSWORD": "s3cret-pw",
                                                        "PGSSLMODE": "require"})  # fmt: skip
        assert "via psql" in out
    finally:
        srv.stop()


def test_too_many_connections(org: RunningEmulator) -> None:
    srv = start_in_thread(_settings(org), ServeConfig(port=0, max_connections=1))
    try:
        with psycopg.connect(_dsn(srv)) as first:
            with pytest.raises(psycopg.OperationalError) as refused:
                psycopg.connect(_dsn(srv))
            assert "too many clients" in str(refused.value)
            assert first.execute("SELECT 1").fetchall() == [(1,)]
        with psycopg.connect(_dsn(srv)) as again:  # the slot is free once the first left
            assert again.execute("SELECT 3").fetchall() == [(3,)]
    finally:
        srv.stop()


# --- cancel ---------------------------------------------------------------------------------------


def test_cancel_stops_that_client_s_fan_out_only() -> None:
    cfg = EmulatorConfig(token=TOKEN, apps=60, tokens_per_app=1, latency_ms=300)
    with start_emulator(cfg) as emu:
        srv = start_in_thread(_settings(emu), ServeConfig(port=0))
        try:
            other_rows: list[Any] = []
            with (
                psycopg.connect(_dsn(srv), autocommit=True) as victim,
                psycopg.connect(_dsn(srv), autocommit=True) as other,
            ):
                failure: list[BaseException] = []

                def run_victim() -> None:
                    try:
                        victim.execute(FAN_OUT).fetchall()
                    except BaseException as exc:
                        failure.append(exc)

                def run_other() -> None:
                    other_rows.extend(other.execute(FAN_OUT).fetchall())

                t1 = threading.Thread(target=run_victim)
                t2 = threading.Thread(target=run_other)
                t1.start()
                t2.start()
                deadline = time.monotonic() + 20
                while sum("/tokens" in p for _, p, *_ in list(emu.request_log)) < 8:
                    assert time.monotonic() < deadline, "the fan-out never started"
                    time.sleep(0.01)
                # libpq's blocking cancel() stalls a server in the same process; cancel_safe()
                # sends the same CancelRequest without blocking it
                victim.cancel_safe(timeout=10)
                at_cancel = sum("/tokens" in p for _, p, *_ in list(emu.request_log))
                t1.join(30)
                t2.join(60)
                assert failure and isinstance(failure[0], psycopg.errors.QueryCanceled)
                # the other client's fan-out went on: every one of its 60 token reads
                assert len(other_rows) == 60
                tokens_reads = sum("/tokens" in p for _, p, *_ in emu.request_log)
                # the victim stopped: the other's 60, what both had read at the cancel, and at
                # most the 16 the victim had in flight; never the victim's whole 60
                assert tokens_reads <= 60 + at_cancel + 16
                assert tokens_reads < 120
                # and its connection is usable again
                assert victim.execute("SELECT 5").fetchall() == [(5,)]
        finally:
            srv.stop()


# --- extended protocol: Describe of a statement, binary results ----------------------------------


_DESCRIBE = """
import json, sys
import psycopg

conn = psycopg.connect(sys.argv[1], autocommit=True)
pg = conn.pgconn
assert pg.prepare(b"tok", sys.argv[2].encode()).status == psycopg.pq.ExecStatus.COMMAND_OK
desc = pg.describe_prepared(b"tok")
res = pg.exec_prepared(b"tok", [sys.argv[3].encode()])
print(json.dumps({
    "names": [desc.fname(i).decode() for i in range(desc.nfields)],
    "types": [desc.ftype(i) for i in range(desc.nfields)],
    "params": [desc.param_type(i) for i in range(desc.nparams)],
    "status": psycopg.pq.ExecStatus(res.status).name,
    "ids": sorted(res.get_value(i, 0).decode() for i in range(res.ntuples)),
}))
"""


def test_describe_statement_knows_the_columns(server: RunningServer, org: RunningEmulator) -> None:
    """libpq's PQdescribePrepared (what pgx, Grafana's driver, and asyncpg rely on): the columns
    and their types before the statement runs; its rows then match them. (libpq's blocking
    calls run in a process of their own: in this one they would stall the server's thread.)"""
    import json
    import sys

    app = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id LIMIT 1")[0][0]
    sql = "SELECT id, created, scopes, count(*) OVER () AS n FROM okta.apps.tokens WHERE appId = $1"
    done = subprocess.run(
        [sys.executable, "-c", _DESCRIBE, _dsn(server), sql, app],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["names"] == ["id", "created", "scopes", "n"]
    assert got["types"] == [25, 1184, 3802, 20]
    assert got["params"] == [25]
    assert got["status"] == "TUPLES_OK"
    want = _direct(org, "SELECT id FROM okta.apps.tokens WHERE appId = ?", [app])
    assert got["ids"] == sorted(r[0] for r in want)


_DESCRIBE_ONLY = """
import json, sys
import psycopg

conn = psycopg.connect(sys.argv[1], autocommit=True)
pg = conn.pgconn
out = []
for i, sql in enumerate(json.loads(sys.argv[2])):
    name = f"s{i}".encode()
    assert pg.prepare(name, sql.encode()).status == psycopg.pq.ExecStatus.COMMAND_OK
    desc = pg.describe_prepared(name)
    out.append([[desc.fname(i).decode(), desc.ftype(i)] for i in range(desc.nfields)])
print(json.dumps(out))
"""


def test_describe_of_a_star_answers_the_resource_s_columns_sending_nothing(
    server: RunningServer, org: RunningEmulator
) -> None:
    """``SELECT *`` of a resource, a join's ``t.*`` with a fan-out, a count: a Describe of the
    statement (pgx, Grafana, JDBC describe before they execute) answers the columns and types
    the statement's rows then carry, from the plan, and no request reaches the org."""
    import json
    import sys

    app = _direct(org, "SELECT id FROM okta.apps.applications ORDER BY id LIMIT 1")[0][0]
    cases = [
        ("SELECT * FROM okta.apps.tokens WHERE appId = $1", [app]),
        ("SELECT * FROM apps.applications", []),
        ("SELECT t.*, a.label FROM okta.apps.tokens t JOIN okta.apps.applications a "
         "ON t.appId = a.id", []),
        ("SELECT count(*) AS n, max(created) AS newest FROM okta.apps.applications", []),
    ]  # fmt: skip
    wanted = []
    with oktaql.connect(org_url=org.url, token=TOKEN) as conn:
        for sql, params in cases:
            qualified = sql.replace("$1", "?").replace("FROM apps.", "FROM okta.apps.")
            cur = conn.execute(qualified, params or None)
            wanted.append([d[0] for d in cur.description])
    before = len(org.request_log)
    done = subprocess.run(
        [sys.executable, "-c", _DESCRIBE_ONLY, _dsn(server), json.dumps([c for c, _ in cases])],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert org.request_log[before:] == []  # described from the plan: nothing was sent
    got = json.loads(done.stdout)
    assert [[name for name, _ in cols] for cols in got] == wanted
    tokens = dict(got[0])
    assert (tokens["id"], tokens["created"], tokens["scopes"], tokens["appId"]) == (
        25, 1184, 3802, 25,
    )  # fmt: skip
    assert got[3] == [["n", 20], ["newest", 1184]]
    # an INSERT ... SELECT is not planned to be described: planning it would read the SELECT
    insert = (
        "INSERT INTO okta.groups.groups (data__profile) "
        "SELECT json_object('name', label) FROM okta.apps.applications"
    )
    done = subprocess.run(
        [sys.executable, "-c", _DESCRIBE_ONLY, _dsn(server), json.dumps([insert])],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [[]]
    assert org.request_log[before:] == []
    # psycopg's prepared statements: the same columns, then the rows of exec
    sql = "SELECT * FROM okta.apps.tokens WHERE appId = %s ORDER BY id"
    with psycopg.connect(_dsn(server), autocommit=True) as pconn:
        for _ in range(2):
            cur = pconn.execute(sql, (app,), prepare=True)
            assert [d.name for d in cur.description] == wanted[0]
            assert [d.type_code for d in cur.description] == [t for _, t in got[0]]
            assert cur.fetchall() == _direct(org, sql.replace("%s", "?"), [app])


def test_binary_results(server: RunningServer, org: RunningEmulator) -> None:
    sql = (
        "SELECT id, CAST(7 AS BIGINT) AS n, CAST(2.5 AS DOUBLE) AS x, false AS b, created, "
        "credentials, CAST(12.345 AS DECIMAL(10, 3)) AS d FROM okta.users.users ORDER BY id "
        "LIMIT 3"
    )
    want = _direct(org, sql)
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        got = conn.cursor(binary=True).execute(sql.replace("DOUBLE", "float8")).fetchall()
    assert got == want


def test_dry_run_answers_plans(org: RunningEmulator) -> None:
    running = RunningServer(Server(_settings(org), ServeConfig(port=0), dry_run=True))
    try:
        before = len(org.request_log)
        with psycopg.connect(_dsn(running), autocommit=True) as conn:
            cur = conn.execute("SELECT id FROM okta.apps.applications")
            plan = cur.fetchall()
            assert "/api/v1/apps" in str(plan)
            assert [d.name for d in cur.description][:1] != ["id"]  # EXPLAIN's columns
        assert org.request_log[before:] == []
    finally:
        running.stop()


def test_two_part_names_as_bi_tools_write_them(server: RunningServer, org: RunningEmulator) -> None:
    """A query builder names the schema.table its catalog listed; the provider is implied."""
    want = _direct(org, "SELECT id, label FROM okta.apps.applications ORDER BY id")
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        for name in ("apps.applications", '"apps"."applications"'):
            got = conn.execute(f"SELECT id, label FROM {name} ORDER BY id").fetchall()
            assert got == want
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM apps.nope")


def test_clients_cannot_reach_the_server_s_files(org: RunningEmulator, tmp_path: Path) -> None:
    """Through oktaql's DuckDB or the catalog's: no read_text, COPY or ATTACH of a server file;
    the --db file still works (a view kept in it)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("do not show\n")
    db = tmp_path / "state.duckdb"
    settings = Settings.of(org_url=org.url, token=TOKEN, db=str(db))
    srv = start_in_thread(settings, ServeConfig(port=0, read_only=False))
    try:
        with psycopg.connect(_dsn(srv), autocommit=True) as conn:
            for sql in [
                f"SELECT * FROM read_text('{secret}')",
                f"SELECT relname FROM pg_class, read_text('{secret}')",
                f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'",
                f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
            ]:
                with pytest.raises(psycopg.Error) as refused:
                    conn.execute(sql)
                assert "do not show" not in str(refused.value)
            assert not (tmp_path / "out.csv").exists()
            assert not (tmp_path / "other.duckdb").exists()
            conn.execute("CREATE VIEW labels AS SELECT label FROM okta.apps.applications")
            got = conn.execute("SELECT count(*) FROM labels").fetchall()
        assert got == [(len(_direct(org, "SELECT id FROM okta.apps.applications")),)]
    finally:
        srv.stop()


def test_psql_ctrl_c_cancels_its_statement() -> None:
    """psql's Ctrl-C sends a CancelRequest on a connection of its own: the fan-out stops."""
    import signal

    if PSQL is None:
        pytest.skip("psql is not installed")
    cfg = EmulatorConfig(token=TOKEN, apps=60, tokens_per_app=1, latency_ms=300)
    with start_emulator(cfg) as emu:
        srv = start_in_thread(_settings(emu), ServeConfig(port=0))
        try:
            proc = subprocess.Popen(
                [PSQL, "-X", "-h", "127.0.0.1", "-p", str(srv.port), "-d", "okta", "-c", FAN_OUT],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            deadline = time.monotonic() + 20
            while sum("/tokens" in p for _, p, *_ in list(emu.request_log)) < 4:
                assert time.monotonic() < deadline, "the fan-out never started"
                time.sleep(0.01)
            proc.send_signal(signal.SIGINT)
            at_signal = sum("/tokens" in p for _, p, *_ in list(emu.request_log))
            _, err = proc.communicate(timeout=30)
            assert "canceling statement due to user request" in err
            time.sleep(0.8)  # requests in flight at the cancel have arrived by now
            reads = sum("/tokens" in p for _, p, *_ in emu.request_log)
            # at most one more wave of the 16 workers, never the statement's whole 60
            assert reads <= at_signal + 16
            assert reads < 60
        finally:
            srv.stop()


def test_a_client_speaking_nonsense_is_answered_and_others_go_on(server: RunningServer) -> None:
    import socket
    import struct

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 8, 1234))  # no protocol Postgres has
        reply = raw.recv(1000)
    assert reply[:1] == b"E" and b"08P01" in reply and b"unsupported frontend protocol" in reply
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(struct.pack("!ii", 9, 196608) + b"user\0")  # a startup cut short
        raw.sendall(b"Bxx")
        raw.shutdown(socket.SHUT_WR)
        raw.recv(1000)
    with psycopg.connect(_dsn(server), autocommit=True) as conn:
        assert conn.execute("SELECT 8 AS n").fetchall() == [(8,)]
