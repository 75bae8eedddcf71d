"""The server: asyncio connections speaking the Postgres protocol, one engine per client.

A connection: SSLRequest → TLS (when configured; then required), the startup packet, SCRAM
(when a password is set), ParameterStatus and BackendKeyData, then simple and extended query
until Terminate. Statements run on a worker thread, so one client's fan-out never holds up
another's; a CancelRequest carrying a client's key cancels that client's session only.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from oktaql import __version__
from oktaql._settings import Settings
from oktaql.serve import _auth, _catalog, _cursors, _errors, _rewrite, _statements, _types
from oktaql.serve import _protocol as pg
from oktaql.serve._config import ServeConfig, check_config, tls_context
from oktaql.serve._engine import BATCH, Batches, ClientEngine, Outcome, Shared, StatementError

log = logging.getLogger("oktaql.serve")
T = TypeVar("T")

SERVER_VERSION = "16.0"


@dataclass
class _Portal:
    sql: str
    params: list[Any]
    formats: list[int] = field(default_factory=list)  # result formats (1: binary)
    # the columns a Describe of its statement answered, which its rows must match
    described: list[tuple[str, _types.PgType]] | None = None
    outcome: Outcome | None = None
    sent: int = 0
    cursor: bool = False  # DECLAREd: FETCH reads it; closed with its transaction
    hold: bool = False  # WITH HOLD: it outlives the transaction
    scroll: bool = False  # SCROLL: FETCH may move backward
    position: _cursors.Position | None = None  # a cursor's place in its rows


@dataclass
class _Client:
    process_id: int
    secret: int
    engine: ClientEngine | None = None
    statements: dict[str, tuple[str, list[int]]] = field(default_factory=dict)
    portals: dict[str, _Portal] = field(default_factory=dict)
    described: dict[str, list[tuple[str, _types.PgType]] | None] = field(default_factory=dict)
    transaction: bytes = b"I"


class Server:
    def __init__(self, settings: Settings, config: ServeConfig, *, dry_run: bool = False):
        check_config(config)
        from oktaql.session import Session

        self.settings = settings
        self.config = config
        self.tls = tls_context(config)
        self.verifier = _auth.ScramVerifier(config.password) if config.password else None
        probe = Session(settings)  # the provider, as every client's session loads it
        try:
            self.base_settings = _base_settings(self)
            catalog = _catalog.CatalogDatabase(probe.catalog, self.base_settings)
        finally:
            probe.close()
        self.shared = Shared(
            settings,
            catalog,
            _rewrite.macro_names(catalog.con),
            config.read_only,
            SERVER_VERSION,
            dry_run,
        )
        self.clients: dict[int, _Client] = {}
        self.pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=config.max_connections + 2, thread_name_prefix="oktaql-serve"
        )
        self._server: asyncio.Server | None = None

    async def start(self) -> asyncio.Server:
        self._server = await asyncio.start_server(
            self._connection, self.config.host, self.config.port
        )
        return self._server

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.shared.catalog.con.close()

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # --- a connection --------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client: _Client | None = None
        try:
            client = await self._open(reader, writer)
            if client is not None:
                await self._serve(client, reader, writer)
        except pg.ProtocolViolation as exc:  # it spoke something else: say so, then close
            with contextlib.suppress(ConnectionError, RuntimeError):
                await _fatal(writer, _errors.PROTOCOL_VIOLATION, f"protocol violation: {exc}")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass  # the client went away: nothing to answer
        except asyncio.CancelledError:
            pass  # the server is stopping
        except Exception:
            log.exception("connection failed")
        finally:
            if client is not None:
                self.clients.pop(client.process_id, None)
                if client.engine is not None:
                    engine = client.engine
                    engine.cancel()  # a statement still running stops sending
                    self.pool.submit(engine.close)  # not awaited: a stopping server cancels us
            writer.close()

    async def _open(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> _Client | None:
        startup = await pg.read_startup(reader)
        secure = False
        while startup.code in (pg.SSL_REQUEST, pg.GSSENC_REQUEST):
            if startup.code == pg.SSL_REQUEST and self.tls is not None and not secure:
                writer.write(b"S")
                await writer.drain()
                await writer.start_tls(self.tls)
                secure = True
            else:
                writer.write(b"N")
                await writer.drain()
            startup = await pg.read_startup(reader)
        if startup.code == pg.CANCEL_REQUEST:
            target = self.clients.get(startup.process_id)
            if target is not None and target.engine is not None:
                if secrets.compare_digest(str(target.secret), str(startup.secret)):
                    target.engine.cancel()
            return None
        if startup.code != pg.PROTOCOL_3:
            await _fatal(writer, _errors.PROTOCOL_VIOLATION, "unsupported frontend protocol")
            return None
        if self.tls is not None and not secure:
            await _fatal(
                writer,
                _errors.INVALID_AUTHORIZATION,
                "this server accepts TLS connections only: connect with sslmode=require",
            )
            return None
        if len(self.clients) >= self.config.max_connections:
            await _fatal(
                writer,
                _errors.TOO_MANY_CONNECTIONS,
                f"sorry, too many clients already: the server takes "
                f"{self.config.max_connections} connections (--max-connections)",
            )
            return None
        user = startup.params.get("user", "oktaql")
        if self.verifier is not None and not await self._authenticate(reader, writer, user):
            return None
        client = _Client(self._new_pid(), secrets.randbits(31))
        self.clients[client.process_id] = client  # counted from here: a slot is taken
        settings = dict(self.base_settings)
        settings["application_name"] = startup.params.get("application_name", "")
        settings["session_authorization"] = user
        facts = _rewrite.ClientFacts(
            startup.params.get("database") or user,
            user,
            f"PostgreSQL {SERVER_VERSION} (oktaql {__version__})",
            client.process_id,
            settings,
        )
        try:
            client.engine = await self._in_thread(ClientEngine, self.shared, facts, settings)
        except Exception as exc:
            self.clients.pop(client.process_id, None)
            await _fatal(writer, _errors.INTERNAL, f"cannot open a session: {exc}")
            return None
        writer.write(pg.auth_ok())
        for name in _REPORTED:
            writer.write(pg.parameter_status(name, settings.get(name.lower(), "")))
        writer.write(pg.backend_key(client.process_id, client.secret))
        writer.write(pg.ready(b"I"))
        await writer.drain()
        return client

    def _new_pid(self) -> int:
        while True:
            pid = secrets.randbelow(2**31 - 1000) + 1000
            if pid not in self.clients:
                return pid

    async def _authenticate(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, user: str
    ) -> bool:
        assert self.verifier is not None
        exchange = self.verifier.exchange()
        writer.write(pg.auth_sasl([_auth.MECHANISM]))
        await writer.drain()
        try:
            kind, data = await pg.read_message(reader)
            p = pg.Payload(data)
            if kind != b"p" or p.cstring() != _auth.MECHANISM:
                raise _auth.AuthFailed("expected a SCRAM-SHA-256 response")
            first = p.raw(p.int32())
            writer.write(pg.auth_sasl_continue(exchange.server_first(first)))
            await writer.drain()
            kind, data = await pg.read_message(reader)
            if kind != b"p":
                raise _auth.AuthFailed("expected a SCRAM-SHA-256 response")
            final = exchange.server_final(data)
        except _auth.AuthFailed as exc:
            log.info("authentication of %r failed: %s", user, exc)
            await _fatal(
                writer,
                _errors.INVALID_PASSWORD,
                f'password authentication failed for user "{user}"',
            )
            return False
        writer.write(pg.auth_sasl_final(final))
        return True

    # --- messages ------------------------------------------------------------------------------

    async def _serve(
        self, client: _Client, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        failed = False  # an extended-query error: skip to Sync
        while True:
            kind, data = await pg.read_message(reader)
            if kind == b"X":
                return
            if kind == b"Q":
                await self._simple(client, pg.Payload(data).cstring(), writer)
                failed = False
                continue
            if kind == b"S":
                failed = False
                writer.write(pg.ready(client.transaction))
                await writer.drain()
                continue
            if kind == b"H":
                await writer.drain()
                continue
            if failed:
                continue
            try:
                await self._extended(client, kind, pg.Payload(data), writer)
            except StatementError as exc:
                failed = True
                writer.write(_error_message(exc))
                await writer.drain()

    async def _simple(self, client: _Client, sql: str, writer: asyncio.StreamWriter) -> None:
        from oktaql.parser import split_statements

        parts = split_statements(sql)
        if not parts:
            writer.write(pg.EMPTY_QUERY)
        end = 0
        for part in parts:
            start = sql.find(part, end)  # where it begins, for an error's position
            start = end if start < 0 else start
            end = start + len(part)
            try:
                outcome = await self._run(client, part, [])
                writer.write(pg.row_description(outcome.fields()) if outcome.columns else b"")
                await self._send_rows(outcome, 0, writer)
            except StatementError as exc:
                writer.write(_error_message(exc, start))
                break
        writer.write(pg.ready(client.transaction))
        await writer.drain()

    async def _run(self, client: _Client, sql: str, params: list[Any]) -> Outcome:
        assert client.engine is not None
        command = _cursors.parse(sql)
        if command is not None:
            return await self._cursor(client, command, params)
        outcome = await self._in_thread(client.engine.run, sql, params)
        if outcome.transaction is not None:
            client.transaction = outcome.transaction
            if outcome.transaction == b"I":  # COMMIT, ROLLBACK: its cursors are gone
                for name in [n for n, p in client.portals.items() if p.cursor and not p.hold]:
                    await self._close_portal(client, name)
        return outcome

    async def _cursor(
        self, client: _Client, command: _cursors.Declare | _cursors.Fetch | _cursors.Close,
        params: list[Any],
    ) -> Outcome:  # fmt: skip
        """DECLARE runs the query and keeps its result as a portal; FETCH answers its next
        rows (read only as far as they are fetched); CLOSE drops it."""
        if isinstance(command, _cursors.Declare):
            if command.name in client.portals:
                raise StatementError("42P03", f'cursor "{command.name}" already exists')
            outcome = await self._run(client, command.query, params)
            if outcome.columns is None:
                await self._in_thread(outcome.close)
                raise StatementError(
                    "42P11", "DECLARE CURSOR: the query must be a SELECT (it answers no rows)"
                )
            client.portals[command.name] = _Portal(
                command.query, params, outcome=outcome, cursor=True, hold=command.hold,
                scroll=command.scroll,
            )  # fmt: skip
            return Outcome(None, tag="DECLARE CURSOR")
        if isinstance(command, _cursors.Close):
            names = [command.name] if command.name is not None else [
                n for n, p in client.portals.items() if p.cursor
            ]  # fmt: skip
            for name in names:
                if name not in client.portals:
                    raise StatementError("34000", f'cursor "{name}" does not exist')
                await self._close_portal(client, name)
            return Outcome(None, tag="CLOSE CURSOR" if command.name is not None else "CLOSE ALL")
        found = client.portals.get(command.name)
        if found is None or not found.cursor:
            raise StatementError("34000", f'cursor "{command.name}" does not exist')
        if found.position is None:
            if found.outcome is None and found.sent == 0:
                found.outcome = await self._portal_run(client, found)
            rows = iter(()) if found.outcome is None else found.outcome.rows
            found.position = _cursors.Position(rows, found.scroll)
        source = found.outcome
        columns = source.columns if source is not None else None
        if source is not None and isinstance(source.rows, Batches):  # read no further than asked
            count = command.count if command.direction in ("forward", "relative") else None
            source.rows.size = BATCH if count is None else max(1, min(BATCH, abs(count)))
        position = found.position
        answer = await self._in_thread(
            position.fetch, command.direction, command.count, command.move
        )
        if isinstance(answer, int):
            return Outcome(None, tag=f"MOVE {answer}")
        return Outcome(columns, iter(answer), tag="FETCH")

    async def _close_portal(self, client: _Client, name: str) -> None:
        old = client.portals.pop(name, None)
        if old is not None and old.outcome is not None:
            await self._in_thread(old.outcome.close)

    async def _send_rows(
        self, outcome: Outcome, max_rows: int, writer: asyncio.StreamWriter,
        portal: _Portal | None = None,
    ) -> None:  # fmt: skip
        """Rows until done (CommandComplete) or ``max_rows`` sent (PortalSuspended)."""
        total = portal.sent if portal is not None else 0
        this = 0
        try:
            while True:
                want = BATCH if max_rows <= 0 else min(BATCH, max_rows - this)
                rows, done = await self._in_thread(outcome.encode, want)
                for cells in rows:
                    writer.write(pg.data_row(cells))
                this += len(rows)
                total += len(rows)
                await writer.drain()
                if done:
                    writer.write(pg.command_complete(outcome.complete(total)))
                    await self._in_thread(outcome.close)
                    if portal is not None:
                        portal.outcome, portal.sent = None, -1  # exhausted
                    return
                if portal is not None and max_rows > 0 and this >= max_rows:
                    portal.sent = total
                    writer.write(pg.PORTAL_SUSPENDED)
                    return
        except StatementError:
            await self._in_thread(outcome.close)
            if portal is not None:
                portal.outcome, portal.sent = None, -1
            raise

    async def _portal_run(self, client: _Client, portal: _Portal) -> Outcome:
        outcome = await self._run(client, portal.sql, portal.params)
        outcome.formats = portal.formats
        described = portal.described
        if described is not None and outcome.columns is not None:
            got = [(n, k.oid) for n, k in outcome.columns]
            if got != [(n, k.oid) for n, k in described]:
                await self._in_thread(outcome.close)
                raise StatementError(
                    _errors.FEATURE_NOT_SUPPORTED,
                    f"the statement's result columns {got} differ from those its Describe "
                    f"answered {[(n, k.oid) for n, k in described]}: describe the portal instead",
                )
        return outcome

    async def _extended(
        self, client: _Client, kind: bytes, p: pg.Payload, writer: asyncio.StreamWriter
    ) -> None:
        if kind == b"P":
            name, sql = p.cstring(), p.cstring()
            oids = [p.int32() for _ in range(p.int16())]
            count = max(len(oids), _statements.parameter_count(sql))
            oids += [0] * (count - len(oids))
            client.statements[name] = (sql, oids)
            client.described.pop(name, None)
            writer.write(pg.PARSE_COMPLETE)
        elif kind == b"B":
            portal, stmt = p.cstring(), p.cstring()
            if stmt not in client.statements:
                raise StatementError("26000", f"prepared statement {stmt!r} does not exist")
            sql, oids = client.statements[stmt]
            formats = [p.int16() for _ in range(p.int16())]
            values: list[Any] = []
            for i in range(p.int16()):
                size = p.int32()
                data = None if size < 0 else p.raw(size)
                fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
                oid = oids[i] if i < len(oids) else 0
                try:
                    values.append(_types.parameter_value(data, oid, fmt == 1))
                except Exception as exc:
                    raise StatementError("22P02", str(exc)) from None
            results = [p.int16() for _ in range(p.int16())]
            old = client.portals.pop(portal, None)
            if old is not None and old.outcome is not None:
                await self._in_thread(old.outcome.close)
            client.portals[portal] = _Portal(sql, values, results, client.described.get(stmt))
            writer.write(pg.BIND_COMPLETE)
        elif kind == b"D":
            what, name = p.byte(), p.cstring()
            if what == b"S":
                if name not in client.statements:
                    raise StatementError("26000", f"prepared statement {name!r} does not exist")
                sql, oids = client.statements[name]
                writer.write(pg.parameter_description([o or _types.TEXT.oid for o in oids]))
                assert client.engine is not None
                fetch = _cursors.parse(sql)
                cursor = None
                if isinstance(fetch, _cursors.Fetch) and not fetch.move:
                    cursor = client.portals.get(fetch.name)
                if cursor is not None and cursor.outcome is not None:
                    cols = cursor.outcome.columns  # FETCH answers its cursor's columns
                else:
                    cols = await self._in_thread(client.engine.describe, sql, len(oids))
                client.described[name] = cols
                shape = Outcome(cols)
                writer.write(pg.row_description(shape.fields()) if cols else pg.NO_DATA)
            else:
                found = client.portals.get(name)
                if found is None:
                    raise StatementError("34000", f"portal {name!r} does not exist")
                if found.outcome is None and found.sent == 0:
                    found.outcome = await self._portal_run(client, found)
                out = found.outcome
                writer.write(
                    pg.row_description(out.fields()) if out and out.columns else pg.NO_DATA
                )
        elif kind == b"E":
            name, max_rows = p.cstring(), p.int32()
            found = client.portals.get(name)
            if found is None:
                raise StatementError("34000", f"portal {name!r} does not exist")
            if found.sent < 0:
                writer.write(pg.command_complete("SELECT 0"))
                return
            if found.outcome is None:
                found.outcome = await self._portal_run(client, found)
            await self._send_rows(found.outcome, max_rows, writer, found)
        elif kind == b"C":
            what, name = p.byte(), p.cstring()
            if what == b"S":
                client.statements.pop(name, None)
                client.described.pop(name, None)
            else:
                old = client.portals.pop(name, None)
                if old is not None and old.outcome is not None:
                    await self._in_thread(old.outcome.close)
            writer.write(pg.CLOSE_COMPLETE)
        else:
            raise StatementError(_errors.PROTOCOL_VIOLATION, f"unknown message type {kind!r}")


# what a server reports at startup (the client's copy of them: psql and drivers read these)
_REPORTED = (
    "server_version",
    "server_encoding",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "integer_datetimes",
    "standard_conforming_strings",
    "is_superuser",
    "session_authorization",
    "application_name",
    "default_transaction_read_only",
    "in_hot_standby",
)


def _base_settings(server: Server) -> dict[str, str]:
    from oktaql._loading import session_zone

    major, _, minor = SERVER_VERSION.partition(".")
    return {
        "server_version": f"{SERVER_VERSION} (oktaql {__version__})",
        "server_version_num": str(int(major) * 10000 + int(minor)),
        "server_encoding": "UTF8",
        "client_encoding": "UTF8",
        "datestyle": "ISO, MDY",
        "intervalstyle": "postgres",
        "timezone": session_zone(),
        "integer_datetimes": "on",
        "standard_conforming_strings": "on",
        "is_superuser": "off",
        "session_authorization": "oktaql",
        "application_name": "",
        "default_transaction_read_only": "on" if server.config.read_only else "off",
        "transaction_read_only": "on" if server.config.read_only else "off",
        "in_hot_standby": "off",
        "transaction_isolation": "read committed",
        "max_identifier_length": "63",
        "search_path": '"$user", public',
        "lc_collate": "C",
        "lc_ctype": "C",
        "max_connections": str(server.config.max_connections),
    }


def _error_message(exc: StatementError, start: int = 0) -> bytes:
    """``start``: where the statement begins in the query string it came in (simple query)."""
    position = exc.position + start if exc.position is not None else None
    return pg.error_response(exc.sqlstate, exc.message, hint=exc.hint, position=position)


async def _fatal(writer: asyncio.StreamWriter, code: str, text: str) -> None:
    writer.write(pg.error_response(code, text, severity="FATAL"))
    await writer.drain()


__all__ = ["SERVER_VERSION", "Server"]
