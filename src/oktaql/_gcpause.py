"""Pause the cyclic garbage collector around bursts of container allocation.

Decoding a page of JSON and turning it into rows allocates thousands of dicts and lists that
all survive the burst. Each allocation threshold crossed in the middle of it starts a
collection that walks those young objects (and, every few pages, the whole heap) only to find
nothing to free: measured, that was a third of a streamed read's CPU. Nothing in such a burst
makes a reference cycle, so the collector loses nothing by waiting until it ends.

Threads (fan-out workers) may pause at the same time: the collector is re-enabled when the
last of them leaves, and only if it was enabled when the first arrived, so a caller who
disabled it on purpose keeps it disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


__all__ = ["gc_paused"]
