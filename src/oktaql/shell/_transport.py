"""An HTTP transport whose requests another thread can cancel (Ctrl-C while a statement runs)."""

from __future__ import annotations

import socket
import threading
from functools import cache
from typing import Any


@cache
def transport_class() -> type:
    """A transport whose requests can be cancelled from another thread: in-flight ones are
    aborted (their sockets shut down) and new ones refused until :meth:`reset`."""
    import httpcore
    import httpx

    class Cancelled(httpx.TransportError):
        pass

    class _Stream(httpcore.NetworkStream):
        def __init__(self, inner: Any, live: set[Any], lock: threading.Lock):
            self._inner, self._live, self._lock = inner, live, lock
            with lock:
                live.add(self)

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return bytes(self._inner.read(max_bytes, timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, timeout)

        def close(self) -> None:
            with self._lock:
                self._live.discard(self)
            self._inner.close()

        def start_tls(
            self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
        ) -> Any:
            with self._lock:
                self._live.discard(self)
            return _Stream(
                self._inner.start_tls(ssl_context, server_hostname, timeout), self._live, self._lock
            )

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

        def abort(self) -> None:
            sock = self._inner.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    class _Backend(httpcore.NetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()
            self.live: set[Any] = set()
            self.lock = threading.Lock()

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            return _Stream(stream, self.live, self.lock)

        def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Any = None
        ) -> Any:
            return _Stream(
                self._inner.connect_unix_socket(path, timeout, socket_options), self.live, self.lock
            )

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

        def abort_all(self) -> None:
            with self.lock:
                streams = list(self.live)
            for s in streams:
                s.abort()

    class CancellableTransport(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport | None = None):
            self._owned = inner is None
            self._backend: _Backend | None = None
            if inner is None:
                inner = httpx.HTTPTransport()
                pool = getattr(inner, "_pool", None)
                if pool is not None and hasattr(pool, "_network_backend"):
                    self._backend = _Backend()
                    pool._network_backend = self._backend
            self._inner = inner
            self.cancelled = threading.Event()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if self.cancelled.is_set():
                raise Cancelled("cancelled", request=request)
            try:
                resp = self._inner.handle_request(request)
            except Exception:
                if self.cancelled.is_set():
                    raise Cancelled("cancelled", request=request) from None
                raise
            if self.cancelled.is_set():
                resp.close()
                raise Cancelled("cancelled", request=request)
            return resp

        def cancel(self) -> None:
            self.cancelled.set()
            if self._backend is not None:
                self._backend.abort_all()

        def reset(self) -> None:
            self.cancelled.clear()

        def close(self) -> None:
            pass  # closed by shutdown(): a session's client closing must not end the shell's pool

        def shutdown(self) -> None:
            self._inner.close()

    return CancellableTransport
