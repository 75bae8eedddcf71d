"""Local state that outlives a statement: the DuckDB file, views, materialized views, tables.

User tables live in DuckDB as they are. A view over provider resources is stored as its SQL
(DuckDB could not plan API calls) and inlined into each query that names it, so it is planned
like its body every time; an outer ``WHERE`` equality on a parameter the body leaves open is
pushed into the body. A materialized view is a DuckDB table plus its defining SQL, refreshed on
demand.

A session's own work (API rows loaded for DuckDB, constant folding) runs in a private in-memory
DuckDB; scratch tables live in its attached ``oktaql_scratch``. The file is attached to it only
while a statement reads or writes local objects, read-only when it only reads, and detached
right after (``LocalFile``): DuckDB lets one process write a file or several processes read it,
so plain API queries never wait for each other, and two readers never do either.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from oktaql.errors import ConfigError, OperationalError, ProgrammingError

if TYPE_CHECKING:
    import duckdb

META_SCHEMA = "oktaql_meta"
SCRATCH = "oktaql_scratch"  # the in-memory database of a statement's scratch tables
LOCAL_CATALOG = "oktaql_local"  # the file's name while it is attached
LOCK_WAIT_SECONDS = 5.0
ANNOUNCE_AFTER_SECONDS = 0.3  # a lock held for a moment is not worth a message


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "oktaql"


def default_db_path() -> Path:
    return data_dir() / "oktaql.duckdb"


def is_memory(path: str | os.PathLike[str] | None) -> bool:
    return path is None or str(path) == ":memory:"


def open_database(path: str | os.PathLike[str] | None = None) -> duckdb.DuckDBPyConnection:
    """A session's private in-memory DuckDB, with its scratch database attached. With ``path``
    None or ``:memory:`` the local objects live in it too (and vanish with it); a file is never
    opened here (see ``LocalFile``)."""
    import duckdb

    from oktaql._loading import ZONE_VARIABLE, session_zone

    duck = duckdb.connect(":memory:")
    # GLOBAL: a cursor (each query's) starts from the global settings, not this connection's;
    # a session-only SET left every query in the machine's zone (Okta's times are UTC). An
    # attached file shares the instance's settings, so this holds for it too.
    zone = session_zone()
    try:
        duck.execute("SET GLOBAL TimeZone = '" + zone.replace("'", "''") + "'")
    except duckdb.Error as exc:
        duck.close()
        raise ConfigError(f"{ZONE_VARIABLE}={zone!r}: DuckDB does not know it ({exc})") from None
    duck.execute(f"ATTACH ':memory:' AS {SCRATCH}")
    if is_memory(path):
        _create_meta(duck)
    return duck


def _create_meta(duck: duckdb.DuckDBPyConnection) -> None:
    duck.execute(f"CREATE SCHEMA IF NOT EXISTS {META_SCHEMA}")
    duck.execute(
        f"CREATE TABLE IF NOT EXISTS {META_SCHEMA}.views ("
        "name VARCHAR PRIMARY KEY, sql VARCHAR NOT NULL, materialized BOOLEAN NOT NULL)"
    )


# DuckDB refuses to attach one file twice in a process, and closing one handle of a file drops
# the process's OS lock on it for every other handle (POSIX locks are per process): the
# sessions of one process take turns with a file
_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def _turn(path: str) -> threading.Lock:
    with _turns_guard:
        return _turns.setdefault(path, threading.Lock())


Attachment = AbstractContextManager[bool]


def attachment(file: LocalFile | None, write: bool) -> Attachment:
    """``file`` attached for a block; without a file the local objects are always there."""
    return nullcontext(True) if file is None else file.attached(write)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class LocalFile:
    """The database file of a session, attached to its private DuckDB while a statement needs
    it. ``attached`` nests: an inner block shares the outer attachment (and upgrades it to
    read-write when it writes)."""

    def __init__(
        self,
        duck: duckdb.DuckDBPyConnection,
        path: str | os.PathLike[str],
        notify: Callable[[str], None] = _stderr,
    ):
        self.duck = duck
        self.path = Path(path).expanduser().absolute()
        self._notify = notify
        self._turn = _turn(os.path.realpath(self.path))  # one file, however it is named
        self._depth = 0
        self._mode: str | None = None  # None (nothing attached), "read" or "write"
        self._inside = threading.RLock()

    @property
    def is_attached(self) -> bool:
        return self._mode is not None

    @contextmanager
    def attached(self, write: bool = False) -> Iterator[bool]:
        """Within the block unqualified names resolve in the file; yields whether it is
        attached (reading a file that does not exist yet attaches nothing: it has no objects)."""
        # one thread at a time: the blocks of a statement nest, another thread's wait (the
        # shell's next statement while a cancelled one still unwinds)
        if not self._inside.acquire(timeout=LOCK_WAIT_SECONDS):
            raise OperationalError(_busy_message(self.path, write, in_process=True))
        try:
            if self._depth == 0 or (write and self._mode != "write"):
                self._detach()
                self._attach(write)
            self._depth += 1
            try:
                yield self.is_attached
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._detach()
        finally:
            self._inside.release()

    def close(self) -> None:
        """Detach whatever is attached (a session closed mid-statement)."""
        self._depth = 0
        self._detach()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of the private DuckDB that resolves names as the session does now (a
        cursor starts in the default database, not in the one ``USE`` chose)."""
        cur = self.duck.cursor()
        if self.is_attached:
            cur.execute(f"USE {LOCAL_CATALOG}")
        return cur

    def _attach(self, write: bool) -> None:
        import duckdb

        if not write and not self.path.exists():
            return  # no file yet: no objects to read, and reading must not create one
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                where = f" ({exc.filename})" if exc.filename else ""
                raise ConfigError(
                    f"cannot create the folder of database {self.path}: {exc.strerror}{where}; "
                    "choose another file with --db PATH (db= in Python)"
                ) from None
        busy: tuple[type[BaseException], ...] = (duckdb.IOException,) + (
            (duckdb.ResourceInUseException,) if hasattr(duckdb, "ResourceInUseException") else ()
        )
        quoted = str(self.path).replace("'", "''")
        sql = f"ATTACH '{quoted}' AS {LOCAL_CATALOG}" + ("" if write else " (READ_ONLY)")
        start = time.monotonic()
        announced = False
        in_process = False
        while True:
            if self._turn.acquire(timeout=0.1):
                try:
                    self.duck.execute(sql)
                except busy as exc:
                    self._turn.release()
                    text = str(exc).lower()
                    if "lock" not in text and "in use" not in text:
                        raise ConfigError(f"cannot open database {self.path}: {exc}") from None
                    in_process = "in use" in text  # DuckDB's own in-process check
                except duckdb.Error as exc:
                    self._turn.release()
                    raise ConfigError(f"cannot open database {self.path}: {exc}") from None
                except BaseException:  # Ctrl-C: the next statement must find the turn free
                    self._turn.release()
                    raise
                else:
                    self._mode = "write" if write else "read"
                    break
            else:
                in_process = True  # another session of this process has it
            waited = time.monotonic() - start
            if waited > LOCK_WAIT_SECONDS:
                raise OperationalError(_busy_message(self.path, write, in_process)) from None
            if not announced and waited > ANNOUNCE_AFTER_SECONDS:
                self._notify(f"waiting for {self.path}: " + _holder(write, in_process))
                announced = True
            time.sleep(0.1)
        try:
            self.duck.execute(f"USE {LOCAL_CATALOG}")
            if write:
                _create_meta(self.duck)
        except BaseException:
            self._detach()
            raise

    def _detach(self) -> None:
        if self._mode is None:
            return
        self._mode = None
        try:
            self.duck.execute("USE memory")
            self.duck.execute(f"DETACH {LOCAL_CATALOG}")
        finally:
            self._turn.release()


