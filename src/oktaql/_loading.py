"""API rows → typed DuckDB tables, a page at a time.

Each page is appended with one INSERT over parallel lists (one per column) that DuckDB unnests,
so the per-row Python work is building those lists and nothing else. Values arrive as text and
are cast in SQL (TRY_CAST: one malformed value in an API response becomes NULL, not a failed
query). Okta's timestamps are UTC instants and load as ``TIMESTAMP WITH TIME ZONE``, so a
comparison with ``now()`` or a ``...Z`` literal never depends on the machine's time zone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from oktaql.errors import ConfigError
from oktaql.provider import Column

if TYPE_CHECKING:
    import duckdb

_DUCK = {
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "object": "JSON",
    "array": "JSON",
}


TIMESTAMPTZ = "TIMESTAMP WITH TIME ZONE"  # DuckDB's own name, as a cursor's description says it
ZONE_VARIABLE = "OKTAQL_TIMEZONE"


def session_zone() -> str:
    """The zone instants are shown in: UTC unless ``$OKTAQL_TIMEZONE`` names another (IANA,
    e.g. ``Europe/Berlin``). Never the machine's zone, so no answer depends on where it runs."""
    name = os.environ.get(ZONE_VARIABLE, "").strip() or "UTC"
    if name != "UTC":
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(name)
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            raise ConfigError(
                f"{ZONE_VARIABLE}={name!r} is not a time zone: give an IANA name such as UTC, "
                "America/New_York or Europe/Berlin, or unset it for UTC"
            ) from None
    return name


def duck_type(col: Column) -> str:
    if col.type == "string" and col.format == "date-time":
        return TIMESTAMPTZ
    if col.type == "string" and col.format == "date":
        return "DATE"
    return _DUCK.get(col.type, "VARCHAR")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _cast(expr: str, dtype: str) -> str:
    if dtype == "VARCHAR":
        return expr
    if dtype == "JSON":
        return f"TRY_CAST({expr} AS JSON)"
    return f"TRY_CAST({expr} AS {dtype})"


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def cell_text(value: Any, dtype: str) -> str | None:
    """The text DuckDB is handed for one value of a column of type ``dtype`` (its cast
    gives the typed value); None for NULL."""
    if value is None:
        return None
    if type(value) is str and dtype != "JSON":
        return value
    if dtype == "JSON":
        return _encode(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return _encode(value)
    return str(value)


BATCH_ROWS = 5000  # pages are buffered into one INSERT: DuckDB's cost is per call


def infer_columns(rows: Sequence[Any]) -> list[Column]:
    """Columns for a response whose schema the provider does not describe."""
    seen: dict[str, Column] = {}
    for row in rows:
        if not isinstance(row, dict):
            seen.setdefault("value", Column("value", "string"))
            continue
        for key, value in row.items():
            if key in seen:
                continue
            if isinstance(value, bool):
                t = "boolean"
            elif isinstance(value, int):
                t = "integer"
            elif isinstance(value, float):
                t = "number"
            elif isinstance(value, dict):
                t = "object"
            elif isinstance(value, list):
                t = "array"
            else:
                t = "string"
            seen[key] = Column(str(key), t)
    return list(seen.values())


class TableSink:
    """A DuckDB table that API rows are appended to."""

    def __init__(
        self,
        duck: duckdb.DuckDBPyConnection,
        name: str,
        columns: Sequence[Column],
        extra: Sequence[str] = (),
        *,
        undescribed: bool | None = None,
    ):
        self.duck = duck
        self.name = name
        # DuckDB names are case-insensitive: keep the first of names that differ only in case
        cols: list[Column] = []
        lowered: set[str] = set()
        for c in columns:
            if c.name.lower() not in lowered:
                lowered.add(c.name.lower())
                cols.append(c)
        self.columns = cols
        self.types = [duck_type(c) for c in cols]
        # parameters recorded per row (the appId a token was listed under), unless a column has the name
        # no columns: either the provider describes none (each item goes in a `value` column)
        # or the statement needs none (count(*): rows are counted, nothing is stored)
        self.fallback = not cols if undescribed is None else undescribed
        if self.fallback:
            self.columns, self.types, lowered = [Column("value")], ["VARCHAR"], {"value"}
        self.extra = [n for n in extra if n.lower() not in lowered]
        defs = [f"{quote_ident(c.name)} {t}" for c, t in zip(self.columns, self.types, strict=True)]
        defs += [f"{quote_ident(n)} VARCHAR" for n in self.extra]
        self._counter_only = not self.columns
        if self._counter_only:
            self.columns, self.types = [Column("__row")], ["BOOLEAN"]
            defs.insert(0, '"__row" BOOLEAN')
        duck.execute(f"CREATE OR REPLACE TABLE {name} ({', '.join(defs)})")
        n = len(self.columns)
        # the extra columns go as lists too: one INSERT covers the rows of many calls
        selects = [_cast(f"c{i}", t) for i, t in enumerate(self.types)]
        selects += [f"c{n + j}::VARCHAR" for j in range(len(self.extra))]
        unnests = ", ".join(f"UNNEST(${i + 1}) AS c{i}" for i in range(n + len(self.extra)))
        self._insert = f"INSERT INTO {name} SELECT {', '.join(selects)} FROM (SELECT {unnests})"
        self.count = 0
        self._pending: list[list[str | None]] = [[] for _ in range(n + len(self.extra))]
        self._pending_rows = 0

    def append(self, rows: Iterable[Any], extra: dict[str, Any] | None = None) -> int:
        """Buffer rows; they reach DuckDB in batches (call :meth:`flush` at the end)."""
        batch = rows if isinstance(rows, list) else list(rows)
        if not batch:
            return 0
        values = extra or {}
        n = len(batch)
        for lst, col, dtype in zip(self._pending, self.columns, self.types, strict=False):
            key = col.name
            if self._counter_only:
                lst.extend([None] * n)
            elif self.fallback:
                lst.extend([cell_text(r, dtype) for r in batch])
            else:
                lst.extend(
                    [cell_text(r.get(key), dtype) if isinstance(r, dict) else None for r in batch]
                )
        for lst, name in zip(self._pending[len(self.columns) :], self.extra, strict=True):
            value = values.get(name)
            lst.extend([None if value is None else str(value)] * n)
        self._pending_rows += n
        self.count += n
        if self._pending_rows >= BATCH_ROWS:
            self.flush()
        return n

    def text_values(self, rows: list[Any], names: Sequence[str]) -> list[tuple[Any, ...]] | None:
        """The distinct combinations of the text columns ``names`` over ``rows``, as a query
        of the table will give them once the rows are in: read without inserting and
        querying first. None when a name is not a text column of the table."""
        if self.fallback or self._counter_only:
            return None
        keys = []
        for name in names:
            key = next(
                (
                    c.name
                    for c, t in zip(self.columns, self.types, strict=True)
                    if c.name.lower() == name.lower() and t == "VARCHAR"
                ),
                None,
            )
            if key is None:
                return None
            keys.append(key)
        return list(
            dict.fromkeys(
                tuple(cell_text(r.get(k), "VARCHAR") if isinstance(r, dict) else None for k in keys)
                for r in rows
            )
        )

    def flush(self) -> None:
        if not self._pending_rows:
            return
        self.duck.execute(self._insert, self._pending)
        self._pending = [[] for _ in self._pending]
        self._pending_rows = 0
