"""Running a plan: one small runner per step type.

Reads go into scratch tables (an in-memory database attached to the session's DuckDB) and the
last step answers: a DuckDB cursor, a stream of typed rows, literal rows or a status. Scratch
tables of a statement whose rows are still to be fetched live until the caller is done with
them (``Result.scratch``); any error drops them at once.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from sqlglot import exp

from oktaql._fanout import Workers, pipelines, start_soon
from oktaql._http import HTTPClient, Request, decode_json, origin, show_origin
from oktaql._ledger import WriteLedger, is_absent
from oktaql._loading import TableSink, infer_columns
from oktaql._progress import PROGRESS_MIN_CALLS, progress_for
from oktaql.errors import APIError, Error, OperationalError, ProgrammingError
from oktaql.planning import (
    Answer,
    Call,
    DropView,
    FanOut,
    Fetch,
    JoinCap,
    ManageRegistry,
    Materialize,
    Plan,
    RunLocal,
    Scan,
    Send,
    Step,
    StoreView,
    Stream,
    dependent_calls,
)
from oktaql.provider import Method, object_key_parts

if TYPE_CHECKING:
    from concurrent.futures import Future

    import duckdb
    import httpx

    from oktaql.session import Session

AWAIT_TIMEOUT = 300.0
PENDING_STATES = {"IN_PROGRESS", "PENDING", "QUEUED", "RUNNING", "SCHEDULED"}


@dataclass
class Result:
    """What a statement produced: a row source (DuckDB) or literal rows, plus a status."""

    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, DuckDB type)
    rows: list[tuple[Any, ...]] | None = None
    relation: duckdb.DuckDBPyConnection | None = None  # rows still to fetch from DuckDB
    stream: Iterator[tuple[Any, ...]] | None = None  # rows still to come from the API, typed
    rowcount: int = -1
    message: str | None = None
    scratch: list[str] = field(default_factory=list)


def run(plan: Plan, session: Session) -> Result:
    """Run every step of ``plan``; the last one's answer is the statement's."""
    runner = _Runner(session)
    result = Result(rowcount=0, message="done")
    span = plan.local_state()
    steps = plan.steps
    try:
        with ExitStack() as file:
            i = 0
            while i < len(steps):
                step = steps[i]
                if span is not None and i == span[0]:
                    file.enter_context(session.local_state(write=span[2]))
                last = i
                nxt = steps[i + 1] if i + 1 < len(steps) else None
                if (
                    isinstance(step, Fetch)
                    and isinstance(nxt, FanOut)
                    and session.concurrency > 1
                    and (span is None or (span[0] != i + 1 and span[1] != i))
                    and pipelines(step, nxt)
                ):
                    # the fan-out's calls start as the listing's pages arrive
                    result = runner.fetch_fan_out(step, nxt) or result
                    last = i + 1
                else:
                    # a step with nothing to say (None) leaves the answer of the steps before it
                    result = _RUNNERS[type(step)](runner, step) or result
                if span is not None and span[1] in range(i, last + 1):
                    file.close()  # detached right after the last step that needs it
                i = last + 1
    except BaseException:
        session.drop_scratch(runner.scratch)
        raise
    if result.relation is None:
        session.drop_scratch(runner.scratch)  # nothing left to read from them
    else:
        result.scratch = runner.scratch
    return result


class _Runner:
    def __init__(self, session: Session):
        self.session = session
        self.scratch: list[str] = []

    # --- reads ------------------------------------------------------------------------------

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

    # --- local ------------------------------------------------------------------------------

    def run_local(self, step: RunLocal) -> Result:
        cur = self.session.cursor()
        cur.execute(step.sql)
        cols = [(d[0], str(d[1])) for d in cur.description or []]
        if not step.statement:
            return Result(columns=cols, relation=cur)
        if cols and cols[0][0] == "Count" and len(cols) == 1:
            # DuckDB answers DDL/DML with a row count; report it as a status instead
            row = cur.fetchone()
            n = int(row[0]) if row and row[0] is not None else 0
            return Result(rowcount=n, message=f"{n} row(s) affected")
        if not cols:
            return Result(rowcount=0, message="done")
        return Result(columns=cols, relation=cur)

    def answer(self, step: Answer) -> Result:
        return literal_result(list(step.columns), list(step.rows))

    def store_view(self, step: StoreView) -> Result | None:
        views = self.session.views
        if step.materialized:
            views.put(step.name, step.body_sql, True, replace=True, check_table=False)
            return None  # the Materialize step before it said what was stored
        views.put(step.name, step.body_sql, False, replace=step.or_replace)
        return Result(rowcount=0, message=f"view {step.name} created")

    def drop_view(self, step: DropView) -> Result:
        s = self.session
        dropped = s.views.drop(step.name, step.materialized, step.if_exists)
        if dropped and step.materialized:
            s.duck.execute(f"DROP TABLE IF EXISTS {ident(step.name)}")
        kind = "materialized view" if step.materialized else "view"
        return Result(
            rowcount=0,
            message=f"{kind} {step.name} dropped" if dropped else f"no {kind} {step.name}",
        )

    def materialize(self, step: Materialize) -> Result:
        s = self.session
        if step.create:
            existing = s.views.get(step.name)
            if existing is not None and not step.or_replace:
                raise ProgrammingError(
                    f"materialized view {step.name} already exists: use CREATE OR REPLACE, "
                    "REFRESH MATERIALIZED VIEW, or DROP it first"
                )
            if existing is None and s.views.is_table(step.name.lower()):
                raise ProgrammingError(
                    f"a table named {step.name} already exists: choose another view name"
                )
        else:
            found = s.views.get(step.name)  # planned from a read: dropped since by another?
            if found is None or not found[1]:
                raise ProgrammingError(f"no materialized view named {step.name}")
        s.duck.execute(f"CREATE OR REPLACE TABLE {ident(step.name)} AS {step.sql}")
        row = s.duck.execute(f"SELECT count(*) FROM {ident(step.name)}").fetchone()
        n = int(row[0]) if row else 0
        return Result(rowcount=n, message=f"materialized view {step.name}: {n} row(s) stored")

    def registry(self, step: ManageRegistry) -> Result:
        from oktaql import registry_pull

        cols, rows, note = registry_pull.run_with_message(step.statement)
        if step.statement.action in ("pull", "remove"):
            self.session.reload_provider()  # this session, too, uses what new ones will
        result = literal_result(cols, rows)
        result.message = note
        return result

    # --- writes -----------------------------------------------------------------------------

    def send(self, step: Send) -> Result:
        s, plan = self.session, step.write
        provider = plan.resource.id.split(".")[0]
        s.need_scopes([plan.method])
        s.check_targets(step.requests())
        verb = plan.verb.upper()
        ledger = WriteLedger(f"{verb} {plan.resource.id}", plan.method, plan.calls)
        bodies: list[Any] = []
        index, phase = 0, "before"  # how far the current call got: before/sending/awaiting/answered
        try:
            for index, call in enumerate(plan.calls):
                phase = "before"
                http = s.http(provider, call.request.url, call.request.org)
                phase = "sending"
                try:
                    resp = http.send(call.request)
                except Error as exc:
                    if not is_absent(call, exc):
                        raise
                    ledger.record_absent(index)  # a DELETE's goal is absence: done
                    s.cache.invalidate(plan.resource.id, call.request.url)
                    continue
                if plan.await_completion and resp.status_code == 202:
                    phase = "awaiting"
                    resp = _await(http, call.request, resp)
                phase = "answered"
                s.cache.invalidate(plan.resource.id, call.request.url)
                body = decode_json(call.request, resp)
                bodies.append(body)
                ledger.record(index, body)
        except (Exception, KeyboardInterrupt) as exc:
            if phase == "answered" and len(ledger.done) == index:
                ledger.record(index, None)  # it acted; its answer could not be read
            stop = index + 1 if phase == "answered" else index
            rows: list[tuple[Any, ...]] | None = None
            columns: list[str] | None = None
            if bodies and self._wants_rows(step):
                try:  # the RETURNING rows of what was done are kept on the error
                    cols, cur = self._returning(step, bodies)
                    rows, columns = cur.fetchall(), [c for c, _ in cols]
                except Exception:  # noqa: BLE001 - the write's own cause is what to report
                    rows = columns = None
            incomplete = ledger.stopped(
                stop,
                exc,
                in_flight=phase in ("sending", "awaiting"),
                awaiting=phase == "awaiting",
                rows=rows,
                columns=columns,
            )
            if incomplete is None:
                raise
            raise incomplete from exc
        message = (
            f"{verb} {plan.resource.id}: {len(plan.calls)} request(s) sent ({plan.method.name})"
        )
        if ledger.absent:
            message += f"; {ledger.absent} already absent"
        if not self._wants_rows(step):
            return Result(rowcount=len(plan.calls), message=message)
        cols, cur = self._returning(step, bodies)
        return Result(columns=cols, relation=cur, rowcount=len(plan.calls), message=message)

    @staticmethod
    def _wants_rows(step: Send) -> bool:
        plan = step.write
        return plan.returning is not None or (
            plan.verb == "exec" and (plan.show_results or plan.method.http_method == "GET")
        )

    def _returning(
        self, step: Send, bodies: list[Any]
    ) -> tuple[list[tuple[str, str]], duckdb.DuckDBPyConnection]:
        """The RETURNING projection (or, for EXEC, every column) of the answers' rows."""
        s, plan = self.session, step.write
        rows: list[Any] = []
        for body in bodies:
            rows.extend(extract_rows(plan.method, body))
        table = "oktaql_scratch.returning"
        if table not in self.scratch:
            self.scratch.append(table)
        sink = TableSink(s.duck, table, plan.method.columns or infer_columns(rows))
        sink.append(rows)
        sink.flush()
        proj = ", ".join(e.sql(dialect="duckdb") for e in plan.returning or []) or "*"
        cur = s.duck.cursor()
        cur.execute(f"SELECT {proj} FROM {table}")
        return [(d[0], str(d[1])) for d in cur.description or []], cur


