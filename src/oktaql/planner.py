"""Statements → plans: which resource, which method, which HTTP calls, what runs locally.

Parameters are bound from ``WHERE`` equalities (``appId = 'x'``) and ``IN`` lists (one call per
value); everything else runs in DuckDB over the fetched rows. Among a resource's methods for the
statement's SQL verb, those whose required parameters are all bound qualify, and the one binding
the most parameters wins; when none qualifies the error names what is missing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from oktaql._http import Request
from oktaql.binding import BODY_PREFIX, body_from_fields, build_request
from oktaql.catalog import Catalog, suggest
from oktaql.errors import PlanError, ProgrammingError
from oktaql.provider import Column, Method, Resource

MISSING = object()


@dataclass
class Call:
    method: Method
    request: Request
    bound: dict[str, Any]  # the path parameters of this call, recorded as columns


@dataclass
class Scan:
    resource: Resource
    method: Method
    alias: str
    table_name: str  # the DuckDB table the rows go into
    calls: list[Call]
    columns: list[Column]
    extra: list[str]  # path parameters added as columns
    row_cap: int | None = None


@dataclass
class QueryPlan:
    scans: list[Scan]
    local_sql: str


@dataclass
class WritePlan:
    verb: str  # insert | update | replace | delete | exec
    resource: Resource
    method: Method
    calls: list[Call]
    returning: list[exp.Expression] | None = None
    show_results: bool = False


@dataclass
class PlanContext:
    catalog: Catalog
    org_url: str | None
    evaluate: Callable[[exp.Expression], Any]  # folds a constant expression to a value
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))


# --- values ---------------------------------------------------------------------------------


def literal(node: exp.Expression) -> Any:
    """The Python value of a literal node, or MISSING."""
    if isinstance(node, exp.Paren):
        return literal(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return node.this
        text = node.this
        try:
            return int(text)
        except ValueError:
            return float(text)
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        v = literal(node.this)
        return -v if isinstance(v, int | float) else MISSING
    return MISSING


def conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    node = where.this if isinstance(where, exp.Where) else where
    out: list[exp.Expression] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, exp.And):
            stack.append(n.expression)
            stack.append(n.this)
        elif isinstance(n, exp.Paren) and isinstance(n.this, exp.And):
            stack.append(n.this)
        else:
            out.append(n)
    return out


def _binding(node: exp.Expression) -> tuple[exp.Column, list[Any]] | None:
    """``col = literal`` / ``literal = col`` / ``col IN (literals)`` → (column, values)."""
    if isinstance(node, exp.EQ):
        left, right = node.this, node.expression
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right = right, left
        if isinstance(left, exp.Column):
            v = literal(right)
            if v is not MISSING:
                return left, [v]
    if (
        isinstance(node, exp.In)
        and isinstance(node.this, exp.Column)
        and not node.args.get("query")
    ):
        values = [literal(e) for e in node.expressions]
        if values and all(v is not MISSING for v in values):
            return node.this, list(dict.fromkeys(values))
    return None


# --- method choice --------------------------------------------------------------------------


def choose_method(resource: Resource, verb: str, bound: set[str]) -> Method:
    label = verb.upper()
    candidates = resource.methods_for(verb)
    if not candidates:
        has = [
            v.upper()
            for v in ("select", "insert", "update", "replace", "delete")
            if resource.methods_for(v)
        ]
        hint = f"; it supports {', '.join(has)}" if has else ""
        lifecycle = [m for m in resource.methods.values() if m.sql_verb is None]
        if lifecycle:
            hint += f"; EXEC methods: {', '.join(m.name for m in lifecycle)}"
        raise PlanError(f"{resource.id} has no {label} method{hint}")

    def uses(m: Method) -> int:
        return sum(
            1 for b in bound if b in m.params or b.removeprefix(BODY_PREFIX) in m.body_fields
        )

    fits = [m for m in candidates if set(m.required_params) <= bound]
    if not fits:
        options = sorted(
            candidates,
            key=lambda m: (len(set(m.required_params) - bound), len(m.required_params)),
        )
        best = options[0]
        missing = [p for p in best.required_params if p not in bound]
        msg = f"{resource.id}: {label} needs {' and '.join(missing)}"
        # alternatives that need strictly more than the first would only add noise
        others = [
            " and ".join(p for p in m.required_params if p not in bound)
            for m in options[1:]
            if not set(missing) <= set(m.required_params) - bound
        ]
        others = [o for o in dict.fromkeys(others) if o and o != " and ".join(missing)]
        if others:
            msg += " (or " + ", or ".join(others) + ")"
        raise PlanError(msg)
    order = {m.name: i for i, m in enumerate(candidates)}
    return max(fits, key=lambda m: (uses(m), len(m.required_params), -order[m.name]))


# --- queries --------------------------------------------------------------------------------


def _is_provider_table(table: exp.Table) -> bool:
    return bool(table.args.get("catalog")) and bool(table.args.get("db"))


def _dotted(table: exp.Table) -> str:
    return ".".join(p.name for p in (table.args["catalog"], table.args["db"], table.this))


def plan_query(ast: exp.Expression, ctx: PlanContext) -> QueryPlan:
    ast = ast.copy()
    tables = [t for t in ast.find_all(exp.Table) if _is_provider_table(t)]
    scans: list[Scan] = []
    by_select: dict[int, list[tuple[exp.Table, Resource]]] = {}
    resolved = []
    for t in tables:
        res = ctx.catalog.resource(_dotted(t))
        resolved.append((t, res))
        sel = t.find_ancestor(exp.Select)
        by_select.setdefault(id(sel), []).append((t, res))
    for table, res in resolved:
        select = table.find_ancestor(exp.Select)
        siblings = by_select.get(id(select), [])
        scans.append(_plan_scan(table, res, select, siblings, ctx))
    _apply_row_cap(ast, scans)
    return QueryPlan(scans=scans, local_sql=ast.sql(dialect="duckdb"))


def _plan_scan(
    table: exp.Table,
    res: Resource,
    select: exp.Select | None,
    siblings: list[tuple[exp.Table, Resource]],
    ctx: PlanContext,
) -> Scan:
    alias = table.alias_or_name
    bound: dict[str, list[Any]] = {}
    consumed: list[exp.Expression] = []
    param_lookup = {p.lower(): p for p in res.param_names}
    column_names = {c.name.lower() for c in res.columns}
    where = select.args.get("where") if select is not None else None
    for node in conjuncts(where):
        b = _binding(node)
        if b is None:
            continue
        col, values = b
        qual = col.table
        if qual and qual != alias:
            continue
        pname = param_lookup.get(col.name.lower())
        if pname is None:
            continue
        # an unqualified name binds every table of this SELECT that has such a parameter
        # (subdomain binds them all), so no owner needs choosing here
        bound.setdefault(pname, [])
        for v in values:
            if v not in bound[pname]:
                bound[pname].append(v)
        if col.name.lower() not in column_names:
            consumed.append(node)
    method = choose_method(res, "select", set(bound))
    _check_unknown_columns(select, table, res, siblings)
    for node in consumed:
        node.replace(exp.true())
    calls = _calls(method, bound, ctx, "SELECT")
    extra = [p for p in method.required_params if method.params[p].location == "path"]
    columns = method.columns or res.columns
    temp = f"oktaql_scratch.t{next(ctx.counter)}"
    new_table = exp.to_table(temp)
    new_table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    table.replace(new_table)
    return Scan(res, method, alias, temp, calls, list(columns), extra)


def _check_unknown_columns(
    select: exp.Select | None,
    table: exp.Table,
    res: Resource,
    siblings: list[tuple[exp.Table, Resource]],
) -> None:
    """A name that is neither a column nor a parameter gets a suggestion, not DuckDB's error."""
    if select is None or len(siblings) != 1:
        return
    alias = table.alias_or_name
    known = {c.name.lower() for c in res.columns} | {p.lower() for p in res.param_names}
    projected = {e.alias_or_name.lower() for e in select.expressions if e.alias}
    for col in select.find_all(exp.Column):
        if col.table and col.table != alias:
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


