"""Okta's concurrency limit: how many requests a client keeps in flight, adapted to the org.

Okta limits the requests an org has in flight at once, across every client of the org; a request
over it is answered at once with 429 ``E0000047`` and ``X-Rate-Limit-Limit: 0`` (see
:func:`oktaql._http._pacing.concurrency_refusal`). The client holds a slot of a
:class:`ConcurrencyLimiter` around each send, so a fan-out's workers wait on it, and the limit
follows AIMD:

* it starts at the client's worker count (``--concurrency``), its maximum;
* a refusal halves it (at least 1), once per round: refusals of requests sent before the last
  halving say nothing new and leave it;
* a run of successes as long as the limit adds one, up to the level that was last refused;
  that level is probed again only after a longer run (8 × the limit, doubled after each probe
  refused, at most 128 ×), so a steady org sees a refusal now and then, not every few calls.

The refused request is sent again once a slot is free (it counts as a retry).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Slot:
    round: int  # the limiter's round (halvings so far) when the request went


class ConcurrencyLimiter:
    def __init__(self, most: int):
        self.most = max(1, int(most))
        self.limit = self.most
        self.in_flight = 0
        self.refusals = 0  # concurrency refusals seen (for tests and reports)
        self.lowest = self.most  # the lowest limit reached
        self._cond = threading.Condition()
        self._round = 0
        self._run = 0  # successes since the limit last changed
        self._refused_at: int | None = None  # the limit at which the last refusal came
        self._probes = 0  # probes of that level refused in a row
        self._probing = False

    def acquire(self) -> Slot:
        """Wait for a free slot."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait(0.1)
            self.in_flight += 1
            return Slot(self._round)

    def release(self, slot: Slot, *, refused: bool = False, answered: bool = True) -> None:
        """Give the slot back: ``refused`` by the concurrency limit, or ``answered`` (Okta
        took the request: any status but a 429 or a 5xx) counts towards a run of successes;
        anything else (no answer, a rate limit, a server error) teaches nothing."""
        with self._cond:
            self.in_flight = max(0, self.in_flight - 1)
            if refused:
                self.refusals += 1
                if slot.round == self._round:  # news: sent at the present limit
                    if self._probing:
                        self._probes += 1
                    self._refused_at = self.limit
                    self.limit = max(1, self.limit // 2)
                    self.lowest = min(self.lowest, self.limit)
                    self._round += 1
                    self._run = 0
                    self._probing = False
            elif answered:
                self._run += 1
                if self._probing and self._run >= self.limit:
                    # the level probed held a whole run: the refusal is forgotten
                    self._probing, self._probes, self._refused_at = False, 0, None
                if self.limit < self.most and self._run >= self._run_needed():
                    self._probing = (
                        self._refused_at is not None and self.limit + 1 >= self._refused_at
                    )
                    self.limit += 1
                    self._run = 0
            self._cond.notify_all()

    def _run_needed(self) -> int:
        """Successes before the limit grows by one."""
        if self._refused_at is None or self.limit + 1 < self._refused_at:
            return self.limit
        return self.limit * 8 * 2 ** min(self._probes, 4)
