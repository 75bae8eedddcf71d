"""Queries → scans (one per provider table) plus the SQL DuckDB runs over their rows.

A scan's parameters are bound by literals (``appId = 'x'``, ``appId IN ('a', 'b')``) or by the
values another part of the query yields: ``JOIN okta.apps.tokens t ON t.appId = a.id`` makes
the tokens scan depend on the applications scan, and ``appId IN (SELECT ...)`` on the subquery.
Dependent scans run once their sources are loaded, one call per distinct value. The bound path
parameters are recorded as columns of the scan's rows, so the join condition itself then runs
in DuckDB unchanged.

A name that is both a parameter and a response column (``okta.users.user_groups`` takes the
user as ``id``; its rows are groups with an ``id``) means the parameter in WHERE and ON, as in
StackQL: ``g.id = u.id`` binds it. The parameter is then recorded as ``param__id``, and the
join condition runs over that column, never over the group's own ``id``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from oktaql.catalog import suggest
from oktaql.errors import PlanError, ProgrammingError
from oktaql.planning._common import (
    MISSING,
    Call,
    PlanContext,
    bound_values,
    calls_for,
    choose_method,
    conjuncts,
    dotted,
    is_provider_table,
    literal,
)
from oktaql.planning._hints import with_hints
from oktaql.planning._pushdown import plan_pushdown
from oktaql.planning._shape import is_true, needs_whole_input
from oktaql.provider import Column, Method, Resource


@dataclass
class Dependency:
    """A parameter whose values come from the query itself."""

    param: str
    source: str  # what the values are, for EXPLAIN: "a.id", "IN (SELECT ...)"
    needs: set[str]  # scratch tables that must be loaded first
    values_sql: str = ""  # one column of values, rendered once the AST is rewritten
    node: exp.Expression | None = field(default=None, repr=False)
    # for a join: the source's FROM ... WHERE ... and the column, so that parameters fed by the
    # same source row are fetched together as the distinct combinations that occur
    source_from: str = ""
    column_sql: str = ""
    # the source's column when the values are that column of every source row (no filter):
    # a fan-out can then read them off the rows as they arrive, before any query
    source_column: str = ""
    scalar: bool = False  # ``param = (SELECT ...)``: the subquery must give at most one value
    # the dependent table's column in the condition: renamed when the parameter is recorded
    # under another name than its own
    target: exp.Column | None = field(default=None, repr=False)


@dataclass
class Scan:
    resource: Resource
    method: Method
    alias: str
    table_name: str  # the DuckDB table the rows go into
    literal_bound: dict[str, list[Any]]
    deps: list[Dependency]
    calls: list[Call]  # known at plan time when there are no dependencies
    columns: list[Column]
    extra: list[str]  # bound parameters recorded as columns (named as in ``param_columns``)
    row_cap: int | None = None  # stop paging after this many rows (a LIMIT over this scan)
    join_cap: JoinCap | None = None  # stop a fan-out once its join has a LIMIT's rows
    pushed: str | None = None  # the filter expression handed to the API, if any
    pushed_note: str | None = None  # what EXPLAIN says about the rows pushdown keeps
    described: bool = True  # the provider names the response's columns (else: inferred)
    standalone: Scan | None = None  # planned without its dependencies, to break a cycle
    # parameters recorded under another name because a response column has theirs
    param_columns: dict[str, str] = field(default_factory=dict)
    # the `limit` oktaql chose (the largest page), which a smaller SQL LIMIT may lower;
    # None when the statement set it or the method takes none
    default_page: int | None = None


@dataclass
class QueryPlan:
    scans: list[Scan]  # in an order where every scan comes after the ones it depends on
    local_ast: exp.Expression  # the statement rewritten over the scans' tables

    @functools.cached_property
    def local_sql(self) -> str:
        """The DuckDB text of ``local_ast``, rendered only when DuckDB runs it (a streamed
        query and most EXPLAINs never load sqlglot's DuckDB generator)."""
        return self.local_ast.sql(dialect="duckdb")


@dataclass
class _Entry:
    table: exp.Table
    resource: Resource
    alias: str
    temp: str
    select: exp.Select | None


@with_hints
def plan_query(ast: exp.Expression, ctx: PlanContext) -> QueryPlan:
    ast = ast.copy()
    entries = []
    for t in list(ast.find_all(exp.Table)):
        if is_provider_table(t):
            res = ctx.catalog.resource(dotted(t))
            temp = f"oktaql_scratch.t{next(ctx.counter)}"
            entries.append(_Entry(t, res, t.alias_or_name, temp, t.find_ancestor(exp.Select)))
    scans = []
    consumed: list[exp.Expression] = []
    # every name the statement mentions (any qualifier): a superset of the columns it uses
    referenced = {c.name.lower() for c in ast.find_all(exp.Column) if c.name}
    for e in entries:
        siblings = [o for o in entries if o.select is e.select and o is not e]
        scan, used = _plan_scan(e, siblings, entries, ctx, referenced)
        scans.append(scan)
        consumed.extend(used)
    for node in consumed:
        if node.parent is not None:
            node.replace(exp.true())
    for e in entries:
        new = exp.to_table(e.temp)
        new.set("alias", exp.TableAlias(this=exp.to_identifier(e.alias)))
        e.table.replace(new)
    for scan in scans:
        for dep in scan.deps:
            if dep.node is not None and not dep.values_sql:
                dep.values_sql = dep.node.sql(dialect="duckdb")
    ordered = _order(scans)
    for scan in ordered:
        for dep in scan.deps:
            if dep.target is not None and dep.param in scan.param_columns:
                dep.target.set("this", exp.to_identifier(scan.param_columns[dep.param]))
    _apply_row_cap(ast, ordered, ctx)
    return QueryPlan(scans=ordered, local_ast=ast)


def _where_and_on(select: exp.Select | None) -> list[exp.Expression]:
    if select is None:
        return []
    nodes = conjuncts(select.args.get("where"))
    for join in select.args.get("joins") or []:
        nodes.extend(conjuncts(join.args.get("on")))
    return nodes


def _plan_scan(
    e: _Entry,
    siblings: list[_Entry],
    entries: list[_Entry],
    ctx: PlanContext,
    referenced: set[str],
) -> tuple[Scan, list[exp.Expression]]:
    res = e.resource
    lookup = {p.lower(): p for p in res.param_names}
    bound: dict[str, list[Any]] = {}
    deps: list[Dependency] = []
    consumed: list[exp.Expression] = []
    nodes = _where_and_on(e.select)
    for node in nodes:
        b = bound_values(node)
        if b is not None:
            col, values = b
            if col.table and col.table != e.alias:
                continue
            pname = lookup.get(col.name.lower())
            if pname is None:
                continue
            # an unqualified name binds every table of this SELECT that has such a parameter
            # (subdomain binds them all)
            current = bound.setdefault(pname, [])
            current.extend(v for v in values if v not in current)
            # the API selected by it: filtering again locally would drop rows the API matches
            # differently (a login for an id, a custom domain, a date meaning "since")
            consumed.append(node)
            continue
        dep = _dependency(node, e, siblings, entries, lookup)
        if dep is not None and dep.param not in bound:
            deps.append(dep)
    names = set(bound) | {d.param for d in deps}
    method = choose_method(res, "select", names)
    deps = [d for d in deps if d.param in method.params and d.param not in bound]
    if not siblings:
        _check_unknown_columns(e, res)
    scan = _scan(e, res, method, dict(bound), deps, ctx, referenced, not siblings)
    if deps:
        # the same table planned on its own, for when its sources depend on it in turn
        try:
            alone = choose_method(res, "select", set(bound))
            scan.standalone = _scan(e, res, alone, dict(bound), [], ctx, referenced, not siblings)
        except PlanError:
            pass  # it cannot stand alone (a parameter only the join gives): no cycle breaker
    return scan, consumed


def _scan(
    e: _Entry,
    res: Resource,
    method: Method,
    bound: dict[str, list[Any]],
    deps: list[Dependency],
    ctx: PlanContext,
    referenced: set[str],
    single_table: bool,
) -> Scan:
    path_params = [p for p in method.required_params if method.params[p].location == "path"]
    extra = list(dict.fromkeys(path_params + [d.param for d in deps]))
    taken = {c.name.lower() for c in (method.columns or res.columns)}
    # only a join's parameter needs its own column (its condition runs over it); a literal
    # one that a response column shadows is that column's value anyway
    renamed = {d.param: f"param__{d.param}" for d in deps if d.param.lower() in taken}
    pushed = (
        plan_pushdown(method, e.alias, e.select, bound, single_table=single_table)
        if ctx.pushdown
        else None
    )
    if pushed is not None:
        bound[pushed.param] = [pushed.expression]
    page = _default_page(method, bound, deps)
    if page is not None:
        bound[PAGE_PARAM] = [page]
    calls = _recorded(calls_for(method, bound, ctx, "SELECT"), renamed) if not deps else []
    columns = _used_columns(method.columns or res.columns, e, referenced)
    extra = [renamed.get(p, p) for p in extra]
    scan = Scan(res, method, e.alias, e.temp, bound, deps, calls, columns, extra)
    scan.param_columns = renamed
    if pushed is not None:
        scan.pushed, scan.pushed_note = pushed.expression, pushed.note
    scan.described = bool(method.columns or res.columns)
    scan.default_page = page
    return scan


PAGE_PARAM = "limit"


def _default_page(
    method: Method, bound: dict[str, list[Any]], deps: list[Dependency]
) -> int | None:
    """The largest page the API allows, when the statement leaves the page size to oktaql:
    every page is a round trip and a share of the org's rate limit, and Okta's own default
    (often 20) costs up to ten times the requests."""
    if not method.is_paged or method.page_max is None or PAGE_PARAM not in method.params:
        return None
    if PAGE_PARAM in bound or any(d.param == PAGE_PARAM for d in deps):
        return None
    return method.page_max


def _lower_page(scan: Scan, rows: int, ctx: PlanContext) -> None:
    """Ask for just ``rows`` when a LIMIT needs fewer than the default page."""
    if scan.default_page is None or rows >= scan.default_page:
        return
    scan.default_page = max(rows, 1)  # Okta reads limit=0 as "its default page"
    scan.literal_bound[PAGE_PARAM] = [scan.default_page]
    if not scan.deps:
        calls = calls_for(scan.method, scan.literal_bound, ctx, "SELECT")
        scan.calls = _recorded(calls, scan.param_columns)


def _recorded(calls: list[Call], renamed: dict[str, str]) -> list[Call]:
    """``calls`` with their bound values keyed by the columns that record them."""
    if renamed:
        for call in calls:
            call.bound = {renamed.get(k, k): v for k, v in call.bound.items()}
    return calls


def _used_columns(columns: list[Column], e: _Entry, referenced: set[str]) -> list[Column]:
    """Only the columns the statement can reach: a star takes all, otherwise those named.

    Loading `_links` for a `count(*)` costs most of the memory and time of a big read.
    """
    select = e.select
    if select is None or _has_star(select):
        return list(columns)
    return [c for c in columns if c.name.lower() in referenced]


def _has_star(select: exp.Select) -> bool:
    for item in select.expressions:
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Star) or (
            isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
        ):
            return True
    return False