def _calls(method: Method, bound: dict[str, list[Any]], ctx: PlanContext, label: str) -> list[Call]:
    names = list(bound)
    calls = []
    for combo in itertools.product(*(bound[n] for n in names)):
        values = dict(zip(names, combo))
        req = build_request(method, values, org_url=ctx.org_url, verb_label=label)
        rec = {p: values[p] for p in method.required_params if method.params[p].location == "path"}
        calls.append(Call(method, req, rec))
    return calls


def _apply_row_cap(ast: exp.Expression, scans: list[Scan]) -> None:
    """Stop paging early when the SQL LIMIT is all that's asked of a single, unfiltered scan."""
    if len(scans) != 1 or not isinstance(ast, exp.Select):
        return
    limit = ast.args.get("limit")
    if limit is None:
        return
    for key in ("group", "having", "order", "distinct", "joins", "qualify"):
        if ast.args.get(key):
            return
    where = ast.args.get("where")
    if where is not None and any(
        not (isinstance(c, exp.Boolean) and c.this) for c in conjuncts(where)
    ):
        return
    if any(ast.find_all(exp.AggFunc)) or any(ast.find_all(exp.Window)):
        return
    n = literal(limit.expression) if isinstance(limit, exp.Limit) else MISSING
    offset = ast.args.get("offset")
    off = literal(offset.expression) if offset is not None else 0
    if isinstance(n, int) and isinstance(off, int):
        scans[0].row_cap = n + off


