"""SQL predicates → Okta filter expressions, where the API can filter.

Okta's list endpoints filter server-side with a SCIM-like language (``status eq "ACTIVE" and
profile.login sw "a"``). Where a method's ``filter`` (a fact of Okta's spec, provider._facts)
says its endpoint accepts it, the planner translates the translatable part of a scan's WHERE
clause and binds it to the endpoint's ``search`` or ``filter`` parameter. The predicates still run locally too, so the API only has to return a
superset and results are identical either way.

The rows of a resource are what its method returns with no parameter the planner adds; a
pushed expression may only narrow the transfer, never change the rows. So only what is a
superset of the SQL predicate is pushed: Okta compares strings case-insensitively, which makes
``eq``/``sw`` on text a superset but ``ne`` on text a subset (``id ne "00G5"`` drops ``00g5``),
and its ordering of text is unspecified; those stay local. An expression search also returns
users the plain listing leaves out (DEPROVISIONED), so the listing's own rule is ANDed in.

The rules describe Okta's API, found by operation path, so they serve any provider document that
maps resources onto these endpoints (StackQL's as well as ours).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from oktaql.planning._common import MISSING, conjuncts, literal
from oktaql.provider import Column, FilterRule, Method

# parameters that each choose the rows themselves: one bound by the user leaves pushdown out
_ROW_CHOOSERS = ("search", "filter", "q")

_OPS: dict[type[exp.Expression], str] = {
    exp.EQ: "eq",
    exp.NEQ: "ne",
    exp.GT: "gt",
    exp.GTE: "ge",
    exp.LT: "lt",
    exp.LTE: "le",
}
_FLIP = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge", "eq": "eq", "ne": "ne"}


@dataclass
class Pushdown:
    param: str
    expression: str
    note: str | None = None  # what a reader of EXPLAIN should know about the rows


def plan_pushdown(
    method: Method,
    alias: str,
    select: exp.Select | None,
    bound: dict[str, list[Any]],
    single_table: bool,
) -> Pushdown | None:
    rule = method.filter
    if rule is None or method.http_method != "GET" or rule.param not in method.params:
        return None
    if select is None or any(p in bound for p in _ROW_CHOOSERS if p in method.params):
        return None
    columns = {c.name: c for c in method.columns}
    parts: list[str] = []
    where = select.args.get("where")
    for node in conjuncts(where):
        text = _translate(node, alias, columns, rule, single_table)
        if text is not None:
            parts.append(text)
    if not parts:
        return None
    note = None
    if rule.implicit:
        attr, value = rule.implicit
        # a top-level `status eq "ACTIVE"` already keeps the excluded value out
        pinned = (re.fullmatch(rf'{attr} eq "(\w*)"', p) for p in parts)
        if not any(m and m.group(1).upper() != value.upper() for m in pinned):
            # Okta's search has no `ne`: "use lt ... or ... gt" (the spec's own advice)
            parts.append(f"{attr} lt {_quote(value)} or {attr} gt {_quote(value)}")
        if where is not None and any(literal(lit) == value for lit in where.find_all(exp.Literal)):
            note = (
                f"{method.resource_id} lists no {attr} {value} objects, as Okta's plain "
                f"listing does; bind {rule.param} = '{attr} eq {_quote(value)}' to read them"
            )
    expr = " and ".join(f"({p})" if " or " in p else p for p in parts)
    return Pushdown(rule.param, expr, note)


def _translate(
    node: exp.Expression,
    alias: str,
    columns: dict[str, Column],
    rule: FilterRule,
    single_table: bool,
) -> str | None:
    if isinstance(node, exp.Paren):
        return _translate(node.this, alias, columns, rule, single_table)
    if isinstance(node, exp.Or):
        left = _translate(node.this, alias, columns, rule, single_table)
        right = _translate(node.expression, alias, columns, rule, single_table)
        return f"{left} or {right}" if left and right else None
    if isinstance(node, exp.And):
        # either side alone is a superset of both: push what translates
        left = _translate(node.this, alias, columns, rule, single_table)
        right = _translate(node.expression, alias, columns, rule, single_table)
        return f"({left} and {right})" if left and right else (left or right)
    if isinstance(node, exp.In) and not node.args.get("query") and "eq" in rule.ops:
        path = _path(node.this, alias, columns, single_table)
        if path is None or not _allowed(path[0], rule) or not node.expressions:
            return None
        texts = [_value(literal(v), path[1]) for v in node.expressions]
        if any(t is None for t in texts):
            return None
        return " or ".join(f"{path[0]} eq {t}" for t in texts)
    if (
        isinstance(node, exp.Not)
        and isinstance(node.this, exp.Is)
        and isinstance(node.this.expression, exp.Null)
    ):
        path = _path(node.this.this, alias, columns, single_table)
        if path and "pr" in rule.ops and _allowed(path[0], rule):
            return f"{path[0]} pr"
        return None
    if isinstance(node, exp.Like) and not isinstance(node, exp.ILike):
        pattern = literal(node.expression)
        path = _path(node.this, alias, columns, single_table)
        if (
            path
            and isinstance(pattern, str)
            and pattern.endswith("%")
            and not any(ch in pattern[:-1] for ch in "%_")
            and "sw" in rule.ops
            and _allowed(path[0], rule)
        ):
            return f"{path[0]} sw {_quote(pattern[:-1])}"
        return None
    op = _OPS.get(type(node))
    if op is None:
        return None
    left, right = node.this, node.expression
    path = _path(left, alias, columns, single_table)
    value = literal(right)
    if path is None:
        path = _path(right, alias, columns, single_table)
        value = literal(left)
        op = _FLIP[op]
    if path is None or value is MISSING or value is None or op not in rule.ops:
        return None
    name, col = path
    if not _allowed(name, rule):
        return None
    timestamp = col is not None and col.format == "date-time"
    if op != "eq" and isinstance(value, str) and not timestamp:
        return None  # text: Okta's ne is a case-insensitive subset; its text ordering unknown
    text = _value(value, col)
    if text is None:
        return None
    return f"{name} {op} {text}"


def _allowed(path: str, rule: FilterRule) -> bool:
    return rule.fields is None or path in rule.fields


def _path(
    node: exp.Expression, alias: str, columns: dict[str, Column], single_table: bool
) -> tuple[str, Column | None] | None:
    """A column or a JSON path into one, as Okta's dotted attribute path."""
    if isinstance(node, exp.Column):
        if (node.table and node.table != alias) or (not node.table and not single_table):
            return None
        col = columns.get(node.name)
        if col is None:
            return None
        return node.name, col
    if isinstance(node, (exp.JSONExtract, exp.JSONExtractScalar)):
        base = _path(node.this, alias, columns, single_table)
        keys = _json_keys(node.expression)
        if base is None or keys is None or base[1] is None or base[1].type != "object":
            return None
        return ".".join([base[0], *keys]), None
    if isinstance(node, exp.Anonymous) and node.name.lower() == "json_extract_string":
        args = node.expressions
        if len(args) == 2 and isinstance(args[1], exp.Literal):
            base = _path(args[0], alias, columns, single_table)
            keys = _dollar_keys(args[1].this)
            if base is None or keys is None or base[1] is None or base[1].type != "object":
                return None
            return ".".join([base[0], *keys]), None
    return None


def _json_keys(path: exp.Expression) -> list[str] | None:
    if isinstance(path, exp.JSONPath):
        keys = []
        for part in path.expressions:
            if isinstance(part, exp.JSONPathRoot):
                continue
            if isinstance(part, exp.JSONPathKey) and isinstance(part.this, str):
                keys.append(part.this)
            else:
                return None
        return keys or None
    if isinstance(path, exp.Literal) and path.is_string:
        return _dollar_keys(path.this)
    return None


def _dollar_keys(text: str) -> list[str] | None:
    if not text.startswith("$."):
        return None
    keys = text[2:].split(".")
    return keys if all(k.isidentifier() for k in keys) else None


def _value(value: Any, col: Column | None) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if not isinstance(value, str):
        return None
    if col is not None and col.format == "date-time":
        stamp = _okta_timestamp(value)
        return _quote(stamp) if stamp else None
    return _quote(value)


def _okta_timestamp(text: str) -> str | None:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)
