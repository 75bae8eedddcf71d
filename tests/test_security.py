"""Hostile input and hostile servers: values stay values, the token stays home and unprinted.

Values pasted from logs reach the API as exactly one path segment, one header value or one
host label; redirects are never followed; the token never shows in output, errors, EXPLAIN or
logs at any verbosity. Holes found in code owned elsewhere are ``xfail(strict=True)`` with
the repro, so the suite turns red the day they are fixed (and the mark must go).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from click.testing import CliRunner

import oktaql
from oktaql._http import HTTPClient, Request, RetryPolicy
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

SECRET = "00s3cr3t-T0KEN-x9Yq7Zr4Lm2Pw8Kd5Vb1"
FAST = RetryPolicy(max_retries=6, backoff_base=0.001, backoff_max=0.01)

HOSTILE_VALUES = [
    "../users",
    "..",
    ".",
    "0oa1/tokens/oar2",
    "a?limit=1&after=x",
    "a#fragment",
    "a%2Fb",
    "a b",
    "\u00fcml\u00e4ut",
    "x'; DROP TABLE t; --",
    '"}{',
    "{{ other }}",
    "line\r\nX-Injected: 1",
]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(seed=9, apps=3, tokens_per_app=4, token=SECRET)) as e:
        yield e


def connect(emu: RunningEmulator, **kw: Any) -> oktaql.Connection:
    return oktaql.connect(org_url=emu.url, token=SECRET, **kw)


def run(conn: oktaql.Connection, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchall()


def explain_urls(conn: oktaql.Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    return [r[4] for r in run(conn, "EXPLAIN " + sql, params) if r[4]]


def segments(url: str) -> list[str]:
    return urlsplit(url).path.split("/")


# --------------------------------------------------------------------------- path parameters


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_path_parameter_is_exactly_one_segment_in_explain(value: str) -> None:
    conn = oktaql.connect(org_url="https://acme.okta.com")
    sql = "SELECT id FROM okta.apps.tokens WHERE appId = '{{ v }}'"
    (url,) = explain_urls(conn, sql, {"v": value})
    parts = urlsplit(url)
    # the only query parameter is the page size oktaql asks for: the largest, 200
    assert parts.netloc == "acme.okta.com" and parts.query == "limit=200" and not parts.fragment
    segs = segments(url)
    assert segs[:4] == ["", "api", "v1", "apps"] and segs[5:] == ["tokens"]
    seg = segs[4]
    assert "/" not in seg and "?" not in seg and "#" not in seg and seg not in (".", "..")
    assert unquote(seg) == value


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_path_parameter_on_the_wire_is_what_explain_showed(value: str) -> None:
    srv, url = _server((404, {"X-Okta-Request-Id": "r404"}))
    try:
        conn = oktaql.connect(org_url=url, token=SECRET)
        sql = "SELECT id FROM okta.apps.tokens WHERE appId = {{ v }}"  # bare placeholder
        (planned,) = explain_urls(conn, sql, {"v": value})
        with pytest.raises(oktaql.APIError) as err:
            run(conn, sql, {"v": value})
        assert err.value.status == 404
        # one request, its target byte for byte the planned path
        assert urlsplit(planned).query == "limit=200"
        assert [p for _, p, _ in srv.seen] == [urlsplit(planned).path + "?limit=200"]
    finally:
        srv.shutdown()


def test_hostile_token_id_in_delete_revokes_nothing_else(emu: RunningEmulator) -> None:
    org = emu.org
    before = {a["id"]: org.token_ids(a["id"]) for a in org.oidc_apps}
    app, other = org.oidc_apps[0]["id"], org.oidc_apps[1]["id"]
    conn = connect(emu)
    # each value is one path segment: no such token (Okta's 404, which a DELETE counts as
    # already absent), or, with a "/" in it, no such path (an error naming the URI)
    for value, absent in [
        ("..", True),
        (".", True),
        (f"../../{other}", False),
        (f"{before[app][0]}/../..", False),
        ("%2E%2E", True),
        (" ", True),
    ]:
        sql = "DELETE FROM okta.apps.tokens WHERE appId = {{ a }} AND tokenId = {{ t }}"
        if absent:
            cur = conn.cursor()
            cur.execute(sql, {"a": app, "t": value})
            assert cur.message is not None and cur.message.endswith("; 1 already absent")
        else:
            with pytest.raises(oktaql.APIError, match=r"\(URI\)") as err:
                run(conn, sql, {"a": app, "t": value})
            assert err.value.status == 404
    assert {a["id"]: org.token_ids(a["id"]) for a in org.oidc_apps} == before


def test_empty_path_parameter_is_refused(emu: RunningEmulator) -> None:
    with start_in_thread(EmulatorConfig(seed=9, apps=1, tokens_per_app=3, token=SECRET)) as e:
        app = e.org.oidc_apps[0]["id"]
        tokens = e.org.token_ids(app)
        conn = connect(e)
        try:
            run(
                conn,
                "DELETE FROM okta.apps.tokens WHERE appId = {{ a }} AND tokenId = '{{ t }}'",
                {"a": app, "t": ""},
            )  # an empty value pasted from a log
        except oktaql.ProgrammingError:
            pass
        assert e.org.token_ids(app) == tokens  # the statement named one token, not all
        assert e.request_log == []


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize("bad", ["a\r\nX-Injected: 1", "a\nb", "a\rb"])
def test_header_parameter_with_a_line_break_is_refused_before_sending(
    emu: RunningEmulator, bad: str
) -> None:
    conn = connect(emu)
    emu.reset_log()
    sql = (
        "INSERT INTO okta.apps.applications (data__label, data__signOnMode, "
        "OktaAccessGateway-Agent) SELECT 'x', 'BOOKMARK', {{ h }}"
    )
    with pytest.raises(oktaql.PlanError, match="must not contain line breaks"):
        run(conn, sql, {"h": bad})
    with pytest.raises(oktaql.PlanError, match="must not contain line breaks"):
        run(conn, "EXPLAIN " + sql, {"h": bad})
    with pytest.raises(oktaql.PlanError, match="must not contain line breaks"):
        run(conn, 'SELECT id FROM okta.users.users WHERE "Content-Type" = {{ h }}', {"h": bad})
    assert emu.request_log == []


@pytest.mark.parametrize("bad", ["a\x00b", "caf\u00e9"])
def test_header_value_httpx_refuses_is_an_oktaql_error_without_the_token(
    emu: RunningEmulator, bad: str
) -> None:
    conn = connect(emu)
    emu.reset_log()
    with pytest.raises(oktaql.OperationalError) as err:
        run(conn, 'SELECT id FROM okta.users.users WHERE "Content-Type" = {{ h }}', {"h": bad})
    assert SECRET not in str(err.value)
    assert emu.request_log == []


# --------------------------------------------------------------------------- hosts


@pytest.mark.parametrize(
    "subdomain",
    [
        "evil.example/x",
        "acme.okta.com@evil.example",
        "acme.okta.com:444",
        "acme.okta.com#",
        "acme okta",
        "-acme",
        "acme..okta.com",
        "ac\r\nme",
        "",
        "acme/../../evil.example",
    ],
)
def test_subdomain_must_be_host_labels(subdomain: str) -> None:
    conn = oktaql.connect()  # no org URL: the statement names the org
    sql = "SELECT id FROM okta.apps.tokens WHERE subdomain = {{ s }} AND appId = 'x'"
    with pytest.raises(oktaql.PlanError, match="not a valid host name"):
        run(conn, "EXPLAIN " + sql, {"s": subdomain})


def test_subdomain_builds_the_okta_host() -> None:
    conn = oktaql.connect()
    sql = "SELECT id FROM okta.apps.tokens WHERE subdomain = {{ s }} AND appId = 'x'"
    (url,) = explain_urls(conn, sql, {"s": "acme"})
    assert url.startswith("https://acme.okta.com/api/v1/apps/x/tokens")


def test_with_an_org_url_the_subdomain_cannot_move_the_token() -> None:
    conn = oktaql.connect(org_url="https://acme.okta.com")
    sql = "SELECT id FROM okta.apps.tokens WHERE subdomain = 'evil.example' AND appId = 'x'"
    (url,) = explain_urls(conn, sql)
    assert urlsplit(url).netloc == "acme.okta.com"


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.okta.com",
        "http://10.0.0.1:8080",
        "http://192.168.1.10",
        "https://user:pw@acme.okta.com",
        "http://user@127.0.0.1:8080",
        "ftp://acme.okta.com",
        "file:///etc/passwd",
        "acme.okta.com",
    ],
)
def test_org_url_refuses_plain_http_off_loopback_and_credentials(url: str) -> None:
    with pytest.raises(oktaql.ConfigError):
        oktaql.connect(org_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:9", "https://a.b"]
)
def test_org_url_allows_https_and_loopback_http(url: str) -> None:
    oktaql.connect(org_url=url).close()


@pytest.mark.parametrize(
    "url", ["http://127.evil.example", "http://localhost.evil.example", "http://127.0.0.1.nip.io"]
)
def test_org_url_loopback_check_is_not_a_prefix_match(url: str) -> None:
    with pytest.raises(oktaql.ConfigError):
        oktaql.connect(org_url=url)


# --------------------------------------------------------------------------- redirects


class _Recorder(BaseHTTPRequestHandler):
    """Records each request; answers with the server's ``answer`` (status, headers)."""

    def _any(self) -> None:
        self.server.seen.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        status, headers = self.server.answer  # type: ignore[attr-defined]
        body = b'{"id":"0oaX"}' if status == 200 else b""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = _any

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    seen: list[tuple[str, str, dict[str, str]]]
    answer: tuple[int, dict[str, str]]


