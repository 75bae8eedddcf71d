"""``oktaql sync``: two emulated orgs landed in a real PostgreSQL, in Parquet and in DuckDB.

Ground truth is the emulators' own state and request logs; PostgreSQL is a real server
(``postgres_url`` in conftest: $OKTAQL_TEST_POSTGRES_URL or a throwaway cluster).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, start_in_thread
from oktaql.sync._cursor import earlier
from oktaql.sync._plan import SEARCH_OVERLAP_SECONDS

RESOURCES = "okta.users.users,okta.groups.groups,okta.apps.tokens,okta.logs.system_log_events"
TABLES = (
    "okta_users_users",
    "okta_groups_groups",
    "okta_apps_tokens",
    "okta_logs_system_log_events",
)
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture
def orgs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two emulated orgs (different seeds and tokens) as profiles ``a`` and ``b``."""
    ems = {
        "a": start_in_thread(EmulatorConfig(token="token-a", seed=1)),
        "b": start_in_thread(EmulatorConfig(token="token-b", seed=2, users=40)),
    }
    try:
        yield as_profiles(ems, tmp_path, monkeypatch)
    finally:
        for em in ems.values():
            em.stop()


def as_profiles(
    ems: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """A config file naming each emulator a profile (token ``token-NAME`` in $TOKEN_NAME)."""
    config = tmp_path / "config.toml"
    config.write_text(
        "".join(
            f'[profiles.{n}]\norg_url = "{em.url}"\ntoken_env = "TOKEN_{n.upper()}"\n'
            for n, em in ems.items()
        )
    )
    config.chmod(0o600)
    monkeypatch.setenv("OKTAQL_CONFIG", str(config))
    for n in ems:
        monkeypatch.setenv(f"TOKEN_{n.upper()}", f"token-{n}")
    return ems


@pytest.fixture
def pg(postgres_url: str) -> Iterator[str]:
    """A fresh database of the PostgreSQL server for one test."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def sync(*args: str) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``oktaql sync ... -o json``: exit code, summary rows, stderr."""
    res = CliRunner().invoke(main, ["sync", *args, "-o", "json"])
    if res.exception and not isinstance(res.exception, SystemExit):
        raise res.exception
    out = res.stdout.strip()
    return res.exit_code, json.loads(out) if out else [], res.stderr


def by(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["org"], r["resource"]): r for r in rows}


def truth(em: Any) -> dict[str, set[str]]:
    org = em.org
    return {
        "okta_users_users": {u["id"] for u in org.users},
        "okta_groups_groups": {g["id"] for g in org.groups},
        "okta_apps_tokens": {t for a in org.oidc_apps for t in org.token_ids(a["id"])},
        "okta_logs_system_log_events": {e["uuid"] for e in org.log_events},
    }


def pg_rows(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params or None).fetchall()


def pg_checksums(url: str) -> dict[str, tuple[int, str]]:
    """Rows and an md5 over every landed value but _synced_at, per table."""
    out = {}
    for table in TABLES:
        key = "uuid" if table.endswith("events") else "id"
        ((n, digest),) = pg_rows(
            url,
            f"SELECT count(*), md5(string_agg((to_jsonb(t) - '_synced_at')::text, '|' "
            f"ORDER BY _org, {key})) FROM {table} t",
        )
        out[table] = (n, digest)
    return out


def test_two_orgs_land_in_postgres_typed_keyed_and_counted(orgs: dict[str, Any], pg: str) -> None:
    for em in orgs.values():
        em.reset_log()
    code, rows, err = sync(
        "--orgs", "a,b", "--to", pg, "--resources", RESOURCES, "--since", "2000-01-01"
    )
    assert code == 0, err
    summary = by(rows)
    for name, em in orgs.items():
        expected = truth(em)
        for table, ids in expected.items():
            landed = {
                r[0]
                for r in pg_rows(
                    pg,
                    f"SELECT {'uuid' if 'events' in table else 'id'} FROM {table} WHERE _org = %s",
                    name,
                )
            }
            assert landed == ids, (name, table)
            row = summary[(name, table.replace("_", ".", 2))]
            assert (row["status"], row["inserted"], row["updated"], row["deleted"]) == (
                "ok",
                len(ids),
                0,
                0,
            )
        # the summary's requests are the ones the org served
        assert sum(r["requests"] for (o, _), r in summary.items() if o == name) == len(
            em.request_log
        )
    types = dict(
        pg_rows(
            pg,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = 'okta_logs_system_log_events'",
        )
    )
    assert types["published"] == "timestamp with time zone"
    assert types["actor"] == "jsonb" and types["target"] == "jsonb"
    assert types["_org"] == "text" and types["_synced_at"] == "timestamp with time zone"
    keys = pg_rows(
        pg,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'okta_apps_tokens'::regclass "
        "AND i.indisprimary ORDER BY a.attname",
    )
    assert [k[0] for k in keys] == ["_org", "id"]
    indexes = pg_rows(
        pg, "SELECT indexdef FROM pg_indexes WHERE tablename = 'okta_logs_system_log_events'"
    )
    assert any("(published)" in i[0] for i in indexes)
    # a JSON column is queryable as jsonb, a timestamp as an instant
    (n,) = pg_rows(
        pg,
        "SELECT count(*) FROM okta_logs_system_log_events WHERE actor->>'type' IS NOT NULL "
        "AND published > '2000-01-01T00:00:00Z'",
    )[0]
    assert n == sum(len(em.org.log_events) for em in orgs.values())


