"""The DuckDB file destination (the default): the same file ``oktaql exec --db FILE`` reads,
so landed tables join live resources in one statement.

Rows are staged in a temporary table of the writer's own cursor while pages arrive (one
INSERT of parallel lists per batch, cast in SQL, as the engine loads pages); only the merge
holds the file's lock, so orgs read in parallel and take turns for the short write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oktaql.errors import ConfigError, OperationalError
from oktaql.sync._destinations import Counts
from oktaql.sync._table import STATE_TABLE, MergeSQL, TableSpec, check_columns, ddl, q, state_ddl

if TYPE_CHECKING:
    import duckdb


def _same(dtype: str) -> str:
    return dtype


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


def create_stage(cur: duckdb.DuckDBPyConnection, name: str, spec: TableSpec) -> None:
    cols = ", ".join(f"{q(c)} {t}" for c, t in spec.columns)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} ({cols})")


def stage_rows(
    cur: duckdb.DuckDBPyConnection, name: str, spec: TableSpec, rows: Sequence[Sequence[Any]]
) -> None:
    """Append rows (the engine's values) to a stage: one INSERT of one list per column."""
    if not rows:
        return
    lists: list[list[str | None]] = []
    for values, (_, dtype) in zip(spec.column_values(rows), spec.columns, strict=True):
        if dtype == "JSON":  # text already (or None)
            lists.append(values)
        elif dtype == "VARCHAR":
            lists.append([v if v is None or type(v) is str else str(v) for v in values])
        else:
            lists.append([_text(v) for v in values])
    casts = ", ".join(f"CAST(c{i} AS {t})" for i, (_, t) in enumerate(spec.columns))
    unnests = ", ".join(f"UNNEST(${i + 1}::VARCHAR[]) AS c{i}" for i in range(len(lists)))
    cur.execute(f"INSERT INTO {name} SELECT {casts} FROM (SELECT {unnests})", lists)


def add_missing_columns(cur: Any, spec: TableSpec, existing: set[str], type_of: Any) -> None:
    for col, dtype in spec.columns:
        if col not in existing:
            cur.execute(f"ALTER TABLE {q(spec.name)} ADD COLUMN {q(col)} {type_of(dtype)}")


class DuckDBDestination:
    def __init__(self, path: str):
        import duckdb

        self.path = Path(path).expanduser().absolute()
        self.label = str(self.path)
        if self.path.is_dir():
            raise ConfigError(
                f"--to {path}: is a folder; give a DuckDB file in it (--to {path.rstrip('/')}"
                "/okta.duckdb), or parquet:DIR for a Parquet dataset"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = duckdb.connect(str(self.path))
        except (OSError, duckdb.Error) as exc:
            raise ConfigError(
                f"--to {path}: cannot open the DuckDB file ({exc}); is another process writing "
                "it? (DuckDB lets one process write a file)"
            ) from None
        self.conn.execute("SET TimeZone = 'UTC'")
        self.mutex = threading.Lock()  # one merge at a time: DuckDB's writes to a table conflict
        with self.mutex:
            self.conn.execute(state_ddl(_same))

    def cursor(self, org: str, resource: str) -> str | None:
        with self.mutex:
            row = self.conn.execute(
                f"SELECT cursor FROM {STATE_TABLE} WHERE _org = ? AND resource = ?",
                [org, resource],
            ).fetchone()
        return None if row is None else row[0]

    def lock(self, org: str) -> contextlib.AbstractContextManager[None]:
        # DuckDB lets one process open the file for writing: a second run stops at the open
        return contextlib.nullcontext()

    def landed_targets(self, org: str, table: str, event_type: str) -> list[str]:
        with self.mutex:
            if not self.conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = ? "
                "AND column_name = 'target' AND table_catalog = current_database()",
                [table],
            ).fetchone():
                return []
            rows = self.conn.execute(
                f"SELECT CAST(target AS VARCHAR) FROM {q(table)} "
                'WHERE _org = ? AND "eventType" = ? AND target IS NOT NULL',
                [org, event_type],
            ).fetchall()
        return [r[0] for r in rows]

    def writer(
        self, spec: TableSpec, org: str, resource: str, synced_at: dt.datetime
    ) -> DuckDBWriter:
        return DuckDBWriter(self, spec, org, resource, synced_at)

    def close(self) -> None:
        self.conn.close()


class DuckDBWriter:
    def __init__(
        self,
        dest: DuckDBDestination,
        spec: TableSpec,
        org: str,
        resource: str,
        synced_at: dt.datetime,
    ):
        self.dest, self.spec, self.org, self.resource = dest, spec, org, resource
        self.params: dict[str, Any] = {"org": org, "ts": synced_at, "resource": resource}
        with dest.mutex:
            self.cur = dest.conn.cursor()
        create_stage(self.cur, "_stage_raw", spec)

    def _failed(self, exc: Exception) -> OperationalError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return OperationalError(f"DuckDB {self.dest.label}, table {self.spec.name}: {first}")

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        import duckdb

        try:
            stage_rows(self.cur, "_stage_raw", self.spec, rows)
        except duckdb.Error as exc:
            raise self._failed(exc) from None

    def commit(self, mode: str, cursor: str | None, gone: Sequence[str] = ()) -> Counts:
        import duckdb

        spec, cur = self.spec, self.cur
        sql = MergeSQL(spec, "_stage", lambda name: f"${name}")
        counts = Counts()

        def run(statement: str, names: Sequence[str] = ("org", "ts")) -> int:
            res = cur.execute(statement, {n: self.params[n] for n in names}).fetchone()
            return int(res[0]) if res else 0

        with self.dest.mutex:
            cur.execute("BEGIN")
            try:
                cur.execute(ddl(spec, _same))
                existing = dict(
                    cur.execute(
                        "SELECT column_name, data_type FROM information_schema.columns "
                        "WHERE table_name = ? AND table_catalog = current_database()",
                        [spec.name],
                    ).fetchall()
                )
                check_columns(spec, existing, _same, self.resource)
                add_missing_columns(cur, spec, set(existing), _same)
                cur.execute(f"CREATE OR REPLACE TEMP TABLE _stage AS {sql.dedupe('_stage_raw')}")
                if not spec.key:  # nothing to match rows by: the org's rows are replaced
                    run(sql.replace(), ("org",))
                    counts.inserted = run(sql.insert(guard=False))
                else:
                    if mode != "append":
                        counts.updated = run(sql.update())
                    counts.inserted = run(sql.insert())
                    if mode == "snapshot":
                        counts.deleted = run(sql.mark_deleted())
                    elif gone:
                        self.params["gone"] = list(gone)
                        any_of = "IN (SELECT UNNEST(CAST($gone AS VARCHAR[])))"
                        counts.deleted = run(sql.mark_gone(any_of), ("org", "ts", "gone"))
                self.params["cursor"] = cursor
                run(sql.save_cursor(), ("org", "resource", "cursor", "ts"))
                cur.execute("COMMIT")
            except BaseException as exc:
                cur.execute("ROLLBACK")
                if isinstance(exc, duckdb.Error):
                    raise self._failed(exc) from None
                raise
            finally:
                cur.close()
        return counts

    def abort(self) -> None:
        with contextlib.suppress(Exception):  # closed already by a failed commit
            self.cur.close()