def _server(answer: tuple[int, dict[str, str]]) -> tuple[_Server, str]:
    srv = _Server(("127.0.0.1", 0), _Recorder)
    srv.seen = []
    srv.answer = answer
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(status: int) -> None:
    elsewhere, elsewhere_url = _server((200, {}))
    redirector, url = _server((status, {"Location": f"{elsewhere_url}/api/v1/apps"}))
    try:
        conn = oktaql.connect(org_url=url, token=SECRET)
        for sql in [
            "SELECT id FROM okta.apps.applications",
            "DELETE FROM okta.apps.tokens WHERE appId = 'a' AND tokenId = 'b'",
        ]:
            with pytest.raises(oktaql.APIError, match="not followed") as err:
                run(conn, sql)
            assert err.value.status == status
            assert SECRET not in str(err.value)
        assert len(redirector.seen) == 2
        assert all(h.get("Authorization") == f"SSWS {SECRET}" for _, _, h in redirector.seen)
        assert elsewhere.seen == []  # the token never went to the other server
    finally:
        redirector.shutdown()
        elsewhere.shutdown()


# --------------------------------------------------------------------------- secrets


def test_explain_masks_the_token(emu: RunningEmulator) -> None:
    conn = connect(emu)
    app = emu.org.oidc_apps[0]["id"]
    for sql in [
        f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}'",
        f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'",
        "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id",
    ]:
        out = run(conn, "EXPLAIN " + sql)
        assert SECRET not in repr(out)
        headers = [json.loads(r[5]) for r in out if r[5]]
        assert headers and all(h["Authorization"] == "SSWS ***" for h in headers)
    assert emu.org.token_ids(app)  # EXPLAIN sent nothing