def test_resync_is_idempotent_in_postgres(orgs: dict[str, Any], pg: str) -> None:
    args = ("--orgs", "a,b", "--to", pg, "--resources", RESOURCES)
    assert sync(*args)[0] == 0
    first = pg_checksums(pg)
    code, rows, err = sync(*args)
    assert code == 0, err
    assert pg_checksums(pg) == first
    assert all((r["inserted"], r["updated"], r["deleted"]) == (0, 0, 0) for r in rows), rows


def test_vanished_token_gets_deleted_at(orgs: dict[str, Any], pg: str) -> None:
    em = orgs["a"]
    args = ("--orgs", "a", "--to", pg, "--resources", "okta.apps.tokens")
    assert sync(*args)[0] == 0
    app = next(a for a in em.org.oidc_apps if em.org.token_ids(a["id"]))
    gone = em.org.token_ids(app["id"])[0]
    httpx.delete(
        f"{em.url}/api/v1/apps/{app['id']}/tokens/{gone}",
        headers={"Authorization": "SSWS token-a"},
    ).raise_for_status()
    code, rows, _ = sync(*args)
    assert code == 0
    assert (rows[0]["inserted"], rows[0]["updated"], rows[0]["deleted"]) == (0, 0, 1)
    marked = pg_rows(pg, "SELECT id FROM okta_apps_tokens WHERE _deleted_at IS NOT NULL")
    assert marked == [(gone,)]
    (live,) = pg_rows(pg, "SELECT count(*) FROM okta_apps_tokens WHERE _deleted_at IS NULL")[0]
    assert live == len(truth(em)["okta_apps_tokens"])