def _dependency(
    node: exp.Expression,
    e: _Entry,
    siblings: list[_Entry],
    entries: list[_Entry],
    lookup: dict[str, str],
) -> Dependency | None:
    """``t.param = other.col``, ``t.param IN (SELECT ...)`` or ``t.param = (SELECT ...)``."""
    if (
        isinstance(node, exp.EQ)
        and isinstance(node.this, exp.Column)
        and isinstance(node.expression, exp.Column)
    ):
        for mine, theirs in ((node.this, node.expression), (node.expression, node.this)):
            if mine.table != e.alias or not theirs.table:
                continue
            pname = lookup.get(mine.name.lower())
            other = next((s for s in siblings if s.alias == theirs.table), None)
            if pname is None or other is None:
                continue
            other_params = {p.lower() for p in other.resource.param_names}
            filters = [
                c
                for c in conjuncts(e.select.args.get("where") if e.select else None)
                if _only_alias(c, other.alias)
                # a parameter binding of the other table went to its API, not its rows
                and not ((b := bound_values(c)) and b[0].name.lower() in other_params)
            ]
            where = (
                (" WHERE " + " AND ".join(f.sql(dialect="duckdb") for f in filters))
                if filters
                else ""
            )
            col = exp.column(theirs.name, table=other.alias).sql(dialect="duckdb")
            source_from = f"FROM {other.temp} AS {exp.to_identifier(other.alias).sql(dialect='duckdb')}{where}"
            return Dependency(
                pname,
                f"{other.alias}.{theirs.name}",
                {other.temp},
                f"SELECT DISTINCT {col} {source_from}",
                source_from=source_from,
                column_sql=col,
                source_column="" if filters else theirs.name,
                target=mine,
            )
    found = _subquery_binding(node)
    if found is not None:
        target, query, scalar = found
        if target.table and target.table != e.alias:
            return None
        pname = lookup.get(target.name.lower())
        if pname is None:
            return None
        inner = query.this if isinstance(query, exp.Subquery) else query
        needs = {
            x.temp
            for x in entries
            if x.table.find_ancestor(type(inner)) is inner or _within(x.table, inner)
        }
        source = ("= (" if scalar else "IN (") + inner.sql() + ")"
        return Dependency(pname, source, needs, node=inner, scalar=scalar, target=target)
    return None