def test_cli_never_prints_the_token(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
    app = emu.org.oidc_apps[0]["id"]
    runs = [
        ["-o", "json", f"SELECT id, _links FROM okta.apps.tokens WHERE appId = '{app}'"],
        ["-o", "table", "SELECT id, label, _links FROM okta.apps.applications"],
        ["--dry-run", f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'"],
        ["SELECT id FROM okta.apps.tokens WHERE appId = 'no-such-app'"],  # 404
        ["--var", f"x={SECRET}", "SELECT 1 FROM okta.apps.tokens WHERE appId = 'y'"],
    ]
    for args in runs:
        res = CliRunner().invoke(main, ["exec", "--org-url", emu.url, *args])
        assert SECRET not in res.stdout + res.stderr, args
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET + "-wrong")  # 401
    res = CliRunner().invoke(
        main, ["exec", "--org-url", emu.url, "SELECT id FROM okta.users.users"]
    )
    assert res.exit_code == 1 and "E0000011" in res.stderr
    assert SECRET not in res.stdout + res.stderr


def test_token_never_in_logs_at_any_verbosity(emu: RunningEmulator) -> None:
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(logging.Formatter("%(name)s %(message)s").format(record))

    names = ["", "httpx", "httpcore", "h11", "oktaql", "uvicorn", "uvicorn.error", "asyncio"]
    loggers = [logging.getLogger(n) for n in names]
    saved = [(lg, lg.level) for lg in loggers]
    handler = Keep(level=1)
    root = logging.getLogger()
    root.addHandler(handler)
    for lg in loggers:
        lg.setLevel(1)  # below DEBUG: whatever TRACE-level output exists is kept too
    try:
        with start_in_thread(
            EmulatorConfig(seed=3, apps=3, tokens_per_app=30, token=SECRET, fault_rate=0.3)
        ) as chaotic:
            conn = connect(chaotic, retry=FAST)
            sql = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
            assert len(run(conn, sql)) == 90
            assert chaotic.app.state.chaos.events  # retries happened, and were logged
        conn = connect(emu)
        for sql, params in [
            ("SELECT id FROM okta.apps.tokens WHERE appId = 'nope'", None),
            ('SELECT id FROM okta.users.users WHERE "Content-Type" = {{ h }}', {"h": "a\x00"}),
        ]:
            with pytest.raises(oktaql.Error) as err:
                run(conn, sql, params)
            assert SECRET not in str(err.value)
        wrong = oktaql.connect(org_url=emu.url, token=SECRET[::-1])
        with pytest.raises(oktaql.APIError):
            run(wrong, "SELECT id FROM okta.users.users")
    finally:
        root.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)
    # the capture did see the wire (httpcore's trace, or the session's http.client transport's)
    assert any(r.startswith(("httpcore", "oktaql._http._transport")) for r in records)
    assert any(r.startswith("httpx") for r in records)
    leaked = [r for r in records if SECRET in r or SECRET[::-1] in r]
    assert leaked == []


