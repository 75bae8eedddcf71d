"""Views, materialized views, user tables and the database file (StackQL's stateful statements)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import oktaql


def _conn(emu: Any, **kw: Any) -> oktaql.Connection:
    return oktaql.connect(org_url=emu.url, token=emu.config.token, **kw)


def _busiest(emu: Any) -> dict[str, Any]:
    return max(emu.org.oidc_apps, key=lambda a: emu.org.token_count(a["id"]))


def _one(cur: oktaql.Cursor) -> tuple[Any, ...]:
    row = cur.fetchone()
    assert row is not None
    return row


@pytest.fixture(params=["memory", "file"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Local objects in the session's own DuckDB, or in a file attached only while a
    statement needs it: both behave the same."""
    return ":memory:" if request.param == "memory" else str(tmp_path / "state.duckdb")


def test_view_binds_parameter_from_outer_where(emulator: Any, db: str) -> None:
    app = _busiest(emulator)
    cur = _conn(emulator, db=db).cursor()
    cur.execute("CREATE VIEW my_tokens AS SELECT id, userId, status FROM okta.apps.tokens")
    assert cur.message == "view my_tokens created"
    emulator.reset_log()
    cur.execute(f"SELECT id FROM my_tokens WHERE appId = '{app['id']}' ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == sorted(emulator.org.token_ids(app["id"]))
    assert all(p.startswith(f"/api/v1/apps/{app['id']}/tokens") for _, p, _ in emulator.request_log)
    # planned like its body every time: a second read calls the API again
    emulator.reset_log()
    cur.execute(f"SELECT count(*) FROM my_tokens WHERE appId = '{app['id']}'")
    assert cur.fetchone() == (emulator.org.token_count(app["id"]),)
    assert emulator.request_log
    with pytest.raises(oktaql.PlanError, match="okta.apps.tokens: SELECT needs appId"):
        cur.execute("SELECT id FROM my_tokens")


def test_view_errors_and_replace(emulator: Any, db: str) -> None:
    cur = _conn(emulator, db=db).cursor()
    cur.execute("CREATE VIEW v AS SELECT id FROM okta.apps.applications")
    with pytest.raises(
        oktaql.ProgrammingError,
        match="view v already exists: use CREATE OR REPLACE, or DROP it first",
    ):
        cur.execute("CREATE VIEW v AS SELECT label FROM okta.apps.applications")
    cur.execute("CREATE OR REPLACE VIEW v AS SELECT label FROM okta.apps.applications")
    cur.execute("SELECT label FROM v ORDER BY label")
    assert [r[0] for r in cur.fetchall()] == sorted(a["label"] for a in emulator.org.apps)
    cur.execute("DROP VIEW v")
    with pytest.raises(oktaql.ProgrammingError, match="no view named v"):
        cur.execute("DROP VIEW v")
    cur.execute("DROP VIEW IF EXISTS v")


def test_materialized_view_reads_without_requests(emulator: Any, db: str) -> None:
    cur = _conn(emulator, db=db).cursor()
    cur.execute(
        "CREATE MATERIALIZED VIEW apps_mv AS SELECT id, label, status FROM okta.apps.applications"
    )
    assert cur.rowcount == len(emulator.org.apps)
    emulator.reset_log()
    cur.execute("SELECT label FROM apps_mv WHERE status = 'ACTIVE' ORDER BY label")
    assert [r[0] for r in cur.fetchall()] == sorted(
        a["label"] for a in emulator.org.apps if a["status"] == "ACTIVE"
    )
    assert emulator.request_log == []
    cur.execute("REFRESH MATERIALIZED VIEW apps_mv")
    assert [m for m, _, _ in emulator.request_log] == ["GET"]
    cur.execute("DROP MATERIALIZED VIEW apps_mv")
    with pytest.raises(oktaql.ProgrammingError):
        cur.execute("SELECT * FROM apps_mv")


def test_user_table_joined_with_tokens(emulator: Any, db: str) -> None:
    app = _busiest(emulator)
    tokens = emulator.org.tokens_for_app(app["id"])
    watched = sorted({t["userId"] for t in tokens})[:2]
    cur = _conn(emulator, db=db).cursor()
    cur.execute("CREATE TABLE watchlist (user_id VARCHAR, reason VARCHAR)")
    cur.execute(
        f"INSERT INTO watchlist VALUES ('{watched[0]}', 'left'), ('{watched[1]}', 'contractor')"
    )
    assert cur.rowcount == 2
    cur.execute(
        f"SELECT w.reason, t.id FROM okta.apps.tokens t JOIN watchlist w ON w.user_id = t.userId "
        f"WHERE t.appId = '{app['id']}' ORDER BY t.id"
    )
    want = sorted(
        (
            (("left" if t["userId"] == watched[0] else "contractor"), t["id"])
            for t in tokens
            if t["userId"] in watched
        ),
        key=lambda r: r[1],
    )
    assert cur.fetchall() == want
    cur.execute(
        f"INSERT INTO watchlist SELECT userId, 'token holder' FROM okta.apps.tokens WHERE appId = '{app['id']}'"
    )
    assert cur.rowcount == len(tokens)
    cur.execute("DROP TABLE watchlist")


def test_database_file_is_shared_between_processes(emulator: Any, tmp_path: Path) -> None:
    db = tmp_path / "state.duckdb"
    conn = _conn(emulator, db=str(db))
    conn.cursor().execute("CREATE VIEW labels AS SELECT label FROM okta.apps.applications")
    conn.close()
    code = (
        "import oktaql, json, sys\n"
        f"c = oktaql.connect(org_url={emulator.url!r}, token={emulator.config.token!r}, db={str(db)!r})\n"
        "cur = c.cursor(); cur.execute('SELECT count(*) FROM labels'); print(cur.fetchone()[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(len(emulator.org.apps))


def test_locked_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ready', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        cur = oktaql.connect(db=str(db)).cursor()  # the file opens on first use
        with pytest.raises(oktaql.OperationalError) as caught:
            cur.execute("CREATE TABLE t (a INTEGER)")
        assert str(caught.value) == (
            f"database {db} is in use: another oktaql process is writing it (waited 5 s); run "
            "the statement again once it is done, or keep this session's views and tables in "
            "another file (--db PATH, db= in Python; :memory: keeps nothing). Queries of "
            "provider tables alone never need the file"
        )
        # it said it was waiting, once, before giving up
        assert capsys.readouterr().err == (
            f"waiting for {db}: another oktaql process is writing it\n"
        )
    finally:
        holder.kill()
        holder.wait()


def test_show_insert_template(stackql_registry: Path) -> None:
    cur = oktaql.connect(registry=stackql_registry).cursor()
    cur.execute("SHOW INSERT /*+ REQUIRED */ INTO okta.apps.applications")
    ((method, sql),) = cur.fetchall()
    assert method == "create_application"
    assert sql.startswith(
        "INSERT INTO okta.apps.applications (\ndata__label,\ndata__signOnMode,\nsubdomain\n)"
    )
    # the template runs once its placeholders are filled
    cur.execute("EXPLAIN " + sql, {"label": "x", "signOnMode": "BOOKMARK", "subdomain": "acme"})
    assert _one(cur)[3:5] == ("POST", "https://acme.okta.com/api/v1/apps")


def test_registry_pull_from_local_directory(
    stackql_registry: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "fresh"))
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", stackql_registry.as_uri())
    cur = oktaql.connect().cursor()
    cur.execute("REGISTRY LIST")
    assert cur.fetchall() == [("okta", "v00.00.00000", False)]
    cur.execute("REGISTRY PULL okta")
    ((provider, version, services, location),) = cur.fetchall()
    assert (provider, version, services) == ("okta", "v00.00.00000", 55)
    assert Path(location).is_relative_to(tmp_path / "fresh")
    # a new session without --registry now uses the pulled provider (55 services, not the built-in 13)
    cur = oktaql.connect().cursor()
    cur.execute("SHOW SERVICES IN okta")
    assert len(cur.fetchall()) == 55
    cur.execute("EXPLAIN SELECT id FROM okta.brands.brands WHERE subdomain = 'acme'")
    assert _one(cur)[4] == "https://acme.okta.com/api/v1/brands?limit=200"


def test_cache_ttl_reuses_reads_and_writes_invalidate(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = _busiest(emu)
    cur = _conn(emu, cache_ttl=300).cursor()
    sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}'"
    cur.execute(sql)
    first = cur.fetchall()
    emu.reset_log()
    cur.execute(sql)
    assert cur.fetchall() == first
    assert emu.request_log == []
    cur.execute("EXPLAIN " + sql)
    assert "cached response reused" in _one(cur)[7]
    cur.execute(
        f"DELETE FROM okta.apps.tokens WHERE appId = '{app['id']}' AND tokenId = '{first[0][0]}'"
    )
    emu.reset_log()
    cur.execute(sql)
    assert cur.fetchall() == first[1:]
    assert emu.request_log  # the write dropped the cached read


def test_cache_ttl_lets_expired_reads_go(emulator: Any) -> None:
    import time

    apps = [a["id"] for a in emulator.org.oidc_apps[:4]]
    conn = _conn(emulator, cache_ttl=0.2)
    cur = conn.cursor()
    for app in apps[:2]:
        cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}'").fetchall()
    assert conn.session.cache.entries == 2
    time.sleep(0.3)  # both expired: a long-lived session must not keep them
    for app in apps[2:]:
        cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}'").fetchall()
    assert conn.session.cache.entries == 2  # the two fresh ones only


