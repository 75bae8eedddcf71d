"""A fan-out starts its calls as its source's rows arrive (issue 19, critical-path scheduling).

When the listing a fan-out reads its values from takes several pages, the calls for the rows
of page 1 go out while page 2 is fetched; the rows kept are exactly those (and in the order)
of reading the listing first and the calls after, and a call that fails stops the listing's
paging too. A join LIMIT asks each call for no more rows than the LIMIT needs.

Requests are counted, in the order they arrived, at the emulator.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.errors import APIError

APPS, PER_APP, PAGE = 6, 3, 2  # the listing is three pages of two apps
JOIN = (
    "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    f" WHERE a.limit = {PAGE}"
)


@pytest.fixture(scope="module")
def slow_org() -> Iterator[RunningEmulator]:
    # 150 ms a request: a call sent "while page 2 is fetched" arrives long before page 3 is
    # asked for, whatever the machine's load
    config = EmulatorConfig(token="t", apps=APPS, tokens_per_app=PER_APP, latency_ms=150)
    with start_in_thread(config) as emu:
        yield emu


def _rows(emu: RunningEmulator, sql: str, **kw: Any) -> list[tuple[Any, ...]]:
    with oktaql.connect(org_url=emu.url, token="t", **kw) as conn:
        return conn.cursor().execute(sql).fetchall()


def _log(emu: RunningEmulator) -> list[str]:
    return [p for _, p, _ in emu.request_log]


def _ids(emu: RunningEmulator) -> list[str]:
    return [a["id"] for a in emu.org.apps]  # the order the listing gives them


def _apps_in_pages(emu: RunningEmulator) -> list[list[str]]:
    ids = _ids(emu)
    return [ids[i : i + PAGE] for i in range(0, len(ids), PAGE)]


def test_calls_for_the_first_page_go_out_before_the_last_page_is_asked(
    slow_org: RunningEmulator,
) -> None:
    slow_org.reset_log()
    got = _rows(slow_org, JOIN)
    log = _log(slow_org)
    listing = [i for i, p in enumerate(log) if urlsplit(p).path == "/api/v1/apps"]
    assert len(listing) == 3  # the three pages, no more
    first_page = _apps_in_pages(slow_org)[0]
    first_calls = [log.index(f"/api/v1/apps/{a}/tokens?limit=200") for a in first_page]
    # sent while page 2 was being fetched (the first at least: a pacer may hold the others of
    # its endpoint family until an answer tells it the family's rate limit)
    assert min(first_calls) < listing[2], log
    assert len(log) == 3 + APPS  # every call once: nothing is asked twice
    # the rows come in the calls' order (the apps' ids sorted), not in the order they arrived
    assert [a for a, _ in got] == [a for a in sorted(_ids(slow_org)) for _ in range(PER_APP)]


def test_the_rows_are_those_of_the_listing_then_the_calls(slow_org: RunningEmulator) -> None:
    # concurrency 1 reads the listing to its end, then makes the calls one by one
    sequential = _rows(slow_org, JOIN, concurrency=1)
    pipelined = _rows(slow_org, JOIN)
    assert pipelined == sequential  # the same rows in the same order
    assert sorted(pipelined) == sorted(
        (a["id"], t) for a in slow_org.org.apps for t in slow_org.org.token_ids(a["id"])
    )


class _Fail(httpx.HTTPTransport):
    """Answers the token calls of some apps 403 at once, as Okta answers a missing scope."""

    def __init__(self, apps: list[str]):
        super().__init__()
        self.paths = {f"/api/v1/apps/{a}/tokens" for a in apps}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path in self.paths:
            body = {"errorCode": "E0000006", "errorSummary": "You do not have permission"}
            return httpx.Response(403, json=body, request=request)
        return super().handle_request(request)


def test_a_failed_call_stops_the_listing_too(slow_org: RunningEmulator) -> None:
    first = _apps_in_pages(slow_org)[0]  # whichever of its calls goes first fails at once
    slow_org.reset_log()
    with pytest.raises(APIError) as err:
        _rows(slow_org, JOIN, transport=_Fail(first))
    assert err.value.status == 403
    assert any(f"/api/v1/apps/{a}/tokens" in str(err.value) for a in first)
    listing = [p for p in _log(slow_org) if urlsplit(p).path == "/api/v1/apps"]
    # the call failed while page 2 was on its way: page 3 was never asked for
    assert len(listing) == 2, _log(slow_org)
    # and the workers are gone once the calls in flight came back (nothing waits for them)
    deadline = time.monotonic() + 5
    while _fanout_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _fanout_threads() == []


def _fanout_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("oktaql-fanout")]


@pytest.mark.parametrize(("tail", "limit"), [("LIMIT 2", "2"), ("LIMIT 2 OFFSET 3", "5")])
def test_a_join_limit_asks_each_call_for_no_more_than_it_needs(tail: str, limit: str) -> None:
    with start_in_thread(EmulatorConfig(token="t", apps=APPS, tokens_per_app=8)) as emu:
        sql = (
            "SELECT a.id, t.id FROM okta.apps.applications a "
            f"JOIN okta.apps.tokens t ON t.appId = a.id {tail}"
        )
        got = _rows(emu, sql, concurrency=1)
        full = [(a, t) for a in sorted(x["id"] for x in emu.org.apps) for t in emu.org.token_ids(a)]
        n, _, off = tail.removeprefix("LIMIT ").partition(" OFFSET ")
        start = int(off or 0)
        assert got == full[start : start + int(n)]
        calls = [p for p in _log(emu) if urlsplit(p).path.endswith("/tokens")]
        assert calls and all(parse_qs(urlsplit(p).query)["limit"] == [limit] for p in calls)
        assert len(calls) == 1  # 8 tokens in the first app's call: the LIMIT is met
        with oktaql.connect(org_url=emu.url, token="t") as conn:
            explained = conn.cursor().execute("EXPLAIN " + sql).fetchall()
        assert any(f"limit={limit}" in str(r) for r in explained)


def test_a_filtered_listing_starts_calls_only_for_the_rows_it_keeps(
    slow_org: RunningEmulator,
) -> None:
    # a filter of the listing's own rows: the values come from the values query (what has
    # arrived, filtered), not straight off the page
    keep = sorted(_ids(slow_org))[1:]
    dropped = sorted(_ids(slow_org))[0]
    sql = JOIN + f" AND a.id <> '{dropped}'"
    slow_org.reset_log()
    pipelined = _rows(slow_org, sql)
    calls = [urlsplit(p).path for p in _log(slow_org) if urlsplit(p).path.endswith("/tokens")]
    assert sorted(calls) == [f"/api/v1/apps/{a}/tokens" for a in keep]
    assert pipelined == _rows(slow_org, sql, concurrency=1)
    assert [a for a, _ in pipelined] == [a for a in keep for _ in range(PER_APP)]


_cell = st.one_of(
    st.none(),
    st.text(max_size=4),
    st.integers(-3, 3),
    st.booleans(),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["k", "K"]), st.integers(0, 2), max_size=1),
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.one_of(
            st.fixed_dictionaries({}, optional={"id": _cell, "ID": _cell, "name": _cell}),
            st.integers(),  # a row that is not an object
        ),
        max_size=8,
    )
)
def test_values_read_off_the_rows_are_those_the_values_query_gives(rows: list[Any]) -> None:
    """A fan-out over a text column reads its values off each page before inserting it
    (``TableSink.text_values``): they must be exactly what the table then answers."""
    import duckdb

    from oktaql._loading import TableSink
    from oktaql.provider import Column

    duck = duckdb.connect()
    try:
        sink = TableSink(
            duck, "t", [Column("id", "string"), Column("name", "string")], undescribed=False
        )
        read = sink.text_values(rows, ["ID", "name"])  # names match as DuckDB's do: any case
        sink.append(rows)
        sink.flush()
        queried = duck.execute("SELECT DISTINCT id, name FROM t").fetchall()
        assert read is not None
        assert sorted(read, key=str) == sorted(queried, key=str)
        assert len(read) == len(set(read))
    finally:
        duck.close()


def test_values_of_a_typed_column_are_left_to_the_values_query() -> None:
    import duckdb

    from oktaql._loading import TableSink
    from oktaql.provider import Column

    duck = duckdb.connect()
    try:
        sink = TableSink(
            duck, "t", [Column("id", "string"), Column("n", "integer")], undescribed=False
        )
        assert sink.text_values([{"id": "a", "n": 1}], ["n"]) is None  # DuckDB's cast decides
        assert sink.text_values([{"id": "a", "n": 1}], ["missing"]) is None
        assert sink.text_values([{"id": "a"}, {"id": "a"}], ["id"]) == [("a",)]
    finally:
        duck.close()


def test_the_workers_open_their_connections_while_the_listing_is_read(
    slow_org: RunningEmulator,
) -> None:
    import ssl

    from oktaql._http._transport import StdlibTransport

    class Counting(StdlibTransport):
        """Counts the requests that had to open a connection, and those opened ahead."""

        def __init__(self) -> None:
            super().__init__(ssl.create_default_context(), keep=64)
            self.opened_for_request = 0
            self.opened_ahead = 0

        def _connect(self, key: Any, timeout: dict[str, Any]) -> Any:
            self.opened_for_request += 1
            return super()._connect(key, timeout)

        def warm(self, url: str, want: int, timeout: float | None) -> bool:
            opened = super().warm(url, want, timeout)
            self.opened_ahead += opened
            return opened

    transport = Counting()
    got = _rows(slow_org, JOIN, transport=transport, concurrency=4)
    assert len(got) == APPS * PER_APP
    # the listing's first page opened one; the other three workers opened theirs while it was
    # read (150 ms), and no call waited for a connection of its own
    assert (transport.opened_for_request, transport.opened_ahead) == (1, 3)


def test_a_fan_out_without_worker_threads_still_makes_its_calls(
    slow_org: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a process at its thread limit: no worker starts, so the spawning thread does the calls
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    expected = _rows(slow_org, JOIN, concurrency=1)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    slow_org.reset_log()
    assert _rows(slow_org, JOIN, concurrency=4) == expected
    calls = [p for p in _log(slow_org) if urlsplit(p).path.endswith("/tokens")]
    assert len(calls) == APPS  # each once
