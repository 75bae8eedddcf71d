"""The HTTP client's own transport work: what rides along on requests (real HTTP, a real
server that records every request)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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


@contextmanager
def _serving(
    handler: type[BaseHTTPRequestHandler], tls: Any = None
) -> Iterator[ThreadingHTTPServer]:
    """A loopback server on its own thread, recording in ``seen`` (and ``ports``); ``tls``: an
    ``ssl.SSLContext`` to wrap its socket in."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.daemon_threads = True
    srv.ports = set()  # type: ignore[attr-defined]
    srv.seen = []  # type: ignore[attr-defined]
    if tls is not None:
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
        t.join(5)


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    with _serving(_Recorder) as srv:
        yield srv


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


# --- the session's own transport over http.client -----------------------------------------


class _Varied(BaseHTTPRequestHandler):
    """GET /plain, /gzip, /chunked, /slow, /drop (closes without saying so); POST echoes."""

    protocol_version = "HTTP/1.1"

    def _answer(self, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if (extra or {}).get("Transfer-Encoding") == "chunked":
            self.end_headers()
            for i in range(0, len(body), 7):
                part = body[i : i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        srv.ports.add(self.client_address[1])  # type: ignore[attr-defined]
        srv.seen.append((self.path, dict(self.headers.items())))  # type: ignore[attr-defined]
        rows = json.dumps([{"i": i, "path": self.path} for i in range(50)]).encode()
        if self.path == "/gzip":
            import gzip

            self._answer(gzip.compress(rows), {"Content-Encoding": "gzip"})
        elif self.path == "/chunked":
            self._answer(rows, {"Transfer-Encoding": "chunked"})
        elif self.path == "/slow":
            import time

            time.sleep(1.0)
            try:
                self._answer(rows)
            except OSError:  # the client gave up waiting: its timeout is what is tested
                self.close_connection = True
        elif self.path.startswith("/cut"):  # half the body, then the connection closes
            self.send_response(200)
            self.send_header("Content-Length", str(len(rows)))
            if self.path == "/cut-chunked":
                self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            half = rows[: len(rows) // 2]
            self.wfile.write(b"%x\r\n%s" % (len(rows), half) if "chunked" in self.path else half)
            self.close_connection = True
        elif self.path == "/drop":
            self._answer(rows)
            self.close_connection = True  # no "Connection: close": the client finds out later
        else:
            self._answer(rows, {"Link": '<http://x/a>; rel="next"', "X-Multi": "a, b"})

    def do_POST(self) -> None:  # noqa: N802
        self.server.ports.add(self.client_address[1])  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(json.dumps({"echo": json.loads(body)}).encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def varied() -> Iterator[ThreadingHTTPServer]:
    with _serving(_Varied) as srv:
        yield srv


def _gated_client(connections: int = 4) -> HTTPClient:
    return HTTPClient(
        "SSWS tok-abcdef",
        transport=Cancellation().transport(None, connections),
        connections=connections,
    )


def test_the_session_transport_is_http_client_over_a_keep_alive_pool(
    varied: ThreadingHTTPServer,
) -> None:
    from oktaql._http._transport import StdlibTransport

    client = _gated_client()
    try:
        assert isinstance(client._client._transport._pool, StdlibTransport)  # type: ignore[attr-defined]
        for path in ["/plain", "/gzip", "/chunked", "/plain"] * 3:
            resp = client.send(Request("GET", _url(varied, path)))
            assert resp.json() == [{"i": i, "path": path} for i in range(50)]
        resp = client.send(
            Request("POST", _url(varied, "/echo"), body={"a": [1, 2]}, has_body=True)
        )
        assert resp.json() == {"echo": {"a": [1, 2]}}
        last = client.send(Request("GET", _url(varied, "/plain")))
    finally:
        client.close()
    assert varied.ports == {next(iter(varied.ports))}  # type: ignore[attr-defined]  # one connection
    assert last.headers["X-Multi"] == "a, b"
    assert last.links["next"]["url"] == "http://x/a"
    assert last.http_version == "HTTP/1.1"
    seen = varied.seen  # type: ignore[attr-defined]
    assert "gzip" in seen[1][1]["Accept-Encoding"]  # httpx asks, and decodes the answer
    assert {k.lower() for k in seen[0][1]} == {
        "host", "accept", "accept-encoding", "connection", "user-agent", "authorization"
    }  # fmt: skip
    assert all(h["Host"] == f"127.0.0.1:{varied.server_address[1]}" for _, h in seen)


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    varied: ThreadingHTTPServer,
) -> None:
    import time

    client = _gated_client()
    try:
        for _ in range(3):
            client.send(Request("GET", _url(varied, "/drop")))
            time.sleep(0.1)  # the server's close arrives while the connection is idle
            # a POST is never retried after a dropped connection: it must not meet one
            resp = client.send(Request("POST", _url(varied, "/e"), body={"x": 1}, has_body=True))
            assert resp.json() == {"echo": {"x": 1}}
            time.sleep(0.1)
    finally:
        client.close()
    assert len(varied.ports) >= 3  # type: ignore[attr-defined]


def test_threads_share_the_pool(varied: ThreadingHTTPServer) -> None:
    client = _gated_client(connections=6)
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(10):
                path = f"/plain?w={w}&i={i}"
                assert client.send(Request("GET", _url(varied, path))).json()[0]["path"] == path
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    client.close()
    assert errors == []
    assert len(varied.seen) == 60  # type: ignore[attr-defined]
    assert 1 <= len(varied.ports) <= 6  # type: ignore[attr-defined]


def test_timeouts_and_refusals_are_httpx_errors(varied: ThreadingHTTPServer) -> None:
    import socket

    import httpx

    from oktaql._cancel import _tls_context
    from oktaql._http._transport import StdlibTransport

    t = StdlibTransport(_tls_context(None, None))
    with httpx.Client(transport=t, timeout=httpx.Timeout(5.0, read=0.2)) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.get(_url(varied, "/slow"))
        assert c.get(_url(varied, "/plain")).status_code == 200  # the pool goes on
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there
        with pytest.raises(httpx.ConnectError):
            c.get(f"http://127.0.0.1:{port}/")
        for cut in ["/cut", "/cut-chunked"]:
            with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
                c.get(_url(varied, cut))
        with pytest.raises(httpx.UnsupportedProtocol):
            t.handle_request(httpx.Request("GET", "ftp://127.0.0.1/"))


def test_a_read_timeout_through_the_client_says_connection_failed(
    varied: ThreadingHTTPServer,
) -> None:
    from oktaql._http import RetryPolicy
    from oktaql.errors import OperationalError

    client = HTTPClient(
        "SSWS tok-abcdef",
        transport=Cancellation().transport(None, 2),
        timeout=0.2,
        retry=RetryPolicy(max_retries=1, backoff_base=0.01),
    )
    try:
        with pytest.raises(OperationalError, match="connection failed"):
            client.send(Request("GET", _url(varied, "/slow")))
    finally:
        client.close()
    assert [p for p, _ in varied.seen] == ["/slow", "/slow"]  # type: ignore[attr-defined]


# --- TLS -----------------------------------------------------------------------------------


def _self_signed(tmp: Any, names: list[str]) -> tuple[str, str]:
    """A certificate for ``names`` (DNS names or IP addresses) and its key, as PEM files."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    alt: list[x509.GeneralName] = []
    for n in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            alt.append(x509.DNSName(n))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "cert.pem", tmp / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


@contextmanager
def _tls_server(cert: str, key: str) -> Iterator[ThreadingHTTPServer]:
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    with _serving(_Varied, tls=ctx) as srv:
        yield srv


@pytest.mark.parametrize("names", [["127.0.0.1"], ["other.example"]], ids=["ours", "other-name"])
def test_tls_is_verified_against_the_given_cas_and_the_host(
    tmp_path: Any, names: list[str]
) -> None:
    pytest.importorskip("cryptography", reason="builds the test's certificate")
    import ssl

    import httpx

    from oktaql._cancel import _tls_context
    from oktaql._http._transport import StdlibTransport

    cert, key = _self_signed(tmp_path, names)
    with _tls_server(cert, key) as srv:
        url = f"https://127.0.0.1:{srv.server_address[1]}/plain"
        with httpx.Client(transport=StdlibTransport(_tls_context(None, None))) as c:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                c.get(url)  # the system's CAs do not know this certificate
        trusting = ssl.create_default_context(cafile=cert)
        with httpx.Client(transport=StdlibTransport(trusting)) as c:
            if names == ["other.example"]:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    c.get(url)  # trusted, but issued to another host
                assert srv.seen == []  # type: ignore[attr-defined]
                return
            for _ in range(3):
                assert c.get(url).json()[0] == {"i": 0, "path": "/plain"}
    assert len(srv.ports) == 1  # type: ignore[attr-defined]  # kept alive over TLS


def test_a_header_http_does_not_allow_is_refused_without_its_value(
    varied: ThreadingHTTPServer,
) -> None:
    import httpx

    from oktaql._cancel import _tls_context
    from oktaql._http._transport import StdlibTransport

    t = StdlibTransport(_tls_context(None, None))
    bad = httpx.Request("GET", _url(varied, "/plain"), headers={"X-Token": "s3cr3t\r\nEvil: 1"})
    with pytest.raises(httpx.LocalProtocolError) as info:
        t.handle_request(bad)
    assert "s3cr3t" not in str(info.value) and info.value.__cause__ is None
    assert "characters HTTP does not allow" in str(info.value)
    ok = t.handle_request(httpx.Request("GET", _url(varied, "/plain")))
    ok.read()
    assert ok.status_code == 200
    t.close()
    assert [p for p, _ in varied.seen] == ["/plain"]  # type: ignore[attr-defined]


def test_warm_opens_connections_ahead_up_to_the_number_asked(
    varied: ThreadingHTTPServer,
) -> None:
    client = _gated_client(connections=4)
    pool = client._client._transport._pool  # type: ignore[attr-defined]
    url = _url(varied, "/plain")
    try:
        assert client.warm(url, 4) is False  # not bound to an origin yet: nowhere to go
        client.send(Request("GET", url))  # binds the client, leaves its connection idle
        opened = [client.warm(url, 4) for _ in range(5)]
        assert opened == [True, True, True, False, False]  # with the first one's: four
        assert len(pool.connections) == 4
        assert len(varied.ports) == 1  # type: ignore[attr-defined]  # nothing sent on them
        # four requests at once: each takes an open connection, none opens a fifth
        barrier = threading.Barrier(4)

        def one(i: int) -> None:
            barrier.wait()
            client.send(Request("GET", _url(varied, f"/plain?i={i}")))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(pool.connections) == 4
        assert 1 <= len(varied.ports) <= 4  # type: ignore[attr-defined]
    finally:
        client.close()


def test_warm_never_connects_to_another_origin(varied: ThreadingHTTPServer) -> None:
    import socket

    other = socket.socket()
    other.bind(("127.0.0.2", 0))
    other.listen(8)
    other.setblocking(False)
    client = _gated_client(connections=4)
    try:
        client.send(Request("GET", _url(varied, "/plain")))  # bound to 127.0.0.1:<port>
        elsewhere = f"http://127.0.0.2:{other.getsockname()[1]}/api/v1/apps"
        assert [client.warm(elsewhere, 4) for _ in range(3)] == [False] * 3
        with pytest.raises(BlockingIOError):
            other.accept()  # the second server was never connected to
    finally:
        client.close()
        other.close()
