"""Running reads: a listing into its scratch table, a fan-out's calls on the workers, both at
once (the fan-out's calls start as the listing's pages arrive), and a stream of typed rows.

The rows of many calls are kept in call order whatever the timing, so a statement's answer
never depends on which answer came first.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oktaql._fanout import Workers, start_soon
from oktaql._loading import TableSink, infer_columns
from oktaql._progress import PROGRESS_MIN_CALLS, progress_for
from oktaql._result import Result
from oktaql.errors import APIError, OperationalError, ProgrammingError
from oktaql.planning import Call, FanOut, Fetch, JoinCap, Scan, Stream, dependent_calls
from oktaql.provider import Method, object_key_parts

if TYPE_CHECKING:
    from concurrent.futures import Future

    from oktaql.session import Session


class Reads:
    """The read steps of one statement; the scratch tables they fill are listed in
    ``scratch`` (the statement drops them when done)."""

    def __init__(self, session: Session, scratch: list[str]):
        self.session = session
        self.scratch = scratch

    def fetch(self, step: Fetch) -> Result:
        self.session.check_targets(step.requests())
        self._load(step.scan, step.scan.calls)
        return Result()

    def fan_out(self, step: FanOut) -> Result:
        self._load(step.scan, self._fan_calls(step), self._joined_rows(step.stop))
        return Result()

    def _fan_calls(self, step: FanOut) -> list[Call]:
        """Every call of a fan-out, from the rows of the steps before it, in their order."""
        scan, s = step.scan, self.session
        combos = []
        scalar = {d.param: d.source for d in scan.deps if d.scalar}
        for names, sql in step.groups:
            rows = s.duck.execute(sql).fetchall()
            for name in names:
                if name in scalar and len(rows) > 1:
                    # before any call: SQL would refuse it only after the fan-out
                    raise ProgrammingError(
                        f"{scan.resource.id}: {name} {scalar[name]} gives {len(rows)} "
                        f"values; a scalar subquery must give one: write {name} IN "
                        "(SELECT ...) to read them all"
                    )
            combos.append((list(names), _in_order(rows)))
        # the values came from rows: they may only name an org the user configured
        calls = dependent_calls(scan, combos, s.plan_context(frozenset(d.param for d in scan.deps)))
        s.check_targets([c.request for c in calls])
        return calls

    def fetch_fan_out(self, fetch: Fetch, fan: FanOut) -> Result:
        """A listing and the fan-out over its rows at once: each page's new values start
        their calls while the next page is fetched. The rows are kept exactly as the two
        steps one after the other keep them (the calls' rows in the calls' final order)."""
        s = self.session
        source, scan = fetch.scan, fan.scan
        s.check_targets(fetch.requests())
        s.need_scopes([source.method, scan.method])
        self.scratch += [source.table_name, scan.table_name]
        ((names, sql),) = fan.groups
        ctx = s.plan_context(frozenset(d.param for d in scan.deps))
        provider = scan.resource.id.split(".")[0]
        listing = source.calls[0]
        # the listing's client is built before the helper threads start: they would take the
        # interpreter from this thread just before its first request leaves
        s.http(source.resource.id.split(".")[0], listing.request.url, listing.request.org)
        # each worker opens its connection while the listing is read, as many as the listing
        # may give calls: a page of rows (a paged listing), else one object
        warm = s.concurrency if source.method.is_paged else 1
        if source.row_cap is not None:
            warm = max(1, min(warm, source.row_cap))
        workers = Workers(
            s.concurrency,
            lambda c: call_pages(s, scan, c, provider),
            lambda: s.http(provider, fan.url, fan.org).warm(fan.url, warm),
        )
        budget = workers.size * 4  # calls started before the listing ends: rows held in memory
        early: dict[tuple[Any, ...], list[Call]] = {}  # each value's calls, as started
        complete = True  # whether every value so far is in ``early``
        columns = [d.source_column for d in scan.deps]
        if not all(columns):
            columns = []
        sink: TableSink | None = None
        # the main thread only waits during the listing's first request: DuckDB opens and
        # both tables are created meanwhile, not between the listing's answer and the calls
        ready = _Meanwhile(s, [source, scan])
        try:
            pages_of = call_pages(s, source, listing, source.resource.id.split(".")[0])
            with closing(pages_of):
                for rows in pages_of:
                    sink = sink or ready.sink(source) or _inferred(s, source, rows)
                    sink.append(rows, listing.bound)
                    if len(early) < budget:
                        # a column of the rows: read off the page, inserted after the calls
                        # leave; otherwise the values query reads what has arrived
                        fresh = sink.text_values(rows, columns) if columns else None
                        if fresh is None:
                            sink.flush()
                            fresh = s.duck.execute(sql).fetchall()
                        new = [r for r in fresh if r not in early]
                        complete = complete and len(early) + len(new) <= budget
                        page_calls: list[Call] = []
                        for value in _in_order(new)[: budget - len(early)]:
                            calls = early[value] = dependent_calls(
                                scan, [(list(names), [value])], ctx
                            )
                            s.check_targets([c.request for c in calls])
                            page_calls += calls
                        # the page's calls are built before any starts: a worker waiting for
                        # the interpreter while this thread builds would wait out its switch
                        # interval (5 ms), so the first wave would leave that much later
                        for call in page_calls:
                            workers.start_early(call)
                    else:
                        complete = False
                    if workers.stop.is_set() or (
                        source.row_cap is not None and sink.count >= source.row_cap
                    ):
                        break  # a call failed (its error is raised below), or the cap is met
            sink = sink or ready.sink(source) or _inferred(s, source, [])
            sink.flush()
            if any(len(v) != 1 for v in scan.literal_bound.values()):
                calls = self._fan_calls(fan)  # literal values multiply the calls, outermost
            else:
                # one value's calls are the same whether built alone or with the others (no
                # literal list multiplies them): the ones started early are reused, in order.
                # Every value started early (the values query only grows): they are all
                values = list(early) if complete else s.duck.execute(sql).fetchall()
                calls = []
                for value in _in_order(values):
                    if value not in early:
                        early[value] = dependent_calls(scan, [(list(names), [value])], ctx)
                        s.check_targets([c.request for c in early[value]])
                    calls += early[value]
            self._load(scan, calls, None, workers, ready.sink(scan))
        except BaseException:
            workers.close()  # whatever failed: the calls started early send nothing more
            ready.join()  # the scratch tables are dropped on this thread, not beside it
            raise
        return Result()

    def _joined_rows(self, stop: JoinCap | None) -> _RowCount | None:
        """How many joined rows a call's rows make, for a fan-out that stops at a LIMIT."""
        if stop is None:
            return None
        counts = {
            tuple(r[:-1]): int(r[-1]) for r in self.session.duck.execute(stop.counts_sql).fetchall()
        }

        def joined(call: Call, rows: int) -> int:
            return rows * counts.get(tuple(call.bound.get(p) for p in stop.params), 0)

        return _RowCount(stop.rows, joined)

    def stream(self, step: Stream) -> Result:
        from oktaql import _stream

        self.session.check_targets(step.requests())
        pages = self.session.pages(step.scan, step.scan.calls)
        first = next(pages, None)  # the first request runs now: its errors belong here

        def chained() -> Iterator[tuple[list[Any], dict[str, Any]]]:
            if first is not None:
                yield first
                yield from pages

        p = step.projection
        return Result(
            columns=list(zip(p.names, p.types, strict=True)), stream=_stream.rows(p, chained())
        )

    def _load(
        self,
        scan: Scan,
        calls: list[Call],
        cap: _RowCount | None = None,
        workers: Workers | None = None,
        prepared: TableSink | None = None,
    ) -> None:
        """Read ``calls`` into the scan's scratch table, in call order whatever the timing.

        With ``cap`` (a LIMIT over a fan-out's join) no call is made once the calls read
        give enough joined rows; calls in flight then are abandoned, their rows never kept.
        An error or an interrupt stops the others the same way: no new request after it.
        ``workers`` may already run some of the calls (started as their values arrived);
        ``prepared`` is the scan's table, created already.
        """
        s = self.session
        if scan.table_name not in self.scratch:
            self.scratch.append(scan.table_name)
        provider = scan.resource.id.split(".")[0]
        s.need_scopes([scan.method])
        sink = prepared or (
            TableSink(s.duck, scan.table_name, scan.columns, scan.extra, undescribed=False)
            if scan.described
            else None
        )
        have = 0  # joined rows so far (with cap)
        if cap is not None and cap.rows <= 0:
            calls = []  # LIMIT 0: the join is empty whatever the calls would give

        def append(call: Call, rows: list[Any]) -> bool:
            """Keep a call's rows; True once the cap is met."""
            nonlocal sink, have
            if sink is None:
                sink = TableSink(s.duck, scan.table_name, infer_columns(rows), scan.extra)
            sink.append(rows, call.bound)
            if cap is not None:
                have += cap.joined(call, len(rows))
                return have >= cap.rows
            return scan.row_cap is not None and sink.count >= scan.row_cap

        if workers is None and len(calls) > 1 and s.concurrency > 1:
            size = min(s.concurrency, len(calls))
            workers = Workers(size, lambda c: call_pages(s, scan, c, provider))
        if workers is not None:
            try:
                # the session and calls: a fan-out the rate-limit share makes long says so
                with progress_for(
                    s.progress and len(calls) >= PROGRESS_MIN_CALLS,
                    scan,
                    len(calls),
                    session=s,
                    calls=calls,
                ) as bar:
                    # a sliding window of futures consumed in call order: results never depend
                    # on timing, and at most a window's rows wait in memory; with a cap, no more
                    # look-ahead than the workers, so that few calls are made past the limit
                    window = workers.size if cap is not None else workers.size * 4
                    pending: deque[tuple[Call, Future[list[Any] | None]]] = deque()
                    queue = iter(calls)
                    for call in itertools.islice(queue, window):
                        pending.append((call, workers.start(call)))
                    while pending:
                        call, future = pending.popleft()
                        if sink is not None and not future.done():
                            # this thread would only wait: the rows so far go into DuckDB
                            # meanwhile, not all after the last answer
                            sink.flush()
                        rows = future.result()
                        if rows is None:  # cut short because another call failed
                            raise workers.failure or OperationalError(
                                f"{call.request.describe()}: abandoned"
                            )
                        bar.advance(len(rows))
                        if append(call, rows):
                            break
                        nxt = next(queue, None)
                        if nxt is not None:
                            pending.append((nxt, workers.start(nxt)))
            finally:
                workers.close()
        else:
            for call in calls:
                with closing(call_pages(s, scan, call, provider)) as pages_of_call:
                    # closing the generator early stops the paging: no next page is fetched
                    if any(append(call, rows) for rows in pages_of_call):
                        break
        if sink is None:
            sink = TableSink(s.duck, scan.table_name, [], scan.extra)
        sink.flush()