def _subquery_binding(node: exp.Expression) -> tuple[exp.Column, exp.Expression, bool] | None:
    """(column, subquery, whether scalar) of ``col IN (SELECT ...)`` or ``col = (SELECT ...)``.

    A scalar subquery feeds the parameter as IN does, once the engine has checked that it
    gave one value.
    """
    if isinstance(node, exp.In) and isinstance(node.this, exp.Column) and node.args.get("query"):
        return node.this, node.args["query"], False
    if (
        isinstance(node, exp.EQ)
        and isinstance(node.this, exp.Column)
        and isinstance(node.expression, exp.Subquery)
    ):
        return node.this, node.expression, True
    return None


def _within(node: exp.Expression, ancestor: exp.Expression) -> bool:
    p = node.parent
    while p is not None:
        if p is ancestor:
            return True
        p = p.parent
    return False


def _only_alias(node: exp.Expression, alias: str) -> bool:
    cols = list(node.find_all(exp.Column))
    return bool(cols) and all(c.table == alias for c in cols) and not node.find(exp.Select)


def _check_unknown_columns(e: _Entry, res: Resource) -> None:
    """A name that is neither a column nor a parameter gets a suggestion, not DuckDB's error."""
    select = e.select
    if select is None:
        return
    columns = {c.name.lower() for c in res.columns}
    known = columns | {p.lower() for p in res.param_names}
    known |= {f"param__{p.lower()}" for p in res.param_names if p.lower() in columns}
    if not res.columns:
        known.add("value")  # undescribed responses: plain values land in a `value` column
    projected = {x.alias_or_name.lower() for x in select.expressions if x.alias}
    for col in select.find_all(exp.Column):
        if col.table and col.table != e.alias:
            continue
        if col.find_ancestor(exp.Select) is not select:
            continue
        name = col.name
        if not name or name.lower() in known or name.lower() in projected:
            continue
        pool = [c.name for c in res.columns] + sorted(res.param_names)
        raise ProgrammingError(
            f"{res.id} has no column or parameter {name!r}{suggest(name, pool)}; "
            f"DESCRIBE {res.id} lists its columns"
        )


