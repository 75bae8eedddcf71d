"""The workers of a read of many calls: a fan-out's, or a scan with many literal calls.

Calls run on a pool; their rows are consumed in call order whatever the timing
(``_reads.Reads._load``). A fan-out fed by a one-call listing starts its calls while the
listing is still paging (``start_early``): the critical path is then the listing's pages
plus the last wave of calls, not the whole listing followed by every wave.
"""

from __future__ import annotations

import _thread
import functools
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlglot import exp

if TYPE_CHECKING:
    from concurrent.futures import Future

    from oktaql.planning import Call, FanOut, Fetch

CallKey = tuple[str, str, str | None]


def call_key(call: Call) -> CallKey:
    """What makes two calls the same request (the URL carries every bound value)."""
    return call.request.method, call.request.url, call.request.org


def start_soon(target: Callable[[], None]) -> threading.Event:
    """Run ``target`` on a new daemon thread, set the event when it returns or raises.

    ``Thread.start`` waits until the new thread runs, so the interpreter passes to it and
    comes back only when it lets go (up to its 5 ms switch interval): started just before a
    request leaves, it delays the request. Started this way, the thread runs once the caller
    blocks (on that request's answer).
    """
    done = threading.Event()

    def run() -> None:
        try:
            target()
        finally:
            done.set()

    _thread.start_new_thread(run, ())
    return done


class Workers:
    """A pool running calls; ``stop`` set: no call starts and none fetches a next page.

    The first failure sets ``stop`` at once (no new request after an error); a call cut
    short by it gives None, never its partial rows.
    """

    def __init__(
        self,
        size: int,
        pages: Callable[[Call], Iterator[list[Any]]],
        warm: Callable[[], object] | None = None,
    ):
        self.size = max(1, size)
        self.stop = threading.Event()
        self.failure: BaseException | None = None
        self._pages = pages
        self._warm = warm
        self._tasks: queue.SimpleQueue[tuple[Future[list[Any] | None], Call] | None]
        self._tasks = queue.SimpleQueue()
        self._early: dict[CallKey, Future[list[Any] | None]] = {}
        self._closed = False
        # the threads start on a thread of their own, all at once: starting 16 takes ~8 ms of
        # the caller's time, which then overlaps the listing's first request instead of
        # delaying the calls (started one per call as calls came, the first wave spread over
        # 15 ms)
        start_soon(self._spawn)

    def _spawn(self) -> None:
        for i in range(self.size):
            if self.stop.is_set():
                return
            try:
                threading.Thread(target=self._work, name=f"oktaql-fanout-{i}", daemon=True).start()
            except RuntimeError:
                # no more threads to be had (a process limit): those started do the work, and
                # with none, this thread does (the calls would wait for ever otherwise)
                if i == 0:
                    self._work()
                return

    def _work(self) -> None:
        if self._warm is not None and self._tasks.empty() and not self.stop.is_set():
            # nothing to do yet (the listing is being read): open this worker's connection
            # now, not when its first call is on the critical path
            try:
                self._warm()
            except Exception:  # noqa: BLE001, S110 - the call that comes connects and says why
                pass
        while True:
            task = self._tasks.get()
            if task is None:
                return
            future, call = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._fetch_all(call))
            except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
                future.set_exception(exc)

    def _fetch_all(self, call: Call) -> list[Any] | None:
        out: list[Any] = []
        if self.stop.is_set():
            return None  # abandoned before it started
        for rows in self._pages(call):
            out.extend(rows)
            if self.stop.is_set():
                return None  # abandoned: leaving the generator fetches no next page
        return out

    def _failed(self, future: Future[list[Any] | None]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            if self.failure is None:
                self.failure = exc
            self.stop.set()

    def submit(self, call: Call) -> Future[list[Any] | None]:
        from concurrent.futures import Future

        future: Future[list[Any] | None] = Future()
        future.add_done_callback(self._failed)
        self._tasks.put((future, call))
        return future

    def start_early(self, call: Call) -> None:
        """Start ``call`` before the call list is complete; :meth:`start` picks it up."""
        key = call_key(call)
        if key not in self._early:
            self._early[key] = self.submit(call)

    @property
    def started_early(self) -> int:
        return len(self._early)

    def start(self, call: Call) -> Future[list[Any] | None]:
        """The running call: the one started early for the same request, else a new one."""
        return self._early.pop(call_key(call), None) or self.submit(call)

    def close(self) -> None:
        """Done, capped, failed or interrupted: nothing new starts, and calls still in
        flight are not waited for (they fetch no further page). Closing twice does nothing."""
        if self._closed:
            return
        self._closed = True
        self.stop.set()
        for _ in range(self.size):
            self._tasks.put(None)  # each worker ends after the task it is on
        for future in self._early.values():
            future.cancel()
        self._early.clear()


def pipelines(fetch: Fetch, fan: FanOut) -> bool:
    """Whether ``fan`` can start its calls while ``fetch`` (the step before it) still pages:
    its values come from that one listing alone, by a query whose answer only grows as rows
    arrive (DISTINCT columns, a filter of the row itself), with no LIMIT counting its calls
    (that needs them in their final order) and no scalar subquery (one value, known at the
    end)."""
    scan = fan.scan
    if fan.stop is not None or len(fan.groups) != 1 or len(fetch.scan.calls) != 1:
        return False
    for dep in scan.deps:
        if dep.scalar or not dep.source_from or dep.needs != {fetch.scan.table_name}:
            return False
    return _only_grows(fan.groups[0][1])


@functools.lru_cache(maxsize=256)
def _only_grows(sql: str) -> bool:
    import sqlglot

    try:
        tree = sqlglot.parse_one(sql, dialect="duckdb")
    except sqlglot.errors.ParseError:
        return False
    if not isinstance(tree, exp.Select) or tree.args.get("joins") or tree.args.get("limit"):
        return False
    if len(list(tree.find_all(exp.Select))) != 1 or tree.args.get("group"):
        return False
    return not any(tree.find_all(exp.AggFunc, exp.Window, exp.Subquery, exp.Exists))


__all__ = ["CallKey", "Workers", "call_key", "pipelines", "start_soon"]
