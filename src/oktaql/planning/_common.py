"""Shared pieces of planning: literals, WHERE conjuncts, parameter bindings, method choice."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from oktaql._http import Request
from oktaql.catalog import Catalog
from oktaql.errors import PlanError
from oktaql.planning._requests import BODY_PREFIX, build_request
from oktaql.provider import Method, Resource

MISSING = object()


@dataclass
class Call:
    method: Method
    request: Request
    bound: dict[str, Any]  # the path parameters of this call, recorded as columns


@dataclass
class PlanContext:
    catalog: Catalog
    org_url: str | None
    evaluate: Callable[[exp.Expression], Any]  # folds a constant expression to a value
    orgs: dict[str, str] = field(default_factory=dict)  # name -> org URL
    pushdown: bool = True  # hand translatable predicates to the API's filter/search
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    # parameters whose values are read from rows (a join, a subquery, INSERT ... SELECT from a
    # table), not written in the statement: they may only name an org the user configured
    row_params: frozenset[str] = frozenset()


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
        elif isinstance(n, exp.Paren):
            stack.append(n.this)
        else:
            out.append(n)
    return out


def bound_values(node: exp.Expression) -> tuple[exp.Column, list[Any]] | None:
    """``col = literal`` / ``literal = col`` / ``col IN (literals)`` → (column, values)."""
    while isinstance(node, exp.Paren):
        node = node.this
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


def calls_for(
    method: Method, bound: dict[str, list[Any]], ctx: PlanContext, label: str
) -> list[Call]:
    """One call per combination of the bound values (``IN`` lists fan out)."""
    names = list(bound)
    calls = []
    for combo in itertools.product(*(bound[n] for n in names)):
        values = dict(zip(names, combo, strict=True))
        req = build_request(
            method,
            values,
            org_url=ctx.org_url,
            orgs=ctx.orgs,
            verb_label=label,
            row_params=ctx.row_params,
        )
        calls.append(Call(method, req, {n: values[n] for n in names}))
    return calls


def is_provider_table(table: exp.Table) -> bool:
    return bool(table.args.get("catalog")) and bool(table.args.get("db"))


def dotted(table: exp.Table) -> str:
    return ".".join(p.name for p in (table.args["catalog"], table.args["db"], table.this))
