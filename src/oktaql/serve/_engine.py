"""One client's statements, run on a worker thread: session commands answered here, catalog
queries in the shared catalog DuckDB, everything else by the client's own oktaql session.

Nothing here touches the socket: :meth:`ClientEngine.run` returns an :class:`Outcome` whose
rows are read in batches as the server sends them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oktaql import errors
from oktaql.serve import _catalog, _errors, _rewrite, _statements, _types
from oktaql.serve._protocol import Field
from oktaql.serve._types import PgType

if TYPE_CHECKING:
    from oktaql._settings import Settings
    from oktaql.dbapi import Connection

log = logging.getLogger("oktaql.serve")

BATCH = 1000  # rows read (and encoded) per trip to the worker thread


class StatementError(Exception):
    """What the client is told: SQLSTATE and message."""

    def __init__(
        self, sqlstate: str, message: str, hint: str | None = None, position: int | None = None
    ):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message
        self.hint = hint
        self.position = position  # 1-based, in characters of the statement the client sent


@dataclass
class Outcome:
    """A statement's answer: its columns (None: a command without rows), its rows to read,
    its command tag, and the transaction status it leaves."""

    columns: list[tuple[str, PgType]] | None
    rows: Iterator[tuple[Any, ...]] = field(default_factory=lambda: iter(()))
    tag: str = "SELECT"
    transaction: bytes | None = None  # b"T" after BEGIN, b"I" after COMMIT
    sets: tuple[str, str] | None = None
    close: Callable[[], None] = lambda: None

    formats: list[int] = field(default_factory=list)  # Bind's result formats (1: binary)

    def column_formats(self) -> list[int]:
        n = len(self.columns or [])
        if len(self.formats) == 1:
            return self.formats * n
        return self.formats if len(self.formats) == n else [0] * n

    def fields(self) -> list[Field]:
        return [
            Field(name, kind.oid, kind.size, fmt=f)
            for (name, kind), f in zip(self.columns or [], self.column_formats(), strict=True)
        ]

    def encode(self, limit: int) -> tuple[list[list[bytes | None]], bool]:
        """Up to ``limit`` rows in the formats asked for, and whether the rows are exhausted."""
        coders = [
            (_types.binary_value if f == 1 else _types.text_value, k)
            for (_, k), f in zip(self.columns or [], self.column_formats(), strict=True)
        ]
        out: list[list[bytes | None]] = []
        try:
            for row in self.rows:
                out.append([code(v, k) for v, (code, k) in zip(row, coders, strict=True)])
                if len(out) >= limit:
                    return out, False
        except StatementError:
            raise
        except Exception as exc:  # a value we cannot encode, a bug of ours: an error, not a drop
            log.exception("rows failed")
            raise StatementError(_errors.INTERNAL, f"internal error: {exc}") from None
        return out, True

    def complete(self, count: int) -> str:
        if self.tag in ("SELECT", "FETCH"):
            return f"{self.tag} {count}"
        return self.tag


@dataclass(frozen=True)
class Shared:
    """What every client of one server shares: settings, the catalog, the rules."""

    settings: Settings
    catalog: _catalog.CatalogDatabase
    macros: set[str]
    read_only: bool
    server_version: str
    dry_run: bool = False  # every oktaql statement runs as EXPLAIN: nothing is sent


class ClientEngine:
    def __init__(self, shared: Shared, facts: _rewrite.ClientFacts, settings: dict[str, str]):
        from oktaql.dbapi import Connection
        from oktaql.session import Session

        self.shared = shared
        self.facts = facts
        self.settings = settings  # the client's SET values, what SHOW answers
        self.conn: Connection = Connection(Session(shared.settings))
        self._cancelled = threading.Event()
        confine(self.conn.session.duck, shared.settings.db)

    # --- cancel (from the event loop's thread) ------------------------------------------------

    def cancel(self) -> None:
        self._cancelled.set()
        self.conn.session.cancel()

    def close(self) -> None:
        self.conn.close()

    # --- running --------------------------------------------------------------------------------

    def run(self, sql: str, params: list[Any]) -> Outcome:
        """The statement's outcome; any failure is a :class:`StatementError` (a bug of ours
        too: the client gets an error, never a dropped connection)."""
        try:
            return self._run(sql, params)
        except StatementError:
            raise
        except Exception as exc:
            log.exception("statement failed")
            raise StatementError(_errors.INTERNAL, f"internal error: {exc}") from None

    def _run(self, sql: str, params: list[Any]) -> Outcome:
        original = sql
        if self._cancelled.is_set():  # a cancel that came between statements is spent
            self._cancelled.clear()
            self.conn.session.resume()
        command = _statements.session_command(sql, self.settings)
        if command is not None:
            return self._command(command)
        sql = _statements.qualify(sql, self.shared.catalog.qualified)
        tree = _statements.parse_postgres(sql)
        if tree is not None and _rewrite.is_catalog_query(
            tree, self.shared.catalog.providers, self.shared.macros
        ):
            return self._catalog_query(tree, params)
        return self._oktaql(sql, params, tree, original)

    def describe(self, sql: str, count: int) -> list[tuple[str, PgType]] | None:
        """The columns ``sql`` will answer, without running it (Describe of a statement): a
        query runs in DuckDB over the catalog's empty tables of the same columns, its
        parameters NULL. None: no rows, or not known until it runs."""
        try:
            return self._describe(sql, count)
        except Exception:
            log.exception("describe failed")
            return None

    def _describe(self, sql: str, count: int) -> list[tuple[str, PgType]] | None:
        import duckdb

        command = _statements.session_command(sql, self.settings)
        if command is not None:
            if command.shows is None:
                return None
            names, _ = _statements.show_rows(command.shows, self.settings)
            return [(n, _types.TEXT) for n in names]
        sql = _statements.qualify(sql, self.shared.catalog.qualified)
        tree = _statements.parse_postgres(sql)
        catalog = tree is not None and _rewrite.is_catalog_query(
            tree, self.shared.catalog.providers, self.shared.macros
        )
        query = _statements.first_word(sql) in ("select", "with", "values", "table")
        if query and not catalog and not self.shared.dry_run:
            # a query only: planning an INSERT ... SELECT reads the SELECT's rows
            planned = self._planned_columns(sql, count)
            if planned is not None:
                return planned
        if not isinstance(tree, exp.Query) or self.shared.dry_run:
            return None
        if catalog:
            text = _rewrite.translate(tree, self.facts, self.shared.macros)
        elif any(sel.is_star for q in tree.find_all(exp.Select) for sel in q.selects):
            return None  # a * the plan could not answer: known once it runs
        else:
            bare = tree.transform(
                lambda n: exp.Null() if isinstance(n, exp.Parameter | exp.Placeholder) else n
            )
            text, count = str(bare.sql(dialect="duckdb")), 0
        cur = self.shared.catalog.cursor()
        try:
            cur.execute(f"SELECT * FROM ({text}) AS described LIMIT 0", [None] * count or None)
            return [(str(d[0]), _types.pg_type(str(d[1]))) for d in cur.description or []]
        except duckdb.Error:
            return None
        finally:
            cur.close()

    def _planned_columns(self, sql: str, count: int) -> list[tuple[str, PgType]] | None:
        """An oktaql query's columns from its plan, sending nothing: a streamed query's
        projection, or the local SQL run over empty tables of its scans' columns (each scan's
        resource columns and the parameters it records, as :class:`TableSink` makes them) in
        a transaction of the client's DuckDB that is rolled back. The parameters, unknown
        before Bind, are planned as ``'0'`` (or NULL): which method a scan uses depends on
        which parameters are bound, not on their values."""
        import duckdb

        from oktaql._loading import TableSink
        from oktaql.planning import FanOut, Fetch, RunLocal, Stream
        from oktaql.templates import PARAMETERS

        text, values = _statements.positional(sql, [None] * count)
        plan = None
        for dummy in ("0", None):
            try:
                variables = {PARAMETERS: [dummy] * len(values)} if values else None
                plan = self.conn.session.plan_sql(text, variables)
                break
            except errors.Error:
                continue
        if plan is None or not plan.steps:
            return None
        last = plan.steps[-1]
        if isinstance(last, Stream):
            p = last.projection
            return [(n, _types.pg_type(t)) for n, t in zip(p.names, p.types, strict=True)]
        if not isinstance(last, RunLocal) or last.statement:
            return None
        scans = [s.scan for s in plan.steps if isinstance(s, Fetch | FanOut)]
        if any(not scan.described for scan in scans):
            return None  # columns inferred from the rows: known once it runs
        cur = self.conn.session.cursor()
        try:
            cur.execute("BEGIN TRANSACTION")
            for scan in scans:
                TableSink(cur, scan.table_name, scan.columns, scan.extra, undescribed=False)
            cur.execute(f"SELECT * FROM ({last.sql}) AS described LIMIT 0")
            return [(str(d[0]), _types.pg_type(str(d[1]))) for d in cur.description or []]
        except duckdb.Error:
            return None
        finally:
            with contextlib.suppress(duckdb.Error):
                cur.execute("ROLLBACK")
            cur.close()

    def _command(self, command: _statements.Command) -> Outcome:
        status = {"BEGIN": b"T", "START TRANSACTION": b"T", "COMMIT": b"I", "ROLLBACK": b"I"}
        if command.shows is not None:
            names, rows = _statements.show_rows(command.shows, self.settings)
            return Outcome([(n, _types.TEXT) for n in names], iter(rows), "SHOW")
        if command.sets is not None:
            self.settings[command.sets[0]] = command.sets[1]
        return Outcome(
            None, tag=command.tag, transaction=status.get(command.tag), sets=command.sets
        )

    def _catalog_query(self, tree: exp.Expr, params: list[Any]) -> Outcome:
        import duckdb

        text = _rewrite.translate(tree, self.facts, self.shared.macros)
        cur = self.shared.catalog.cursor()
        try:
            cur.execute(text, params or None)
        except duckdb.Error as exc:
            names = _rewrite.empty_catalog_answer(tree)
            missing = isinstance(exc, duckdb.CatalogException | duckdb.BinderException)
            if not names or not missing:
                cur.close()
                raise StatementError(_errors.duck_sqlstate(exc), str(exc).split("\n")[0]) from None
            # it reads what oktaql has no catalog of: no rows, as Postgres would have none
            log.info("catalog query answered empty (%s): %s", str(exc).split("\n")[0], text)
            cur.close()
            return Outcome([(n, _types.TEXT) for n in names])
        cols = [(str(d[0]), _types.pg_type(str(d[1]))) for d in cur.description or []]
        return Outcome(cols, Batches(cur.fetchmany), close=cur.close)

    def _oktaql(self, sql: str, params: list[Any], tree: exp.Expr | None, original: str) -> Outcome:
        from oktaql._execute import Result  # noqa: F401 - loads the engine before the cursor
        from oktaql.templates import PARAMETERS

        cancelled = False
        try:
            text, values = _statements.positional(sql, params)
            if self.shared.dry_run and _statements.first_word(text) != "explain":
                text = "EXPLAIN " + text
            variables = {PARAMETERS: values} if values else None
            if self.shared.read_only:
                self._refuse_writes(text, variables)
            cur = self.conn.cursor()
            cur.execute(text, values or None)
        except StatementError:
            raise
        except errors.Error as exc:
            cancelled = self._cancelled.is_set()
            raise self._error(exc, tree, cancelled, original) from None
        except Exception as exc:  # a bug of ours: the client still gets an error, not a drop
            log.exception("statement failed")
            raise StatementError(_errors.INTERNAL, f"internal error: {exc}") from None
        finally:
            if cancelled:
                self._cancelled.clear()
                self.conn.session.resume()
        if cur.description is None:
            tag = _tag(sql, cur.rowcount)
            cur.close()
            return Outcome(None, tag=tag)
        cols = [(str(d[0]), _types.pg_type(str(d[1]))) for d in cur.description]
        verb = _statements.first_word(sql)
        tag = (
            "SELECT"
            if verb not in ("insert", "update", "replace", "delete")
            else _tag(sql, cur.rowcount)
        )
        return Outcome(cols, self._rows(cur), tag, close=cur.close)

    def _rows(self, cur: Any) -> Batches:
        return Batches(cur.fetchmany, lambda exc: self._error(exc, None, self._cancelled.is_set()))

    def _refuse_writes(self, sql: str, variables: dict[Any, Any] | None) -> None:
        """Read-only: a statement whose plan sends a write, or changes the server's database
        file, is refused before anything is sent."""
        from oktaql.planning import ManageRegistry, Send

        plan = self.conn.session.plan_sql(sql, variables)
        local = plan.local_state()
        if any(isinstance(s, ManageRegistry) and s.statement.action != "list" for s in plan.steps):
            raise StatementError(
                _errors.INSUFFICIENT_PRIVILEGE,
                "the server is read-only: REGISTRY PULL and REMOVE change its providers",
                hint="start oktaql serve with --allow-writes to allow it",
            )
        if plan.writes() or any(isinstance(s, Send) for s in plan.steps):
            raise StatementError(
                _errors.INSUFFICIENT_PRIVILEGE,
                "the server is read-only: this statement writes to Okta and was not sent",
                hint="start oktaql serve with --allow-writes to allow writes",
            )
        if local is not None and local[2]:
            raise StatementError(
                _errors.INSUFFICIENT_PRIVILEGE,
                "the server is read-only: this statement changes its database file",
                hint="start oktaql serve with --allow-writes to allow it",
            )

    def _error(
        self, exc: errors.Error, tree: exp.Expr | None, cancelled: bool, original: str = ""
    ) -> StatementError:
        from oktaql._report import report

        if cancelled:
            return StatementError(_errors.QUERY_CANCELED, "canceling statement due to user request")
        found = report(exc, "python")
        code = _errors.sqlstate(exc, undefined_table=self._names_unknown_table(tree))
        if isinstance(exc, errors.SQLSyntaxError) and exc.line and exc.col and exc.sql:
            # the client shows the spot itself (psql's LINE n: and caret): the message is the
            # first line, the spot a position in the text the client sent
            message = found.message.split("\n")[0].removesuffix(
                f" (line {exc.line}, column {exc.col})"
            )
            at = _statements.offset_of(exc.sql, exc.line, exc.col)
            position = _statements.position_in(original, exc.sql, at) if original else None
            return StatementError(code, message, found.hint, position)
        return StatementError(code, found.message, found.hint)

    def _names_unknown_table(self, tree: exp.Expr | None) -> bool:
        """The statement names a provider table the catalog has not, or a schema-qualified
        table outside any provider."""
        if tree is None:
            return False
        known = {(t.provider, t.schema, t.name) for t in self.shared.catalog.tables}
        providers = self.shared.catalog.providers
        for t in tree.find_all(exp.Table):
            cat, db = t.catalog.lower(), t.db.lower()
            if cat in providers and (cat, db, t.name) not in known:
                return True
            if db and not cat:
                return True
        return False


def confine(duck: Any, db: Any) -> None:
    """A client's SQL reaches DuckDB: it must not read or write the server's files (read_text,
    COPY, ATTACH, extensions). Only the database file (and its write-ahead log) stays within
    reach, and the setting is locked."""
    from pathlib import Path

    from oktaql.local import is_memory

    paths: list[str] = []
    if not is_memory(db) and db is not None:
        for p in {str(db), str(Path(db).expanduser()), str(Path(db).expanduser().resolve())}:
            paths += [p, p + ".wal", p + ".wal.checkpoint", p + ".tmp"]
    if paths:
        quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in sorted(set(paths)))
        duck.execute(f"SET GLOBAL allowed_paths = [{quoted}]")
    duck.execute("SET GLOBAL enable_external_access = false")
    duck.execute("SET GLOBAL lock_configuration = true")


class Batches(Iterator[tuple[Any, ...]]):
    """A cursor's rows, read ``size`` at a time: a server-side cursor's FETCH n sets ``size``
    to n, so a streamed listing reads no page beyond what the client fetched."""

    def __init__(
        self,
        fetch: Callable[[int], list[Any]],
        failed: Callable[[errors.Error], Exception] | None = None,
    ):
        self.fetch = fetch
        self.failed = failed  # how an oktaql error reaches the client
        self.size = BATCH
        self._rows: list[Any] = []
        self._at = 0

    def __next__(self) -> tuple[Any, ...]:
        if self._at >= len(self._rows):
            try:
                self._rows, self._at = self.fetch(self.size), 0
            except errors.Error as exc:
                if self.failed is None:
                    raise
                raise self.failed(exc) from None
            if not self._rows:
                raise StopIteration
        row: tuple[Any, ...] = self._rows[self._at]
        self._at += 1
        return row


def _tag(sql: str, rowcount: int) -> str:
    verb = _statements.first_word(sql)
    n = max(rowcount, 0)
    if verb == "insert":
        return f"INSERT 0 {n}"
    if verb in ("update", "delete"):
        return f"{verb.upper()} {n}"
    if verb == "replace":
        return f"UPDATE {n}"
    return verb.upper() or "OK"


__all__ = ["BATCH", "Batches", "ClientEngine", "Outcome", "Shared", "StatementError", "confine"]
