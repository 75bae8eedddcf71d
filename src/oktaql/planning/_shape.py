"""The shape of a statement over its scans: what needs every row, what only projects.

One place answers both questions the planner asks: whether a LIMIT may stop a read early
(nothing needs the whole input), and whether a query may stream (it only projects one
scan's rows, every predicate consumed by the API).
"""

from __future__ import annotations

from sqlglot import exp

from oktaql.planning._common import conjuncts

# clauses that need every row before the first can be given
_WHOLE_INPUT = ("group", "having", "order", "distinct", "qualify")
# clauses that bring in rows of something else than the one scan
_OTHER_ROWS = ("joins", "with", "laterals")


def needs_whole_input(select: exp.Select) -> bool:
    """Whether some clause, aggregate or window of ``select`` needs all its input rows."""
    return (
        any(select.args.get(key) for key in _WHOLE_INPUT)
        or any(True for _ in select.find_all(exp.AggFunc))
        or any(True for _ in select.find_all(exp.Window))
    )


def is_true(node: exp.Expression) -> bool:
    return isinstance(node, exp.Boolean) and bool(node.this)


def only_projects(ast: exp.Expression) -> bool:
    """Whether ``ast`` (rewritten over its scans) only projects one table's rows: no other
    rows, nothing that needs them all, every predicate consumed by the API (now TRUE)."""
    if not isinstance(ast, exp.Select) or needs_whole_input(ast):
        return False
    if any(ast.args.get(key) for key in _OTHER_ROWS):
        return False
    where = ast.args.get("where")
    if where is not None and not all(is_true(c) for c in conjuncts(where)):
        return False
    from_ = ast.args.get("from_") or ast.args.get("from")
    return from_ is not None and isinstance(from_.this, exp.Table)
