"""A landed table's shape and the SQL that merges a staged batch into it.

The columns are the engine's (DuckDB types: ``TIMESTAMP WITH TIME ZONE``, ``JSON``...), plus
``_org``, ``_synced_at`` (when the row's content last landed) and ``_deleted_at`` (when a full
read no longer found it). The key is ``(_org, id)`` (``uuid`` for System Log events); a
resource without either is replaced per org on each run. DuckDB and PostgreSQL run the same
merge: update what changed, insert what is new, mark what vanished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from oktaql.errors import ConfigError

SYNC_COLUMNS = ("_org", "_synced_at", "_deleted_at")
STATE_TABLE = "_oktaql_sync_state"

_PG_TYPES = {
    "VARCHAR": "text",
    "JSON": "jsonb",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "DATE": "date",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type) as the engine reads them
    key: str | None
    positions: tuple[int, ...] = ()  # where each column is in the engine's rows

    @classmethod
    def of(cls, name: str, columns: Sequence[tuple[str, str]]) -> TableSpec:
        cols: list[tuple[str, str]] = []
        positions: list[int] = []
        seen: set[str] = set()
        for i, (col, dtype) in enumerate(columns):
            # a column named like ours (or twice, differing in case) is left out
            if col.lower() in seen or col in SYNC_COLUMNS:
                continue
            seen.add(col.lower())
            cols.append((col, _known(dtype)))
            positions.append(i)
        names = {c for c, _ in cols}
        key = "id" if "id" in names else "uuid" if "uuid" in names else None
        return cls(name, tuple(cols), key, tuple(positions))

    @property
    def names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def index(self, column: str) -> int:
        """Where ``column`` is in the engine's rows."""
        return self.positions[self.names.index(column)]

    def row_values(self, row: Sequence[Any]) -> list[Any]:
        """One engine row as this table's values, JSON columns as JSON text."""
        return [
            json_text(row[i]) if dtype == "JSON" else row[i]
            for i, (_, dtype) in zip(self.positions, self.columns, strict=True)
        ]

    def column_values(self, rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """Engine rows as one list per column, JSON columns as JSON text."""
        out = []
        for i, (_, dtype) in zip(self.positions, self.columns, strict=True):
            values = [r[i] for r in rows]
            out.append([json_text(v) for v in values] if dtype == "JSON" else values)
        return out


def json_text(value: Any) -> str | None:
    """A JSON column's value as text (the engine streams dicts and lists, DuckDB gives text)."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _known(dtype: str) -> str:
    return dtype if dtype in _PG_TYPES else "VARCHAR"


def pg_type(dtype: str) -> str:
    return _PG_TYPES.get(dtype, "text")


# how information_schema.columns.data_type names what ``pg_type`` creates
_PG_REPORTED = {"timestamptz": "timestamp with time zone"}


def pg_reported_type(dtype: str) -> str:
    pg = pg_type(dtype)
    return _PG_REPORTED.get(pg, pg)


# names a database reports for a type a sync creates under another name
_SAME_TYPE = {"character varying": "text"}


def check_columns(
    spec: TableSpec,
    have: dict[str, str],
    type_of: Callable[[str], str],
    resource: str,
    fix: str | None = None,
) -> None:
    """A table already there (an older run's, or another tool's) must hold what this run
    writes: the sync columns, and each of the resource's columns in its type. Otherwise the
    merge would fail half way with the database's own words; this says what to do instead
    (``fix``: how to rebuild the table, when it is not a database table)."""
    fix = fix or (
        f"rename or drop table {spec.name} and delete its cursor (DELETE FROM {STATE_TABLE} "
        f"WHERE resource = '{resource}'), then sync again to rebuild it"
    )
    missing = [c for c in SYNC_COLUMNS if c not in have]
    if missing:
        raise ConfigError(
            f"table {spec.name} exists but was not made by oktaql sync (no column "
            f"{', '.join(missing)}): {fix}, or sync into another database or schema"
        )
    for col, dtype in spec.columns:
        want = type_of(dtype)
        got = have.get(col)
        if got is not None and _SAME_TYPE.get(got.lower(), got.lower()) != want.lower():
            raise ConfigError(
                f"table {spec.name}: column {col} is {got} there, but this sync writes {want} "
                f"(a table from an older oktaql?): {fix}"
            )


def ddl(spec: TableSpec, type_of: Callable[[str], str]) -> str:
    defs = [f"{q('_org')} {type_of('VARCHAR')} NOT NULL"]
    defs += [
        f"{q(c)} {type_of(t)}" + (" NOT NULL" if c == spec.key else "") for c, t in spec.columns
    ]
    defs += [f"{q('_synced_at')} {type_of('TIMESTAMP WITH TIME ZONE')} NOT NULL"]
    defs += [f"{q('_deleted_at')} {type_of('TIMESTAMP WITH TIME ZONE')}"]
    if spec.key:
        defs.append(f"PRIMARY KEY ({q('_org')}, {q(spec.key)})")
    return f"CREATE TABLE IF NOT EXISTS {q(spec.name)} ({', '.join(defs)})"


def state_ddl(type_of: Callable[[str], str]) -> str:
    v, ts = type_of("VARCHAR"), type_of("TIMESTAMP WITH TIME ZONE")
    return (
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (_org {v} NOT NULL, resource {v} NOT NULL, "
        f"cursor {v}, updated_at {ts} NOT NULL, PRIMARY KEY (_org, resource))"
    )


@dataclass(frozen=True)
class MergeSQL:
    """The statements of one merge; ``p(name)`` is the dialect's placeholder for a parameter
    (``org``, ``ts``), ``stage`` the staged batch's table (deduplicated by key)."""

    spec: TableSpec
    stage: str
    p: Callable[[str], str]

    def _changed(self) -> str:
        cols = [
            f"t.{q(c)} IS DISTINCT FROM s.{q(c)}" for c in self.spec.names if c != self.spec.key
        ]
        return " OR ".join(["t._deleted_at IS NOT NULL", *cols])

    def _match(self, outer: str) -> str:
        k = q(self.spec.key or "")
        return f"{outer}._org = {self.p('org')} AND {outer}.{k} = s.{k}"

    def update(self) -> str:
        sets = [f"{q(c)} = s.{q(c)}" for c in self.spec.names if c != self.spec.key]
        sets += [f"_synced_at = {self.p('ts')}", "_deleted_at = NULL"]
        return (
            f"UPDATE {q(self.spec.name)} AS t SET {', '.join(sets)} FROM {self.stage} AS s "
            f"WHERE {self._match('t')} AND ({self._changed()})"
        )

    def insert(self, *, guard: bool = True) -> str:
        cols = ", ".join(["_org", *map(q, self.spec.names), "_synced_at"])
        vals = ", ".join([self.p("org"), *(f"s.{q(c)}" for c in self.spec.names), self.p("ts")])
        sql = f"INSERT INTO {q(self.spec.name)} ({cols}) SELECT {vals} FROM {self.stage} AS s"
        if guard and self.spec.key:
            sql += (
                f" WHERE NOT EXISTS (SELECT 1 FROM {q(self.spec.name)} AS t "
                f"WHERE {self._match('t')}) ON CONFLICT DO NOTHING"
            )
        return sql

    def mark_deleted(self) -> str:
        k = q(self.spec.key or "")
        return (
            f"UPDATE {q(self.spec.name)} AS t SET _deleted_at = {self.p('ts')} "
            f"WHERE t._org = {self.p('org')} AND t._deleted_at IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {self.stage} AS s WHERE s.{k} = t.{k})"
        )

    def mark_gone(self, any_of: str) -> str:
        """Mark the rows whose key is among ``any_of`` (the dialect's test against the
        ``gone`` list parameter) deleted, unless this batch read them."""
        k = q(self.spec.key or "")
        return (
            f"UPDATE {q(self.spec.name)} AS t SET _deleted_at = {self.p('ts')} "
            f"WHERE t._org = {self.p('org')} AND t._deleted_at IS NULL AND t.{k} {any_of} "
            f"AND NOT EXISTS (SELECT 1 FROM {self.stage} AS s WHERE s.{k} = t.{k})"
        )

    def replace(self) -> str:
        return f"DELETE FROM {q(self.spec.name)} WHERE _org = {self.p('org')}"

    def dedupe(self, raw: str) -> str:
        """The staged rows, one per key (a row seen on two pages lands once)."""
        if not self.spec.key:
            return f"SELECT * FROM {raw}"
        k = q(self.spec.key)
        return f"SELECT DISTINCT ON ({k}) * FROM {raw} WHERE {k} IS NOT NULL"

    def save_cursor(self) -> str:
        p = self.p
        return (
            f"INSERT INTO {STATE_TABLE} (_org, resource, cursor, updated_at) VALUES "
            f"({p('org')}, {p('resource')}, {p('cursor')}, {p('ts')}) ON CONFLICT (_org, resource) "
            "DO UPDATE SET cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at"
        )


__all__ = [
    "STATE_TABLE",
    "SYNC_COLUMNS",
    "MergeSQL",
    "TableSpec",
    "check_columns",
    "ddl",
    "pg_reported_type",
    "pg_type",
    "q",
]