def _holder(write: bool, in_process: bool) -> str:
    who = "another connection in this process" if in_process else "another oktaql process"
    return f"{who} is {'reading or writing' if write else 'writing'} it"


def _busy_message(path: Path, write: bool, in_process: bool) -> str:
    return (
        f"database {path} is in use: {_holder(write, in_process)} (waited "
        f"{LOCK_WAIT_SECONDS:.0f} s); run the statement again once it is done, or keep this "
        "session's views and tables in another file (--db PATH, db= in Python; :memory: keeps "
        "nothing). Queries of provider tables alone never need the file"
    )


class ViewStore:
    """Stored views and materialized views, in ``oktaql_meta.views`` of the local database;
    each call attaches the file for itself unless a statement has it attached already."""

    def __init__(
        self,
        duck: duckdb.DuckDBPyConnection,
        attached: Callable[[bool], AbstractContextManager[bool]] = lambda _: nullcontext(True),
    ):
        self.duck = duck
        self._attached = attached

    def all(self) -> dict[str, tuple[str, bool]]:
        with self._attached(False) as present:
            if not present or not self._has_meta():
                return {}  # no file yet, or one no oktaql session has written
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
        with self._attached(True):
            existing = self.get(key)
            if existing is not None and not replace:
                kind = "materialized view" if existing[1] else "view"
                raise ProgrammingError(
                    f"{kind} {name} already exists: use CREATE OR REPLACE, or DROP it first"
                )
            if existing is None and check_table and self.is_table(key):
                raise ProgrammingError(
                    f"a table named {name} already exists: choose another view name"
                )
            self.duck.execute(f"DELETE FROM {META_SCHEMA}.views WHERE name = ?", [key])
            self.duck.execute(
                f"INSERT INTO {META_SCHEMA}.views VALUES (?, ?, ?)", [key, sql, materialized]
            )

    def drop(self, name: str, materialized: bool, if_exists: bool) -> bool:
        with self._attached(True):
            existing = self.get(name)
            if existing is None or existing[1] != materialized:
                if if_exists:
                    return False
                kind = "materialized view" if materialized else "view"
                raise ProgrammingError(f"no {kind} named {name}")
            self.duck.execute(f"DELETE FROM {META_SCHEMA}.views WHERE name = ?", [name.lower()])
        return True

    def is_table(self, name: str) -> bool:
        with self._attached(False) as present:
            if not present:
                return False
            row = self.duck.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE lower(table_name) = ? "
                "AND schema_name = 'main' AND database_name = current_database()",
                [name.lower()],
            ).fetchone()
        return bool(row and row[0])

    def _has_meta(self) -> bool:
        row = self.duck.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = ? AND table_name = 'views'",
            [META_SCHEMA],
        ).fetchone()
        return bool(row and row[0])
