"""The clock and the sleep every wait of the HTTP layer reads (backoff, rate-limit resets,
pacing): one indirection, so tests run the clock and the waits without sleeping
(``monkeypatch.setattr(_clock, "now", ...)``). Always call them as ``_clock.now()``."""

from __future__ import annotations

import time

sleep = time.sleep
now = time.time