def _order(scans: list[Scan]) -> list[Scan]:
    done: set[str] = set()
    ordered: list[Scan] = []
    pending = list(scans)
    while pending:
        ready = [s for s in pending if all(d.needs <= done for d in s.deps)]
        if not ready:
            # a cycle (u.id = r.userId both ways): read the first table that can stand alone
            # in full, and let the others depend on it
            alone = next((s for s in pending if s.standalone is not None), None)
            if alone is None:
                names = ", ".join(f"{s.resource.id} AS {s.alias}" for s in pending)
                raise PlanError(f"these tables depend on each other in a cycle: {names}")
            assert alone.standalone is not None
            ready = [alone.standalone]
            pending[pending.index(alone)] = alone.standalone
        for s in ready:
            ordered.append(s)
            done.add(s.table_name)
            pending.remove(s)
    return ordered


@dataclass(frozen=True)
class JoinCap:
    """When a fan-out may stop: ``LIMIT rows`` over the join of one source scan and this
    fan-out, nothing else asking for the whole input.

    The calls run in their deterministic order and the rows of each are kept in that order;
    a call's rows give ``len(rows) * n`` joined rows, where ``n`` is how many source rows have
    the call's values (``counts_sql``: the values, then that count). Once the calls read so
    far give ``rows`` joined rows no further call is made. The local SQL orders the join by
    the fan-out's rows (then the source's), so its first ``rows`` rows are the same whether
    the fan-out stopped or not.
    """

    rows: int
    params: tuple[str, ...]  # the columns of a call's ``bound`` that pick its source rows
    counts_sql: str