def destination(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "postgres":
        return str(request.getfixturevalue("pg"))
    return str(tmp_path / "landed.duckdb") if kind == "duckdb" else f"parquet:{tmp_path / 'lake'}"


def stored_cursor(to: str, org: str, resource: str) -> str | None:
    if to.startswith("parquet:"):
        state = json.loads(
            Path(to[len("parquet:") :], "_oktaql_sync_state", f"{org}.json").read_text()
        )
        return state[resource]["cursor"]  # type: ignore[no-any-return]
    sql = f"SELECT cursor FROM _oktaql_sync_state WHERE _org = '{org}' AND resource = '{resource}'"
    if to.startswith("postgresql://"):
        return pg_rows(to, sql)[0][0]  # type: ignore[no-any-return]
    import duckdb

    with duckdb.connect(to, read_only=True) as con:
        return con.execute(sql).fetchone()[0]  # type: ignore[index,no-any-return]


def user_title(to: str, user_id: str) -> list[tuple[Any, ...]]:
    """(title, _deleted_at) of every landed row of the user."""
    if to.startswith("postgresql://"):
        return pg_rows(
            to, "SELECT profile->>'title', _deleted_at FROM okta_users_users WHERE id = %s", user_id
        )
    import duckdb

    con = duckdb.connect(
        to if not to.startswith("parquet:") else ":memory:", read_only=not to.startswith("parquet:")
    )
    source = "okta_users_users"
    if to.startswith("parquet:"):
        # the latest sync day's state
        source = f"(FROM {parquet_table(Path(to[len('parquet:') :]), 'okta_users_users')} QUALIFY day = max(day) OVER ())"
    try:
        return con.execute(
            f"SELECT profile->>'$.title', _deleted_at FROM {source} WHERE id = ?", [user_id]
        ).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("kind", ["postgres", "duckdb", "parquet"])
def test_users_sync_incrementally_by_last_updated(
    kind: str, orgs: dict[str, Any], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    em, to = orgs["a"], destination(kind, request, tmp_path)
    args = ("--orgs", "a", "--to", to, "--resources", "okta.users.users")
    assert sync(*args)[0] == 0
    cursor = stored_cursor(to, "a", "okta.users.users")
    newest = max(u["lastUpdated"] for u in em.org.users)
    assert cursor == newest
    user = em.org.users[3]
    httpx.post(
        f"{em.url}/api/v1/users/{user['id']}",
        headers={"Authorization": "SSWS token-a"},
        json={"profile": {"title": "Chief Syncer"}},
    ).raise_for_status()
    em.reset_log()
    code, rows, _ = sync(*args)
    assert code == 0
    # one request: the search for what changed since the stored cursor
    assert len(em.request_log) == 1
    since = earlier(cursor, SEARCH_OVERLAP_SECONDS)
    assert httpx.URL(em.request_log[0][1]).params["search"] == f'lastUpdated ge "{since}"'
    assert (rows[0]["updated"], rows[0]["inserted"], rows[0]["deleted"]) == (1, 0, 0)
    assert rows[0]["read"] < len(em.org.users)
    assert user_title(to, user["id"]) == [("Chief Syncer", None)]
    assert stored_cursor(to, "a", "okta.users.users") == em.org.user(user["id"])["lastUpdated"]


def test_failing_org_does_not_stop_the_other(
    orgs: dict[str, Any], pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_B", "wrong-token")
    code, rows, err = sync("--orgs", "a,b", "--to", pg, "--resources", RESOURCES)
    assert code == 1
    assert "did not land" in err and "org b" in err
    summary = by(rows)
    assert all(summary[("a", r)]["status"] == "ok" for r in RESOURCES.split(","))
    statuses = [
        summary[("b", r)]["status"]
        for r in [
            "okta.logs.system_log_events",
            "okta.groups.groups",
            "okta.users.users",
            "okta.apps.tokens",
        ]
    ]
    assert statuses == ["error", "skipped", "skipped", "skipped"]
    first = summary[("b", "okta.logs.system_log_events")]["message"]
    assert "401" in first or "E0000011" in first
    assert "wrong-token" not in json.dumps(rows) + err
    (n,) = pg_rows(pg, "SELECT count(*) FROM okta_users_users WHERE _org = 'a'")[0]
    assert n == len(orgs["a"].org.users)
    assert pg_rows(pg, "SELECT count(*) FROM okta_users_users WHERE _org = 'b'") == [(0,)]


def landed_event_ids(to: str) -> list[str]:
    if to.startswith("parquet:"):
        import duckdb

        glob = f"{to[len('parquet:') :]}/okta_logs_system_log_events/**/*.parquet"
        try:
            return [
                r[0]
                for r in duckdb.connect()
                .execute(f"SELECT uuid FROM read_parquet('{glob}')")
                .fetchall()
            ]
        except duckdb.Error:
            return []  # no file yet
    try:
        return [r[0] for r in pg_rows(to, "SELECT uuid FROM okta_logs_system_log_events")]
    except Exception:
        return []  # the table is created by the first commit


@pytest.mark.parametrize("kind", ["postgres", "parquet"])
def test_crash_mid_sync_then_rerun_lands_every_event_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    to = request.getfixturevalue("pg") if kind == "postgres" else f"parquet:{tmp_path / 'lake'}"
    em = start_in_thread(EmulatorConfig(token="token-c", seed=3, users=60, latency_ms=100))
    try:
        total = len(em.org.log_events)
        assert total > 400
        env = {**os.environ, "OKTA_API_TOKEN": "token-c", "PYTHONPATH": SRC}
        cmd = [
            sys.executable,
            "-m",
            "oktaql.cli",
            "sync",
            "--org-url",
            em.url,
            "--to",
            to,
            "--resources",
            "okta.logs.system_log_events",
            "--log-page-size",
            "25",
        ]
        # killed twice, at different depths, while pages are still being served
        for at_least in (75, 200):
            proc = subprocess.Popen(
                cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if len(landed_event_ids(to)) >= at_least:
                    break
                time.sleep(0.02)
            assert proc.poll() is None, "the sync finished before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            ids = landed_event_ids(to)
            assert at_least <= len(ids) < total
            assert len(ids) == len(set(ids))
        # new events arrive between the crash and the re-run
        user = em.org.users[0]
        httpx.post(
            f"{em.url}/api/v1/users/{user['id']}/lifecycle/suspend",
            headers={"Authorization": "SSWS token-c"},
        ).raise_for_status()
        expected = [e["uuid"] for e in em.org.log_events]
        assert len(expected) > total
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        ids = landed_event_ids(to)
        assert len(ids) == len(set(ids)) == len(expected)
        assert set(ids) == set(expected)
    finally:
        em.stop()


def parquet_table(root: Path, table: str) -> str:
    return f"read_parquet('{root}/{table}/**/*.parquet', hive_partitioning = true)"


def parquet_state(root: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    out = {}
    for table in TABLES:
        key = "uuid" if table.endswith("events") else "id"
        out[table] = con.execute(
            f"SELECT count(*), count(DISTINCT (_org, {key})), "
            f"md5(string_agg(({key}, _org, _deleted_at)::VARCHAR, '|' ORDER BY _org, {key})) "
            f"FROM {parquet_table(root, table)}"
        ).fetchone()
    return out


def test_two_orgs_land_in_parquet_partitioned_and_resync_is_idempotent(
    orgs: dict[str, Any], tmp_path: Path
) -> None:
    import duckdb

    root = tmp_path / "lake"
    args = ("--orgs", "a,b", "--to", f"parquet:{root}", "--resources", RESOURCES)
    code, _, err = sync(*args)
    assert code == 0, err
    con = duckdb.connect()
    for name, em in orgs.items():
        for table, ids in truth(em).items():
            key = "uuid" if table.endswith("events") else "id"
            got = {
                r[0]
                for r in con.execute(
                    f"SELECT {key} FROM {parquet_table(root, table)} WHERE _org = ?", [name]
                ).fetchall()
            }
            assert got == ids, (name, table)
    # hive layout: _org=.../day=.../*.parquet; events by the day they were published
    days = con.execute(
        f"SELECT DISTINCT day FROM {parquet_table(root, 'okta_logs_system_log_events')} "
        "WHERE day <> CAST(published AS DATE)"
    ).fetchall()
    assert days == []
    assert sorted(p.name for p in (root / "okta_users_users").iterdir()) == ["_org=a", "_org=b"]
    ptype = con.execute(
        f"SELECT typeof(published), typeof(actor) FROM {parquet_table(root, 'okta_logs_system_log_events')} LIMIT 1"
    ).fetchone()
    assert ptype == ("TIMESTAMP WITH TIME ZONE", "JSON")
    first = parquet_state(root)
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))
    code, rows, _ = sync(*args)
    assert code == 0
    assert all((r["inserted"], r["updated"], r["deleted"]) == (0, 0, 0) for r in rows)
    assert parquet_state(root) == first
    assert all(n == distinct for n, distinct, _ in first.values())
    assert sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet")) == files


def test_parquet_marks_a_vanished_token(orgs: dict[str, Any], tmp_path: Path) -> None:
    import duckdb

    em, root = orgs["a"], tmp_path / "lake"
    args = ("--orgs", "a", "--to", f"parquet:{root}", "--resources", "okta.apps.tokens")
    assert sync(*args)[0] == 0
    app = next(a for a in em.org.oidc_apps if em.org.token_ids(a["id"]))
    gone = em.org.token_ids(app["id"])[-1]
    httpx.delete(
        f"{em.url}/api/v1/apps/{app['id']}/tokens/{gone}",
        headers={"Authorization": "SSWS token-a"},
    ).raise_for_status()
    code, rows, _ = sync(*args)
    assert code == 0 and rows[0]["deleted"] == 1
    marked = (
        duckdb.connect()
        .execute(
            f"SELECT id FROM {parquet_table(root, 'okta_apps_tokens')} WHERE _deleted_at IS NOT NULL"
        )
        .fetchall()
    )
    assert marked == [(gone,)]


def test_duckdb_destination_joins_live_resources_with_exec_db(
    orgs: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "landed.duckdb"
    code, _, err = sync("--orgs", "a", "--to", str(db), "--resources", "okta.apps.tokens")
    assert code == 0, err
    em = orgs["a"]
    sql = (
        "SELECT count(*) AS n FROM okta_apps_tokens t JOIN okta.apps.applications a "
        "ON a.id = t.appId WHERE t._org = 'a'"
    )
    res = CliRunner().invoke(main, ["exec", "--db", str(db), "--profile", "a", "-o", "json", sql])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout) == [{"n": len(truth(em)["okta_apps_tokens"])}]


def test_bad_destination_and_options_are_clear_errors(orgs: dict[str, Any]) -> None:
    res = CliRunner().invoke(
        main, ["sync", "--orgs", "a", "--to", "postgresql://nobody:s3cret-pw@127.0.0.1:1/x"]
    )
    assert res.exit_code == 1 and "cannot connect to PostgreSQL" in res.stderr
    assert "s3cret-pw" not in res.output + res.stderr and "nobody:***@" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "a", "--to", "parquet:/dev/null/lake"])
    assert res.exit_code == 1 and "cannot create the folder" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "a", "--to", "/dev/null/x.duckdb"])
    assert res.exit_code == 1 and "cannot open the DuckDB file" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "a", "--db", "x.duckdb"])
    assert res.exit_code == 1 and "--to x.duckdb" in res.stderr
    res = CliRunner().invoke(main, ["sync"])
    assert res.exit_code == 1 and "sync needs an org" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "nope"])
    assert res.exit_code == 1 and "no profile 'nope'" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "a", "--since", "yesterday"])
    assert res.exit_code == 1 and "--since 'yesterday'" in res.stderr
    res = CliRunner().invoke(main, ["sync", "--orgs", "a", "--resources", "okta.users.factors"])
    assert res.exit_code == 1 and "okta.users.factors needs userId" in res.stderr
    res = CliRunner().invoke(
        main, ["sync", "--orgs", "a", "--all", "--resources", "okta.users.users"]
    )
    assert res.exit_code == 1 and "not both" in res.stderr


