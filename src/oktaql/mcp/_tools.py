"""What the MCP tools do, over one oktaql connection: plain Python, no MCP SDK.

Every answer is a JSON-ready dict. A statement is planned before anything runs: ``query`` refuses
a plan that changes anything (an API write, a view, a table: the plan's steps say so, not the
SQL's text), ``execute`` answers the plan and sends nothing until it is called with
``confirm=True``. Errors are :class:`oktaql.Error` (masked by the session on their way out).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from oktaql.dbapi import Connection
from oktaql.errors import InterfaceError, OperationalError, ProgrammingError
from oktaql.planning import (
    EXPLAIN_COLUMNS,
    DropView,
    FanOut,
    ManageRegistry,
    Materialize,
    Plan,
    RunLocal,
    Send,
    StoreView,
)

T = TypeVar("T")

DEFAULT_MAX_ROWS = 1000


@dataclass(frozen=True)
class ToolOptions:
    max_rows: int = DEFAULT_MAX_ROWS
    allow_writes: bool = False
    dry_run: bool = False  # query and execute answer the plan and send nothing


def one_line(text: str, limit: int = 160) -> str:
    """A description's first sentence (or line), at most ``limit`` characters."""
    text = " ".join(text.split())
    for end in (". ", "; "):
        if end in text:
            text = text[: text.index(end) + 1]
            break
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def changes(plan: Plan) -> list[str]:
    """What running ``plan`` would change, one line per step that changes anything; empty for
    a plan that only reads (queries, SHOW, DESCRIBE, EXPLAIN, REGISTRY LIST)."""
    out: list[str] = []
    for step in plan:
        if isinstance(step, Send):
            w = step.write
            n = len(w.calls)
            out.append(
                f"{w.method.http_method} {w.resource.id} ({w.method.name}): "
                f"{n} request{'' if n == 1 else 's'}"
            )
        elif isinstance(step, StoreView):
            out.append(f"stores view {step.name} in the session's DuckDB file")
        elif isinstance(step, DropView):
            out.append(f"drops view {step.name} from the session's DuckDB file")
        elif isinstance(step, Materialize):
            out.append(f"stores the rows of materialized view {step.name}")
        elif isinstance(step, RunLocal) and step.statement:
            out.append("runs a statement that changes the session's DuckDB file (tables)")
        elif isinstance(step, ManageRegistry) and step.statement.action != "list":
            out.append(f"REGISTRY {step.statement.action.upper()}: changes the installed providers")
    return out


def _what_it_sends(plan: Plan) -> tuple[Any, ...]:
    """The writes a plan sends and what it changes locally: equal for the plan shown and the
    plan confirmed, or the confirm runs nothing."""
    sends = tuple(
        (c.request.method, c.request.url, json.dumps(c.request.body, sort_keys=True, default=str))
        for c in plan.writes()
    )
    return (*sends, *changes(plan))


