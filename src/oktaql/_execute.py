"""Running a plan: one small runner per step type (reads in ``_reads``, writes in ``_send``,
the local steps here).

Reads go into scratch tables (an in-memory database attached to the session's DuckDB) and the
last step answers: a DuckDB cursor, a stream of typed rows, literal rows or a status. Scratch
tables of a statement whose rows are still to be fetched live until the caller is done with
them (``Result.scratch``); any error drops them at once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oktaql._fanout import pipelines
from oktaql._reads import Reads, pages
from oktaql._result import Result, literal_result
from oktaql._send import Writes
from oktaql.errors import ProgrammingError
from oktaql.planning import (
    Answer,
    DropView,
    FanOut,
    Fetch,
    ManageRegistry,
    Materialize,
    Plan,
    RunLocal,
    Send,
    Step,
    StoreView,
    Stream,
)

if TYPE_CHECKING:
    from oktaql.session import Session


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
                    result = runner.reads.fetch_fan_out(step, nxt) or result
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
        self.reads = Reads(session, self.scratch)
        self.writes = Writes(session, self.scratch)

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


_RUNNERS: dict[type[Step], Callable[[_Runner, Any], Result | None]] = {
    Fetch: lambda r, step: r.reads.fetch(step),
    FanOut: lambda r, step: r.reads.fan_out(step),
    Stream: lambda r, step: r.reads.stream(step),
    RunLocal: _Runner.run_local,
    Send: lambda r, step: r.writes.send(step),
    Answer: _Runner.answer,
    StoreView: _Runner.store_view,
    DropView: _Runner.drop_view,
    Materialize: _Runner.materialize,
    ManageRegistry: _Runner.registry,
}


def ident(name: str) -> str:
    return ".".join(exp.to_identifier(p).sql(dialect="duckdb") for p in name.split("."))


__all__ = ["Result", "literal_result", "pages", "run"]
