"""The HTTP client's own transport work: what rides along on requests (real HTTP, a real
server that records every request)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from oktaql._cancel import Cancellation
from oktaql._http import HTTPClient, Request


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with a JSON list and a Set-Cookie; records the request headers."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.seen.append(dict(self.headers.items()))  # type: ignore[attr-defined]
        body = json.dumps([{"n": len(self.server.seen)}]).encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "sid=s3cr3t-session; Path=/; HttpOnly")
        self.send_header("Set-Cookie", "JSESSIONID=abc123; Path=/api")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.seen = []  # type: ignore[attr-defined]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


def _url(srv: ThreadingHTTPServer, path: str) -> str:
    host, port = srv.server_address[:2]
    return f"http://{host!s}:{port}{path}"


@pytest.mark.parametrize("gated", [False, True], ids=["plain", "session-gate"])
def test_a_set_cookie_never_rides_along_on_later_requests(
    server: ThreadingHTTPServer, gated: bool
) -> None:
    transport = Cancellation().transport(None, 4) if gated else None
    client = HTTPClient("SSWS tok-abcdef", transport=transport)
    try:
        for i in range(3):
            resp = client.send(Request("GET", _url(server, f"/api/v1/users?i={i}")))
            assert resp.json() == [{"n": i + 1}]
            assert "sid=s3cr3t-session" in resp.headers.get_list("set-cookie")[0]
    finally:
        client.close()
    seen = server.seen  # type: ignore[attr-defined]
    assert len(seen) == 3
    for headers in seen:
        assert {k.lower() for k in headers} >= {"authorization", "user-agent", "accept"}
        assert "cookie" not in {k.lower() for k in headers}, headers
    assert all(h["Authorization"] == "SSWS tok-abcdef" for h in seen)


def test_the_client_keeps_no_cookie_even_when_asked(server: ThreadingHTTPServer) -> None:
    client = HTTPClient("SSWS tok-abcdef")
    try:
        client._client.cookies = {"planted": "x"}
        client._client.cookies.set("planted2", "y")
        client.send(Request("GET", _url(server, "/api/v1/users")))
        client.send(Request("GET", _url(server, "/api/v1/users")))
        assert dict(client._client.cookies) == {}
    finally:
        client.close()
    assert all("cookie" not in {k.lower() for k in h} for h in server.seen)  # type: ignore[attr-defined]


def test_a_cookie_header_the_spec_names_is_still_sent(server: ThreadingHTTPServer) -> None:
    """A call whose spec takes a Cookie parameter sends it as that request's own header."""
    client = HTTPClient("SSWS tok-abcdef")
    try:
        client.send(Request("GET", _url(server, "/api/v1/x"), headers={"Cookie": "idx=1"}))
        client.send(Request("GET", _url(server, "/api/v1/x")))
    finally:
        client.close()
    seen = server.seen  # type: ignore[attr-defined]
    assert seen[0].get("Cookie") == "idx=1"
    assert "cookie" not in {k.lower() for k in seen[1]}
