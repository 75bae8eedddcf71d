"""A plan: the typed steps a statement runs, in order.

The plan is the one thing execution and EXPLAIN share. Each step knows its inputs and how to
describe itself; the session runs steps (``oktaql._execute``, one runner per step type) and
EXPLAIN prints them. What a step notes (pages, pushdown, cache age, fan-out source) is data of
that step, so no note can leak into another.

====================  ==========================================================================
step                  what it does
====================  ==========================================================================
``Fetch``             reads one scan whose calls are known: its rows go into a scratch table
``FanOut``            reads a scan once per value that earlier steps' rows give its parameters
``Stream``            reads one scan straight to the caller, typed; DuckDB is not used
``RunLocal``          runs SQL in DuckDB over the scratch tables (a query, or a user statement)
``Send``              sends a write (INSERT/UPDATE/REPLACE/DELETE/EXEC), AWAIT and RETURNING
``Answer``            literal rows known at planning (SHOW, DESCRIBE, SHOW INSERT, EXPLAIN)
``StoreView``         stores a view's SQL
``DropView``          drops a view or a materialized view
``Materialize``       stores a query's rows as a materialized view's table
``ManageRegistry``    REGISTRY LIST / PULL / REMOVE
====================  ==========================================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from oktaql._http import Request
from oktaql.planning._common import Call
from oktaql.planning._query import JoinCap, Scan
from oktaql.planning._writes import WritePlan

if TYPE_CHECKING:
    from oktaql._stream import Projection
    from oktaql.parser import Registry

EXPLAIN_COLUMNS = ["step", "resource", "operation", "method", "url", "headers", "body", "note"]
ExplainRow = tuple[Any, ...]

_NO_REQUEST = "answered from the provider, no request"


class ExplainEnv(Protocol):
    """What EXPLAIN needs from the session: how a request would authenticate, and what the
    response cache holds."""

    def auth_display(self, provider_name: str, org: str | None = None) -> str: ...

    def cache_age(self, req: Request) -> float | None: ...


@dataclass(frozen=True)
class Step:
    def requests(self) -> list[Request]:
        """The requests this step sends that are known before it runs."""
        return []

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        """EXPLAIN's rows for this step, numbered from ``first``."""
        return []


def _joined(*notes: str | None) -> str:
    return "; ".join(n for n in notes if n)


def _scan_note(scan: Scan) -> str:
    return _joined(
        "pages followed via Link rel=next" if scan.method.is_paged else None,
        f"stops after {scan.row_cap} rows" if scan.row_cap is not None else None,
        f"filter pushed to the API: {scan.pushed}" if scan.pushed else None,
        scan.pushed_note,
    )


def _request_row(
    env: ExplainEnv, step: int, rid: str, operation: str, req: Request, note: str
) -> ExplainRow:
    from oktaql._secrets import mask_json  # EXPLAIN and --dry-run never show a secret

    # a header parameter named like a secret (an API key header) is masked like a body field
    headers = {
        "Authorization": env.auth_display(rid.split(".")[0], req.org),
        **mask_json(req.headers),
    }
    body = json.dumps(mask_json(req.body)) if req.has_body else None
    return (step, rid, operation, req.method, req.url, json.dumps(headers), body, note)


def _call_rows(env: ExplainEnv, scan: Scan, first: int) -> list[ExplainRow]:
    note = _scan_note(scan)
    rows = []
    for i, call in enumerate(scan.calls):
        age = env.cache_age(call.request)
        cached = f"cached response reused (age {age:.0f} s)" if age is not None else None
        rows.append(
            _request_row(
                env, first + i, scan.resource.id, scan.method.name, call.request,
                _joined(note, cached),
            )
        )  # fmt: skip
    return rows


def _metadata(step: int, body: str | None, note: str) -> ExplainRow:
    return (step, None, "metadata", None, None, None, body, note)


@dataclass(frozen=True)
class Fetch(Step):
    scan: Scan

    def requests(self) -> list[Request]:
        return [c.request for c in self.scan.calls]

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        return _call_rows(env, self.scan, first)


@dataclass(frozen=True)
class FanOut(Step):
    scan: Scan
    groups: tuple[tuple[tuple[str, ...], str], ...]  # (parameters, SQL giving their values)
    url: str  # the URL with what is known at planning filled in
    org: str | None  # the named org its calls go to, when a literal names one
    # a LIMIT over its join: no further call once the calls made give that many joined rows
    stop: JoinCap | None = None

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        scan = self.scan
        per = " x ".join(f"{d.param} from {d.source}" for d in scan.deps)
        headers = {"Authorization": env.auth_display(scan.resource.id.split(".")[0], self.org)}
        stop = (
            f"calls in order of the values, no further call once the join has {self.stop.rows} "
            "rows (LIMIT)"
            if self.stop is not None
            else None
        )
        # what _fanout.pipelines asks of the fan-out itself (the listing must be one request)
        early = (
            self.stop is None
            and len(self.groups) == 1
            and all(not d.scalar and d.source_from for d in scan.deps)
        )
        note = _joined(
            f"once per distinct value of {per}, from the rows of the steps above"
            + (", calls starting as the pages of a one-request listing arrive" if early else ""),
            stop,
            _scan_note(scan),
        )
        return [
            (
                first, scan.resource.id, scan.method.name, scan.method.http_method, self.url,
                json.dumps(headers), None, note,
            )
        ]  # fmt: skip


