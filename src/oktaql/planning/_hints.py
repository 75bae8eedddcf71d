"""Hints added to planning errors for habits from other SQL dialects."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from sqlglot import exp

from oktaql.errors import ProgrammingError

P = ParamSpec("P")
T = TypeVar("T")


def with_hints(plan: Callable[P, T]) -> Callable[P, T]:
    """A planner whose errors carry the hints its statement (the first argument) calls for."""

    @functools.wraps(plan)
    def planned(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return plan(*args, **kwargs)
        except ProgrammingError as exc:
            ast = args[0]
            hint = quoted_value_hint(ast) if isinstance(ast, exp.Expression) else ""
            if not hint or hint in str(exc):
                raise
            raise type(exc)(f"{exc}{hint}") from None

    return planned


def quoted_value_hint(ast: exp.Expression) -> str:
    """``appId = "0oa1..."``: in SQL double quotes name a column; say so, and how to write a
    value (MySQL and StackQL habits make this the commonest cause of "needs appId")."""
    for node in ast.find_all(exp.EQ, exp.NEQ, exp.In):
        if not isinstance(node.this, exp.Column):
            continue
        if isinstance(node, exp.In):
            sides = list(node.expressions)
        elif isinstance(node.expression, exp.Column):
            sides = [node.expression, node.this]
        else:
            continue  # `"If-Match" = 'x'`: a quoted name given a value
        for side in sides:
            ident = side.this
            if not side.table and isinstance(ident, exp.Identifier) and ident.quoted:
                value = side.name.replace("'", "''")
                return (
                    f'; "{side.name}" is a name in SQL (double quotes name columns): '
                    f"write a value in single quotes, '{value}'"
                )
    return ""