def readme_sql(title: str) -> str:
    """The README's dashboard statement that follows the comment ``-- title``."""
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = text.split(f"-- {title}\n", 1)[1]
    return block.split(";", 1)[0]


def test_readme_dashboard_queries_run_over_landed_postgres(orgs: dict[str, Any], pg: str) -> None:
    resources = (
        "okta.users.users,okta.apps.applications,okta.apps.tokens,okta.logs.system_log_events"
    )
    assert sync("--orgs", "a,b", "--to", pg, "--resources", resources)[0] == 0
    daily = readme_sql("sign-ins per day and org, failures apart").replace(
        "$__timeFilter(published)", "published > '2000-01-01T00:00:00Z'"
    )
    rows = pg_rows(pg, daily)
    for name, em in orgs.items():
        ok = [
            e
            for e in em.org.log_events
            if e["eventType"] == "user.session.start" and e["outcome"]["result"] == "SUCCESS"
        ]
        assert sum(r[2] for r in rows if r[1] == name) == len(ok) > 0
    stale = pg_rows(
        pg, readme_sql("live refresh tokens older than 90 days, with the app and the user's login")
    )
    assert stale and all(r[3] < dt.datetime.now(dt.UTC) - dt.timedelta(days=90) for r in stale)
    assert {r[0] for r in stale} <= {"a", "b"}


def test_dry_run_prints_each_statement_and_sends_nothing(orgs: dict[str, Any]) -> None:
    for em in orgs.values():
        em.reset_log()
    code, rows, _ = sync(
        "--orgs",
        "a,b",
        "--dry-run",
        "--resources",
        "okta.users.users,okta.logs.system_log_events",
        "--since",
        "2024-01-01",
    )
    assert code == 0
    users = "SELECT * FROM okta.users.users WHERE search = 'lastUpdated ge \"1970-01-01T00:00:00.000Z\"'"
    logs = "SELECT * FROM okta.logs.system_log_events WHERE since = '2024-01-01T00:00:00.000Z' AND until = '"
    assert [(r["org"], r["resource"], r["status"]) for r in rows] == [
        (org, resource, "planned")
        for org in "ab"
        for resource in ("okta.logs.system_log_events", "okta.users.users")
    ]
    assert [r["message"] for r in rows if r["resource"] == "okta.users.users"] == [users] * 2
    until = [r["message"] for r in rows if r["resource"] != "okta.users.users"]
    assert all(m.startswith(logs) and m.endswith("Z'") for m in until), until
    assert all(not em.request_log for em in orgs.values())


