"""Rate-limit pacing: Okta's ``X-Rate-Limit-*`` headers per endpoint family, and the waits they
imply: a fair share of each window's budget, spread evenly once the work outgrows it, a 429's
reset, a low budget spread until the reset.

How a family's requests are let go (:class:`RatePacer`):

* **Unknown window.** Until an answer of a window comes, its budget is assumed: the family's
  limit in its last window, else the smallest limit another family of the same org reported
  (the window's reset a minute away, or where the window length learnt puts it: a later
  reset only counts more of our requests into the window). With nothing to assume (the org's
  first request), or when the family is paced, one request goes alone and the others wait
  for its answer (at most :data:`PROBE_WAIT` seconds). A family whose answers carry no rate
  headers is not paced. A wait ends at once when the session is cancelled.
* **The share.** In a window we send at most ``floor(rate_share * X-Rate-Limit-Limit)``
  requests (at least one). Our count is the requests we sent in the window, but never more
  than the server says it counted (``Limit - Remaining``, plus ours still unanswered): an
  org that reports a budget it does not count (the emulator without ``rate_limit``) is never
  held back by it. No request of ours goes in the last moments of a window (one round trip
  plus 50 ms: requests let go together still wait for the interpreter, one after the other,
  before they leave; 20 ms let a loaded machine's late ones land in the next window, 19 of 20
  there), so none is counted in the next window on top of that window's share.
* **Burst, then even.** While a family's work fits in the share, requests go at once. Once a
  window's share runs out before its reset (the work outgrew it), the family is *paced*: from
  the next window on, the share is spread evenly over the window (the rest of it over what is
  left), so there is no burst at each reset; a window that ends with share to spare (the work
  shrank) ends the pacing.
* **Others' traffic.** Whatever the share, when ``X-Rate-Limit-Remaining`` (less our requests
  in flight) drops under ``pace_fraction`` of the limit or under ``pace_reserve``, the rest
  is spread evenly until the reset, and nothing goes once it is spent.

Windows are read against the server's ``Date`` only when this machine's clock disagrees with
it by more than its one-second resolution. A window's length is learnt from two consecutive
windows; until then it is taken as Okta's minute (or the time to the reset, when longer).
"""

from __future__ import annotations

import functools
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from oktaql._http import _clock
from oktaql._http._models import RetryPolicy
from oktaql.errors import OperationalError

if TYPE_CHECKING:
    import httpx

Key = tuple[str, str, str]

PROBE_WAIT = 1.0  # seconds the other requests wait for the answer that tells a window
_AFTER_RESET = 0.02  # seconds past a reset before the next window's first request
_GUARD = 0.05  # seconds kept free before a reset, on top of a round trip
_STOP_POLL = 0.1  # seconds between looks at a cancellation while waiting for the budget
_IDLE_AFTER_RESET = 0.5  # no request this long after a reset: the family's work had stopped
OKTA_WINDOW = 60.0  # Okta's rate-limit windows are a minute


def share_of(limit: int, share: float) -> int:
    """Requests a window of ``limit`` allows us at ``share`` (at least one)."""
    return max(1, math.floor(limit * share + 1e-9))


@dataclass
class _Window:
    limit: int
    remaining: int  # the lowest X-Rate-Limit-Remaining reported in the window
    reset_raw: int  # X-Rate-Limit-Reset as sent (server epoch seconds): the window's identity
    reset: float  # the same instant on this machine's clock
    sent: int  # our requests sent in this window (by this machine's clock)
    next_slot: float
    paced: bool  # the share is spread evenly over the window
    # assumed from an earlier window (or another family of the org) until an answer tells
    # it: the limit and the reset are guesses, the count of our requests is not
    provisional: bool = False


@dataclass
class _Family:
    key: Key
    window: _Window | None = None
    inflight: int = 0
    probing: bool = False  # a request that will tell the window is unanswered
    unreported: bool = False  # its answers carry no rate headers: nothing to pace by
    paced: bool = False  # carried into the next window: the work outgrew the share
    length: float | None = None  # seconds of a window, once learnt
    last_reset_raw: int | None = None
    last_reset: float = 0.0
    last_limit: int | None = None
    share: float = 0.5  # the rate share of the last request let go