def _apply_row_cap(ast: exp.Expression, scans: list[Scan], ctx: PlanContext) -> None:
    """Stop reading early when the SQL LIMIT is all that is asked: the paging of a single,
    unfiltered scan, or the calls of a join's fan-out (:class:`JoinCap`)."""
    if not isinstance(ast, exp.Select):
        return
    limit = ast.args.get("limit")
    if limit is None:
        return
    if needs_whole_input(ast):
        return
    n = literal(limit.expression) if isinstance(limit, exp.Limit) else MISSING
    offset = ast.args.get("offset")
    off = literal(offset.expression) if offset is not None else 0
    if not isinstance(n, int) or not isinstance(off, int):
        return
    if len(scans) == 1 and not scans[0].deps and not ast.args.get("joins"):
        where = ast.args.get("where")
        if where is None or all(is_true(c) for c in conjuncts(where)):
            scans[0].row_cap = n + off
            _lower_page(scans[0], n + off, ctx)
        return
    if len(scans) == 2 and _cap_join(ast, scans[0], scans[1], n + off):
        # every row of a call joins at least one source row (its values came from one), so
        # one call's first n + off rows already meet the LIMIT: no call needs a larger page
        _lower_page(scans[1], n + off, ctx)


def _cap_join(ast: exp.Select, source: Scan, fan: Scan, rows: int) -> bool:
    """Give ``fan`` a :class:`JoinCap` when the statement is ``source JOIN fan`` (or ``fan
    LEFT JOIN source``) whose result only grows as the fan-out's rows arrive: every
    condition is the dependency's equality, a consumed parameter binding, or (in WHERE) a
    filter of the source alone, which its values already passed."""
    groups = dependency_groups(fan)
    if source.deps or not fan.deps or len(groups) != 1:
        return False
    if any(not d.source_from or d.needs != {source.table_name} for d in fan.deps):
        return False
    if len(list(ast.find_all(exp.Select))) != 1 or len(list(ast.find_all(exp.Table))) != 2:
        return False  # a subquery or a third table: its rows are not counted here
    joins = ast.args.get("joins") or []
    first = ast.args.get("from_")
    if len(joins) != 1 or first is None:
        return False
    join = joins[0]
    if join.args.get("using") or join.args.get("method"):
        return False  # NATURAL / USING: conditions this planner does not count
    fan_first = first.this.alias_or_name == fan.alias
    side, kind = (join.side or "").upper(), (join.kind or "").upper()
    # an outer join keeps the rows of the side it preserves: only the fan-out's may be kept,
    # since a source row whose call was not made would show as unmatched
    if kind not in ("", "INNER", "CROSS", "OUTER") or side == "FULL":
        return False
    if (side == "LEFT" and not fan_first) or (side == "RIGHT" and fan_first):
        return False
    equalities = {id(d.target.parent) for d in fan.deps if d.target is not None}
    for node in conjuncts(join.args.get("on")):
        if not (is_true(node) or id(node) in equalities):
            return False
    for node in conjuncts(ast.args.get("where")):
        if not (is_true(node) or id(node) in equalities or _only_alias(node, source.alias)):
            return False
    if any(c.name.lower() == "rowid" for c in (*source.columns, *fan.columns)):
        return False  # the order below needs DuckDB's rowid
    names, _ = groups[0]
    source_from = fan.deps[0].source_from
    cols = ", ".join(d.column_sql for d in fan.deps)
    fan.join_cap = JoinCap(
        rows,
        tuple(fan.param_columns.get(p, p) for p in names),
        f"SELECT {cols}, count(*) {source_from} GROUP BY ALL",
    )
    # the fan-out's rows arrive in call order: order the join by them so that LIMIT takes the
    # same first rows from a stopped fan-out as from a complete one
    ast.set(
        "order",
        exp.Order(
            expressions=[
                exp.Ordered(this=exp.column("rowid", table=fan.alias)),
                exp.Ordered(this=exp.column("rowid", table=source.alias)),
            ]
        ),
    )
    return True