def test_explain_cache_note_belongs_to_its_own_call(emulator: Any) -> None:
    apps = [a["id"] for a in emulator.org.oidc_apps[:3]]
    cur = _conn(emulator, cache_ttl=300).cursor()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{apps[0]}'")
    cur.fetchall()
    listed = ", ".join(f"'{a}'" for a in apps)
    cur.execute(f"EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId IN ({listed})")
    notes = {r[4].split("/")[-2]: r[7] for r in cur.fetchall() if r[4]}
    assert "cached response reused" in notes[apps[0]]
    # the calls after the cached one were never read: no cache note (it used to carry over)
    assert [a for a in apps[1:] if "cached" in notes[a]] == []


def test_plain_queries_never_open_the_file(emulator: Any, tmp_path: Path) -> None:
    db = tmp_path / "data" / "oktaql.duckdb"
    cur = _conn(emulator, db=str(db)).cursor()
    app = _busiest(emulator)
    cur.execute("SELECT label FROM okta.apps.applications ORDER BY label")
    assert [r[0] for r in cur.fetchall()] == sorted(a["label"] for a in emulator.org.apps)
    cur.execute(
        "SELECT count(*) FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id "
        f"WHERE a.id = '{app['id']}'"
    )
    assert cur.fetchall() == [(emulator.org.token_count(app["id"]),)]
    cur.execute(  # a CTE's name is no local table
        "WITH a AS (SELECT id FROM okta.apps.applications) SELECT count(*) FROM a"
    )
    assert cur.fetchall() == [(len(emulator.org.apps),)]
    # values DuckDB works out at planning: an UPDATE's expression, an INSERT's SELECT
    cur.execute(
        f"EXPLAIN REPLACE okta.apps.applications SET data__label = upper('x') || '1' "
        f"WHERE appId = '{app['id']}'"
    )
    assert json.loads(_one(cur)[6])["label"] == "X1"
    cur.execute(
        "EXPLAIN INSERT INTO okta.groups.groups (data__profile) "
        """SELECT json_object('name', 'g' || 2)"""
    )
    assert json.loads(_one(cur)[6]) == {"profile": {"name": "g2"}}
    cur.connection.close()
    assert not db.parent.exists()


