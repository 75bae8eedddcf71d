"""What an ``.iql`` query returned, read as stackql-deploy reads it: rows as dicts, count mode
(``SELECT count(*) AS count``) and field mode (``SELECT id``, kept as ``this``), and which
names a resource reads that are not known yet."""

from __future__ import annotations

import json
import re
from typing import Any

from oktaql.deploy._context import UNKNOWN, variables_in
from oktaql.deploy._model import Anchor, Resource, Where
from oktaql.errors import DeployError


def rows_of(session: Any, result: Any) -> list[dict[str, Any]]:
    """A result's rows as dicts (JSON columns parsed), scratch tables dropped."""
    cols = [name for name, _ in result.columns]
    json_cols = {i for i, (_, t) in enumerate(result.columns) if t == "JSON"}
    try:
        if not cols:
            return []
        if result.rows is not None:
            raw: list[Any] = list(result.rows)
        elif result.stream is not None:
            raw, json_cols = list(result.stream), set()
        elif result.relation is not None:
            raw = result.relation.fetchall()
        else:
            raw = []
    finally:
        session.drop_scratch(result.scratch)
    out = []
    for row in raw:
        values = list(row)
        for i in json_cols:
            if isinstance(values[i], str):
                try:
                    values[i] = json.loads(values[i])
                except ValueError:
                    pass
        out.append(dict(zip(cols, values, strict=False)))
    return out


def read_key(anchor: Anchor, ctx: dict[str, Any]) -> str:
    """The values a read anchor's template reads: the same key, the same query."""
    names = sorted(variables_in(anchor.sql, anchor.where))
    return json.dumps({n: ctx.get(n) for n in names}, sort_keys=True, default=str)


def count_mode(anchor: Anchor) -> bool:
    return bool(re.search(r"(?i)\bas\s+count\b", anchor.sql))


def count_result(rows: list[dict[str, Any]], anchor: Anchor) -> int:
    if not rows:
        return 0
    if "count" not in rows[0]:
        raise DeployError(
            f"a {anchor.name} query returns one row with a column named count "
            f"(SELECT count(*) AS count ...); this one returns {', '.join(rows[0])}",
            anchor.where,
        )
    try:
        return int(rows[0]["count"] or 0)
    except (TypeError, ValueError):
        raise DeployError(
            f"{anchor.name}: count is {rows[0]['count']!r}, not a number", anchor.where
        ) from None


def exists_result(rows: list[dict[str, Any]], anchor: Anchor) -> tuple[bool, dict[str, Any]]:
    """Count mode (``count`` ≥ 1) or field mode (a non-null first column, kept as ``this``)."""
    if not rows:
        return False, {}
    row = rows[0]
    if "count" in row and len(row) == 1:
        return count_result(rows, anchor) >= 1, {}
    if len(rows) > 1:
        raise DeployError(
            f"exists found {len(rows)} objects, so it cannot tell which one the stack means: "
            "make its WHERE match one",
            anchor.where,
        )
    first = next(iter(row.values()))
    return (first not in (None, "")), row


READS = ("exists", "statecheck", "exports")
ALL_ANCHORS = (*READS, "create", "update", "createorupdate", "command")


def unknowns(r: Resource, ctx: dict[str, Any], anchors: tuple[str, ...] = READS) -> set[str]:
    """The names ``anchors`` of ``r`` read whose values are only known once an earlier
    resource ran (a create in a plan, or a resource that failed under --on-failure ignore)."""
    unknown = {k for k, v in ctx.items() if isinstance(v, str) and UNKNOWN in v}
    if not unknown:
        return set()
    used: set[str] = set()
    for name in anchors:
        if name in r.queries:
            used |= set(variables_in(r.queries[name].sql, r.queries[name].where))
    return used & unknown


def reads_name(value: Any, name: str) -> bool:
    """Whether a prop as written names ``name`` in a template."""
    if isinstance(value, str):
        return name in variables_in(value, Where("props"))
    if isinstance(value, dict):
        return any(reads_name(v, name) for v in value.values())
    if isinstance(value, list):
        return any(reads_name(v, name) for v in value)
    return False


def first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


__all__ = [
    "ALL_ANCHORS",
    "READS",
    "count_result",
    "exists_result",
    "first_line",
    "read_key",
    "reads_name",
    "rows_of",
    "unknowns",
]
