"""The Parquet destination: a hive-style dataset per table, ``TABLE/_org=ORG/day=YYYY-MM-DD/``.

Files are written by DuckDB's own ``COPY ... (FORMAT parquet)`` (no extra dependency; DuckDB
is the engine already): rows are staged in a private in-memory DuckDB, merged there, and each
file is written under a temporary name and renamed into place, so a reader never sees half a
file. ``_org`` and ``day`` live in the path (``read_parquet('DIR/TABLE/**/*.parquet')`` gives
them back as columns, as Spark, Trino and Athena do).

* System Log events go to the day they were published, one file per day per batch, named by
  the cursor the batch started from: a run killed between a file and its cursor writes the
  very same file again on the next run, so no event lands twice.
* Every other resource is a state per sync day: the previous state merged with what was read
  (unchanged rows keep their ``_synced_at``; vanished ones get ``_deleted_at``), written as the
  day's one file, so re-syncing on the same day replaces it with the same rows.

Cursors are in ``_oktaql_sync_state/ORG.json``, replaced atomically after the data files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from oktaql.errors import ConfigError, OperationalError
from oktaql.sync._destinations import Counts, busy
from oktaql.sync._duckdb import create_stage, stage_rows
from oktaql.sync._table import TableSpec, check_columns, q

STATE_DIR = "_oktaql_sync_state"
_SAFE = re.compile(r"^[A-Za-z0-9._-]+$")


def _sql_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


class ParquetDestination:
    def __init__(self, root: str):
        if not root.strip():
            raise ConfigError("--to parquet:DIR: give the dataset's folder, e.g. parquet:./okta")
        self.root = Path(root).expanduser().absolute()
        self.label = f"parquet:{self.root}"
        try:
            (self.root / STATE_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"--to {self.label}: cannot create the folder ({exc})") from None
        self._lock = threading.Lock()  # the state files of different orgs are different files

    def _state_file(self, org: str) -> Path:
        if not _SAFE.match(org):
            raise ConfigError(
                f"org name {org!r} cannot name a Parquet partition: use letters, digits, '.', "
                "'_' or '-' (name the profile so)"
            )
        return self.root / STATE_DIR / f"{org}.json"

    def _state(self, org: str) -> dict[str, Any]:
        path = self._state_file(org)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: cannot read the sync state ({exc})") from None
        return doc if isinstance(doc, dict) else {}

    def cursor(self, org: str, resource: str) -> str | None:
        entry = self._state(org).get(resource) or {}
        value = entry.get("cursor") if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    def save_cursor(self, org: str, resource: str, cursor: str | None, ts: dt.datetime) -> None:
        with self._lock:
            state = self._state(org)
            state[resource] = {"cursor": cursor, "updated_at": ts.isoformat()}
            path = self._state_file(org)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, path)

    @contextlib.contextmanager
    def lock(self, org: str) -> Iterator[None]:
        """``_oktaql_sync_state/ORG.lock``, flock'ed while the org lands (the kernel lets go
        of it when this process dies); it holds the pid of the run that has it."""
        import fcntl

        path = self._state_file(org).with_suffix(".lock")
        try:
            handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held across the yield
        except OSError as exc:
            raise ConfigError(f"--to {self.label}: cannot write {path} ({exc})") from None
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                pid = handle.read().strip()
                raise busy(org, self.label, f" (pid {pid})" if pid.isdigit() else "") from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            handle.close()

    def landed_targets(self, org: str, table: str, event_type: str) -> list[str]:
        import duckdb

        folder = self.root / table / f"_org={self._state_file(org).stem}"
        if not any(folder.glob("*/*.parquet")):
            return []
        with duckdb.connect(":memory:") as duck:
            try:
                rows = duck.execute(
                    "SELECT CAST(target AS VARCHAR) FROM read_parquet("
                    f"{_sql_path(folder / '*' / '*.parquet')}, hive_partitioning = false, "
                    'union_by_name = true) WHERE "eventType" = ? AND target IS NOT NULL',
                    [event_type],
                ).fetchall()
            except duckdb.Error as exc:
                raise OperationalError(f"{self.label}, table {table}: {exc}") from None
        return [r[0] for r in rows]

    def writer(
        self, spec: TableSpec, org: str, resource: str, synced_at: dt.datetime
    ) -> ParquetWriter:
        return ParquetWriter(self, spec, org, resource, synced_at)

    def close(self) -> None:
        pass


class ParquetWriter:
    def __init__(
        self,
        dest: ParquetDestination,
        spec: TableSpec,
        org: str,
        resource: str,
        synced_at: dt.datetime,
    ):
        import duckdb

        self.dest, self.spec, self.org, self.resource, self.ts = (
            dest,
            spec,
            org,
            resource,
            synced_at,
        )
        self.start = dest.cursor(org, resource) or ""  # names this batch's files
        self.dir = dest.root / spec.name / f"_org={org}"
        self.duck = duckdb.connect(":memory:")
        self.duck.execute("SET TimeZone = 'UTC'")
        create_stage(self.duck, "_stage_raw", spec)

    def _failed(self, exc: Exception) -> OperationalError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return OperationalError(f"{self.dest.label}, table {self.spec.name}: {first}")

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        import duckdb

        try:
            stage_rows(self.duck, "_stage_raw", self.spec, rows)
        except duckdb.Error as exc:
            raise self._failed(exc) from None

    def _write(self, select: str, day_dir: Path, name: str, params: list[Any]) -> None:
        day_dir.mkdir(parents=True, exist_ok=True)
        target = day_dir / name
        tmp = day_dir / f".{name}.tmp"
        self.duck.execute(
            f"COPY ({select}) TO {_sql_path(tmp)} (FORMAT parquet, COMPRESSION zstd)", params
        )
        os.replace(tmp, target)

    def commit(self, mode: str, cursor: str | None, gone: Sequence[str] = ()) -> Counts:
        import duckdb

        try:
            return self._commit(mode, cursor, gone)
        except (duckdb.Error, OSError) as exc:  # a full disk, a folder that cannot be written
            raise self._failed(exc) from None
        finally:
            self.duck.close()

    def _commit(self, mode: str, cursor: str | None, gone: Sequence[str]) -> Counts:
        spec, d = self.spec, self.duck
        key = spec.key
        if key:
            k = q(key)
            d.execute(
                f"CREATE TABLE _stage AS SELECT DISTINCT ON ({k}) * FROM _stage_raw WHERE {k} IS NOT NULL"
            )
        else:
            d.execute("CREATE TABLE _stage AS SELECT * FROM _stage_raw")
        counts = Counts()
        if mode == "append":
            counts.inserted = self._append()
        else:
            counts = self._merge(mode, gone)
        self.dest.save_cursor(self.org, self.resource, cursor, self.ts)
        return counts

    def _append(self) -> int:
        """System Log events: one file per day of ``published`` for this batch."""
        day = "CAST(published AS DATE)" if "published" in self.spec.names else "CAST(? AS DATE)"
        days = [
            r[0]
            for r in self.duck.execute(
                f"SELECT DISTINCT {day} FROM _stage ORDER BY 1",
                [] if "published" in self.spec.names else [self.ts],
            ).fetchall()
        ]
        batch = hashlib.sha256(self.start.encode()).hexdigest()[:16]
        total = 0
        for when in days:
            params: list[Any] = [self.ts, when] if "published" in self.spec.names else [self.ts]
            cond = f"{day} = ?" if "published" in self.spec.names else "TRUE"
            select = (
                "SELECT *, CAST(? AS TIMESTAMPTZ) AS _synced_at, "
                f"CAST(NULL AS TIMESTAMPTZ) AS _deleted_at FROM _stage WHERE {cond}"
            )
            self._write(
                select, self.dir / f"day={when.isoformat()}", f"part-{batch}.parquet", params
            )
            total += int(
                self.duck.execute(
                    f"SELECT count(*) FROM _stage WHERE {cond}", params[1:]
                ).fetchone()[0]  # type: ignore[index]
            )
        return total

    def _previous(self) -> Path | None:
        """The latest day's folder of this org's state (None before the first sync)."""
        if not self.dir.is_dir():
            return None
        days = sorted(p for p in self.dir.iterdir() if p.is_dir() and p.name.startswith("day="))
        days = [p for p in days if any(p.glob("*.parquet"))]
        return days[-1] if days else None

    def _merge(self, mode: str, gone: Sequence[str] = ()) -> Counts:
        spec, d = self.spec, self.duck
        today = self.dir / f"day={self.ts.astimezone(dt.UTC).date().isoformat()}"
        prev = self._previous()
        counts = Counts()
        if prev is None or not spec.key:
            counts.inserted = int(d.execute("SELECT count(*) FROM _stage").fetchone()[0])  # type: ignore[index]
            select = (
                "SELECT *, CAST(? AS TIMESTAMPTZ) AS _synced_at, "
                "CAST(NULL AS TIMESTAMPTZ) AS _deleted_at FROM _stage"
            )
            self._replace(today, select, [self.ts])
            return counts
        d.execute(
            "CREATE TABLE _old AS SELECT * FROM read_parquet("
            f"{_sql_path(prev / '*.parquet')}, hive_partitioning = false, union_by_name = true)"
        )
        old_types = {r[0]: r[1] for r in d.execute("DESCRIBE _old").fetchall()}
        check_columns(
            spec,
            {**old_types, "_org": "VARCHAR"},  # _org is in the path
            lambda t: t,
            self.resource,
            f"move {self.dir} away and delete {self.resource!r} from "
            f"{self.dest.root / STATE_DIR / (self.org + '.json')}, then sync again to rebuild it",
        )
        old_cols = set(old_types)
        k = q(spec.key)
        common = [c for c in spec.names if c in old_cols and c != spec.key]
        changed = " OR ".join(
            ["o._deleted_at IS NOT NULL"] + [f"s.{q(c)} IS DISTINCT FROM o.{q(c)}" for c in common]
        )
        new_cols = [c for c in spec.names if c not in old_cols]
        if new_cols:  # a new column with a value is a change too
            changed += " OR " + " OR ".join(f"s.{q(c)} IS NOT NULL" for c in new_cols)
        d.execute(
            "CREATE TABLE _matched AS SELECT s.*, o._synced_at AS _old_synced, "
            f"(o.{k} IS NULL) AS _new, (o.{k} IS NOT NULL AND ({changed})) AS _changed "
            f"FROM _stage s LEFT JOIN _old o ON o.{k} = s.{k}"
        )
        counts.inserted, counts.updated = d.execute(
            "SELECT count(*) FILTER (WHERE _new), count(*) FILTER (WHERE _changed) FROM _matched"
        ).fetchone()  # type: ignore[misc]
        gone_sql = f"NOT EXISTS (SELECT 1 FROM _stage s WHERE s.{k} = o.{k})"
        if mode == "snapshot":
            counts.deleted = int(
                d.execute(
                    f"SELECT count(*) FROM _old o WHERE {gone_sql} AND o._deleted_at IS NULL"
                ).fetchone()[0]  # type: ignore[index]
            )
        marked: list[Any] = []
        if mode == "snapshot":
            deleted_at = "coalesce(o._deleted_at, CAST(? AS TIMESTAMPTZ))"
            marked = [self.ts]
        elif gone:  # deletions the System Log recorded
            d.execute(
                "CREATE TABLE _gone AS SELECT UNNEST(CAST(? AS VARCHAR[])) AS k", [list(gone)]
            )
            is_gone = f"(o._deleted_at IS NULL AND o.{k} IN (SELECT k FROM _gone))"
            counts.deleted = int(
                d.execute(f"SELECT count(*) FROM _old o WHERE {gone_sql} AND {is_gone}").fetchone()[
                    0
                ]  # type: ignore[index]
            )
            deleted_at = f"CASE WHEN {is_gone} THEN CAST(? AS TIMESTAMPTZ) ELSE o._deleted_at END"
            marked = [self.ts]
        else:
            deleted_at = "o._deleted_at"
        select = (
            "SELECT * EXCLUDE (_old_synced, _new, _changed) REPLACE ("
            "CASE WHEN _new OR _changed THEN CAST(? AS TIMESTAMPTZ) ELSE _old_synced END "
            "AS _synced_at) FROM (SELECT *, CAST(NULL AS TIMESTAMPTZ) AS _synced_at, "
            "CAST(NULL AS TIMESTAMPTZ) AS _deleted_at FROM _matched) "
            f"UNION ALL BY NAME SELECT * REPLACE ({deleted_at} AS _deleted_at) "
            f"FROM _old o WHERE {gone_sql}"
        )
        params: list[Any] = [self.ts, *marked]
        self._replace(today, select, params)
        return counts

    def _replace(self, day_dir: Path, select: str, params: list[Any]) -> None:
        """The day's one file is ``select``'s rows; any other file of the day goes."""
        self._write(select, day_dir, "part-0.parquet", params)
        for other in day_dir.glob("*.parquet"):
            if other.name != "part-0.parquet":
                other.unlink()

    def abort(self) -> None:
        self.duck.close()