@pytest.mark.parametrize(
    "token",
    [
        SECRET + "\r\nX-Injected: 1",
        SECRET[:10] + "\n" + SECRET[10:],
        SECRET + "\x00",
        SECRET + "\u00e9",
    ],
)
def test_token_with_control_characters_is_refused_unprinted(
    emu: RunningEmulator, token: str
) -> None:
    emu.reset_log()
    conn = oktaql.connect(org_url=emu.url, token=token)
    with pytest.raises(oktaql.ConfigError) as err:
        run(conn, "SELECT id FROM okta.apps.applications")
    assert SECRET[:10] not in str(err.value) and SECRET[10:] not in str(err.value)
    assert emu.request_log == []


def test_token_with_a_trailing_newline_from_a_file_works(emu: RunningEmulator) -> None:
    conn = oktaql.connect(org_url=emu.url, token=SECRET + "\n")
    assert len(run(conn, "SELECT id FROM okta.apps.applications")) == len(emu.org.apps)


def test_a_server_echoing_the_token_does_not_get_it_printed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        auth = request.headers["Authorization"]
        body = {
            "errorCode": "E0000001",
            "errorSummary": f"Api validation failed: {auth}",
            "errorCauses": [{"errorSummary": f"header was {auth}"}],
        }
        return httpx.Response(400, json=body, headers={"X-Okta-Request-Id": "r"})

    client = HTTPClient(f"SSWS {SECRET}", transport=httpx.MockTransport(echo))
    with pytest.raises(oktaql.APIError) as err:
        client.send(Request("GET", "https://acme.okta.com/api/v1/apps"))
    exc = err.value
    assert SECRET not in str(exc) and SECRET not in (exc.error_summary or "")
    assert SECRET not in json.dumps(exc.body)
    assert "SSWS ***" in str(exc)
    assert SECRET not in repr(client)


def test_the_token_is_sent_only_to_the_org(emu: RunningEmulator) -> None:
    conn = connect(emu)
    emu.reset_log()
    run(conn, "SELECT a.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id")
    assert emu.request_log
    assert {h["authorization"] for _, _, h in emu.request_log} == {f"SSWS {SECRET}"}
    assert {h["host"] for _, _, h in emu.request_log} == {urlsplit(emu.url).netloc}
