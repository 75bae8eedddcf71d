"""The PostgreSQL destination: psycopg ``COPY`` into a temporary table, then one merge.

Why psycopg and not DuckDB's postgres extension: the extension is downloaded on first use
(``INSTALL postgres``), which an air-gapped runner cannot do, and it adds a second client to
configure; ``COPY ... FROM STDIN`` is PostgreSQL's fastest load path and psycopg speaks it
natively (``bench/sync.py`` measures it against row INSERTs).

Each writer is one transaction on its thread's connection: the batch is copied into a
``TEMP`` table (``ON COMMIT DROP``) while pages arrive; the commit takes an advisory lock on
the table (two orgs creating or altering it at once would collide), creates or widens it,
updates what changed, inserts what is new (``ON CONFLICT DO NOTHING``), marks what vanished and
stores the cursor, then commits: rows and cursor land together or not at all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from oktaql.errors import ConfigError, OperationalError
from oktaql.sync._destinations import Counts, busy
from oktaql.sync._table import (
    STATE_TABLE,
    MergeSQL,
    TableSpec,
    check_columns,
    ddl,
    pg_reported_type,
    pg_type,
    q,
    state_ddl,
)

EXTRA = "postgres"


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError(
            f"--to postgresql://... needs psycopg: pip install 'oktaql[{EXTRA}]'"
        ) from None
    return psycopg


def masked(url: str) -> str:
    """The URL without its password (``postgresql://user:***@host/db``, ``?password=***``)."""
    url = re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)
    return re.sub(r"(?i)([?&]password=)[^&#]*", r"\1***", url)


