"""Stopping a session's work at once, from another thread or a signal handler (Ctrl-C).

Every HTTP client of a session sends through a gate (:meth:`Cancellation.transport`). Once
the session is cancelled a gate refuses every request (``OperationalError``, never retried:
no backoff runs for it), and the requests in flight are abandoned: their connections are shut
down, so a worker blocked on a slow answer returns at once, and whatever still arrives is
refused. Nothing here takes a lock that the interrupted code could hold, other than
re-entrant ones, so a signal handler may cancel.

Caveat: a proxy from the environment (``HTTPS_PROXY``) is a transport of httpx's own, which
no gate wraps; there, what the runner stops (no new call after an error or an interrupt) is
what stops the sending.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from oktaql.errors import OperationalError

if TYPE_CHECKING:
    import httpx


class Cancellation:
    """One session's off switch, shared by the gates of all its clients."""

    def __init__(self) -> None:
        self._set = False  # a plain attribute: read without a lock, written atomically
        self._gates: list[Any] = []
        self._lock = threading.RLock()  # re-entrant: a signal handler may run inside it

    def is_set(self) -> bool:
        return self._set

    def cancel(self) -> int:
        """Refuse every request from now on and abandon those in flight; how many were."""
        self._set = True
        with self._lock:
            gates = list(self._gates)
        return sum(g.abort() for g in gates)

    def resume(self) -> None:
        self._set = False

    def transport(self, inner: httpx.BaseTransport | None, connections: int) -> httpx.BaseTransport:
        """A gate in front of ``inner`` (None: real HTTP, with connections that can be shut
        down from another thread, and HTTPClient's TLS and connection limits)."""
        wrap, own = _gate_classes()
        gate = own(self, connections) if inner is None else wrap(self, inner)
        with self._lock:
            self._gates.append(gate)
        return gate  # type: ignore[no-any-return]

    def forget(self, gate: Any) -> None:
        with self._lock:
            if gate in self._gates:
                self._gates.remove(gate)


def interrupted(method: str, url: str, in_flight: bool) -> OperationalError:
    if in_flight:
        err = OperationalError(
            f"interrupted: {method} {url} was abandoned in flight; Okta may have acted on it"
        )
        err.may_have_acted = True
        return err
    return OperationalError(f"interrupted: {method} {url} was not sent (the session was cancelled)")


@functools.cache
def _gate_classes() -> tuple[type, type]:
    import httpx

    from oktaql._http._transport import StdlibTransport

    class _Guard:
        """What both gates do: refuse once cancelled, count what is in flight, shut it down."""

        def __init__(self, cancellation: Cancellation, backend: StdlibTransport | None):
            self.cancellation = cancellation
            self.backend = backend
            self._flying = 0
            self._lock = threading.RLock()

        def refused(self, request: httpx.Request, in_flight: bool) -> OperationalError:
            return interrupted(request.method, str(request.url), in_flight)

        def done(self) -> None:
            with self._lock:
                self._flying -= 1

        def send(
            self, request: httpx.Request, forward: Callable[[httpx.Request], httpx.Response]
        ) -> httpx.Response:
            if self.cancellation.is_set():
                raise self.refused(request, in_flight=False)
            with self._lock:
                self._flying += 1
            try:
                resp = forward(request)
            except Exception:
                self.done()
                if self.cancellation.is_set():
                    raise self.refused(request, in_flight=True) from None
                raise
            if self.cancellation.is_set():
                resp.close()
                self.done()
                raise self.refused(request, in_flight=True)
            resp.stream = _Body(resp.stream, self, request)
            return resp

        def abort(self) -> int:
            with self._lock:
                flying = self._flying
            if self.backend is not None:
                self.backend.abort_all()
            return flying

    class _Body(httpx.SyncByteStream):
        """A response body: a read cut by the cancellation says so."""

        closed = False

        def __init__(self, inner: Any, guard: _Guard, request: httpx.Request):
            self._inner, self._guard, self._request = inner, guard, request

        def __iter__(self) -> Iterator[bytes]:
            try:
                yield from self._inner
            except Exception:
                if self._guard.cancellation.is_set():
                    raise self._guard.refused(self._request, in_flight=True) from None
                raise

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                if not self.closed:
                    self.closed = True
                    self._guard.done()

    class Gate(httpx.BaseTransport):
        """In front of a transport given to the session (its connections are its own: what
        is in flight is refused when it comes back, not shut down)."""

        def __init__(self, cancellation: Cancellation, inner: httpx.BaseTransport):
            self.guard = _Guard(cancellation, None)
            self._inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.guard.send(request, self._inner.handle_request)

        def warm(self, url: str, want: int, timeout: float | None) -> bool:
            # oktaql's own transport, handed in (a counting subclass, say), opens ahead too
            inner = getattr(self._inner, "warm", None)
            if inner is None or self.guard.cancellation.is_set():
                return False
            return bool(inner(url, want, timeout))

        def abort(self) -> int:
            return self.guard.abort()

        def close(self) -> None:
            self.guard.cancellation.forget(self)
            self._inner.close()

    class OwnGate(httpx.BaseTransport):
        """Real HTTP as HTTPClient would set it up (httpx ignores a client's verify= and
        limits= once it is handed a transport), over connections that can be shut down."""

        def __init__(self, cancellation: Cancellation, connections: int):
            self._pool = StdlibTransport(
                _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
                keep=max(20, connections),
            )
            self.guard = _Guard(cancellation, self._pool)

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self.guard.send(request, self._pool.handle_request)

        def warm(self, url: str, want: int, timeout: float | None) -> bool:
            if self.guard.cancellation.is_set():
                return False
            return self._pool.warm(url, want, timeout)

        def abort(self) -> int:
            return self.guard.abort()

        def close(self) -> None:
            self.guard.cancellation.forget(self)
            self._pool.close()

    return Gate, OwnGate


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> Any:
    """One TLS context per process and CA setting (loading the CA bundle takes ~25 ms); the
    arguments only key the cache: httpx reads SSL_CERT_FILE/SSL_CERT_DIR itself."""
    import httpx

    return httpx.create_ssl_context()


@contextmanager
def sigint_caught() -> Iterator[Callable[[], bool]]:
    """While inside, Ctrl-C (SIGINT) is noted instead of raising KeyboardInterrupt wherever the
    main thread happens to be: raised inside a lock's wait it can leave the lock broken
    (``RuntimeError: release unlocked lock``). Yields whether it came. Outside the main thread
    nothing changes (signals reach the main thread only)."""
    came = [False]
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def note(signum: int, frame: Any) -> None:
        came[0] = True

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield lambda: came[0]
    finally:
        signal.signal(
            signal.SIGINT, previous if previous is not None else signal.default_int_handler
        )


@contextmanager
def sigint_cancels(cancel: Callable[[], int]) -> Iterator[None]:
    """While inside, Ctrl-C first cancels (``cancel()``: nothing more is sent, what is in
    flight is abandoned), then raises KeyboardInterrupt as usual, with a note saying so."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        flying = cancel()
        exc = KeyboardInterrupt()
        note = "no request was sent after Ctrl-C"
        if flying:
            note += f"; {flying} request{'s' if flying != 1 else ''} in flight abandoned"
        exc.add_note(note)
        raise exc

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(
            signal.SIGINT, previous if previous is not None else signal.default_int_handler
        )