def pages(
    session: Session, scan: Scan, calls: list[Call]
) -> Generator[tuple[list[Any], dict[str, Any]], None, None]:
    """(rows of each page, the call's parameters), fetched as they are consumed."""
    provider = scan.resource.id.split(".")[0]
    session.need_scopes([scan.method])
    for call in calls:
        for rows in call_pages(session, scan, call, provider):
            yield rows, call.bound


def call_pages(
    session: Session, scan: Scan, call: Call, provider: str
) -> Generator[list[Any], None, None]:
    """The rows of each page of one call. A call of a fan-out whose object is gone (Okta's 404
    names it) has no rows; any other 404 (the path itself: an endpoint the org does not
    serve) is an error naming the request."""
    http = session.http(provider, call.request.url, call.request.org)
    try:
        for body in session.cache.pages(http, call.request, scan.resource.id):
            yield extract_rows(scan.method, body)
            del body  # let the page go before the next is fetched
    except APIError as exc:
        if exc.status != 404 or not scan.deps:
            raise
        gone = _not_found(exc)
        if gone is not None and gone[1] != "URI":
            sourced = {scan.param_columns.get(d.param, d.param) for d in scan.deps}
            if gone[0] in {str(v) for k, v in call.bound.items() if k in sourced}:
                return  # the object the other side named was deleted since: no rows for it
        if gone is not None and gone[1] == "URI":
            exc.args = (
                f"{exc}; the org does not serve this path, so {scan.resource.id} cannot be "
                "read from it (an endpoint of a feature the org lacks, or of a newer API)",
            )
        raise