@dataclass
class Ticket:
    """One request let go: returned to :meth:`RatePacer.record` or :meth:`RatePacer.release`."""

    key: Key
    sent: float
    probe: bool = False


@dataclass(frozen=True)
class Estimate:
    """How long ``calls`` requests of a family take at the share of its budget."""

    calls: int
    seconds: float
    share: float
    limit: int
    window: float

    def describe(self) -> str:
        per = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.window, f"{self.window:g} s")
        return (
            f"~{self.calls} calls; at {self.share:.0%} of {self.limit}/{per} this takes "
            f"~{duration(self.seconds)}"
        )


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class RatePacer:
    """Shared by every thread of a client: keeps each endpoint family inside its share."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._families: dict[Key, _Family] = {}
        self._rtt = 0.0  # a round trip (moving average of answered requests)

    # --- letting requests go ------------------------------------------------------------

    def acquire(
        self, key: Key, policy: RetryPolicy, stop: Callable[[], bool] | None = None
    ) -> Ticket | None:
        """Wait until a request of ``key``'s family may go; the ticket for record/release.
        ``stop()`` true (the session was cancelled) ends a wait with :class:`Stopped`."""
        if not policy.pace:
            return None
        probe_wait: float | None = None
        while True:
            if stop is not None and stop():
                raise Stopped
            with self._cond:
                f = self._families.setdefault(key, _Family(key))
                f.share = policy.rate_share
                now = _clock.now()
                delay, go, probe = self._plan(f, policy, now, probe_wait)
                if go:
                    f.inflight += 1
                    ticket = Ticket(key, now + (delay or 0.0), probe)
                elif delay is None:  # another request is telling the window: wait for it
                    if probe_wait is None:
                        probe_wait = time.monotonic()  # real time, whatever _clock says
                    self._cond.wait(0.05)
                    continue
                else:
                    probe_wait = None
            if delay and delay > 0:
                try:
                    _sleep(delay, stop)
                except Stopped:
                    if go:
                        self.release(ticket)
                    raise
            if go:
                return ticket

    def _plan(
        self, f: _Family, policy: RetryPolicy, now: float, probe_wait: float | None
    ) -> tuple[float | None, bool, bool]:
        """(seconds to wait or None for "wait for an answer", whether a slot was taken,
        whether it is the request that tells the window)."""
        w = f.window
        if w is not None and now >= w.reset:  # the window is over
            self._close(f, w, policy, now)
            w = None
        if w is None:
            if f.unreported:
                return 0.0, True, False
            prior = self._prior_limit(f)
            if prior is None or f.paced:
                if f.probing and (probe_wait is None or time.monotonic() - probe_wait < PROBE_WAIT):
                    return None, False, False
                f.probing = True
                return 0.0, True, True
            w = f.window = self._provisional(f, prior, now)
        limit = w.limit
        used = min(w.sent, limit - w.remaining + f.inflight)  # the server's count bounds ours
        ours = share_of(limit, policy.rate_share) - used
        server = w.remaining - f.inflight
        until_reset = w.reset - now
        # when the share is what binds, nothing goes in the window's last round trip: it
        # could be counted in the next window, on top of that window's share
        binds = ours <= server
        end = w.reset - (self._rtt + _GUARD) if binds else w.reset
        if w.provisional and ours <= 0:
            # the share assumed is spent: the first answer tells the real window
            return (0.0, True, True) if f.inflight == 0 else (None, False, False)
        if ours <= 0 or (binds and now >= end):
            if ours <= 0 and not w.paced:
                w.paced = True  # the work outgrew the share: spread it from the next window
            if until_reset > policy.max_rate_limit_wait:
                n = share_of(limit, policy.rate_share)
                raise OperationalError(
                    f"the share of the rate limit for {f.key[2]} is used up (rate_share=SHARE is "
                    f"{policy.rate_share:g}: {n} of its {limit} requests per window), and the "
                    f"window resets in {until_reset:.0f} s, longer than the "
                    f"{policy.max_rate_limit_wait:g} s this client waits "
                    "(retry=RetryPolicy(max_rate_limit_wait=SECONDS)); a larger "
                    "rate_share=SHARE takes more of the budget"
                )
            return until_reset + _AFTER_RESET, False, False
        if server <= 0:  # others spent the budget: wait for the reset
            if until_reset > policy.max_rate_limit_wait:
                return 0.0, True, False  # the 429 will say how long the wait would be
            return until_reset + _AFTER_RESET, False, False
        low = max(limit * policy.pace_fraction, policy.pace_reserve)
        if (
            not w.provisional
            and server <= low
            and until_reset <= policy.max_rate_limit_wait
            and server <= ours
        ):
            # little left for anyone: the rest spread evenly until the reset
            slot = max(now, w.next_slot)
            w.next_slot = slot + (w.reset - slot) / server
            w.sent += 1
            return slot - now, True, False
        if not w.paced:
            w.sent += 1
            return 0.0, True, False
        # paced: what is left of our share, spread evenly until the window's end
        slot = max(now, w.next_slot)
        if slot >= end:
            return until_reset + _AFTER_RESET, False, False
        w.next_slot = slot + (end - slot) / ours
        w.sent += 1
        return slot - now, True, False

    def _prior_limit(self, f: _Family) -> int | None:
        """The limit to assume for a window not yet answered: the family's last one, else the
        smallest any other family of the same org reported (None: nothing known)."""
        if f.last_limit is not None:
            return f.last_limit
        seen = [
            o.window.limit if o.window is not None else o.last_limit
            for k, o in self._families.items()
            if k[:2] == f.key[:2] and o is not f and not (o.window and o.window.provisional)
        ]
        known = [limit for limit in seen if limit is not None]
        return min(known) if known else None

    def _provisional(self, f: _Family, limit: int, now: float) -> _Window:
        """A window whose first answer has not come: the window that follows the last one
        when its length is known, else a minute from now (a later reset only counts more of
        our requests into it: the safe side)."""
        if f.length is not None and f.last_reset_raw is not None and f.last_reset <= now:
            ahead = math.floor((now - f.last_reset) / f.length) + 1
            reset = f.last_reset + ahead * f.length
        else:
            reset = now + (f.length or OKTA_WINDOW)
        # our requests still in flight may be counted in this window (sent late in the last,
        # they land in this one): counted, or a window at the reset takes a whole share more
        return _Window(limit, limit, -1, reset, f.inflight, now, False, provisional=True)

    def _close(self, f: _Family, w: _Window, policy: RetryPolicy, now: float) -> None:
        if w.provisional:  # never answered: nothing learnt
            f.window = None
            return
        used = min(w.sent, w.limit - w.remaining)
        # still paced if the work used the whole share and goes on: requests held back wake
        # at the reset, so a first request well after it means the work had stopped
        f.paced = (
            w.paced
            and used >= share_of(w.limit, policy.rate_share)
            and now - w.reset < _IDLE_AFTER_RESET
        )
        f.last_reset_raw, f.last_reset, f.last_limit = w.reset_raw, w.reset, w.limit
        f.window = None

    # --- answers ------------------------------------------------------------------------

    def release(self, ticket: Ticket | None) -> None:
        """A request that got no answer: it no longer counts as in flight."""
        if ticket is None:
            return
        with self._cond:
            f = self._families.setdefault(ticket.key, _Family(ticket.key))
            f.inflight = max(0, f.inflight - 1)
            if ticket.probe:
                f.probing = False  # another request tells the window
            self._cond.notify_all()

    def record(self, key: Key, resp: httpx.Response, ticket: Ticket | None) -> None:
        """Note the budget an answer reports (a 429 means none is left)."""
        info = _rate_headers(resp)
        with self._cond:
            now = _clock.now()
            f = self._families.setdefault(key, _Family(key))
            if ticket is not None:
                f.inflight = max(0, f.inflight - 1)
                if ticket.probe:
                    f.probing = False
                self._rtt = max(0.0, now - ticket.sent) * 0.3 + self._rtt * 0.7
            self._cond.notify_all()
            if info is None:
                if f.window is None and not concurrency_refusal(resp):
                    f.unreported = True  # answers without a budget: nothing to pace by
                return
            f.unreported = False
            limit, remaining, reset_raw, reset = info
            if resp.status_code == 429:
                remaining = 0
            w = f.window
            if w is not None and w.provisional:
                if f.last_reset_raw is not None and reset_raw <= f.last_reset_raw:
                    return  # an answer from the window before, arriving late
                # the first answer of the window: its real reset, limit and budget
                self._learn_length(f, reset_raw, reset, ticket)
                w.provisional = False
                w.limit, w.remaining, w.reset_raw, w.reset = limit, remaining, reset_raw, reset
                return
            if w is None or reset_raw > w.reset_raw:
                if w is not None:  # our clock is behind the server's: its window is over
                    f.paced = w.paced
                    f.last_reset_raw, f.last_reset, f.last_limit = w.reset_raw, w.reset, w.limit
                self._learn_length(f, reset_raw, reset, ticket)
                # the request answered, and any still in flight, may count in the new window
                sent = f.inflight + (1 if ticket is not None else 0)
                w = f.window = _Window(limit, remaining, reset_raw, reset, sent, now, f.paced)
                if w.paced and ticket is not None:  # the next slot after this request's
                    end = reset - self._rtt - _GUARD
                    w.next_slot = ticket.sent + (end - ticket.sent) / share_of(limit, f.share)
            elif reset_raw == w.reset_raw:
                w.limit = limit
                w.remaining = min(w.remaining, remaining)
                w.reset = min(w.reset, reset)
            # an answer from an earlier window, arriving late: nothing to learn

    def _learn_length(self, f: _Family, reset_raw: int, reset: float, t: Ticket | None) -> None:
        """A window right after the last one tells the length: their resets' distance. (Sent
        more than half that distance before its reset, the request was in the very next
        window: two or more windows later it would have been sent later than that.)"""
        if t is None or f.last_reset_raw is None or reset_raw <= f.last_reset_raw:
            return
        span = float(reset_raw - f.last_reset_raw)
        if t.sent >= f.last_reset and reset - t.sent > span / 2:
            f.length = span if f.length is None else min(f.length, span)

    # --- what a fan-out will take ----------------------------------------------------------

    def estimate(self, key: Key, calls: int, policy: RetryPolicy) -> Estimate | None:
        """How long ``calls`` more requests of ``key``'s family take at the share of its
        budget, once an answer has told it; None before, or when nothing is paced."""
        if not policy.pace or calls <= 0:
            return None
        with self._cond:
            f = self._families.get(key)
            if f is None or f.unreported:
                return None
            now = _clock.now()
            w = f.window if f.window is not None and now < f.window.reset else None
            limit = w.limit if w is not None else f.last_limit
            if limit is None:
                return None
            per_window = share_of(limit, policy.rate_share)
            length = f.length or max(OKTA_WINDOW, (w.reset - now) if w is not None else 0.0)
            if w is None:
                seconds = (calls - 1) / per_window * length
            else:
                used = min(w.sent, limit - w.remaining + f.inflight)
                left = max(0, per_window - used)
                if w.paced:
                    seconds = calls / per_window * length
                elif calls <= left:
                    seconds = 0.0
                else:
                    seconds = max(0.0, w.reset - now) + (calls - left) / per_window * length
            return Estimate(calls, seconds, policy.rate_share, limit, length)


class Stopped(Exception):
    """A wait for the budget ended because the session was cancelled: nothing was sent."""


def _sleep(seconds: float, stop: Callable[[], bool] | None) -> None:
    """Sleep, waking every tenth of a second to see whether ``stop()`` says to give up."""
    if stop is None:
        _clock.sleep(seconds)
        return
    end = _clock.now() + seconds
    while True:
        left = end - _clock.now()
        if left <= 0:
            return
        _clock.sleep(min(left, _STOP_POLL))
        if stop():
            raise Stopped


def concurrency_refusal(resp: httpx.Response) -> bool:
    """Okta's answer to too many requests in flight for the org: 429 with a limit of 0."""
    return resp.status_code == 429 and resp.headers.get("X-Rate-Limit-Limit", "").strip() == "0"


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
    reset = reset_raw - _server_clock(resp, now) + now
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


def _server_clock(resp: httpx.Response, now: float) -> float:
    """The server's time now: this machine's clock when ``Date`` (whole seconds, sent a moment
    ago) agrees with it, else ``Date``; a window a second long needs better than ``Date``."""
    server = _server_now(resp, now)
    return now if -0.5 <= now - server < 2.0 else server


@functools.lru_cache(maxsize=64)  # a Date header changes once a second: most answers repeat it
def _http_date(date: str) -> float | None:
    from email.utils import parsedate_to_datetime  # 10 ms to import: only when pacing

    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