def test_duckdb_destination_resync_is_idempotent_and_marks_vanished(
    orgs: dict[str, Any], tmp_path: Path
) -> None:
    import duckdb

    db, em = tmp_path / "landed.duckdb", orgs["b"]
    args = ("--orgs", "a,b", "--to", str(db), "--resources", RESOURCES)
    assert sync(*args)[0] == 0

    def state() -> list[Any]:
        con = duckdb.connect(str(db), read_only=True)
        try:
            return [
                con.execute(
                    f"SELECT count(*), md5(string_agg(to_json(t)::VARCHAR, '|' ORDER BY _org, "
                    f"{'uuid' if table.endswith('events') else 'id'})) "
                    f"FROM (SELECT * EXCLUDE (_synced_at) FROM {table}) t"
                ).fetchone()
                for table in TABLES
            ]
        finally:
            con.close()

    first = state()
    code, rows, _ = sync(*args)
    assert code == 0 and state() == first
    assert all((r["inserted"], r["updated"], r["deleted"]) == (0, 0, 0) for r in rows)
    app = next(a for a in em.org.oidc_apps if em.org.token_ids(a["id"]))
    gone = em.org.token_ids(app["id"])[0]
    httpx.delete(
        f"{em.url}/api/v1/apps/{app['id']}/tokens/{gone}", headers={"Authorization": "SSWS token-b"}
    ).raise_for_status()
    code, rows, _ = sync(*args)
    assert by(rows)[("b", "okta.apps.tokens")]["deleted"] == 1
    assert by(rows)[("a", "okta.apps.tokens")]["deleted"] == 0
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute(
        "SELECT _org, id FROM okta_apps_tokens WHERE _deleted_at IS NOT NULL"
    ).fetchall() == [("b", gone)]
    # the revocation itself reached the System Log, and landed once
    assert (
        con.execute(
            "SELECT count(*), count(DISTINCT uuid) FROM okta_logs_system_log_events WHERE _org = 'b'"
        ).fetchone()
        == (len(em.org.log_events),) * 2
    )
    con.close()


def test_parquet_killed_between_a_file_and_its_cursor_lands_each_event_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowest window: a batch's files are in place, its cursor is not."""
    from oktaql.sync._parquet import ParquetDestination

    em = start_in_thread(EmulatorConfig(token="token-d", seed=4))
    try:
        monkeypatch.setenv("OKTA_API_TOKEN", "token-d")
        to = f"parquet:{tmp_path / 'lake'}"
        args = [
            "--org-url",
            em.url,
            "--to",
            to,
            "--resources",
            "okta.logs.system_log_events",
            "--log-page-size",
            "40",
        ]
        saved = ParquetDestination.save_cursor
        calls = []

        def dies_on_the_third(self: Any, *a: Any) -> None:
            calls.append(a)
            if len(calls) == 3:
                raise KeyboardInterrupt  # as if killed right after the third batch's files
            saved(self, *a)

        monkeypatch.setattr(ParquetDestination, "save_cursor", dies_on_the_third)
        res = CliRunner().invoke(main, ["sync", *args])
        assert res.exit_code != 0
        ids = landed_event_ids(to)
        assert len(ids) == 120  # three batches' files; two cursors
        monkeypatch.setattr(ParquetDestination, "save_cursor", saved)
        code, rows, err = sync(*args)
        assert code == 0, err
        assert rows[0]["inserted"] == len(em.org.log_events) - 80
        ids = landed_event_ids(to)
        assert len(ids) == len(set(ids)) == len(em.org.log_events)
    finally:
        em.stop()


def test_ctrl_c_stops_at_once_and_a_rerun_resumes(pg: str) -> None:
    em = start_in_thread(EmulatorConfig(token="token-e", seed=5, users=60, latency_ms=100))
    try:
        env = {**os.environ, "OKTA_API_TOKEN": "token-e", "PYTHONPATH": SRC}
        cmd = [sys.executable, "-m", "oktaql.cli", "sync", "--org-url", em.url, "--to", pg,
               "--resources", "okta.logs.system_log_events", "--log-page-size", "25"]  # fmt: skip
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(landed_event_ids(pg)) < 50:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        start = time.monotonic()
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert time.monotonic() - start < 5
        assert b"interrupted" in err and b"run the same command to resume" in err
        assert b"Traceback" not in err
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
        ids = landed_event_ids(pg)
        assert len(ids) == len(set(ids)) == len(em.org.log_events)
    finally:
        em.stop()


def test_all_lands_every_readable_resource(orgs: dict[str, Any], tmp_path: Path) -> None:
    import duckdb

    em, db = orgs["a"], tmp_path / "all.duckdb"
    em.reset_log()
    code, rows, err = sync("--orgs", "a", "--all", "--to", str(db))
    assert code == 0, err
    assert len(rows) > 50 and all(r["status"] == "ok" for r in rows)
    assert sum(r["requests"] for r in rows) == len(em.request_log)
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {r["resource"].replace(".", "_") for r in rows} <= tables
    # children come after the parent listing they fan out from
    order = [r["resource"] for r in rows]
    assert order.index("okta.apps.applications") < order.index("okta.apps.tokens")