_NOT_FOUND = re.compile(r"Resource not found: (.+) \(([^()]*)\)\s*$")


def _not_found(exc: APIError) -> tuple[str, str] | None:
    """(what, type) of Okta's E0000007 "Not found: Resource not found: <id> (<Type>)"; the
    type is ``URI`` when the path itself is unknown."""
    if exc.error_code != "E0000007":
        return None
    m = _NOT_FOUND.search(exc.error_summary or "")
    return (m.group(1), m.group(2)) if m else None


@dataclass(frozen=True)
class _RowCount:
    rows: int  # joined rows that stop the fan-out
    joined: Callable[[Call, int], int]  # a call and how many rows it gave -> joined rows


class _Meanwhile:
    """The session's DuckDB opened (~15 ms) and the tables of described scans created, on
    another thread while the first request waits for its answer. A failure is left for the
    caller's own ``session.duck`` (or its own ``TableSink``) to raise."""

    def __init__(self, session: Session, scans: list[Scan]):
        from oktaql._loading import session_zone

        session_zone()  # a bad zone is an error before any request, as it was
        self._sinks: dict[str, TableSink] = {}
        self._done = start_soon(lambda: self._prepare(session, scans))

    def _prepare(self, session: Session, scans: list[Scan]) -> None:
        try:
            duck = session.duck
            for scan in scans:
                if scan.described:
                    self._sinks[scan.table_name] = TableSink(
                        duck, scan.table_name, scan.columns, scan.extra, undescribed=False
                    )
        except Exception:  # noqa: BLE001, S110 - raised again where it is used
            pass

    def join(self) -> None:
        self._done.wait()

    def sink(self, scan: Scan) -> TableSink | None:
        """The scan's table, created empty (None: undescribed, or its creation failed)."""
        self._done.wait()
        return self._sinks.pop(scan.table_name, None)


def _inferred(session: Session, scan: Scan, rows: list[Any]) -> TableSink:
    """The table of an undescribed scan, its columns read off its first rows."""
    return TableSink(session.duck, scan.table_name, infer_columns(rows), scan.extra)


def _in_order(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Values sorted so the calls, and so the row order, never depend on timing."""
    return sorted(rows, key=lambda r: tuple(map(str, r)))


def extract_rows(method: Method, body: Any) -> list[Any]:
    if body is None:
        return []
    if method.object_key and isinstance(body, dict):
        node: Any = body
        for part in object_key_parts(method.object_key):
            if isinstance(node, dict):
                node = node.get(part)
            else:
                node = None
                break
        body = node if node is not None else []
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return [body]
    return [{"value": body}]


__all__ = ["Reads", "call_pages", "extract_rows", "pages"]
