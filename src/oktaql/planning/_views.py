"""Views inlined into the statements that name them, so each is planned like its body.

A view over provider resources is stored as its SQL (DuckDB could not plan API calls); an outer
``WHERE`` equality on a parameter the body leaves open is pushed into the body.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp

from oktaql.errors import ProgrammingError
from oktaql.planning._common import bound_values, conjuncts


def inline_views(
    ast: exp.Expression, views: dict[str, str], param_names: Any, depth: int = 0
) -> exp.Expression:
    """Replace references to stored views by their bodies.

    ``param_names(table)`` gives the parameter names of a provider table, so an outer
    ``WHERE appId = 'x'`` can bind the body's provider table.
    """
    if not views:
        return ast
    if depth > 16:
        raise ProgrammingError("views nest more than 16 deep (a view that refers to itself?)")
    for table in list(ast.find_all(exp.Table)):
        if table.args.get("catalog") or table.args.get("db"):
            continue
        body_sql = views.get(table.name.lower())
        if body_sql is None:
            continue
        from oktaql.parser import READ_DIALECT

        parsed = sqlglot.parse_one(body_sql, read=READ_DIALECT)
        if not isinstance(parsed, exp.Expression):
            continue
        body: exp.Expression = parsed
        body = inline_views(body, views, param_names, depth + 1)
        alias = table.alias_or_name
        outer = table.find_ancestor(exp.Select)
        if outer is not None and isinstance(body, exp.Select):
            inner = [
                t
                for t in body.find_all(exp.Table)
                if t.args.get("catalog") and t.find_ancestor(exp.Select) is body
            ]
            if len(inner) == 1:
                params = {p.lower(): p for p in param_names(inner[0])}
                projected = {e.alias_or_name.lower() for e in body.expressions}
                star = any(isinstance(e, exp.Star) for e in body.expressions)
                for node in conjuncts(outer.args.get("where")):
                    b = bound_values(node)
                    if b is None:
                        continue
                    col, _ = b
                    if (col.table and col.table != alias) or col.name.lower() not in params:
                        continue
                    pushed = node.copy()
                    for c in pushed.find_all(exp.Column):
                        c.set("table", exp.to_identifier(inner[0].alias_or_name))
                    body.where(pushed, copy=False)
                    if not star and col.name.lower() not in projected:
                        node.replace(exp.true())
        table.replace(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return ast