_RUNNERS: dict[type[Step], Callable[[_Runner, Any], Result | None]] = {
    Fetch: _Runner.fetch,
    FanOut: _Runner.fan_out,
    Stream: _Runner.stream,
    RunLocal: _Runner.run_local,
    Send: _Runner.send,
    Answer: _Runner.answer,
    StoreView: _Runner.store_view,
    DropView: _Runner.drop_view,
    Materialize: _Runner.materialize,
    ManageRegistry: _Runner.registry,
}


def _await(http: HTTPClient, req: Request, resp: httpx.Response) -> httpx.Response:
    """/*+ AWAIT */: poll an accepted (202) operation's Location until it is done."""
    location = resp.headers.get("Location")
    if not location:
        return resp
    deadline = time.monotonic() + AWAIT_TIMEOUT
    delay = 0.2
    target = urljoin(req.url, location)
    if origin(target) != origin(req.url):
        # the credential goes only to its own origin, whatever a response names
        raise OperationalError(
            f"{req.describe()}: accepted (202), but its Location points at another origin "
            f"({show_origin(target)}); refusing to send the credential there, so the "
            "operation was not awaited: check its outcome in the org"
        )
    poll = Request("GET", target, org=req.org)
    while True:
        current = http.send(poll)
        body = decode_json(poll, current)
        state = str(body.get("status", "")).upper() if isinstance(body, dict) else ""
        if current.status_code != 202 and state not in PENDING_STATES:
            return current
        if time.monotonic() > deadline:
            raise OperationalError(
                f"{req.describe()}: still running after {AWAIT_TIMEOUT:.0f} s "
                f"(polling {poll.url}); run the statement without /*+ AWAIT */ to not wait"
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


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


def ident(name: str) -> str:
    return ".".join(exp.to_identifier(p).sql(dialect="duckdb") for p in name.split("."))


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


def literal_result(cols: list[str], rows: list[tuple[Any, ...]]) -> Result:
    types = []
    for i, _ in enumerate(cols):
        sample = next((r[i] for r in rows if r[i] is not None), None)
        if isinstance(sample, bool):
            types.append("BOOLEAN")
        elif isinstance(sample, int):
            types.append("BIGINT")
        else:
            types.append("VARCHAR")
    return Result(columns=list(zip(cols, types, strict=True)), rows=rows, rowcount=len(rows))
