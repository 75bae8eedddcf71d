"""Local state that outlives a statement: the DuckDB file, views, materialized views, tables.

User tables live in DuckDB as they are. A view over provider resources is stored as its SQL
(DuckDB could not plan API calls) and inlined into each query that names it, so it is planned
like its body every time; an outer ``WHERE`` equality on a parameter the body leaves open is
pushed into the body. A materialized view is a DuckDB table plus its defining SQL, refreshed on
demand. Scratch tables of a statement live in an attached in-memory database, never the file.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from oktaql.errors import ConfigError, ProgrammingError

if TYPE_CHECKING:
    import duckdb

META_SCHEMA = "oktaql_meta"
LOCK_WAIT_SECONDS = 5.0


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "oktaql"


def default_db_path() -> Path:
    return data_dir() / "oktaql.duckdb"


def open_database(path: str | os.PathLike[str] | None) -> duckdb.DuckDBPyConnection:
    """The session's DuckDB; waits a little for another process's lock, then says so."""
    import duckdb

    from oktaql._loading import ZONE_VARIABLE, session_zone

    target = ":memory:" if path in (None, ":memory:") else str(Path(path).expanduser())
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            duck = duckdb.connect(target)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise ConfigError(f"cannot open database {target}: {exc}") from None
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"database {target} is in use by another oktaql process (waited "
                    f"{LOCK_WAIT_SECONDS:.0f} s); close it, or use --db :memory: or another file"
                ) from None
            time.sleep(0.1)
        except duckdb.Error as exc:
            raise ConfigError(f"cannot open database {target}: {exc}") from None
    # GLOBAL: a cursor (each query's) starts from the global settings, not this connection's;
    # a session-only SET left every query in the machine's zone (Okta's times are UTC)
    zone = session_zone()
    try:
        duck.execute("SET GLOBAL TimeZone = '" + zone.replace("'", "''") + "'")
    except duckdb.Error as exc:
        duck.close()
        raise ConfigError(f"{ZONE_VARIABLE}={zone!r}: DuckDB does not know it ({exc})") from None
    duck.execute("ATTACH ':memory:' AS oktaql_scratch")
    duck.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    duck.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.views ("
        "name VARCHAR PRIMARY KEY, sql VARCHAR NOT NULL, materialized BOOLEAN NOT NULL)"
    )
    return duck


class ViewStore:
    def __init__(self, duck: duckdb.DuckDBPyConnection):
        self.duck = duck

    def all(self) -> dict[str, tuple[str, bool]]:
        rows = self.duck.execute(
            f"SELECT name, sql, materialized FROM {META_SCHEMA}.views"
        ).fetchall()
        return {r[0]: (r[1], bool(r[2])) for r in rows}

    def views(self) -> dict[str, str]:
        return {n: sql for n, (sql, mat) in self.all().items() if not mat}

    def get(self, name: str) -> tuple[str, bool] | None:
        return self.all().get(name.lower())

    def put(
        self, name: str, sql: str, materialized: bool, replace: bool, check_table: bool = True
    ) -> None:
        key = name.lower()
        existing = self.get(key)
        if existing is not None and not replace:
            kind = "materialized view" if existing[1] else "view"
            raise ProgrammingError(
                f"{kind} {name} already exists: use CREATE OR REPLACE, or DROP it first"
            )
        if existing is None and check_table and self.is_table(key):
            raise ProgrammingError(f"a table named {name} already exists: choose another view name")
        self.duck.execute(f"DELETE FROM {META_SCHEMA}.views WHERE name = ?", [key])
        self.duck.execute(
            f"INSERT INTO {META_SCHEMA}.views VALUES (?, ?, ?)", [key, sql, materialized]
        )

    def drop(self, name: str, materialized: bool, if_exists: bool) -> bool:
        existing = self.get(name)
        if existing is None or existing[1] != materialized:
            if if_exists:
                return False
            kind = "materialized view" if materialized else "view"
            raise ProgrammingError(f"no {kind} named {name}")
        self.duck.execute(f"DELETE FROM {META_SCHEMA}.views WHERE name = ?", [name.lower()])
        return True

    def is_table(self, name: str) -> bool:
        row = self.duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE lower(table_name) = ? AND schema_name = 'main'",
            [name],
        ).fetchone()
        return bool(row and row[0])