class PostgresDestination:
    def __init__(self, url: str):
        self.psycopg = _psycopg()
        self.url = url
        self.label = masked(url)
        self._local = threading.local()
        conn = self.connection()
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [STATE_TABLE])
            conn.execute(state_ddl(pg_type))

    def connection(self) -> Any:
        """This thread's connection (orgs sync on their own threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            try:
                conn = self.psycopg.connect(self.url)
            except self.psycopg.Error as exc:
                raise OperationalError(
                    f"--to {self.label}: cannot connect to PostgreSQL ({_reason(exc, self.url)})"
                ) from None
            self._local.conn = conn
            conns = getattr(self, "_all", [])
            conns.append(conn)
            self._all = conns
        return conn

    def cursor(self, org: str, resource: str) -> str | None:
        conn = self.connection()
        row = conn.execute(
            f"SELECT cursor FROM {STATE_TABLE} WHERE _org = %s AND resource = %s", [org, resource]
        ).fetchone()
        conn.rollback()
        return None if row is None else str(row[0]) if row[0] is not None else None

    @contextlib.contextmanager
    def lock(self, org: str) -> Iterator[None]:
        """A session advisory lock on a connection of its own, for as long as the org lands
        (PostgreSQL drops it if this process dies)."""
        try:
            conn = self.psycopg.connect(self.url, autocommit=True)
        except self.psycopg.Error as exc:
            raise OperationalError(
                f"--to {self.label}: cannot connect to PostgreSQL ({_reason(exc, self.url)})"
            ) from None
        try:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s), hashtext(%s))", [STATE_TABLE, org]
            ).fetchone()
            if not (row and row[0]):
                holder = conn.execute(
                    "SELECT a.pid, a.client_addr, a.backend_start FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
                    "AND l.granted AND l.classid::int = hashtext(%s) "
                    "AND l.objid::int = hashtext(%s) AND l.database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())",
                    [STATE_TABLE, org],
                ).fetchone()
                note = (
                    f" (its connection: backend pid {holder[0]}, since {holder[2]:%Y-%m-%d %H:%M:%S %Z})"
                    if holder
                    else ""
                )
                raise busy(org, self.label, note)
            yield
        finally:
            conn.close()

    def landed_targets(self, org: str, table: str, event_type: str) -> list[str]:
        conn = self.connection()
        try:
            found = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s "
                "AND column_name = 'target' AND table_schema = current_schema()",
                [table],
            ).fetchone()
            if not found:
                return []
            rows = conn.execute(
                f"SELECT target::text FROM {q(table)} "
                'WHERE _org = %s AND "eventType" = %s AND target IS NOT NULL',
                [org, event_type],
            ).fetchall()
        except self.psycopg.Error as exc:
            raise OperationalError(
                f"PostgreSQL {self.label}, table {table}: {_reason(exc, self.url)}"
            ) from None
        finally:
            conn.rollback()
        return [r[0] for r in rows]

    def writer(
        self, spec: TableSpec, org: str, resource: str, synced_at: dt.datetime
    ) -> PostgresWriter:
        return PostgresWriter(self, spec, org, resource, synced_at)

    def close(self) -> None:
        for conn in getattr(self, "_all", []):
            conn.close()


def _reason(exc: Exception, url: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return masked(text).replace(url, masked(url))


class PostgresWriter:
    def __init__(
        self,
        dest: PostgresDestination,
        spec: TableSpec,
        org: str,
        resource: str,
        synced_at: dt.datetime,
    ):
        self.dest, self.spec = dest, spec
        self.conn = dest.connection()
        self.params: dict[str, Any] = {
            "org": org,
            "ts": synced_at,
            "resource": resource,
            "table": spec.name,
        }
        cols = ", ".join(f"{q(c)} {pg_type(t)}" for c, t in spec.columns)
        self._run(f"CREATE TEMP TABLE _stage_raw ({cols}) ON COMMIT DROP")
        self._copy = f"COPY _stage_raw ({', '.join(map(q, spec.names))}) FROM STDIN"

    def _run(self, sql: str, names: Sequence[str] = ()) -> int:
        try:
            cur = self.conn.execute(sql, {n: self.params[n] for n in names} or None)
        except self.dest.psycopg.Error as exc:
            raise OperationalError(
                f"PostgreSQL {self.dest.label}, table {self.spec.name}: "
                f"{_reason(exc, self.dest.url)}"
            ) from None
        return max(0, int(cur.rowcount))

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        try:
            with self.conn.cursor().copy(self._copy) as copy:
                for row in rows:
                    copy.write_row(self.spec.row_values(row))
        except self.dest.psycopg.Error as exc:
            raise OperationalError(
                f"PostgreSQL {self.dest.label}, COPY into {self.spec.name}: "
                f"{_reason(exc, self.dest.url)}"
            ) from None

    def commit(self, mode: str, cursor: str | None, gone: Sequence[str] = ()) -> Counts:
        spec = self.spec
        sql = MergeSQL(spec, "_stage", lambda name: f"%({name})s")
        counts = Counts()
        try:
            self._run("SELECT pg_advisory_xact_lock(hashtext(%(table)s))", ["table"])
            self._run(ddl(spec, pg_type))
            if "published" in spec.names:  # dashboards ask the System Log for time ranges
                index = q(f"{spec.name[:50]}_published")
                self._run(f"CREATE INDEX IF NOT EXISTS {index} ON {q(spec.name)} (published)")
            if "eventType" in spec.names:  # each run looks up the deletions it recorded
                index = q(f"{spec.name[:50]}_event_type")
                self._run(
                    f'CREATE INDEX IF NOT EXISTS {index} ON {q(spec.name)} (_org, "eventType")'
                )
            have = dict(
                self.conn.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_name = %s AND table_schema = current_schema()",
                    [spec.name],
                ).fetchall()
            )
            check_columns(spec, have, pg_reported_type, self.params["resource"])
            for col, dtype in spec.columns:
                if col not in have:
                    self._run(f"ALTER TABLE {q(spec.name)} ADD COLUMN {q(col)} {pg_type(dtype)}")
            self._run(f"CREATE TEMP TABLE _stage ON COMMIT DROP AS {sql.dedupe('_stage_raw')}")
            if spec.key:
                # a temporary table has no statistics: without them the planner joins 40,000
                # staged rows to 40,000 landed ones by nested loop (minutes, not milliseconds)
                self._run(f"CREATE INDEX ON _stage ({q(spec.key)})")
            self._run("ANALYZE _stage")
            both = ("org", "ts")
            if not spec.key:  # nothing to match rows by: the org's rows are replaced
                self._run(sql.replace(), ["org"])
                counts.inserted = self._run(sql.insert(guard=False), both)
            else:
                if mode != "append":
                    counts.updated = self._run(sql.update(), both)
                counts.inserted = self._run(sql.insert(), both)
                if mode == "snapshot":
                    counts.deleted = self._run(sql.mark_deleted(), both)
                elif gone:
                    self.params["gone"] = list(gone)
                    counts.deleted = self._run(
                        sql.mark_gone("= ANY(%(gone)s)"), ["org", "ts", "gone"]
                    )
            self.params["cursor"] = cursor
            self._run(sql.save_cursor(), ["org", "resource", "cursor", "ts"])
            self.conn.commit()
        except BaseException:
            self.abort()
            raise
        return counts

    def abort(self) -> None:
        try:
            self.conn.rollback()
        except self.dest.psycopg.Error:
            pass