def dependency_groups(scan: Scan) -> list[tuple[list[str], str]]:
    """(parameters, SQL yielding their distinct combinations), one per source.

    Parameters fed by the same joined table come from the same rows, so they are fetched
    as the combinations that occur, not the product of their separate values.
    """
    groups: dict[str, list[Dependency]] = {}
    out: list[tuple[list[str], str]] = []
    for dep in scan.deps:
        if dep.source_from:
            groups.setdefault(dep.source_from, []).append(dep)
        else:
            out.append(([dep.param], f"SELECT DISTINCT * FROM ({dep.values_sql})"))
    for source_from, deps in groups.items():
        cols = ", ".join(d.column_sql for d in deps)
        out.append(([d.param for d in deps], f"SELECT DISTINCT {cols} {source_from}"))
    return out


def dependent_calls(
    scan: Scan, combos: list[tuple[list[str], list[tuple[Any, ...]]]], ctx: PlanContext
) -> list[Call]:
    """The calls of a dependent scan once its parameters' values are known: the literal
    values times each group's combinations (a NULL in a combination drops it)."""
    groups: list[tuple[list[str], list[tuple[Any, ...]]]] = [
        ([name], [(v,) for v in values]) for name, values in scan.literal_bound.items()
    ]
    for names, rows in combos:
        groups.append((names, [r for r in rows if all(v is not None for v in r)]))
    calls: list[Call] = []
    for picked in itertools.product(*(rows for _, rows in groups)):
        values: dict[str, list[Any]] = {}
        for (names, _), row in zip(groups, picked, strict=True):
            for name, value in zip(names, row, strict=True):
                values[name] = [value]
        calls.extend(calls_for(scan.method, values, ctx, "SELECT"))
    return _recorded(calls, scan.param_columns)


__all__ = ["Dependency", "JoinCap", "QueryPlan", "Scan", "dependency_groups", "dependent_calls"]
