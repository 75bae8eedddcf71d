"""The streamed path (rows straight from the API) gives exactly what DuckDB's path gives."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
import pytest

import oktaql
from oktaql import parser
from oktaql.planning import Stream


def _streams(conn: oktaql.Connection, sql: str) -> bool:
    return isinstance(conn.session.plan(parser.parse(sql)).steps[-1], Stream)


def _both(emu: Any, sql: str) -> tuple[Any, Any]:
    out = []
    for streaming in (True, False):
        conn = oktaql.connect(org_url=emu.url, token=emu.config.token, stream=streaming)
        assert _streams(conn, sql) == streaming
        cur = conn.cursor()
        cur.execute(sql)
        out.append(([d[:2] for d in cur.description], cur.fetchall()))
    return out[0], out[1]


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM okta.apps.tokens WHERE appId = '{app}'",
        "SELECT id AS token, created, scopes, _links, appId FROM okta.apps.tokens WHERE appId = '{app}'",
        "SELECT t.id, t.expiresAt FROM okta.apps.tokens t WHERE t.appId = '{app}' LIMIT 7 OFFSET 3",
        "SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND expand = 'scope' LIMIT 0",
        "SELECT * FROM okta.users.users",
        "SELECT id, label, visibility, features FROM okta.apps.applications",
    ],
)
def test_streamed_rows_equal_duckdb_rows(emulator: Any, template: str) -> None:
    app = max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))["id"]
    streamed, relational = _both(emulator, template.format(app=app))
    assert streamed == relational
    assert streamed[1] or "LIMIT 0" in template


def test_stream_fetches_pages_only_as_rows_are_read(emulator: Any) -> None:
    app = max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))["id"]
    emulator.reset_log()
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 5")
    assert len(emulator.request_log) == 1  # the first page: its errors surface in execute()
    assert len(cur.fetchmany(7)) == 7
    assert len(emulator.request_log) == 2
    cur.close()  # abandons the rest: no further requests
    assert len(emulator.request_log) == 2
    assert emulator.org.token_count(app) > 4 * 5  # there were many more pages to read


def test_stream_with_limit_reads_no_page_ahead(emulator: Any) -> None:
    app = max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))["id"]
    emulator.reset_log()
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 5 LIMIT 7")
    assert len(cur.fetchall()) == 7
    assert len(emulator.request_log) == 2


def test_filters_and_joins_still_go_through_duckdb(emulator: Any) -> None:
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token)
    for sql in [
        "SELECT id FROM okta.apps.applications WHERE label LIKE 'M%'",
        "SELECT id FROM okta.apps.applications ORDER BY id",
        "SELECT count(*) FROM okta.apps.applications",
        "SELECT upper(label) FROM okta.apps.applications",
    ]:
        assert not _streams(conn, sql), sql


def test_explain_says_whether_rows_stream_or_go_through_duckdb() -> None:
    cur = oktaql.connect().cursor()
    cur.execute("EXPLAIN SELECT id FROM okta.apps.tokens WHERE subdomain = 'acme' AND appId = 'a'")
    last = cur.fetchall()[-1]
    assert last[2:] == (
        "stream",
        None,
        None,
        None,
        None,
        "rows go from the API straight to the caller, typed: DuckDB is not used",
    )
    cur.execute(
        "EXPLAIN SELECT id FROM okta.apps.tokens WHERE subdomain = 'acme' AND appId = 'a' "
        "ORDER BY id"
    )
    last = cur.fetchall()[-1]
    assert last[2] == "local"
    assert re.sub(r"\bt\d+\b", "tN", last[6]) == (
        "SELECT id FROM oktaql_scratch.tN AS tokens WHERE TRUE AND TRUE ORDER BY id NULLS FIRST"
    )
    assert last[7] == "runs in DuckDB"


def test_timestamp_columns_convert_as_duckdb_casts_them() -> None:
    """Both paths give UTC instants (aware datetimes), as DuckDB's TIMESTAMPTZ cast in oktaql's
    UTC session gives them; a value without a zone is read as UTC."""
    from oktaql import _stream, local

    duck = local.open_database(None)

    def cast(values: list[Any]) -> list[Any]:
        return [
            duck.execute("SELECT TRY_CAST(CAST(? AS VARCHAR) AS TIMESTAMPTZ)", [v]).fetchone()[0]
            for v in values
        ]

    okta_form = ["2024-01-03T02:23:40.000Z", "2025-12-31T23:59:59.999Z"]
    assert _stream._timestamp_column(okta_form) == cast(okta_form)
    no_zone = ["2024-01-03T02:23:40", "2024-01-03", "2024-01-03T02:23:40.5"]  # read as UTC
    assert _stream._timestamp_column(no_zone) == cast(no_zone)
    odd = [
        "2024-01-03T02:23:40.000Z",
        None,
        "2024-01-03T02:23:40+05:00",
        "2024-01-03T02:23:40.000+05:00Z",
        "not a time",
        "2024-01-03",
    ]
    got = _stream._timestamp_column(odd)
    assert got == cast(odd)
    assert got[0] == dt.datetime(2024, 1, 3, 2, 23, 40, tzinfo=dt.UTC)
    assert got[2] == dt.datetime(2024, 1, 2, 21, 23, 40, tzinfo=dt.UTC)  # +05:00 to UTC
    assert got[5] == dt.datetime(2024, 1, 3, tzinfo=dt.UTC)
    assert got[1] is None and got[3] is None and got[4] is None  # an offset then Z: neither
    assert {v.utcoffset() for v in got if v is not None} == {dt.timedelta(0)}


# --- paging through the engine, over real HTTP -------------------------------------------------


def _busiest_app(emu: Any) -> str:
    return max(emu.org.oidc_apps, key=lambda a: emu.org.token_count(a["id"]))["id"]


def test_fetchall_and_iteration_send_exactly_the_same_requests(emulator: Any) -> None:
    app = _busiest_app(emulator)
    sql = f"SELECT id, created FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 3"
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token)
    logs, results = [], []
    for read in (lambda c: c.fetchall(), lambda c: list(c)):
        emulator.reset_log()
        cur = conn.cursor()
        cur.execute(sql)
        results.append(read(cur))
        cur.close()
        logs.append([target for _, target, _ in emulator.request_log])
    assert results[0] == results[1]
    assert len(results[0]) == emulator.org.token_count(app)
    assert logs[0] == logs[1]
    assert len(logs[0]) >= len(results[0]) // 3


class FailThirdPage(httpx.BaseTransport):
    """Real HTTP to the emulator, except that the third request is answered 403."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(str(request.url))
        if len(self.sent) == 3:
            body = {
                "errorCode": "E0000006",
                "errorSummary": "You do not have permission to perform the requested action",
                "errorLink": "E0000006",
                "errorId": "oaeThird",
                "errorCauses": [],
            }
            return httpx.Response(403, json=body, request=request)
        return self.inner.handle_request(request)