@pytest.mark.parametrize("kind", ["postgres", "parquet"])
def test_under_emulator_faults_every_event_lands_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5xx answers and responses cut mid-way: retried, or the run fails and the next resumes."""
    to = request.getfixturevalue("pg") if kind == "postgres" else f"parquet:{tmp_path / 'lake'}"
    em = start_in_thread(EmulatorConfig(token="token-f", seed=6, users=60, fault_rate=0.35))
    try:
        monkeypatch.setenv("OKTA_API_TOKEN", "token-f")
        args = ["--org-url", em.url, "--to", to, "--resources", "okta.logs.system_log_events",
                "--log-page-size", "30", "--max-retries", "0"]  # fmt: skip
        # no retry: a run that meets no fault in ~14 pages (0.65**14, 0.2%) would prove nothing
        outcomes = []
        for _ in range(80):
            code, rows, _ = sync(*args)
            outcomes.append(code)
            if code == 0:
                break
        assert outcomes[-1] == 0 and 1 in outcomes  # some runs failed part way, the last did not
        ids = landed_event_ids(to)
        assert len(ids) == len(set(ids)) == len(em.org.log_events)
    finally:
        em.stop()


def test_a_snapshot_cut_short_marks_nothing_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    em = start_in_thread(EmulatorConfig(token="token-g", seed=7, fault_rate=0.2))
    try:
        monkeypatch.setenv("OKTA_API_TOKEN", "token-g")
        db = tmp_path / "landed.duckdb"
        base = ["--org-url", em.url, "--to", str(db), "--resources", "okta.apps.tokens"]
        assert sync(*base, "--max-retries", "20")[0] == 0
        codes = [sync(*base, "--max-retries", "0")[0] for _ in range(6)]
        assert 1 in codes  # some reads were cut short by a fault
        with duckdb.connect(str(db), read_only=True) as con:
            marked = con.execute(
                "SELECT count(*) FROM okta_apps_tokens WHERE _deleted_at IS NOT NULL"
            ).fetchone()
            assert marked == (0,)
            assert con.execute("SELECT count(*) FROM okta_apps_tokens").fetchone() == (
                len(truth(em)["okta_apps_tokens"]),
            )
    finally:
        em.stop()


def test_apps_listing_is_read_once_and_the_token_fan_out_uses_its_rows(
    orgs: dict[str, Any], pg: str
) -> None:
    em = orgs["a"]
    em.reset_log()
    code, rows, err = sync(
        "--orgs", "a", "--to", pg, "--resources", "okta.apps.applications,okta.apps.tokens"
    )
    assert code == 0, err
    paths = [httpx.URL(url).path for _, url, _ in em.request_log]
    assert paths.count("/api/v1/apps") == 1  # one page of apps: the listing, once
    apps = [a["id"] for a in em.org.app_docs()]
    assert sorted(p for p in paths if p != "/api/v1/apps") == sorted(
        f"/api/v1/apps/{a}/tokens" for a in apps
    )  # one page of tokens per app (fewer than 200 each)
    summary = by(rows)
    assert summary[("a", "okta.apps.applications")]["requests"] == 1
    assert summary[("a", "okta.apps.tokens")]["requests"] == len(apps)
    assert sum(r["requests"] for r in rows) == len(em.request_log) == 1 + len(apps)
    landed = {r[0] for r in pg_rows(pg, "SELECT id FROM okta_apps_tokens")}
    assert landed == truth(em)["okta_apps_tokens"]


def test_the_system_log_read_ends_on_its_last_page(orgs: dict[str, Any], pg: str) -> None:
    """A bounded query (until = a minute before the run) has no empty page after the last."""
    em = orgs["a"]
    em.reset_log()
    args = ("--orgs", "a", "--to", pg, "--resources", "okta.logs.system_log_events")
    before = dt.datetime.now(dt.UTC)
    code, rows, err = sync(*args, "--since", "2000-01-01", "--log-page-size", "100")
    assert code == 0, err
    events = len(em.org.log_events)
    assert len(em.request_log) == rows[0]["requests"] == -(-events // 100)
    until = dt.datetime.fromisoformat(httpx.URL(em.request_log[0][1]).params["until"])
    assert before - dt.timedelta(seconds=61) < until <= before - dt.timedelta(seconds=59)
    em.reset_log()
    code, rows, _ = sync(*args)  # nothing new: one request, an empty page
    assert code == 0 and len(em.request_log) == rows[0]["requests"] == 1
    assert rows[0]["inserted"] == 0


def test_orgs_sync_in_parallel_and_a_slow_org_does_not_delay_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg: str
) -> None:
    """Request arrivals at both emulators (sampled every few ms) overlap, and the fast org's
    rows are all in PostgreSQL while the slow one is still being served."""
    import threading

    import psycopg

    ems = {
        "a": start_in_thread(EmulatorConfig(token="token-a", seed=1, latency_ms=20)),
        "b": start_in_thread(EmulatorConfig(token="token-b", seed=2, latency_ms=250)),
    }
    try:
        as_profiles(ems, tmp_path, monkeypatch)
        a_events = len(ems["a"].org.log_events)
        samples: list[tuple[float, int, int, int]] = []  # time, requests at a, at b, a landed
        done = threading.Event()

        def sample() -> None:
            with psycopg.connect(pg, autocommit=True) as conn:
                while not done.is_set():
                    try:
                        (n,) = conn.execute(
                            "SELECT count(*) FROM okta_logs_system_log_events WHERE _org = 'a'"
                        ).fetchone()  # type: ignore[misc]
                    except psycopg.Error:
                        n = 0  # the table is created by the first commit
                    t = time.monotonic()
                    samples.append((t, len(ems["a"].request_log), len(ems["b"].request_log), n))
                    time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            code, rows, err = sync(
                "--orgs", "a,b", "--to", pg, "--resources", "okta.users.users,"
                "okta.logs.system_log_events", "--since", "2000-01-01", "--log-page-size", "60",
            )  # fmt: skip
        finally:
            done.set()
            sampler.join()
        assert code == 0, err

        def first(pred: Any) -> float:
            return next(t for t, *rest in samples if pred(*rest))

        total_a, total_b = len(ems["a"].request_log), len(ems["b"].request_log)
        assert total_b >= 5  # b's requests take 250 ms each: over a second in all
        a_first, a_last = first(lambda a, b, n: a >= 1), first(lambda a, b, n: a >= total_a)
        b_first, b_last = first(lambda a, b, n: b >= 1), first(lambda a, b, n: b >= total_b)
        # both orgs are read at once: each starts before the other's last request
        assert b_first < a_last and a_first < b_last
        # org a has landed every event before org b's last request arrived
        a_landed = first(lambda a, b, n: n == a_events)
        assert a_landed < b_last
        assert {r["status"] for r in rows} == {"ok"}
    finally:
        for em in ems.values():
            em.stop()


def deleted_rows(to: str, table: str) -> set[tuple[str, str]]:
    """(_org, id) of the rows marked _deleted_at (Parquet: the latest sync day's state)."""
    sql = "SELECT _org, id FROM {} WHERE _deleted_at IS NOT NULL"
    if to.startswith("postgresql://"):
        return set(pg_rows(to, sql.format(table)))  # type: ignore[arg-type]
    import duckdb

    if to.startswith("parquet:"):
        source = parquet_table(Path(to[len("parquet:") :]), table)
        latest = f"(FROM {source} QUALIFY day = max(day) OVER (PARTITION BY _org))"
        with duckdb.connect() as con:
            return set(con.execute(sql.format(latest)).fetchall())  # type: ignore[arg-type]
    with duckdb.connect(to, read_only=True) as con:
        return set(con.execute(sql.format(table)).fetchall())  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["postgres", "duckdb", "parquet"])