def test_the_file_is_attached_only_around_the_steps_that_need_it(
    emulator: Any, tmp_path: Path
) -> None:
    from oktaql import parser

    conn = _conn(emulator, db=str(tmp_path / "state.duckdb"))
    cur = conn.cursor()
    cur.execute("CREATE TABLE watchlist (user_id VARCHAR)")
    cur.execute("CREATE VIEW labels AS SELECT label FROM okta.apps.applications")

    def span(sql: str) -> tuple[list[str], tuple[int, int, bool] | None]:
        plan = conn.session.plan(parser.parse(sql))
        return [type(s).__name__ for s in plan.steps], plan.local_state()

    # the API is read first, without the file; only the INSERT itself holds it, to write
    assert span("INSERT INTO watchlist SELECT userId FROM okta.apps.tokens WHERE appId = 'x'") == (
        ["Fetch", "RunLocal"],
        (1, 1, True),
    )
    # a view over the API is read at planning: its rows come from scratch tables only
    assert span("SELECT label FROM labels ORDER BY label") == (["Fetch", "RunLocal"], None)
    # reading a table of the file, read-only
    assert span(
        "SELECT t.id FROM okta.apps.tokens t JOIN watchlist w ON w.user_id = t.userId "
        "WHERE t.appId = 'x'"
    ) == (["Fetch", "RunLocal"], (1, 1, False))
    # a fan-out whose values come from the file holds it from there on
    fed = "SELECT id FROM okta.users.users u WHERE u.id IN (SELECT user_id FROM watchlist)"
    assert span(fed) == (["FanOut", "RunLocal"], (0, 1, False))
    assert span("CREATE MATERIALIZED VIEW mv AS SELECT id FROM okta.apps.applications") == (
        ["Fetch", "Materialize", "StoreView"],
        (1, 2, True),
    )
    assert span("DROP VIEW labels") == (["DropView"], (0, 0, True))


