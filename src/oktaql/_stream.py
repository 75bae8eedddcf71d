"""Rows straight from the API to the caller, for queries DuckDB would only project.

``SELECT id, status FROM okta.apps.tokens WHERE appId = 'x' [LIMIT n]`` asks nothing of a
relational engine: every predicate went to the API and the rest is a projection. Such a query
streams: each page's rows become tuples as the caller fetches them, so a read is as close to
the wire as Python allows and holds one page in memory, whatever its size. Values are typed
as DuckDB would type them, so both paths give identical rows and descriptions.
"""

from __future__ import annotations

import datetime as dt
import gc
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

from sqlglot import exp

from oktaql._loading import TIMESTAMPTZ, duck_type, session_zone
from oktaql.planning import MISSING, Scan, literal, only_projects


@dataclass
class Projection:
    names: list[str]  # output column names
    sources: list[tuple[str, bool]]  # (source name, is an extra/parameter column)
    types: list[str]  # DuckDB types
    limit: int | None
    offset: int
    zone: dt.tzinfo = dt.UTC  # the session's: instants are given in it, as DuckDB gives them


def streamable(ast: exp.Expression, scan: Scan) -> Projection | None:
    """The projection when ``ast`` (already rewritten) only projects ``scan``'s rows."""
    if scan.deps or not scan.described or not only_projects(ast):
        return None
    assert isinstance(ast, exp.Select)
    by_name = {c.name.lower(): c for c in scan.columns}
    extra = {n.lower(): n for n in scan.extra if n.lower() not in by_name}
    names: list[str] = []
    sources: list[tuple[str, bool]] = []
    types: list[str] = []

    def add(out: str, key: str) -> bool:
        col = by_name.get(key.lower())
        if col is not None:
            names.append(out)
            sources.append((col.name, False))
            types.append(duck_type(col))
            return True
        if key.lower() in extra:
            names.append(out)
            sources.append((extra[key.lower()], True))
            types.append("VARCHAR")
            return True
        return False

    for item in ast.expressions:
        node, out = (item.this, item.alias) if isinstance(item, exp.Alias) else (item, None)
        if isinstance(node, exp.Star) or (
            isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
        ):
            for col in scan.columns:
                add(col.name, col.name)
            for name in extra.values():
                add(name, name)
            continue
        if not isinstance(node, exp.Column) or (node.table and node.table != scan.alias):
            return None
        if not add(out or node.name, node.name):
            return None
    limit_node = ast.args.get("limit")
    limit = literal(limit_node.expression) if isinstance(limit_node, exp.Limit) else None
    offset_node = ast.args.get("offset")
    offset = literal(offset_node.expression) if offset_node is not None else 0
    if limit is MISSING or offset is MISSING:
        return None
    if (limit is not None and not isinstance(limit, int)) or not isinstance(offset, int):
        return None
    # the zone is read when the statement is planned, so a bad one fails before any request
    return Projection(names, sources, types, limit, offset, session_tzinfo())


def _timestamp(value: Any, zone: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """An instant in the session's zone (UTC unless the user set one), as DuckDB's cast to
    TIMESTAMPTZ gives it; a value without a zone is read in that zone, as DuckDB reads it."""
    try:
        when = dt.datetime.fromisoformat(value if type(value) is str else str(value))
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=zone)
    return when.astimezone(zone)


def session_tzinfo() -> dt.tzinfo:
    name = session_zone()
    if name == "UTC":
        return dt.UTC
    import zoneinfo

    return zoneinfo.ZoneInfo(name)


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return None
        return int(f) if f.is_integer() else None


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text in ("true", "t", "1") else False if text in ("false", "f", "0") else None


def _varchar(value: Any) -> str:
    from oktaql._loading import cell_text

    return value if type(value) is str else (cell_text(value, "VARCHAR") or "")


_CONVERT: dict[str, Callable[[Any], Any]] = {
    TIMESTAMPTZ: _timestamp,
    "DATE": _date,
    "BIGINT": _int,
    "DOUBLE": _float,
    "BOOLEAN": _bool,
    "JSON": lambda v: v,
    "VARCHAR": _varchar,
}


