"""Rate-limit pacing: Okta's ``X-Rate-Limit-*`` headers per endpoint family, and the waits they
imply (a 429's reset, a low budget spread evenly until the reset)."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from oktaql._http import _clock
from oktaql._http._models import RetryPolicy

if TYPE_CHECKING:
    import httpx


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset_raw: int  # X-Rate-Limit-Reset as sent (server epoch seconds): the window's identity
    reset: float  # the same instant on this machine's clock
    next_slot: float


Key = tuple[str, str, str]


class RatePacer:
    """Shared by every thread of a client: keeps each endpoint family inside its budget.

    The budget left is the last reported ``X-Rate-Limit-Remaining`` less every request of the
    family still in flight (conservative: the server may already have counted some of them).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[Key, _Bucket] = {}
        self._inflight: dict[Key, int] = {}

    def acquire(self, key: Key, policy: RetryPolicy) -> Key | None:
        """Wait until a request of ``key``'s family may go; the ticket for record/release."""
        if not policy.pace:
            return None
        while True:
            with self._lock:
                delay, reserved = self._plan(key, policy)
                if reserved:
                    self._inflight[key] = self._inflight.get(key, 0) + 1
            if delay > 0:
                _clock.sleep(delay)
            if reserved:
                return key

    def _plan(self, key: Key, policy: RetryPolicy) -> tuple[float, bool]:
        """(seconds to wait, whether a slot was taken); a wait without a slot re-plans after."""
        b = self._buckets.get(key)
        now = _clock.now()
        if b is None:
            return 0.0, True
        if now >= b.reset:  # a new window: the next answer tells its budget
            del self._buckets[key]
            return 0.0, True
        until_reset = b.reset - now
        left = b.remaining - self._inflight.get(key, 0)
        low = max(b.limit * policy.pace_fraction, policy.pace_reserve)
        if left > low or until_reset > policy.max_rate_limit_wait:
            return 0.0, True
        if left <= 0:
            return until_reset + 0.02, False  # nothing left: wait for the window to reset
        slot = max(now, b.next_slot)
        b.next_slot = slot + (b.reset - slot) / left  # the rest spread evenly until the reset
        return slot - now, True

    def release(self, ticket: Key | None) -> None:
        """A request that got no answer: it no longer counts as in flight."""
        if ticket is not None:
            with self._lock:
                self._inflight[ticket] = max(0, self._inflight.get(ticket, 0) - 1)

    def record(self, key: Key, resp: httpx.Response, ticket: Key | None) -> None:
        """Note the budget an answer reports (a 429 means none is left)."""
        info = _rate_headers(resp)
        with self._lock:
            if ticket is not None:
                self._inflight[ticket] = max(0, self._inflight.get(ticket, 0) - 1)
            if info is None:
                return
            limit, remaining, reset_raw, reset = info
            if resp.status_code == 429:
                remaining = 0
            b = self._buckets.get(key)
            if b is None or reset_raw > b.reset_raw:
                self._buckets[key] = _Bucket(limit, remaining, reset_raw, reset, _clock.now())
            elif reset_raw == b.reset_raw:
                b.limit = limit
                b.remaining = min(b.remaining, remaining)
                b.reset = min(b.reset, reset)
            # an answer from an earlier window, arriving late: nothing to learn


def _rate_headers(resp: httpx.Response) -> tuple[int, int, int, float] | None:
    try:
        limit = int(resp.headers["X-Rate-Limit-Limit"])
        remaining = int(resp.headers["X-Rate-Limit-Remaining"])
        reset_raw = int(resp.headers["X-Rate-Limit-Reset"])
    except (KeyError, ValueError):
        return None
    if limit <= 0 or remaining < 0:
        return None
    now = _clock.now()
    reset = reset_raw - _server_now(resp, now) + now
    if not now - 1 < reset < now + 86400:  # garbage, or a window long gone
        return None
    return limit, remaining, reset_raw, reset


def family(url: str) -> Key:
    """(scheme, host, path with ids collapsed): ``/api/v1/apps/{id}/tokens``, Okta's buckets."""
    # every page of a read has the same path: work it out once
    return _path_family(url.partition("?")[0].partition("#")[0])


@functools.lru_cache(maxsize=1024)
def _path_family(url: str) -> Key:
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    out: list[str] = []
    i = 0
    while i < len(segs) and not re.fullmatch(r"v\d+", segs[i]):
        out.append(segs[i])
        i += 1
    if i < len(segs):
        out.append(segs[i])
        i += 1
    out += [s if j % 2 == 0 else "{id}" for j, s in enumerate(segs[i:])]
    return parts.scheme, parts.netloc.lower(), "/" + "/".join(out)


def rate_limit_wait(resp: httpx.Response) -> float | None:
    """Seconds until a 429's rate limit resets (the server's clock via ``Date``), or None."""
    reset = resp.headers.get("X-Rate-Limit-Reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            value = None
        if value is not None and value == value and abs(value) != float("inf"):
            return max(0.0, value - _server_now(resp, _clock.now())) + 0.05
    retry_after = resp.headers.get("Retry-After")
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            return None
        if seconds == seconds and seconds != float("inf"):
            return max(0.0, seconds)
    return None


def _server_now(resp: httpx.Response, default: float) -> float:
    date = resp.headers.get("Date")
    when = _http_date(date) if date else None
    return default if when is None else when


@functools.lru_cache(maxsize=64)  # a Date header changes once a second: most answers repeat it
def _http_date(date: str) -> float | None:
    from email.utils import parsedate_to_datetime  # 10 ms to import: only when pacing

    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