def test_fan_out_fed_by_a_table_of_the_file(emulator: Any, tmp_path: Path) -> None:
    apps = sorted(a["id"] for a in emulator.org.oidc_apps[:2])
    cur = _conn(emulator, db=str(tmp_path / "state.duckdb")).cursor()
    cur.execute("CREATE TABLE mine (app_id VARCHAR)")
    cur.execute("INSERT INTO mine VALUES " + ", ".join(f"('{a}')" for a in apps))
    emulator.reset_log()
    cur.execute(
        "SELECT id FROM okta.apps.tokens WHERE appId IN (SELECT app_id FROM mine) ORDER BY id"
    )
    assert [r[0] for r in cur.fetchall()] == sorted(
        t for a in apps for t in emulator.org.token_ids(a)
    )
    assert sorted({p.split("/")[4] for _, p, _ in emulator.request_log}) == apps


def test_unusable_database_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a database")
    cur = oktaql.connect(db=str(tmp_path / "notes.txt")).cursor()
    with pytest.raises(oktaql.ConfigError) as caught:
        cur.execute("SELECT * FROM watchlist")  # reading it, too
    assert str(caught.value).startswith(f"cannot open database {tmp_path / 'notes.txt'}: ")
    assert "not a valid DuckDB database file" in str(caught.value)
    inside_a_file = tmp_path / "notes.txt" / "state.duckdb"
    cur = oktaql.connect(db=str(inside_a_file)).cursor()
    with pytest.raises(oktaql.ConfigError) as caught:
        cur.execute("CREATE TABLE t (a INTEGER)")
    assert str(caught.value).startswith(f"cannot create the folder of database {inside_a_file}: ")
    assert str(caught.value).endswith("choose another file with --db PATH (db= in Python)")


def test_the_plan_says_whether_it_needs_the_database_file(emulator: Any) -> None:
    from oktaql import parser

    session = _conn(emulator).session
    session.execute("CREATE TABLE watch (id VARCHAR)")

    def touches(sql: str) -> bool:
        return session.plan(parser.parse(sql)).touches_local_state()

    assert not touches("SELECT id FROM okta.apps.applications")
    assert not touches(
        "SELECT a.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    )
    assert touches("SELECT id FROM watch")
    assert touches("CREATE VIEW v AS SELECT id FROM okta.apps.applications")
    assert touches("INSERT INTO watch SELECT id FROM okta.apps.applications")
