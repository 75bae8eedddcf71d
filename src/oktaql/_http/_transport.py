"""HTTP/1.1 over the standard library's ``http.client``, as an httpx transport.

httpx's own transport (httpcore and h11) spends about a quarter of a page's client CPU on
work an API read does not need (its state machines, trace hooks, per-request pool
bookkeeping); ``http.client`` parses the same answer in C-backed code. This transport keeps
what the client relies on: a keep-alive pool per origin that the fan-out's threads share, the
session's TLS context, httpx's timeouts and exception types (the retry logic tells "never
sent" from "may have been acted on" by them), and a body httpx decodes itself
(``Content-Encoding`` is left to ``httpx.Response``). Every connection it holds can be shut
down from another thread (:meth:`abort_all`), which is how a cancelled session abandons what
is in flight.
"""

from __future__ import annotations

import http.client
import logging
import select
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import httpx

_CHUNK = 1 << 16
_MAX_READ = 1 << 22
# the wire, at DEBUG (as httpcore's trace was): connections and request lines, never a
# header's value (the credential is one)
_log = logging.getLogger(__name__)
_Key = tuple[str, str, int]


class _Body(httpx.SyncByteStream):
    """An answer's body, read as httpx asks; a connection read to the end goes back to the
    pool (unless the server said it closes), one left half-read is closed."""

    def __init__(
        self,
        pool: StdlibTransport,
        key: _Key,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        request: httpx.Request,
    ):
        self._pool, self._key, self._conn, self._resp = pool, key, conn, resp
        self._request = request
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        resp = self._resp
        try:
            while True:
                # a known length in one read (up to _MAX_READ): fewer chunks through httpx
                chunk = resp.read(min(max(resp.length or 0, _CHUNK), _MAX_READ))
                if not chunk:
                    break
                yield chunk
            # http.client ends a Content-Length body cut short as if it were complete
            if resp.length:
                raise http.client.IncompleteRead(b"", resp.length)
        except TimeoutError as exc:
            self._finish(reuse=False)
            raise httpx.ReadTimeout(str(exc) or "timed out", request=self._request) from exc
        except http.client.IncompleteRead as exc:
            self._finish(reuse=False)
            more = f" ({exc.expected} more bytes expected)" if exc.expected else ""
            raise httpx.RemoteProtocolError(
                f"peer closed connection without sending complete message body{more}",
                request=self._request,
            ) from exc
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._finish(reuse=False)
            raise _read_error(exc, self._request) from exc
        self._finish(reuse=not resp.will_close)

    def close(self) -> None:
        self._finish(reuse=False)

    def _finish(self, reuse: bool) -> None:
        if self._done:
            return
        self._done = True
        if reuse and self._resp.isclosed():
            self._pool._give_back(self._key, self._conn)
        else:
            self._pool._discard(self._conn)


def _read_error(exc: BaseException, request: httpx.Request) -> httpx.TransportError:
    if isinstance(exc, http.client.RemoteDisconnected):
        return httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    if isinstance(exc, http.client.HTTPException | ValueError):
        return httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}", request=request)
    return httpx.ReadError(str(exc) or type(exc).__name__, request=request)


