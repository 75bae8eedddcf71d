"""``plan(statement, ctx) -> Plan``: the one place that turns each kind of statement into steps.

A new statement type is a parser dataclass, one branch here, and (when no existing step fits)
one step type in ``_steps`` with its runner in ``oktaql._execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from oktaql import parser
from oktaql.errors import Error, ProgrammingError
from oktaql.planning._common import MISSING, PlanContext, dotted, literal
from oktaql.planning._query import QueryPlan, dependency_groups, plan_query
from oktaql.planning._steps import (
    EXPLAIN_COLUMNS,
    Answer,
    DropView,
    ExplainEnv,
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
from oktaql.planning._writes import (
    WritePlan,
    insert_target,
    plan_delete,
    plan_exec,
    plan_insert_rows,
    plan_update,
)

_LOCAL = "answered from the session's DuckDB file, no request"


@dataclass
class Environment:
    """What planning asks of the session beyond the provider: stored views, the rows of an
    INSERT's SELECT, and (for EXPLAIN) how requests would authenticate."""

    # name -> (body SQL, materialized); read only when a statement names a local table
    views: Callable[[], Mapping[str, tuple[str, bool]]]
    # the rows of an INSERT's source query (run through its own plan)
    source_rows: Callable[[exp.Expression, frozenset[str]], list[tuple[Any, ...]]]
    explain: ExplainEnv
    # EXPLAIN checks the session's credential binding too, without binding it
    check_targets: Callable[[list[Any]], None] = field(default=lambda _: None)
    stream: bool = True  # a query that only projects one scan's rows skips DuckDB
    # the session's own tables and views: (name, kind, view SQL or None), for SHOW TABLES
    tables: Callable[[], list[tuple[str, str, str | None]]] = field(default=lambda: [])


def plan(stmt: parser.Statement, ctx: PlanContext, env: Environment) -> Plan:
    """The steps ``stmt`` runs; nothing is sent (an INSERT's SELECT is read, to know the rows)."""
    if isinstance(stmt, parser.Explain):
        inner = plan(stmt.inner, ctx, env)
        env.check_targets(inner.requests())
        return Plan((Answer(tuple(EXPLAIN_COLUMNS), tuple(inner.explain(env.explain))),))
    if isinstance(stmt, parser.Query):
        return _query_plan(stmt.ast, ctx, env, stream=env.stream)
    if isinstance(stmt, parser.Local):
        reads = _query_plan(stmt.ast, ctx, env, stream=False)
        local = reads.steps[-1]
        assert isinstance(local, RunLocal)
        steps = (*reads.steps[:-1], RunLocal(local.sql, statement=True))
        return Plan(steps, reads_local=True)
    if isinstance(stmt, parser.CreateView):
        if not stmt.materialized:
            return Plan((StoreView(stmt.name, stmt.body_sql, or_replace=stmt.or_replace),))
        return _materialize(
            stmt.name, stmt.body_sql, ctx, env, create=True, replace=stmt.or_replace
        )
    if isinstance(stmt, parser.RefreshView):
        found = env.views().get(stmt.name.lower())
        if found is None or not found[1]:
            raise ProgrammingError(f"no materialized view named {stmt.name}")
        return _materialize(stmt.name, found[0], ctx, env, create=False, replace=True)
    if isinstance(stmt, parser.DropView):
        return Plan((DropView(stmt.name, stmt.materialized, stmt.if_exists),))
    if isinstance(stmt, parser.Registry):
        return Plan((ManageRegistry(stmt),))
    if isinstance(stmt, parser.Show) and stmt.what in ("tables", "views"):
        return Plan((_show_local(stmt, env),))
    if isinstance(stmt, (parser.Show, parser.Describe, parser.ShowInsert)):
        from oktaql.planning import _metadata as meta

        if isinstance(stmt, parser.ShowInsert):
            cols, rows = meta.show_insert(stmt, ctx.catalog)
        elif isinstance(stmt, parser.Show):
            cols, rows = meta.show(stmt, ctx.catalog)
        else:
            cols, rows = meta.describe(stmt, ctx.catalog)
        return Plan((Answer(tuple(cols), tuple(rows)),))
    write = _plan_write(stmt, ctx, env)
    write.await_completion = "AWAIT" in stmt.hints
    return Plan((Send(write),))


def _show_local(stmt: parser.Show, env: Environment) -> Answer:
    """SHOW TABLES: every table and view of the session's database; SHOW VIEWS: the views
    (plain and materialized) with their SQL. LIKE as in SQL, case-insensitive."""
    import re

    like = stmt.like
    rx = re.compile(
        "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in like or ""),
        re.IGNORECASE | re.DOTALL,
    )

    def wanted(name: str) -> bool:
        return like is None or rx.fullmatch(name) is not None

    found = sorted(t for t in env.tables() if wanted(t[0]))
    if stmt.what == "tables":
        return Answer(("name", "kind"), tuple((name, kind) for name, kind, _ in found), _LOCAL)
    views = tuple((name, kind, sql) for name, kind, sql in found if kind != "table")
    return Answer(("name", "kind", "sql"), views, _LOCAL)


