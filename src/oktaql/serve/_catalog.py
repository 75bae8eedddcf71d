"""The provider's Postgres catalog, as one DuckDB database every client's catalog query reads.

psql's ``\\dt``/``\\d``, SQLAlchemy's inspector and BI tools read ``pg_catalog`` and
``information_schema``. Their queries run in DuckDB, over tables this module fills from the
provider: a database per provider (``okta``), a schema per service (``apps``), a table per
resource (``tokens``) with its columns and their Postgres types, so ``okta.apps.tokens`` is the
same three-part name in a client's catalog as in a statement. DuckDB's own ``pg_catalog``
cannot be replaced, so a client's query is rewritten (:mod:`._rewrite`, on its sqlglot tree) to name
these tables (schema ``oq_pg``, ``oq_info``) and functions (DuckDB macros), then run; nothing
matches query text.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from oktaql.serve import _types
from oktaql.serve._pg_schema import (
    DDL,
    EMPTY,
    INFO_VIEWS,
    MACROS,
    OWNER,
    PG,
    json_build_object,
)
from oktaql.serve._types import PgType

if TYPE_CHECKING:
    import duckdb

    from oktaql.catalog import Catalog

NAMESPACES = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}
FIRST_OID = 16384  # below it Postgres keeps its own objects


@dataclass(frozen=True)
class Table:
    oid: int
    provider: str
    schema: str
    name: str
    columns: tuple[tuple[str, PgType, str], ...]  # name, type, description
    duck_types: tuple[str, ...]  # each column's DuckDB type, as oktaql loads it
    description: str


def tables_of(catalog: Catalog) -> list[Table]:
    """Every resource with a SELECT, as a table: its columns, then its parameters that are not
    columns (``appId`` of ``okta.apps.tokens``: a WHERE names it), as text."""
    from oktaql._loading import duck_type

    out: list[Table] = []
    oid = FIRST_OID + 1000
    for pname in catalog.registry.provider_names():
        provider = catalog.registry.provider(pname)
        for sname in sorted(provider.services):
            for rname, res in sorted(provider.services[sname].resources.items()):
                if not res.methods_for("select"):
                    continue
                cols = [(c.name, _types.pg_type(duck_type(c)), c.description) for c in res.columns]
                ducks = [duck_type(c) for c in res.columns]
                names = {c[0] for c in cols}
                for m in res.methods_for("select"):
                    for p in m.params.values():
                        if p.location == "path" and p.name not in names:
                            names.add(p.name)
                            cols.append((p.name, _types.TEXT, p.description))
                            ducks.append("VARCHAR")
                out.append(
                    Table(oid, pname, sname, rname, tuple(cols), tuple(ducks), res.description)
                )
                oid += 1
    return out


def _schema_oids(tables: list[Table]) -> dict[str, int]:
    out = dict(NAMESPACES)
    for t in tables:
        out.setdefault(t.schema, FIRST_OID + len(out))
    return out


# the types whose input / output functions Postgres names with an underscore (jsonb_in)
_UNDERSCORED = {"numeric", "jsonb", "json", "timestamptz", "timestamp", "date", "time",
                "interval", "uuid"}  # fmt: skip


def _io_functions(type_name: str) -> tuple[str, str]:
    """pg_type's typinput and typoutput (regproc, as their names): int4in, jsonb_in."""
    sep = "_" if type_name in _UNDERSCORED else ""
    return f"{type_name}{sep}in", f"{type_name}{sep}out"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert(con: duckdb.DuckDBPyConnection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``sql`` (an INSERT with ``?`` placeholders in one VALUES row) for every row, as one
    statement of literal rows: DuckDB's executemany costs a round of its own per row."""
    if not rows:
        return
    head, sep, row = sql.partition("VALUES")
    parts = row.strip().split("?")
    values = []
    for r in rows:
        assert len(r) == len(parts) - 1
        values.append("".join(p + _literal(v) for p, v in zip(parts, r, strict=False)) + parts[-1])
    con.execute(head + sep + " " + ", ".join(values))


class CatalogDatabase:
    """One in-memory DuckDB holding the catalog, shared by every client (read-only once
    built); each query runs on a cursor of its own."""

    def __init__(self, catalog: Catalog, settings: dict[str, str]):
        import duckdb

        self.tables = tables_of(catalog)
        self.providers = set(catalog.registry.provider_names())
        self.schemas = {t.schema for t in self.tables}
        # (schema, table) → its provider: what a two-part name in a statement means
        self.qualified = {(t.schema, t.name): t.provider for t in self.tables}
        self._lock = threading.Lock()
        con = duckdb.connect(":memory:")
        con.execute(DDL)
        for name, cols in EMPTY.items():
            defs = ", ".join(f"{c} VARCHAR" if c.endswith("name") else f"{c} BIGINT" for c in
                             cols.split())  # fmt: skip
            con.execute(f"CREATE TABLE {PG}.{name} ({defs})")
        con.execute(MACROS)
        con.execute(json_build_object())
        self._fill(con, settings)
        con.execute(INFO_VIEWS)
        self._shapes(con)
        from oktaql.serve._engine import confine

        confine(con, None)  # a catalog query is a client's SQL too
        self.con = con

    def _shapes(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every resource as an empty DuckDB table of its columns, in a database named for its
        provider: a statement's result columns are known without running it (Describe)."""
        from oktaql._loading import quote_ident as q

        for provider in sorted(self.providers):
            con.execute(f"ATTACH ':memory:' AS {q(provider)}")
        for schema in sorted({(t.provider, t.schema) for t in self.tables}):
            con.execute(f"CREATE SCHEMA {q(schema[0])}.{q(schema[1])}")
        for t in self.tables:
            cols = ", ".join(
                f"{q(name)} {duck}"
                for (name, _, _), duck in zip(t.columns, t.duck_types, strict=True)
            )
            con.execute(f"CREATE TABLE {q(t.provider)}.{q(t.schema)}.{q(t.name)} ({cols})")

    def _fill(self, con: duckdb.DuckDBPyConnection, settings: dict[str, str]) -> None:
        oids = _schema_oids(self.tables)
        _insert(
            con,
            f"INSERT INTO {PG}.pg_namespace VALUES (?, ?, 10, NULL)",
            [(oid, name) for name, oid in oids.items()],
        )
        classes, attrs, notes = [], [], []
        for t in self.tables:
            classes.append((t.oid, t.name, oids[t.schema], len(t.columns)))
            if t.description:
                notes.append((t.oid, 0, t.description))
            for i, (col, kind, note) in enumerate(t.columns, start=1):
                attrs.append((t.oid, col, kind.oid, kind.size, i))
                if note:
                    notes.append((t.oid, i, note))
        _insert(
            con,
            f"INSERT INTO {PG}.pg_class (oid, relname, relnamespace, reltype, reloftype, "
            "relowner, relam, relfilenode, reltablespace, relpages, reltuples, relallvisible, "
            "reltoastrelid, relhasindex, relisshared, relpersistence, relkind, relnatts, "
            "relchecks, relhasrules, relhastriggers, relhassubclass, relrowsecurity, "
            "relforcerowsecurity, relispopulated, relreplident, relispartition, relrewrite, "
            "relfrozenxid, relminmxid, relhasoids) VALUES (?, ?, ?, 0, 0, 10, 2, 0, 0, 0, -1, "
            "0, 0, false, false, 'p', 'r', ?, 0, false, false, false, false, false, true, 'd', "
            "false, 0, 0, 0, false)",
            classes,
        )
        _insert(
            con,
            f"INSERT INTO {PG}.pg_attribute VALUES (?, ?, ?, -1, ?, ?, 0, -1, -1, false, 'i', "
            "'x', '', false, false, false, '', '', false, true, 0, 0, NULL, NULL, NULL, NULL)",
            attrs,
        )
        _insert(con, f"INSERT INTO {PG}.pg_description VALUES (?, 1259, ?, ?)", notes)
        _insert(
            con,
            f"INSERT INTO {PG}.pg_type (oid, typname, typnamespace, typowner, typlen, typbyval, "
            "typtype, typcategory, typispreferred, typisdefined, typdelim, typrelid, typelem, "
            "typarray, typalign, typstorage, typnotnull, typbasetype, typtypmod, typndims, "
            "typcollation, typinput, typoutput) VALUES (?, ?, 11, 10, ?, ?, 'b', ?, false, true, "
            "',', 0, 0, 0, 'i', 'x', false, 0, -1, 0, 0, ?, ?)",
            [
                (t.oid, t.name, t.size, t.size > 0, t.category, *_io_functions(t.name))
                for t in _types.ALL_TYPES
            ],
        )
        _insert(
            con,
            f"INSERT INTO {PG}.pg_database (oid, datname, datdba, encoding, datcollate, datctype, "
            "datistemplate, datallowconn, datconnlimit, dattablespace) VALUES (?, ?, 10, 6, 'C', "
            "'C', false, true, -1, 1663)",
            [(FIRST_OID - 1 - i, p) for i, p in enumerate(sorted(self.providers))],
        )
        con.execute(
            f"INSERT INTO {PG}.pg_roles VALUES (10, '{OWNER}', false, true, false, false, "
            "true, false, -1, NULL, false, NULL)"
        )
        con.execute(f"INSERT INTO {PG}.pg_am VALUES (2, 'heap', 'heap_tableam_handler', 't')")
        con.execute(f"INSERT INTO {PG}.pg_tablespace VALUES (1663, 'pg_default', 10)")
        _insert(
            con,
            f"INSERT INTO {PG}.pg_settings VALUES (?, ?, NULL, 'oktaql', '', 'user', "
            "'string', 'default')",
            [(k.lower(), v) for k, v in settings.items()],
        )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self.con.cursor()


__all__ = ["CatalogDatabase", "Table", "tables_of"]