def _readable(sock: socket.socket | None) -> bool:
    """Whether an idle connection has something to read: the server closed it (or sent what
    no request asked for); either way it must not carry another request."""
    if sock is None or sock.fileno() < 0:
        return True
    try:
        if hasattr(select, "poll"):
            p = select.poll()
            p.register(sock, select.POLLIN)
            return bool(p.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def _key(url: httpx.URL) -> _Key:
    scheme = url.scheme
    return scheme, url.raw_host.decode("ascii"), url.port or (443 if scheme == "https" else 80)


def _key_of(conn: http.client.HTTPConnection) -> _Key:
    scheme = "https" if isinstance(conn, http.client.HTTPSConnection) else "http"
    return scheme, conn.host, conn.port


class StdlibTransport(httpx.BaseTransport):
    """Keep-alive pools of ``http.client`` connections, one per origin, shared by threads.

    ``keep`` idle connections are kept per origin (at least as many as workers run at once,
    so none pays a new handshake); any number may be open at once, as many as are asked for.
    """

    def __init__(self, ssl_context: ssl.SSLContext, keep: int = 20):
        self._ssl_context = ssl_context
        self._keep = keep
        self._idle: dict[_Key, list[http.client.HTTPConnection]] = {}
        self._live: set[http.client.HTTPConnection] = set()
        self._lock = threading.Lock()
        self._closed = False

    # --- the pool ----------------------------------------------------------------------------

    @property
    def connections(self) -> list[http.client.HTTPConnection]:
        """Every connection open now, idle or carrying a request (httpcore's pool's name)."""
        with self._lock:
            return list(self._live)

    def _take(self, key: _Key) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None or not _readable(conn.sock):
                return conn
            self._discard(conn)

    def _give_back(self, key: _Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if not self._closed and len(idle) < self._keep:
                idle.append(conn)
                return
            self._live.discard(conn)
        conn.close()

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._live.discard(conn)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("closing a connection to %s:%d", conn.host, conn.port)
        conn.close()

    def abort_all(self) -> None:
        """Shut down every connection (from any thread): a read blocked on one returns."""
        with self._lock:
            live = list(self._live)
        for conn in live:
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
            for c in idle:
                self._live.discard(c)
        for c in idle:
            c.close()

    def warm(self, url: str, want: int, timeout: float | None) -> bool:
        """Open one connection to ``url``'s origin into the idle pool, unless ``want`` are
        open already (idle, opening or carrying a request); True if it opened one. Nothing is
        sent on it: a request that comes soon is spared its handshake (one or two round trips
        with TLS)."""
        key = _key(httpx.URL(url))
        with self._lock:
            if self._closed or sum(1 for c in self._live if _key_of(c) == key) >= min(
                want, self._keep
            ):
                return False
            conn = self._new(key, timeout)  # counted from now on
        try:
            self._open(conn)
        except httpx.TransportError:
            return False  # the request that comes will connect, and say what is wrong
        self._give_back(key, conn)
        return True

    # --- one request -------------------------------------------------------------------------

    def _new(self, key: _Key, connect: float | None) -> http.client.HTTPConnection:
        """A connection not yet open, counted as live (call with the lock held)."""
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=connect, context=self._ssl_context
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=connect)
        self._live.add(conn)
        return conn

    def _connect(self, key: _Key, timeout: dict[str, Any]) -> http.client.HTTPConnection:
        with self._lock:
            conn = self._new(key, timeout.get("connect"))
        self._open(conn)
        return conn

    def _open(self, conn: http.client.HTTPConnection) -> None:
        try:
            conn.connect()
        except BaseException as exc:
            self._discard(conn)
            if isinstance(exc, TimeoutError):
                raise httpx.ConnectTimeout(str(exc) or "timed out") from exc
            if isinstance(exc, OSError):  # refused, unreachable, DNS, TLS (ssl.SSLError)
                raise httpx.ConnectError(str(exc) or type(exc).__name__) from exc
            raise
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("connected to %s://%s:%d", *_key_of(conn))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        key = _key(url)
        timeout: dict[str, Any] = request.extensions.get("timeout", {})
        body = b"".join(request.stream)  # type: ignore[arg-type]
        conn = self._take(key)
        if conn is None:
            conn = self._connect(key, timeout)
        elif _log.isEnabledFor(logging.DEBUG):
            _log.debug("reusing a kept-alive connection to %s://%s:%d", *key)
        try:
            conn.sock.settimeout(timeout.get("write"))
            conn.putrequest(
                request.method,
                url.raw_path.decode("ascii"),
                skip_host=True,
                skip_accept_encoding=True,
            )
            chunked = False
            for name, value in request.headers.raw:
                if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
                    chunked = True
                conn.putheader(name, value)
            conn.endheaders(body or None, encode_chunked=chunked)
        except BaseException as exc:
            self._discard(conn)
            if isinstance(exc, TimeoutError):
                raise httpx.WriteTimeout(str(exc) or "timed out", request=request) from exc
            if isinstance(exc, OSError):
                raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from exc
            if isinstance(exc, ValueError | http.client.HTTPException):
                # never the text: http.client's quotes the header value (a credential's too)
                raise httpx.LocalProtocolError(
                    f"cannot send the request ({type(exc).__name__}): the request line or a "
                    "header holds characters HTTP does not allow",
                    request=request,
                ) from None
            raise
        try:
            conn.sock.settimeout(timeout.get("read"))
            resp = conn.getresponse()
        except BaseException as exc:
            self._discard(conn)
            if isinstance(exc, TimeoutError):
                raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
            if isinstance(exc, OSError | http.client.HTTPException | ValueError):
                raise _read_error(exc, request) from exc
            raise
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s: HTTP %d %s", request.method, url.path, resp.status, resp.reason)
        return httpx.Response(
            resp.status,
            # http.client decoded them as Latin-1: the same bytes back, whatever they hold
            headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in resp.getheaders()],
            stream=_Body(self, key, conn, resp, request),
            extensions={
                "http_version": b"HTTP/1.1" if resp.version == 11 else b"HTTP/1.0",
                "reason_phrase": resp.reason.encode("ascii", "replace"),
            },
            request=request,
        )


__all__ = ["StdlibTransport"]
