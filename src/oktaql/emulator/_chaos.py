"""Faults and rate limits for the emulated org: an outage and a throttled org on demand.

An ASGI middleware in front of the emulator (installed by ``build_app``) that, per request:

1. **Rate limit** (``config.rate_limit`` requests per ``config.rate_window`` seconds, counted
   per *endpoint family*: ``/api/v1/apps``, ``/api/v1/apps/{id}``,
   ``/api/v1/apps/{id}/tokens``, ``/api/v1/users``, ...). Windows are aligned to multiples
   of ``rate_window`` since the epoch (60 s: the wall-clock minute, as Okta does). Every
   response carries the family's ``X-Rate-Limit-Limit``/``-Remaining``/``-Reset`` (epoch
   seconds, rounded up) and ``Date``; over the limit it is 429 ``E0000047``, answered before
   the org is touched. Without ``rate_limit`` nothing is counted and the app's nominal
   600/599 headers pass through.
2. **Faults** (``config.fault_rate``, a share in [0, 1]): a fault is drawn from a
   ``random.Random`` seeded with ``(config.seed, method, path?query, how many times this exact
   request got past the rate limit)``, so a run is reproducible even when requests arrive
   concurrently or some were throttled, and a retry of a faulted request draws afresh. ``config.fault_kinds`` chooses among

   * ``"500"``, ``"502"``, ``"503"``, ``"504"``: that status with an Okta error body
     (``E0000009``), answered **without acting**: a faulted POST/PUT/DELETE changes nothing;
   * ``"drop"``: status line, headers and part of the body, then the connection is closed
     mid-response (over a socket the client sees an incomplete body). Reads (GET/HEAD/OPTIONS)
     run and are cut short. Writes are cut off **before acting**, unless
     ``config.fault_drop_after_action`` is set: then the org acts first and only the answer is
     lost, the "the server may have acted" case a client must not blindly retry;
   * ``"stall"`` (not in the default kinds): waits ``config.fault_stall_s`` seconds before
     answering (reads are then answered normally, writes with 504 without acting), to
     exercise client timeouts.

3. **Concurrency** (``config.concurrency_limit``): Okta limits the requests an org has in
   flight at once; the N+1th concurrent request is answered 429 ``E0000047`` at once, with
   the headers Okta sends for a concurrency violation: ``X-Rate-Limit-Limit: 0``,
   ``X-Rate-Limit-Remaining: 0`` and ``X-Rate-Limit-Reset`` (the next second). A request
   counts from arrival until its answer is sent (``latency_ms`` included).

Faulted requests and 429s are added to the request log like any other, and to
``Chaos.events`` as ``(method, path?query, kind)`` (kind ``"429"`` or a fault kind) for
tests. ``Chaos.arrivals`` keeps ``(time, method, path?query)`` of every request the rate limit
counted, at the instant it counted it (its window is ``floor(time / rate_window)``), and
``Chaos.concurrency_refusals`` the ``(method, path?query)`` refused for concurrency;
``Chaos.peak_in_flight`` is the most requests ever in flight at once. The object is
``app.state.chaos``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
import re
import threading
import time
from collections import Counter
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from ._http import JSON, OktaError, concurrency_limited, dumps, rate_limited
from ._util import random_looking

if TYPE_CHECKING:
    from ._app import _State

FAULT_KINDS = ("500", "502", "503", "504", "drop", "stall")
DEFAULT_FAULT_KINDS = ("500", "502", "503", "504", "drop")
_SAFE = {"GET", "HEAD", "OPTIONS"}
_SUMMARIES = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_RATE_HEADERS = {b"x-rate-limit-limit", b"x-rate-limit-remaining", b"x-rate-limit-reset", b"date"}

Scope = dict[str, Any]


class InjectedDrop(Exception):
    """Raised after a partial response so the server closes the connection (a fault)."""


class _QuietDrops(logging.Filter):
    """Keeps injected drops out of uvicorn's error log: they are not bugs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDrop)


_QUIET = _QuietDrops()