def jsonable(value: Any) -> Any:
    """A DuckDB or API value as JSON: instants in ISO 8601, decimals as numbers, bytes in
    base64; objects and arrays (already parsed) as they are."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    return str(value)


def dumps(answer: Any) -> str:
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Ticket:
    """One tool call, so that the client's cancel of it stops its requests and no other's."""

    interruptible: bool = True  # False: a write runs to its end (its outcome is never unknown)
    cancelled: bool = False


class Tools:
    """The tools' work over ``conn``. :meth:`run` runs one call at a time (one session, one
    statement at once); :meth:`cancel` stops a call's requests (``Session.cancel``)."""

    def __init__(self, conn: Connection, options: ToolOptions):
        self.conn = conn
        self.session = conn.session
        self.options = options
        self._turn = threading.Lock()  # held for a whole call
        self._state = threading.Lock()  # guards _running and the tickets' flags
        self._running: Ticket | None = None
        # execute: plan_id -> (statement, the requests its plan showed), which a confirm must
        # match. The plan_id is unguessable and goes only to the client that was shown the
        # plan: MCP over HTTP (protocol 2026-07-28) has no session to tell clients apart, so
        # the id is what proves this client saw this plan
        self._previewed: dict[str, tuple[str, tuple[Any, ...]]] = {}

    def run(self, work: Callable[[], T], ticket: Ticket | None = None) -> T:
        """``work()`` once the calls before it are done; a ticket cancelled meanwhile never
        starts."""
        ticket = ticket or Ticket()
        with self._turn:
            self.session.resume()  # a cancel ends with the call it stopped
            with self._state:
                if ticket.cancelled:
                    raise OperationalError(
                        "cancelled by the client before it started: nothing was sent"
                    )
                self._running = ticket
            try:
                return work()
            finally:
                with self._state:
                    self._running = None

    def cancel(self, ticket: Ticket) -> None:
        """The client gave up on ``ticket``'s call: it sends nothing more (a read); a write
        that started runs to its end."""
        with self._state:
            ticket.cancelled = True
            if self._running is ticket and ticket.interruptible:
                self.session.cancel()

    # --- the provider -----------------------------------------------------------------------

    def list_resources(self, service: str | None = None) -> dict[str, Any]:
        catalog = self.session.catalog
        providers = []
        for pname in catalog.registry.provider_names():
            prov = catalog.provider(pname)
            services = []
            for svc in prov.services.values():
                if service and service not in (svc.name, f"{prov.name}.{svc.name}"):
                    continue
                services.append(
                    {
                        "service": f"{prov.name}.{svc.name}",
                        "description": one_line(svc.description or svc.title),
                        "resources": [
                            {
                                "resource": r.id,
                                "description": one_line(r.description or r.title),
                                "verbs": [
                                    v.upper()
                                    for v in ("select", "insert", "update", "replace", "delete")
                                    if r.methods_for(v)
                                ],
                            }
                            for r in svc.resources.values()
                        ],
                    }
                )
            if services:
                providers.append(
                    {"provider": prov.name, "version": prov.version, "services": services}
                )
        if service and not providers:
            names = [
                f"{p}.{s}"
                for p in catalog.registry.provider_names()
                for s in catalog.provider(p).services
            ]
            from oktaql.catalog import suggest

            raise ProgrammingError(
                f"unknown service {service!r}{suggest(service, names)}: list_resources without "
                "a service lists them all"
            )
        return {"providers": providers}

    def describe(self, resource: str) -> dict[str, Any]:
        res = self.session.catalog.resource(resource.strip())
        methods = []
        for verb in ("select", "insert", "update", "replace", "delete", "exec"):
            for m in res.methods.values() if verb == "exec" else res.methods_for(verb):
                if verb == "exec" and m.sql_verb is not None:
                    continue
                methods.append(
                    {
                        "method": m.name,
                        "sql_verb": verb.upper(),
                        "http": f"{m.http_method} {m.path}",
                        "required_params": list(m.required_params),
                        "optional_params": list(m.optional_params),
                        "description": one_line(m.summary or m.description),
                    }
                )
        # what a SELECT must bind at least: the select method that needs the fewest parameters
        selects = sorted(res.methods_for("select"), key=lambda m: len(m.required_params))
        required = list(selects[0].required_params) if selects else None
        return {
            "resource": res.id,
            "description": res.description or res.title,
            "columns": [
                {"name": c.name, "type": c.display_type, "description": one_line(c.description)}
                for c in res.columns
            ],
            "select_needs": required,
            "methods": methods,
            "note": (
                "select_needs: what a SELECT must bind at least (null: no SELECT); bind "
                "parameters in WHERE (appId = '...'), or from another resource with a join or "
                "IN (SELECT ...): the call is then made once per value; the method that binds "
                "the most parameters wins"
            ),
        }

    # --- statements -------------------------------------------------------------------------

    def _plan(self, sql: str) -> Plan:
        if not sql or not sql.strip():
            raise ProgrammingError("no statement given: pass one SQL statement in sql")
        from oktaql import parser

        if len(parser.split_statements(sql)) > 1:
            raise ProgrammingError("one statement per call: split the SQL into several calls")
        return self.session.plan_sql(sql)

    def _explain(self, plan: Plan) -> dict[str, Any]:
        rows = [dict(zip(EXPLAIN_COLUMNS, row)) for row in plan.explain(self.session)]
        for row in rows:
            if row.get("headers"):
                row["headers"] = json.loads(row["headers"])
        known = len(plan.requests())
        fan_outs = [s for s in plan if isinstance(s, FanOut)]
        paged = any(
            "pages followed" in str(r.get("note") or "") for r in rows if r.get("method") == "GET"
        )
        if fan_outs:
            calls = (
                f"{known} call{'' if known == 1 else 's'} known before it runs, then "
                + "; ".join(
                    f"one call to {f.scan.resource.id} per distinct value of "
                    + " x ".join(f"{d.param} from {d.source}" for d in f.scan.deps)
                    for f in fan_outs
                )
            )
        else:
            calls = f"{known} call{'' if known == 1 else 's'}"
        if paged:
            calls += " (a listing makes one more call per further page of results)"
        return {
            "api_calls": known,
            "fans_out": bool(fan_outs),
            "calls": calls,
            "changes": changes(plan),
            "steps": rows,
        }

    def explain(self, sql: str) -> dict[str, Any]:
        return self._explain(self._plan(sql))

    def query(self, sql: str, max_rows: int | None = None) -> dict[str, Any]:
        plan = self._plan(sql)
        changed = changes(plan)
        if changed:
            how = (
                "use the execute tool"
                if self.options.allow_writes
                else "writes need the server started with oktaql mcp --allow-writes and "
                "the execute tool"
            )
            raise ProgrammingError(
                "query runs read-only statements, and this one changes something: "
                + "; ".join(changed)
                + f"; nothing was sent ({how})"
            )
        if self.options.dry_run:
            return {**self._explain(plan), "sent": False, "message": "--dry-run: nothing is sent"}
        return self._run(sql, max_rows)

    def execute(
        self,
        sql: str,
        confirm: bool = False,
        max_rows: int | None = None,
        plan_id: str | None = None,
    ) -> dict[str, Any]:
        if not self.options.allow_writes:
            raise InterfaceError(
                "execute is off: start the server with oktaql mcp --allow-writes to allow writes"
            )

        plan = self._plan(sql)
        key, shown = " ".join(sql.split()), _what_it_sends(plan)
        if self.options.dry_run:
            return {
                **self._explain(plan),
                "sent": False,
                "message": "--dry-run: nothing is sent",
            }
        previous = self._previewed.pop(plan_id, None) if confirm and plan_id else None
        if previous is not None and previous[0] != key:
            previous = None  # the plan of another statement
        if confirm and previous is not None and previous[1] == shown:
            return {**self._run(sql, max_rows), "sent": True}
        # every plan is seen before it runs: a confirm of a statement whose plan this client
        # was not shown, or whose requests changed since (an INSERT ... SELECT's rows), shows it
        new_id = secrets.token_urlsafe(12)
        self._previewed[new_id] = (key, shown)
        while len(self._previewed) > 100:
            self._previewed.pop(next(iter(self._previewed)))
        why = (
            "nothing was sent"
            if not confirm
            else "nothing was sent: confirm needs the plan_id of the plan you were shown"
            if not plan_id
            else "nothing was sent: its plan was not shown before"
            if previous is None
            else "nothing was sent: its plan changed since it was shown"
        )
        return {
            **self._explain(plan),
            "sent": False,
            "plan_id": new_id,
            "message": f"{why}; check the steps (the exact requests), then call execute "
            f"again with the same sql, confirm: true and plan_id: {new_id} to run it",
        }

    def _run(self, sql: str, max_rows: int | None) -> dict[str, Any]:
        cap = (
            self.options.max_rows
            if max_rows is None
            else max(0, min(max_rows, self.options.max_rows))
        )
        cur = self.conn.cursor()
        try:
            cur.execute(sql)
            if cur.description is None:
                # no rows: what it did (DB-API's rowcount: rows or calls it affected, -1 unknown)
                return {"columns": [], "rows": [], "rowcount": cur.rowcount, "message": cur.message}
            columns = [{"name": d[0], "type": str(d[1])} for d in cur.description]
            rows = cur.fetchmany(cap + 1)  # one more says whether there were more
        finally:
            cur.close()  # a stream stops paging: no request for rows nobody reads
        truncated = len(rows) > cap
        rows = rows[:cap]
        answer: dict[str, Any] = {
            "columns": columns,
            "rows": [[jsonable(v) for v in row] for row in rows],
            "row_count": len(rows),
            "truncated": truncated,
        }
        if truncated:
            answer["message"] = (
                f"stopped at {cap} rows (the row cap, --max-rows {self.options.max_rows}): "
                "there are more; narrow the query (WHERE, LIMIT) or aggregate"
            )
        return answer


__all__ = [
    "DEFAULT_MAX_ROWS",
    "Ticket",
    "ToolOptions",
    "Tools",
    "changes",
    "dumps",
    "jsonable",
    "one_line",
]
