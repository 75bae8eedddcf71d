"""Running a write: each call sent once, in order, what it did recorded in the write ledger
(a failure midway says what was done and what was not), a 202 awaited when asked, and the
RETURNING rows of the answers."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from oktaql._http import HTTPClient, Request, decode_json, origin, show_origin
from oktaql._ledger import WriteLedger, is_absent
from oktaql._loading import TableSink, infer_columns
from oktaql._reads import extract_rows
from oktaql._result import Result
from oktaql.errors import Error, OperationalError
from oktaql.planning import Send

if TYPE_CHECKING:
    import duckdb
    import httpx

    from oktaql.session import Session

AWAIT_TIMEOUT = 300.0
PENDING_STATES = {"IN_PROGRESS", "PENDING", "QUEUED", "RUNNING", "SCHEDULED"}


class Writes:
    """The write steps of one statement; a RETURNING table goes into ``scratch``."""

    def __init__(self, session: Session, scratch: list[str]):
        self.session = session
        self.scratch = scratch

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


__all__ = ["AWAIT_TIMEOUT", "PENDING_STATES", "Writes"]