def _timestamp_column(col: list[Any], zone: dt.tzinfo = dt.UTC) -> list[Any]:
    """A column of timestamps; those in Okta's own form (``...Z``, all of them) are converted
    by C-level calls alone in a UTC session, anything else value by value."""
    if zone is dt.UTC:
        try:
            # TypeError: a value is not text; ValueError: one is malformed
            out = list(map(_fromiso, col))
            if set(map(_tzinfo, out)) == _UTC_ONLY:  # all '...Z' (or '+00:00'): done
                return out
        except (TypeError, ValueError):
            pass
    return [None if v is None else _timestamp(v, zone) for v in col]


_DICT = {dict}
_STR_OR_NONE = {str, type(None)}
_UTC_ONLY = {dt.UTC}
_tzinfo = operator.attrgetter("tzinfo")
_get = dict.get
_fromiso = dt.datetime.fromisoformat


Page = tuple[list[Any], dict[str, Any]]  # (rows of a page, the call's bound parameters)


def rows(projection: Projection, pages: Iterator[Page]) -> Iterator[tuple[Any, ...]]:
    """Typed tuples from (rows of a page, the call's bound parameters), LIMIT/OFFSET applied.

    A page is converted column by column (a comprehension per column, then zip), which costs
    a fraction of a Python loop per row; JSON arrives parsed and text as str, so those columns
    are taken as they are, and a column's types are checked with one C-level pass before any
    per-value work.
    """
    plan = [
        (name, is_extra, t, None if t == "JSON" else _CONVERT[t])
        for (name, is_extra), t in zip(projection.sources, projection.types, strict=True)
    ]
    zone = projection.zone
    skip = projection.offset
    left = projection.limit
    if left is not None and left <= 0:
        return
    frozen = False
    try:
        for page, bound in pages:
            if skip:
                cut = min(skip, len(page))
                page, skip = page[cut:], skip - cut
            if left is not None:
                page = page[:left]
                left -= len(page)
            if not page:
                if left == 0:
                    return
                continue
            built = _page_rows(plan, page, bound, zone)
            del page  # its rows are built: let it go before the next is fetched
            # the rows handed out so far, which the caller keeps, would be walked again by
            # every collection the next page's decoding sets off (~15% of a read's CPU):
            # the collector leaves them alone while the read runs, and takes them back after
            gc.freeze()
            frozen = True
            yield from built
            del built
            if left == 0:
                return
    finally:
        if frozen:
            gc.unfreeze()
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # stops paging: no request for rows nobody will read


def _page_rows(
    plan: list[tuple[str, bool, str, Callable[[Any], Any] | None]],
    page: list[Any],
    bound: dict[str, Any],
    zone: dt.tzinfo = dt.UTC,
) -> list[tuple[Any, ...]]:
    n = len(page)
    if set(map(type, page)) != _DICT:  # a row that is not an object has no columns
        empty: dict[str, Any] = {}
        page = [it if type(it) is dict else empty for it in page]
    columns: list[list[Any]] = []
    for name, is_extra, dtype, conv in plan:
        if is_extra:
            value = bound.get(name)
            if (
                value is not None
                and conv is not None
                and not (dtype == "VARCHAR" and type(value) is str)
            ):
                value = conv(value)
            columns.append([value] * n)
            continue
        col = list(map(_get, page, repeat(name, n)))
        if conv is None:
            pass  # JSON: already parsed
        elif dtype == "VARCHAR":
            if not set(map(type, col)) <= _STR_OR_NONE:
                col = [v if v is None or type(v) is str else conv(v) for v in col]
        elif dtype == TIMESTAMPTZ:
            col = _timestamp_column(col, zone)
        else:
            col = [None if v is None else conv(v) for v in col]
        columns.append(col)
    return list(zip(*columns))  # equal lengths by construction


__all__ = ["Page", "Projection", "rows", "streamable"]