# --- writes ---------------------------------------------------------------------------------


def _target(node: exp.Expression, ctx: PlanContext, verb: str) -> Resource:
    table = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if not isinstance(table, exp.Table) or not _is_provider_table(table):
        raise ProgrammingError(
            f"{verb} needs a provider resource such as okta.apps.tokens, got "
            f"{node.sql() if node is not None else 'nothing'}"
        )
    return ctx.catalog.resource(_dotted(table))


def _write_bindings(
    where: exp.Expression | None, res: Resource, verb: str, allow_body: bool
) -> dict[str, list[Any]]:
    bound: dict[str, list[Any]] = {}
    lookup = {p.lower(): p for p in res.param_names}
    for node in conjuncts(where):
        b = _binding(node)
        if b is None:
            raise PlanError(
                f"{res.id}: {verb} binds parameters only (name = 'value' or name IN (...)); "
                f"cannot use {node.sql()!r}: a write never widens to rows a filter would pick"
            )
        col, values = b
        name = col.name
        if allow_body and name.startswith(BODY_PREFIX):
            bound[name] = values
            continue
        pname = lookup.get(name.lower())
        if pname is None:
            raise PlanError(
                f"{res.id}: {name!r} is not a parameter of {res.id}"
                f"{suggest(name, res.param_names)}; {verb} binds parameters only"
            )
        bound.setdefault(pname, []).extend(v for v in values if v not in bound.get(pname, []))
    return bound


def _write_calls(
    method: Method,
    bound: dict[str, list[Any]],
    body_fields: dict[str, Any],
    ctx: PlanContext,
    label: str,
    raw_body: Any = MISSING,
) -> list[Call]:
    params = {k: v for k, v in bound.items() if not k.startswith(BODY_PREFIX)}
    fields = dict(body_fields)
    for k, v in bound.items():
        if k.startswith(BODY_PREFIX):
            fields.setdefault(k[len(BODY_PREFIX) :], v[0])
    where = f"{method.resource_id}: {label}"
    if raw_body is not MISSING:
        body, has_body = raw_body, True
    elif fields:
        body, has_body = body_from_fields(method, fields, where), True
    elif method.body_media_type and method.http_method in ("POST", "PUT", "PATCH"):
        body, has_body = {}, True
    else:
        body, has_body = None, False
    calls = []
    names = list(params)
    for combo in itertools.product(*(params[n] for n in names)):
        values = dict(zip(names, combo))
        req = build_request(
            method, values, org_url=ctx.org_url, body=body, has_body=has_body, verb_label=label
        )
        calls.append(Call(method, req, {}))
    return calls


def plan_delete(ast: exp.Delete, ctx: PlanContext) -> WritePlan:
    res = _target(ast.this, ctx, "DELETE")
    bound = _write_bindings(ast.args.get("where"), res, "DELETE", allow_body=False)
    method = choose_method(res, "delete", set(bound))
    return WritePlan("delete", res, method, _write_calls(method, bound, {}, ctx, "DELETE"))


