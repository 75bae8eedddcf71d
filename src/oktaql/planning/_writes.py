"""Write statements → plans: INSERT, UPDATE, REPLACE, DELETE and EXEC.

A write binds parameters only: every WHERE conjunct must be ``name = literal`` or an ``IN``
list, so a write can never widen to rows a local filter would pick.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from oktaql.catalog import suggest
from oktaql.errors import PlanError, ProgrammingError
from oktaql.planning._common import (
    MISSING,
    Call,
    PlanContext,
    bound_values,
    choose_method,
    conjuncts,
    dotted,
    is_provider_table,
    literal,
)
from oktaql.planning._hints import with_hints
from oktaql.planning._requests import BODY_PREFIX, body_from_fields, build_request
from oktaql.provider import Method, Resource


@dataclass
class WritePlan:
    verb: str  # insert | update | replace | delete | exec
    resource: Resource
    method: Method
    calls: list[Call]
    returning: list[exp.Expression] | None = None
    show_results: bool = False
    await_completion: bool = False  # /*+ AWAIT */


def _target(node: exp.Expression, ctx: PlanContext, verb: str) -> Resource:
    table = (
        node
        if isinstance(node, exp.Table)
        else (node.find(exp.Table) if isinstance(node, exp.Expression) else None)
    )
    if not isinstance(table, exp.Table) or not is_provider_table(table):
        got = node.sql() if isinstance(node, exp.Expression) else "nothing"
        form = "DELETE FROM <resource> WHERE ..." if verb == "DELETE" else f"{verb} <resource> ..."
        raise ProgrammingError(
            f"{verb} needs a provider resource such as okta.apps.tokens ({form}), got {got}"
        )
    return ctx.catalog.resource(dotted(table))


def _write_bindings(
    where: exp.Expression | None, res: Resource, verb: str, allow_body: bool
) -> dict[str, list[Any]]:
    bound: dict[str, list[Any]] = {}
    lookup = {p.lower(): p for p in res.param_names}
    for node in conjuncts(where):
        b = bound_values(node)
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
            method,
            values,
            org_url=ctx.org_url,
            orgs=ctx.orgs,
            body=body,
            has_body=has_body,
            verb_label=label,
            row_params=ctx.row_params,
        )
        calls.append(Call(method, req, {}))
    return calls


@with_hints
def plan_delete(ast: exp.Delete, ctx: PlanContext) -> WritePlan:
    res = _target(ast.this, ctx, "DELETE")
    bound = _write_bindings(ast.args.get("where"), res, "DELETE", allow_body=False)
    method = choose_method(res, "delete", set(bound))
    return WritePlan("delete", res, method, _write_calls(method, bound, {}, ctx, "DELETE"))


@with_hints
def plan_update(ast: exp.Update, replace: bool, ctx: PlanContext) -> WritePlan:
    verb = "replace" if replace else "update"
    res = _target(ast.this, ctx, verb.upper())
    fields: dict[str, Any] = {}  # an empty SET (no assignments): a call with no body fields
    for assignment in ast.expressions:
        if not isinstance(assignment, exp.EQ) or not isinstance(assignment.this, exp.Column):
            raise PlanError(f"{res.id}: SET takes data__field = value pairs")
        name = assignment.this.name
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
    returning = _returning(ast)
    check_returning(method, returning)
    return WritePlan(verb, res, method, calls, returning)


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
    check_returning(method, returning)
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


def check_returning(method: Method, returning: list[exp.Expression] | None) -> None:
    """Unknown RETURNING columns fail before the write is sent, not after it took effect."""
    if not returning or not method.columns:
        return
    known = {c.name.lower() for c in method.columns}
    for node in returning:
        for col in node.find_all(exp.Column):
            if col.name and col.name.lower() not in known:
                raise PlanError(
                    f"{method.resource_id}: RETURNING {col.name!r} is not a column of "
                    f"{method.name}'s response{suggest(col.name, [c.name for c in method.columns])}"
                )


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
