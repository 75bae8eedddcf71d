"""Fetch the next page on a worker thread while the caller works on the current one.

A paged read is a chain of round trips: while Okta prepares page N+1, a sequential reader sits
idle, and while the reader converts or loads page N, the API sits idle. Reading one page ahead
overlaps the two, so what our rows cost hides behind the API's own time (benchmark 1 in
bench/). The order of pages never changes, an error is raised where the page it belongs to
would have been, and closing stops the worker after the request it has in flight.

It is used only where every page will be read anyway (fetchall, the CLI, loading DuckDB), so
reading ahead never costs a request nobody needed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()
_POLL = 0.25  # seconds a blocked worker waits before checking whether it was stopped


class ReadAhead(Generic[T]):
    """Items of ``source``, produced up to ``depth`` items ahead on a daemon thread."""

    def __init__(self, source: Iterator[T], depth: int = 1):
        self._source = source
        self._queue: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, name="oktaql-read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: tuple[bool, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        source = iter(self._source)
        try:
            while not self._stop.is_set():  # checked before each item: none fetched after close
                try:
                    item = next(source)
                except StopIteration:
                    self._put((True, _DONE))
                    return
                if not self._put((True, item)):
                    return
        except BaseException as exc:  # handed to the reader, raised where it reads
            self._put((False, exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # here, on the thread that ran it: a generator's cleanup runs in order

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        ok, item = self._queue.get()
        if not ok:
            self._finished = True
            assert isinstance(item, BaseException)
            raise item
        if item is _DONE:
            self._finished = True
            raise StopIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop reading ahead; the worker ends after the request it has in flight."""
        self._finished = True
        self._stop.set()
        try:
            while True:
                self._queue.get_nowait()  # unblock a worker waiting to hand over a page
        except queue.Empty:
            pass

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to end (tests; a closed reader's thread ends on its own)."""
        self._thread.join(timeout)


__all__ = ["ReadAhead"]