@dataclass(frozen=True)
class Stream(Step):
    scan: Scan
    projection: Projection

    def requests(self) -> list[Request]:
        return [c.request for c in self.scan.calls]

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        rows = _call_rows(env, self.scan, first)
        note = "rows go from the API straight to the caller, typed: DuckDB is not used"
        return [*rows, (first + len(rows), None, "stream", None, None, None, None, note)]


@dataclass(frozen=True)
class RunLocal(Step):
    sql: str
    # a user's own statement (CREATE TABLE, INSERT INTO a table): DuckDB's row count is
    # reported as a status, not as rows
    statement: bool = False

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        return [(first, None, "local", None, None, None, self.sql, "runs in DuckDB")]


@dataclass(frozen=True)
class Send(Step):
    write: WritePlan

    def requests(self) -> list[Request]:
        return [c.request for c in self.write.calls]

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        w = self.write
        return [
            _request_row(env, first + i, w.resource.id, w.method.name, c.request, "")
            for i, c in enumerate(w.calls)
        ]

    def bulk_reasons(self) -> list[str]:
        """Why this write wants a confirmation in the shell; empty when it does not."""
        reasons = []
        if len(self.write.calls) > 1:
            reasons.append(f"{len(self.write.calls)} requests")
        method = self.write.method
        if method.http_method == "DELETE" and not re.search(r"\{[^}/]+\}/?$", method.path):
            reasons.append(f"{method.name} deletes a whole collection (no id in its path)")
        return reasons


@dataclass(frozen=True)
class Answer(Step):
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = _NO_REQUEST  # where the rows come from, for EXPLAIN

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        return [_metadata(first, None, self.note)]


@dataclass(frozen=True)
class StoreView(Step):
    name: str
    body_sql: str
    materialized: bool = False
    or_replace: bool = False

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        if self.materialized:
            return []  # the Materialize step before it says what happens
        return [_metadata(first, self.body_sql, "stores the view; no request")]


@dataclass(frozen=True)
class DropView(Step):
    name: str
    materialized: bool
    if_exists: bool

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        return [_metadata(first, None, _NO_REQUEST)]


@dataclass(frozen=True)
class Materialize(Step):
    name: str
    sql: str  # the query whose rows the view keeps
    create: bool = False  # CREATE [OR REPLACE] MATERIALIZED VIEW (else REFRESH)
    or_replace: bool = False

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        note = f"runs in DuckDB; the rows are stored as materialized view {self.name}"
        return [(first, None, "local", None, None, None, self.sql, note)]


@dataclass(frozen=True)
class ManageRegistry(Step):
    statement: Registry

    def explain(self, env: ExplainEnv, first: int) -> list[ExplainRow]:
        return [_metadata(first, None, _NO_REQUEST)]


@dataclass(frozen=True)
class Plan:
    """A statement's steps, in the order they run."""

    steps: tuple[Step, ...]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def requests(self) -> list[Request]:
        """Every request known before the plan runs (fan-outs add theirs as they go)."""
        return [r for s in self.steps for r in s.requests()]

    def writes(self) -> list[Call]:
        return [c for s in self.steps if isinstance(s, Send) for c in s.write.calls]

    def bulk_reasons(self) -> list[str]:
        return list(
            dict.fromkeys(r for s in self.steps if isinstance(s, Send) for r in s.bulk_reasons())
        )

    def is_bulk(self) -> bool:
        return bool(self.bulk_reasons())

    def local_state(self) -> tuple[int, int, bool] | None:
        """(first, last, writes): the steps that need the DuckDB file, so that it is attached
        only around them (API calls before them never hold it); None when no step needs it (a
        view is read at planning, a query over it runs on scratch tables)."""
        needs: list[tuple[int, bool]] = []
        for i, step in enumerate(self.steps):
            if isinstance(step, (StoreView, DropView, Materialize)) or (
                isinstance(step, RunLocal) and step.statement
            ):
                needs.append((i, True))
            elif self.reads_local and isinstance(step, (RunLocal, FanOut)) and _reads_file(step):
                needs.append((i, False))
        if not needs:
            return None
        return needs[0][0], needs[-1][0], any(w for _, w in needs)

    def touches_local_state(self) -> bool:
        """Whether the plan reads or writes objects kept in the DuckDB file (views, tables,
        materialized views); a plain API query never needs the file."""
        return self.local_state() is not None

    def explain(self, env: ExplainEnv) -> list[ExplainRow]:
        rows: list[ExplainRow] = []
        for step in self.steps:
            rows.extend(step.explain(env, len(rows) + 1))
        return rows

    # set by the planner: the statement names a user table or a view
    reads_local: bool = False


def _reads_file(step: RunLocal | FanOut) -> bool:
    """Whether a step's SQL names a table that is not a scratch table (a user table or a
    materialized view)."""
    import sqlglot
    from sqlglot import exp

    from oktaql.local import SCRATCH

    texts = [step.sql] if isinstance(step, RunLocal) else [sql for _, sql in step.groups]
    for text in texts:
        tree = sqlglot.parse_one(text, dialect="duckdb")
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        for t in tree.find_all(exp.Table):
            if t.db.lower() != SCRATCH and not (not t.db and t.name.lower() in ctes):
                return True
    return False