def test_an_incremental_sync_marks_users_and_groups_the_system_log_says_were_deleted(
    kind: str, orgs: dict[str, Any], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    em, to = orgs["a"], destination(kind, request, tmp_path)
    args = ("--orgs", "a", "--to", to, "--since", "2000-01-01",
            "--resources", "okta.users.users,okta.groups.groups,okta.logs.system_log_events")  # fmt: skip
    code, _, err = sync(*args)
    assert code == 0, err
    auth = {"Authorization": "SSWS token-a"}
    user = em.org.users[5]
    for _ in range(2):  # deactivate, then delete
        httpx.delete(f"{em.url}/api/v1/users/{user['id']}", headers=auth).raise_for_status()
    group = next(g for g in em.org.groups if g["type"] == "OKTA_GROUP")
    httpx.delete(f"{em.url}/api/v1/groups/{group['id']}", headers=auth).raise_for_status()
    em.reset_log()
    code, rows, err = sync(*args)
    assert code == 0, [r["message"] for r in rows]
    summary = by(rows)
    # incremental: one search page each and one log page, no full listing
    searches = [httpx.URL(u).params.get("search", "") for _, u, _ in em.request_log]
    assert len(em.request_log) == 3 and sum("lastUpdated ge" in s for s in searches) == 2
    assert summary[("a", "okta.users.users")]["deleted"] == 1
    assert summary[("a", "okta.groups.groups")]["deleted"] == 1
    assert deleted_rows(to, "okta_users_users") == {("a", user["id"])}
    assert deleted_rows(to, "okta_groups_groups") == {("a", group["id"])}
    # marked once: a run after that marks nothing again
    code, rows, _ = sync(*args)
    assert code == 0 and all(r["deleted"] == 0 for r in rows)
    assert deleted_rows(to, "okta_users_users") == {("a", user["id"])}


@pytest.mark.parametrize("kind", ["postgres", "parquet", "duckdb"])
def test_a_second_run_of_the_same_org_is_refused_while_the_first_lands(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    to = destination(kind, request, tmp_path)
    em = start_in_thread(EmulatorConfig(token="token-h", seed=8, users=60, latency_ms=100))
    try:
        env = {**os.environ, "OKTA_API_TOKEN": "token-h", "PYTHONPATH": SRC}
        args = ["--org-url", em.url, "--to", to, "--resources", "okta.logs.system_log_events",
                "--log-page-size", "25"]  # fmt: skip
        first = subprocess.Popen(
            [sys.executable, "-m", "oktaql.cli", "sync", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(em.request_log) < 3:
                time.sleep(0.02)
            assert first.poll() is None, "the first sync ended before the second began"
            monkeypatch.setenv("OKTA_API_TOKEN", "token-h")
            sent = len(em.request_log)
            res = CliRunner().invoke(main, ["sync", *args, "-o", "json"])
            assert res.exit_code == 1
            if kind == "duckdb":  # DuckDB itself lets one process write the file
                assert "is another process writing it?" in res.stderr
            else:
                (row,) = json.loads(res.stdout)
                assert row["status"] == "error" and row["requests"] == 0
                assert row["message"].startswith(
                    f"another oktaql sync is landing org 127.0.0.1_{httpx.URL(em.url).port} into"
                )
                assert "flock -n" in row["message"]
            assert "Traceback" not in res.stderr
            assert len(em.request_log) - sent < 5  # the second run sent nothing of its own
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        # the killed run's lock went with it: the next run lands everything, once
        code, rows, err = sync(*args)
        assert code == 0, err
        ids = landed_event_ids(to) if kind != "duckdb" else []
        if kind != "duckdb":
            assert len(ids) == len(set(ids)) == len(em.org.log_events)
    finally:
        em.stop()


@pytest.mark.parametrize("kind", ["postgres", "duckdb"])
def test_a_table_an_older_run_left_with_other_types_is_a_clear_error(
    kind: str, orgs: dict[str, Any], request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    to = destination(kind, request, tmp_path)
    ddl = [
        "CREATE TABLE okta_users_users (_org VARCHAR, id VARCHAR, profile INTEGER, "
        "_synced_at TIMESTAMPTZ, _deleted_at TIMESTAMPTZ)",
        "CREATE TABLE okta_groups_groups (id VARCHAR, name VARCHAR)",
    ]
    if kind == "postgres":
        import psycopg

        with psycopg.connect(to, autocommit=True) as conn:
            for stmt in ddl:
                conn.execute(stmt)
    else:
        import duckdb

        with duckdb.connect(to) as con:
            for stmt in ddl:
                con.execute(stmt)
    code, rows, err = sync(
        "--orgs", "a", "--to", to, "--resources", "okta.users.users,okta.groups.groups"
    )
    assert code == 1 and "Traceback" not in err
    summary = by(rows)
    users = summary[("a", "okta.users.users")]["message"]
    want = "jsonb" if kind == "postgres" else "JSON"
    assert users.startswith(
        f"table okta_users_users: column profile is "
        f"{'integer' if kind == 'postgres' else 'INTEGER'} there, but this sync writes {want}"
    )
    assert "DELETE FROM _oktaql_sync_state WHERE resource = 'okta.users.users'" in users
    groups = summary[("a", "okta.groups.groups")]["message"]
    assert groups.startswith(
        "table okta_groups_groups exists but was not made by oktaql sync (no column _org, "
        "_synced_at, _deleted_at)"
    )


def test_bad_inputs_are_one_clear_error_each(orgs: dict[str, Any], tmp_path: Path) -> None:
    def refused(*args: str) -> str:
        res = CliRunner().invoke(main, ["sync", *args])
        assert res.exit_code == 1, res.output
        assert res.stdout == "" and "Traceback" not in res.stderr
        assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
        return res.stderr

    to = str(tmp_path / "x.duckdb")
    err = refused("--orgs", "a", "--to", "mysql://root:hunter2@db/okta")
    assert "--to mysql://...: not a destination sync knows" in err and "hunter2" not in err
    assert not Path("mysql:").exists() and not (tmp_path / "mysql:").exists()
    assert "--resources names no resource" in refused(
        "--orgs", "a", "--to", to, "--resources", " ,"
    )
    assert "--orgs names no profile" in refused("--orgs", "", "--to", to)
    assert "--var and --vars-file" in refused("--orgs", "a", "--to", to, "--var", "x=1")
    assert "is not an http(s) URL" in refused("--org-url", "not-a-url", "--to", to)
    assert "no Okta API token for the org" in refused("--org-url", orgs["a"].url, "--to", to)
    err = refused("--org-url", "https://me:pw123@acme.okta.com", "--to", to)
    assert "must not contain credentials" in err and "pw123" not in err
    assert "unknown profile 'nope'" in refused("--profile", "nope", "--to", to)
    assert "unknown resource okta.users.userz" in refused(
        "--orgs", "a", "--to", to, "--resources", "okta.users.userz"
    )
    err = refused("--orgs", "a", "--to", "postgresql://u@127.0.0.1:1/x?password=pw456&a=b")
    assert "cannot connect to PostgreSQL" in err and "pw456" not in err and "password=***" in err
    err = refused("--orgs", "a", "--to", "host=127.0.0.1 password=pw789")
    assert "give PostgreSQL as a URL" in err and "pw789" not in err
    assert "is a folder" in refused("--orgs", "a", "--to", str(tmp_path))
    assert "is in the future" in refused("--orgs", "a", "--to", to, "--since", "2999-01-01")
    assert not Path(to).exists()  # nothing opened before the inputs were checked


def test_an_org_named_twice_is_synced_once(orgs: dict[str, Any], tmp_path: Path) -> None:
    to = str(tmp_path / "x.duckdb")
    code, rows, err = sync("--orgs", "a,b,a", "--to", to, "--resources", "okta.users.users")
    assert code == 0, err
    assert [r["org"] for r in rows] == ["a", "b"]


def test_a_parquet_state_with_other_types_is_a_clear_error(
    orgs: dict[str, Any], tmp_path: Path
) -> None:
    import duckdb

    root = tmp_path / "lake"
    day = root / "okta_users_users" / "_org=a" / "day=2020-01-01"
    day.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            "COPY (SELECT 'x' AS id, 1 AS profile, now() AS _synced_at, "
            f"CAST(NULL AS TIMESTAMPTZ) AS _deleted_at) TO '{day / 'part-0.parquet'}'"
        )
    code, rows, err = sync(
        "--orgs", "a", "--to", f"parquet:{root}", "--resources", "okta.users.users"
    )
    assert code == 1 and "Traceback" not in err
    message = rows[0]["message"]
    assert message.startswith(
        "table okta_users_users: column profile is INTEGER there, but this sync writes JSON"
    )
    assert f"move {root / 'okta_users_users' / '_org=a'} away" in message
    assert [p.name for p in day.iterdir()] == ["part-0.parquet"]  # nothing written