@pytest.mark.parametrize("sql_tail", ["", " ORDER BY id"])  # streamed, and loaded into DuckDB
def test_an_error_on_a_later_page_surfaces_and_stops_the_read(emulator: Any, sql_tail: str) -> None:
    app = _busiest_app(emulator)
    transport = FailThirdPage()
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token, transport=transport)
    cur = conn.cursor()
    sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 2{sql_tail}"
    with pytest.raises(oktaql.APIError) as info:
        cur.execute(sql)
        cur.fetchall()
    assert info.value.status == 403
    assert "E0000006" in str(info.value)
    assert len(transport.sent) == 3  # nothing read past the failed page
    assert "after=" in transport.sent[2]


def test_a_wide_fan_out_keeps_a_connection_per_worker_alive() -> None:
    """40 calls at concurrency 32 with latency: 32 connections open, and all stay pooled, so
    a second fan-out opens none (httpx keeps only 20 by default)."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running: Any = start_in_thread(
        EmulatorConfig(token="test-token", apps=40, tokens_per_app=1, latency_ms=100)
    )
    try:
        conn = oktaql.connect(org_url=running.url, token="test-token", concurrency=32)
        sql = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
        assert len(conn.cursor().execute(sql).fetchall()) == 40
        pool = conn.session._http._client._transport._pool
        first = {id(c) for c in pool.connections}
        assert len(first) > 20
        assert len(conn.cursor().execute(sql).fetchall()) == 40
        assert {id(c) for c in pool.connections} == first
    finally:
        running.stop()


def _ssl_context_of(conn: Any) -> Any:
    return conn.session.http(
        "okta", "https://acme.okta.com/x"
    )._client._transport._pool._ssl_context


def test_connections_share_one_tls_context_per_ca_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs ~25 ms: a second connection reuses it, unless
    SSL_CERT_FILE names other CAs, which it then honours."""
    import certifi

    first = oktaql.connect(org_url="https://acme.okta.com", token="secret-token")
    second = oktaql.connect(org_url="https://acme.okta.com", token="secret-token")
    default = _ssl_context_of(first)
    assert _ssl_context_of(second) is default
    assert default.verify_mode.name == "CERT_REQUIRED" and default.check_hostname
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    custom = _ssl_context_of(oktaql.connect(org_url="https://acme.okta.com", token="secret-token"))
    assert custom is not default
    assert custom.verify_mode.name == "CERT_REQUIRED" and custom.check_hostname