def _plan_write(stmt: parser.Statement, ctx: PlanContext, env: Environment) -> WritePlan:
    if isinstance(stmt, parser.Delete):
        return plan_delete(stmt.ast, ctx)
    if isinstance(stmt, parser.Update):
        return plan_update(stmt.ast, stmt.replace, ctx)
    if isinstance(stmt, parser.Exec):
        return plan_exec(stmt.target, stmt.args, stmt.json_body, ctx, "SHOWRESULTS" in stmt.hints)
    if isinstance(stmt, parser.Insert):
        res, columns = insert_target(stmt.ast, ctx)
        ctx.row_params = _row_fed(res.param_names, columns, stmt.ast.expression)
        rows = env.source_rows(stmt.ast.expression, ctx.row_params)
        for row in rows:
            if len(row) != len(columns):
                raise ProgrammingError(
                    f"{res.id}: INSERT names {len(columns)} columns but its SELECT gives "
                    f"{len(row)} values"
                )
        ret = stmt.ast.args.get("returning")
        return plan_insert_rows(res, columns, rows, ctx, list(ret.expressions) if ret else None)
    raise ProgrammingError(f"cannot run {type(stmt).__name__} statements")


def query_steps(ast: exp.Expression, ctx: PlanContext, env: Environment) -> list[Step]:
    """The read steps of a query and the DuckDB SQL over their rows (never streamed)."""
    return list(_query_plan(ast, ctx, env, stream=False).steps)


def _query_plan(ast: exp.Expression, ctx: PlanContext, env: Environment, stream: bool) -> Plan:
    local = names_local_tables(ast)
    if local:
        views = {n: body for n, (body, mat) in env.views().items() if not mat}
        if views:
            from oktaql.planning._views import inline_views

            ast = inline_views(ast.copy(), views, lambda t: _param_names(ctx, t))
    qp = plan_query(ast, ctx)
    if stream and len(qp.scans) == 1:
        from oktaql import _stream  # the shape decision is made here, once

        projection = _stream.streamable(qp.local_ast, qp.scans[0])
        if projection is not None:
            return Plan((Stream(qp.scans[0], projection),), reads_local=local)
    steps: list[Step] = [_read_step(scan, ctx) for scan in qp.scans]
    steps.append(RunLocal(qp.local_sql))
    return Plan(tuple(steps), reads_local=local)


def _read_step(scan: Any, ctx: PlanContext) -> Step:
    if not scan.deps:
        return Fetch(scan)
    groups = tuple((tuple(names), sql) for names, sql in dependency_groups(scan))
    url, org = _url_template(scan, ctx)
    return FanOut(scan, groups, url, org, stop=scan.join_cap)


def _materialize(
    name: str, body_sql: str, ctx: PlanContext, env: Environment, create: bool, replace: bool
) -> Plan:
    body = parser.parse(body_sql)
    if not isinstance(body, parser.Query):
        raise ProgrammingError(f"materialized view {name}: the body must be a query")
    reads = _query_plan(body.ast, ctx, env, stream=False)
    local = reads.steps[-1]
    assert isinstance(local, RunLocal)
    steps: list[Step] = [*reads.steps[:-1], Materialize(name, local.sql, create, replace)]
    if create:
        steps.append(StoreView(name, body_sql, materialized=True, or_replace=True))
    return Plan(tuple(steps), reads_local=True)


def _url_template(scan: Any, ctx: PlanContext) -> tuple[str, str | None]:
    """A dependent step's URL with what is known filled in (the org, literal values)."""
    from oktaql.planning._requests import base_url, literal_query

    known = {k: v[0] for k, v in scan.literal_bound.items() if len(v) == 1}
    try:
        base, org = base_url(scan.method, known, ctx.org_url, "", ctx.orgs)
    except Error:
        base, org = ctx.org_url or scan.method.server_url.rstrip("/"), None
    try:
        query = literal_query(scan.method, known, "")
    except Error:
        query = ""  # a value the calls will reject with its own message
    return base + scan.method.path + query, org


def _param_names(ctx: PlanContext, table: exp.Table) -> set[str]:
    return ctx.catalog.resource(dotted(table)).param_names


def names_local_tables(ast: exp.Expression) -> bool:
    """Whether a statement names a table that is not a provider resource (a view, a table)."""
    return any(not t.args.get("catalog") for t in ast.find_all(exp.Table))


def _row_fed(params: Collection[str], columns: list[str], source: exp.Expression) -> frozenset[str]:
    """The parameters an INSERT's rows take from data (a table, the API), not from the
    statement's text: a column whose SELECT item is not a literal, once the source reads
    anything (``FROM``)."""
    if source.find(exp.From) is None:
        return frozenset()  # SELECT 'x', 'acme' / VALUES: all written in the statement
    lookup = {p.lower(): p for p in params}
    items = source.expressions if isinstance(source, exp.Select) else []
    positional = len(items) == len(columns) and not any(
        isinstance(i, exp.Star) or (isinstance(i, exp.Column) and isinstance(i.this, exp.Star))
        for i in items
    )
    fed: set[str] = set()
    for i, name in enumerate(columns):
        pname = lookup.get(name.lower())
        if pname is None:
            continue
        if positional and literal(items[i].unalias()) is not MISSING:
            continue
        fed.add(pname)
    return frozenset(fed)


__all__ = ["Environment", "QueryPlan", "names_local_tables", "plan", "query_steps"]