def plan_update(ast: exp.Update, replace: bool, ctx: PlanContext) -> WritePlan:
    verb = "replace" if replace else "update"
    res = _target(ast.this, ctx, verb.upper())
    fields: dict[str, Any] = {}
    for assignment in ast.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            raise PlanError(f"{res.id}: SET takes data__field = value pairs")
        name = assignment.this.name
        if name == "__oktaql_noop":
            continue
        if not name.startswith(BODY_PREFIX):
            raise PlanError(
                f"{res.id}: SET {name} is not a body field: request body fields are written "
                f"data__<field> (e.g. SET data__{name} = ...); parameters go in WHERE"
            )
        fields[name[len(BODY_PREFIX) :]] = _value(assignment.expression, ctx, res, name)
    bound = _write_bindings(ast.args.get("where"), res, verb.upper(), allow_body=True)
    names = set(bound) | {BODY_PREFIX + f for f in fields}
    method = choose_method(res, verb, names)
    calls = _write_calls(method, bound, fields, ctx, verb.upper())
    return WritePlan(verb, res, method, calls, _returning(ast))


def plan_insert_rows(
    res: Resource, columns: list[str], rows: list[tuple[Any, ...]], ctx: PlanContext, returning: Any
) -> WritePlan:
    if not rows:
        raise PlanError(f"{res.id}: INSERT has no rows to send")
    lookup = {p.lower(): p for p in res.param_names}
    method: Method | None = None
    calls: list[Call] = []
    for row in rows:
        bound: dict[str, list[Any]] = {}
        fields: dict[str, Any] = {}
        for name, value in zip(columns, row):
            if name.startswith(BODY_PREFIX):
                fields[name[len(BODY_PREFIX) :]] = value
                continue
            pname = lookup.get(name.lower())
            if pname is None:
                raise PlanError(
                    f"{res.id}: INSERT column {name!r} is neither a parameter nor a body field "
                    f"(body fields are written data__<field>){suggest(name, res.param_names)}"
                )
            bound[pname] = [value]
        names = set(bound) | {BODY_PREFIX + f for f in fields}
        chosen = choose_method(res, "insert", names)
        if method is None:
            method = chosen
        calls.extend(_write_calls(chosen, bound, fields, ctx, "INSERT"))
    assert method is not None
    return WritePlan("insert", res, method, calls, returning)


def insert_target(ast: exp.Insert, ctx: PlanContext) -> tuple[Resource, list[str]]:
    target = ast.this
    if isinstance(target, exp.Schema):
        table = target.this
        columns = [c.name for c in target.expressions]
    else:
        table = target
        columns = []
    res = _target(table, ctx, "INSERT")
    if not columns:
        raise PlanError(
            f"{res.id}: INSERT needs a column list, e.g. INSERT INTO {res.id} (data__name, "
            "subdomain) SELECT 'x', 'acme'"
        )
    return res, columns


def plan_exec(
    target: str, args: dict[str, Any], json_body: str | None, ctx: PlanContext, show: bool
) -> WritePlan:
    res, method = ctx.catalog.method(target)
    lookup = {p.lower(): p for p in method.params}
    bound: dict[str, list[Any]] = {}
    for name, value in args.items():
        pname = lookup.get(name.lower())
        if pname is None:
            raise PlanError(
                f"{method.full_id} has no parameter @{name}"
                f"{suggest(name, method.params)}; parameters: {', '.join(method.params) or 'none'}"
            )
        bound[pname] = [value]
    raw: Any = MISSING
    if json_body is not None:
        import json

        try:
            raw = json.loads(json_body)
        except json.JSONDecodeError as exc:
            raise PlanError(
                f"{method.full_id}: @@json is not valid JSON (line {exc.lineno}, column "
                f"{exc.colno}: {exc.msg})"
            ) from None
    missing = [p for p in method.required_params if p not in bound]
    if missing:
        raise PlanError(f"{method.full_id} needs " + " and ".join(f"@{p}" for p in missing))
    calls = _write_calls(method, bound, {}, ctx, "EXEC", raw)
    return WritePlan("exec", res, method, calls, None, show)


def _returning(ast: exp.Expression) -> list[exp.Expression] | None:
    ret = ast.args.get("returning")
    if ret is None:
        return None
    return list(ret.expressions)


def _value(node: exp.Expression, ctx: PlanContext, res: Resource, name: str) -> Any:
    v = literal(node)
    if v is not MISSING:
        return v
    if node.find(exp.Column):
        raise PlanError(f"{res.id}: {name} must be a constant value, got {node.sql()!r}")
    return ctx.evaluate(node)