def endpoint_family(path: str) -> str:
    """``/api/v1/apps/0oa1/tokens/oar2`` → ``/api/v1/apps/{id}/tokens/{id}``."""
    segs = [s for s in path.split("/") if s]
    out: list[str] = []
    i = 0
    while i < len(segs) and not re.fullmatch(r"v\d+", segs[i]):
        out.append(segs[i])
        i += 1
    if i < len(segs):
        out.append(segs[i])
        i += 1
    out += [s if j % 2 == 0 else "{id}" for j, s in enumerate(segs[i:])]
    return "/" + "/".join(out)


class Chaos:
    """The middleware; see the module docstring."""

    def __init__(self, state: _State):
        self.app: Any = None  # the wrapped ASGI app, set by wrap()
        self.state = state
        self.config = state.config
        kinds = tuple(getattr(self.config, "fault_kinds", DEFAULT_FAULT_KINDS))
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"fault_kinds {kinds!r}: choose among {', '.join(FAULT_KINDS)}")
        self.kinds = kinds
        self.events: list[tuple[str, str, str]] = []
        self._seen: Counter[tuple[str, str]] = Counter()
        self._windows: dict[str, tuple[int, int]] = {}  # family → (window index, used)
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self.in_flight = 0  # requests being answered now (the event loop's thread only)
        self.peak_in_flight = 0
        self.arrivals: list[tuple[float, str, str]] = []  # counted by the rate limit
        self.concurrency_refusals: list[tuple[str, str]] = []
        logging.getLogger("uvicorn.error").addFilter(_QUIET)

    def wrap(self, app: Any) -> Chaos:
        """The middleware factory Starlette calls when it builds its stack."""
        self.app = app
        return self

    def _active(self) -> bool:
        return (
            bool(self.config.fault_rate)
            or self.config.rate_limit is not None
            or getattr(self.config, "concurrency_limit", None) is not None
        )

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self._active():
            await self.app(scope, receive, send)
            return
        limit = getattr(self.config, "concurrency_limit", None)
        if limit is None:
            await self._serve(scope, receive, send)
            return
        if self.in_flight >= limit:
            method = scope["method"].upper()
            raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
            query = scope.get("query_string", b"").decode("latin-1")
            target = raw_path + ("?" + query if query else "")
            self._log(scope, method, target, "429")
            self.concurrency_refusals.append((method, target))
            await self._error(send, concurrency_limited(), (0, 0, int(time.time()) + 1, False))
            return
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self._serve(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _serve(self, scope: Scope, receive: Any, send: Any) -> None:
        cfg = self.config
        method = scope["method"].upper()
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        target = raw_path + ("?" + query if query else "")
        rate = None
        if cfg.rate_limit is not None:
            now = time.time()
            rate = self._rate(endpoint_family(scope["path"]), now)
            self.arrivals.append((now, method, target))
        if rate is not None and not rate[3]:
            self._log(scope, method, target, "429")
            await self._error(send, rate_limited(), rate)
            return
        # drawn only for requests past the rate limit, so which ones fault does not depend on
        # how the (timing-dependent) 429s fell
        fault = self._draw(method, target)
        if fault in ("500", "502", "503", "504"):
            self._log(scope, method, target, fault)
            status = int(fault)
            await self._error(send, OktaError(status, "E0000009", _SUMMARIES[status]), rate)
            return
        if fault == "stall":
            self.events.append((method, target, fault))
            await asyncio.sleep(float(getattr(cfg, "fault_stall_s", 5.0)))
            if method not in _SAFE:
                self.state.request_log.append((method, target, _headers(scope)))
                await self._error(send, OktaError(504, "E0000009", _SUMMARIES[504]), rate)
                return
        if fault == "drop":
            self.events.append((method, target, fault))
            acts = method in _SAFE or bool(getattr(cfg, "fault_drop_after_action", False))
            await self._drop(scope, receive, send, rate, acts, method, target)
            return

        async def send_with_rate(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and rate is not None:
                message = {**message, "headers": _with_rate(message.get("headers", []), rate)}
            await send(message)

        await self.app(scope, receive, send_with_rate)

    # --- decisions (made before the org is touched) ---------------------------------------

    def _draw(self, method: str, target: str) -> str | None:
        rate = float(self.config.fault_rate or 0.0)
        if rate <= 0:
            return None
        with self._lock:
            n = self._seen[(method, target)]
            self._seen[(method, target)] = n + 1
        rng = random.Random(f"{self.config.seed}|{method}|{target}|{n}")
        if rng.random() >= rate:
            return None
        return rng.choice(self.kinds)

    def _rate(self, family: str, now: float) -> tuple[int, int, int, bool]:
        """(limit, remaining, reset epoch seconds, allowed) of ``family``'s window at ``now``."""
        limit = int(self.config.rate_limit or 0)
        window = float(getattr(self.config, "rate_window", 60.0) or 60.0)
        index = math.floor(now / window)
        with self._lock:
            seen, used = self._windows.get(family, (index, 0))
            if seen != index:
                used = 0
            used += 1
            self._windows[family] = (index, used)
        reset = math.ceil((index + 1) * window)
        return limit, max(0, limit - used), reset, used <= limit

    # --- answers --------------------------------------------------------------------------

    def _log(self, scope: Scope, method: str, target: str, kind: str) -> None:
        self.events.append((method, target, kind))
        self.state.request_log.append((method, target, _headers(scope)))

    def _request_id(self) -> str:
        return random_looking(next(self._ids) ^ (self.config.seed << 32) ^ 0xC4A05, 24)

    async def _error(
        self, send: Any, err: OktaError, rate: tuple[int, int, int, bool] | None
    ) -> None:
        n = next(self._ids)
        rid = random_looking(n ^ (self.config.seed << 32) ^ 0xC4A05, 24)
        body = dumps(err.body("oae" + random_looking(n * 7919 + 0xC4A05, 22)))
        headers = [
            (b"content-type", JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-okta-request-id", rid.encode()),
            *((k.lower().encode(), v.encode()) for k, v in err.headers.items()),
        ]
        headers = _with_rate(headers, rate or _nominal())
        await send({"type": "http.response.start", "status": err.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _drop(
        self,
        scope: Scope,
        receive: Any,
        send: Any,
        rate: tuple[int, int, int, bool] | None,
        acts: bool,
        method: str,
        target: str,
    ) -> None:
        status, headers, body = 200, [(b"content-type", JSON.encode())], b""
        if acts:
            captured: dict[str, Any] = {"headers": [], "body": []}

            async def capture(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    captured["status"] = message["status"]
                    captured["headers"] = list(message.get("headers", []))
                elif message["type"] == "http.response.body":
                    captured["body"].append(message.get("body", b""))

            await self.app(scope, receive, capture)
            status = int(captured.get("status", 200))
            headers = captured["headers"]
            body = b"".join(captured["body"])
        else:
            self.state.request_log.append((method, target, _headers(scope)))
            body = b'[{"id":"' + self._request_id().encode() + b'","status":"ACT'
        if status in (204, 304) or status < 200:
            status = 200
        announced = max(len(body), 1) + 64  # always more than what is sent
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(announced).encode()))
        headers = _with_rate(headers, rate or _nominal())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        raise InjectedDrop(f"injected fault: connection dropped during {method} {target}")


def install(app: Any, state: _State) -> Chaos:
    """Put the middleware in front of ``app`` (a Starlette app not yet serving)."""
    chaos = Chaos(state)
    app.add_middleware(chaos.wrap)
    app.state.chaos = chaos
    return chaos


def _nominal() -> tuple[int, int, int, bool]:
    now = int(time.time())
    return 600, 599, now - now % 60 + 60, True


def _with_rate(
    headers: list[tuple[bytes, bytes]], rate: tuple[int, int, int, bool]
) -> list[tuple[bytes, bytes]]:
    limit, remaining, reset, _ = rate
    kept = [(k, v) for k, v in headers if k.lower() not in _RATE_HEADERS]
    return kept + [
        (b"date", formatdate(usegmt=True).encode()),
        (b"x-rate-limit-limit", str(limit).encode()),
        (b"x-rate-limit-remaining", str(remaining).encode()),
        (b"x-rate-limit-reset", str(reset).encode()),
    ]


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
