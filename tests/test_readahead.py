"""Reading one page ahead on a worker thread, and pausing the collector around bursts."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import oktaql
from oktaql._gcpause import gc_paused
from oktaql._readahead import ReadAhead


class Source:
    """A generator-like source that records what it produced and whether it was closed."""

    def __init__(self, items: list[Any], fail_at: int | None = None):
        self.items = items
        self.fail_at = fail_at
        self.produced: list[Any] = []
        self.threads: set[str] = set()
        self.closed_on: str | None = None
        self.gate = threading.Semaphore(0)  # each item waits for a permit when gated
        self.gated = False

    def __iter__(self) -> Iterator[Any]:
        return self._gen()

    def _gen(self) -> Iterator[Any]:
        try:
            for i, item in enumerate(self.items):
                if self.gated:
                    self.gate.acquire()
                self.threads.add(threading.current_thread().name)
                if i == self.fail_at:
                    raise oktaql.APIError("page 3 failed", status=403)
                self.produced.append(item)
                yield item
        finally:
            self.closed_on = threading.current_thread().name


def test_items_come_in_order_from_a_worker_thread() -> None:
    src = Source(list(range(50)))
    ahead = ReadAhead(iter(src))
    assert list(ahead) == list(range(50))
    ahead.join(5)
    assert src.threads == {"oktaql-read-ahead"}
    assert src.closed_on == "oktaql-read-ahead"
    assert list(ahead) == []  # exhausted stays exhausted


def test_an_error_is_raised_where_its_item_would_have_been() -> None:
    src = Source(["p1", "p2", "p3", "p4"], fail_at=2)
    ahead = ReadAhead(iter(src))
    assert next(ahead) == "p1"
    assert next(ahead) == "p2"
    with pytest.raises(oktaql.APIError, match="page 3 failed"):
        next(ahead)
    with pytest.raises(StopIteration):
        next(ahead)
    ahead.join(5)
    assert src.produced == ["p1", "p2"]  # nothing past the failure
    assert src.closed_on == "oktaql-read-ahead"


def test_the_worker_stays_at_most_one_item_ahead() -> None:
    src = Source(list(range(10)))
    src.gated = True
    ahead = ReadAhead(iter(src))
    for _ in range(10):
        src.gate.release()
    assert next(ahead) == 0
    # the worker may hold one item in the queue and one in hand: never more
    time.sleep(0.3)
    assert len(src.produced) <= 3
    ahead.close()
    ahead.join(5)
    assert len(src.produced) <= 3
    assert src.closed_on == "oktaql-read-ahead"


def test_close_stops_the_worker_after_the_item_in_flight() -> None:
    src = Source(list(range(10)))
    src.gated = True
    ahead = ReadAhead(iter(src))
    src.gate.release()
    assert next(ahead) == 0
    src.gate.release()  # item 1 may be fetched: the one in flight when we close
    ahead.close()
    src.gate.release()
    ahead.join(5)
    assert not ahead._thread.is_alive()
    assert src.produced in ([0], [0, 1], [0, 1, 2])
    assert src.closed_on == "oktaql-read-ahead"
    with pytest.raises(StopIteration):
        next(ahead)


def test_gc_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_gc_paused_leaves_a_collector_the_caller_disabled() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_paused_from_two_threads_reenables_when_the_last_leaves() -> None:
    inside = threading.Barrier(2)
    leave_first = threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with gc_paused():
            inside.wait()
        leave_first.set()

    def second() -> None:
        with gc_paused():
            inside.wait()
            leave_first.wait(5)
            seen.append(gc.isenabled())  # the first thread left; this one still pauses

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert seen == [False]
    assert gc.isenabled()


# --- through the engine, over real HTTP --------------------------------------------------------


def _busiest_app(emu: Any) -> str:
    return max(emu.org.oidc_apps, key=lambda a: emu.org.token_count(a["id"]))["id"]


def test_fetchall_sends_exactly_the_requests_of_a_page_by_page_read(emulator: Any) -> None:
    app = _busiest_app(emulator)
    sql = f"SELECT id, created FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 3"
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token)
    logs, results = [], []
    for read in (lambda c: c.fetchall(), lambda c: list(c)):
        emulator.reset_log()
        cur = conn.cursor()
        cur.execute(sql)
        results.append(read(cur))
        cur.close()
        logs.append([target for _, target, _ in emulator.request_log])
    assert results[0] == results[1]
    assert len(results[0]) == emulator.org.token_count(app)
    assert logs[0] == logs[1]
    assert len(logs[0]) >= len(results[0]) // 3


class FailThirdPage(httpx.BaseTransport):
    """Real HTTP to the emulator, except that the third request is answered 403."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(str(request.url))
        if len(self.sent) == 3:
            body = {
                "errorCode": "E0000006",
                "errorSummary": "You do not have permission to perform the requested action",
                "errorLink": "E0000006",
                "errorId": "oaeThird",
                "errorCauses": [],
            }
            return httpx.Response(403, json=body, request=request)
        return self.inner.handle_request(request)


@pytest.mark.parametrize("sql_tail", ["", " ORDER BY id"])  # streamed, and loaded into DuckDB
def test_an_error_on_a_later_page_surfaces_and_stops_the_worker(
    emulator: Any, sql_tail: str
) -> None:
    app = _busiest_app(emulator)
    transport = FailThirdPage()
    conn = oktaql.connect(org_url=emulator.url, token=emulator.config.token, transport=transport)
    cur = conn.cursor()
    sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 2{sql_tail}"
    with pytest.raises(oktaql.APIError) as info:
        cur.execute(sql)
        cur.fetchall()
    assert info.value.status == 403
    assert "E0000006" in str(info.value)
    assert len(transport.sent) == 3  # nothing read past the failed page
    assert "after=" in transport.sent[2]
    for t in threading.enumerate():
        if t.name == "oktaql-read-ahead":
            t.join(5)
            assert not t.is_alive()


def test_a_wide_fan_out_keeps_a_connection_per_worker_alive() -> None:
    """40 calls at concurrency 32 with latency: 32 connections open, and all stay pooled, so
    a second fan-out opens none (httpx keeps only 20 by default)."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running: Any = start_in_thread(
        EmulatorConfig(token="test-token", apps=40, tokens_per_app=1, latency_ms=100)
    )
    try:
        conn = oktaql.connect(org_url=running.url, token="test-token", concurrency=32)
        sql = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
        assert len(conn.cursor().execute(sql).fetchall()) == 40
        pool = conn.session._http._client._transport._pool
        first = {id(c) for c in pool.connections}
        assert len(first) > 20
        assert len(conn.cursor().execute(sql).fetchall()) == 40
        assert {id(c) for c in pool.connections} == first
    finally:
        running.stop()
