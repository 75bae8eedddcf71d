"""The interactive shell: ``oktaql shell`` (or ``python -m oktaql.shell``).

Statements may span lines and end with ``;``; lines starting with ``.`` are meta commands
(``.help`` lists them). Tab completes keywords, ``okta.<service>.<resource>`` names, the
columns and parameters of the resources the statement names, method names after
``EXEC okta.svc.res.`` and the meta commands. Ctrl-C at the prompt clears the line, Ctrl-C while
a statement runs cancels it (its HTTP requests are aborted), Ctrl-D exits.

History is kept in ``$XDG_DATA_HOME/oktaql/history`` (``~/.local/share/oktaql/history``) with
secrets redacted before they reach the file (:func:`oktaql._secrets.mask_sql`).

A DELETE, UPDATE, REPLACE or EXEC is planned first (``EXPLAIN``); when the plan has more than
one request, or one request acts on a whole collection (a DELETE whose path does not end with
an id, a non-GET method named ``*tokens_for*`` such as revoking every token of an app), the
planned requests are shown and only ``y``/``yes`` runs it.

The module imports only click and the standard library at import time, so the ``oktaql``
command starts fast; prompt_toolkit, pygments, httpx and the engine load when the shell starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

# secrets (history, .vars) are masked by the one rule of oktaql._secrets, as EXPLAIN's are
from oktaql import _report
from oktaql._options import ConnectionOptions, connected, connection_options, output_option
from oktaql._secrets import REDACTED, is_secret_name, mask_json, mask_sql
from oktaql.errors import ConfigError, Error
from oktaql.output import OUTPUT_FORMATS

if TYPE_CHECKING:
    from oktaql._settings import Settings

PROMPT = "oktaql> "

META_COMMANDS: dict[str, str] = {
    ".help": "this list",
    ".output": ".output table|text|json|jsonl|csv|markdown: the result format (alone: show it)",
    ".tables": "the session's own tables and views (SHOW TABLES)",
    ".inspect": ".inspect RESOURCE: the columns and parameters of okta.<service>.<resource>",
    ".vars": "list the template variables ({{ name }})",
    ".set": ".set NAME VALUE: set a template variable",
    ".unset": ".unset NAME: remove a template variable",
    ".show": ".show N: row N (1-based) of the last result in full, JSON pretty-printed",
    ".profile": ".profile [NAME]: show the profile, or switch to NAME (reconnects)",
    ".timer": ".timer on|off: print the elapsed time after each statement",
    ".quit": "leave the shell (also .exit, Ctrl-D)",
}

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "BETWEEN",
    "AS", "ON", "JOIN", "LEFT", "INNER", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET",
    "DISTINCT", "COUNT", "UNION ALL", "ASC", "DESC", "CASE", "WHEN", "THEN", "ELSE", "END",
    "INSERT INTO", "VALUES", "UPDATE", "REPLACE", "SET", "DELETE FROM", "RETURNING", "EXEC",
    "SHOW", "SERVICES", "RESOURCES", "METHODS", "PROVIDERS", "EXTENDED", "DESCRIBE",
    "TABLES", "VIEWS",
    "METHOD", "EXPLAIN", "CREATE VIEW", "CREATE MATERIALIZED VIEW", "DROP VIEW",
    "REFRESH MATERIALIZED VIEW", "WITH", "true", "false",
)  # fmt: skip

_DESTRUCTIVE = ("DELETE", "UPDATE", "REPLACE", "EXEC", "EXECUTE")

# --- statement text helpers ----------------------------------------------------------------------


def statement_complete(text: str) -> bool:
    """Whether the input is ready to run: a meta command, or SQL whose last significant
    character (outside strings and comments) is ``;``. Empty input counts as complete."""
    s = text.strip()
    if not s or s.startswith(".") or s.lower() in ("quit", "exit", "help", r"\q"):
        return True
    last = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while True:
                if j >= n:
                    return False  # inside an unterminated string
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            last = ch
            i = j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return False  # inside an unterminated comment
            i = j + 2
            continue
        if not ch.isspace():
            last = ch
        i += 1
    return last == ";"


def first_word(sql: str) -> str:
    """The statement's first keyword, upper case, comments skipped."""
    from oktaql.parser import blank_comments

    blanked, _ = blank_comments(sql)
    m = re.match(r"\s*([A-Za-z_]+)", blanked)
    return m.group(1).upper() if m else ""


def bulk_reasons(
    rows: Sequence[Sequence[Any]], method_path: Callable[[str, str], str | None]
) -> list[str]:
    """Why a write plan (``EXPLAIN`` rows: step, resource, operation, method, url, ...) needs
    a confirmation; empty when it does not. ``method_path(resource_id, method_name)`` gives the
    method's path template (None when unknown)."""
    calls = [r for r in rows if r[3]]  # rows with an HTTP method
    reasons: list[str] = []
    if len(calls) > 1:
        reasons.append(f"{len(calls)} requests")
    for r in calls:
        rid, name, verb = str(r[1] or ""), str(r[2] or ""), str(r[3]).upper()
        if "tokens_for" in name and verb != "GET":
            reasons.append(f"{name} acts on every token")
        elif verb == "DELETE":
            path = method_path(rid, name)
            if path is not None and not re.search(r"\{[^}/]+\}/?$", path):
                reasons.append(f"{name} deletes a whole collection (no id in its path)")
    return list(dict.fromkeys(reasons))


def default_history_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "oktaql" / "history"


def _is_json_like(value: Any) -> bool:
    return isinstance(value, dict | list)


def format_row(columns: Sequence[str], row: Sequence[Any]) -> str:
    """One row in full: ``column: value`` lines, JSON values pretty-printed, every value as
    the output formats show it (control characters made visible)."""
    from oktaql.output import json_text, scalar_text, visible

    width = max((len(c) for c in columns), default=0)
    lines = []
    for name, value in zip(columns, row):
        if _is_json_like(value):
            text = json_text(value, indent=2)  # JSON escapes its own control characters
            text = text.replace("\n", "\n" + " " * (width + 2))
        elif value is None:
            text = "NULL"
        else:
            text = visible(scalar_text(value))
        lines.append(f"{visible(name).ljust(width)}: {text}")
    return "\n".join(lines)


# --- completion ------------------------------------------------------------------------------


@dataclass
class Candidate:
    text: str
    start: int  # negative: how many characters before the cursor it replaces
    meta: str = ""


_WORD_BEFORE = re.compile(r"[@\w.$]*$")
_RESOURCE_REF = re.compile(
    r"(?i)\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?!\.)(?:\s+(?:AS\s+)?([A-Za-z_]\w*))?"
)
_EXEC_TARGET = re.compile(r"(?is)^\s*EXEC(?:UTE)?\s+([A-Za-z_]\w*\.\w+\.\w+\.\w+)")
_NOT_ALIAS = {
    "where", "join", "left", "inner", "on", "set", "group", "order", "limit", "and", "or",
    "union", "returning", "like", "having", "values", "select", "cross", "right", "full",
}  # fmt: skip


class CompletionSource:
    """What completion offers, from a provider registry (cached per name)."""

    def __init__(self, registry: Any, profile_names: Callable[[], list[str]] = list):
        self.registry = registry
        self.profile_names = profile_names
        self._res: dict[str, Any] = {}

    def providers(self) -> list[str]:
        try:
            return list(self.registry.provider_names())
        except Error:
            return []

    def services(self, provider: str) -> list[str]:
        try:
            return sorted(self.registry.provider(provider).services)
        except Error:
            return []

    def resources(self, provider: str, service: str) -> list[str]:
        try:
            svc = self.registry.provider(provider).services.get(service)
            return sorted(svc.resources) if svc is not None else []
        except Error:
            return []

    def resource(self, rid: str) -> Any | None:
        if rid in self._res:
            return self._res[rid]
        found = None
        parts = rid.split(".")
        if len(parts) == 3 and parts[0] in self.providers():
            try:
                svc = self.registry.provider(parts[0]).services.get(parts[1])
                found = svc.resources.get(parts[2]) if svc is not None else None
            except Error:
                found = None
        self._res[rid] = found
        return found


def _current_statement(text: str, cursor: int) -> tuple[str, str]:
    """(statement text up to the cursor, whole statement) around ``cursor``."""
    start = text.rfind(";", 0, cursor) + 1
    end = text.find(";", cursor)
    end = len(text) if end < 0 else end
    return text[start:cursor], text[start:end]


def _match(prefix: str, names: Iterable[str], start: int, meta: str) -> list[Candidate]:
    low = prefix.lower()
    return [Candidate(n, start, meta) for n in names if n.lower().startswith(low) and n != prefix]


def complete(text: str, cursor: int, source: CompletionSource) -> list[Candidate]:
    """Completion candidates for ``text`` with the cursor at ``cursor``."""
    before, stmt = _current_statement(text, cursor)
    if text.lstrip().startswith("."):
        return _complete_meta(text[:cursor], source)
    word = _WORD_BEFORE.search(before)
    prefix = word.group(0) if word else ""
    providers = source.providers()
    refs = [
        (f"{m.group(1)}.{m.group(2)}.{m.group(3)}", m.group(4))
        for m in _RESOURCE_REF.finditer(stmt)
        if m.group(1) in providers
    ]
    if "." in prefix:
        head, _, last = prefix.rpartition(".")
        parts = head.split(".")
        start = -len(last)
        if len(parts) == 1 and parts[0] in providers:
            return _match(last, source.services(parts[0]), start, "service")
        if len(parts) == 2 and parts[0] in providers:
            return _match(last, source.resources(parts[0], parts[1]), start, "resource")
        if len(parts) == 3 and parts[0] in providers:
            res = source.resource(head)
            return _match(last, sorted(res.methods), start, "method") if res is not None else []
        if len(parts) == 1:  # alias.column
            for rid, alias in refs:
                if alias and alias.lower() not in _NOT_ALIAS and alias == parts[0]:
                    res = source.resource(rid)
                    if res is not None:
                        return _match(last, [c.name for c in res.columns], start, "column")
        return []
    start = -len(prefix)
    exec_m = _EXEC_TARGET.match(stmt)
    out: list[Candidate] = []
    if exec_m:
        rid, _, mname = exec_m.group(1).rpartition(".")
        res = source.resource(rid)
        method = res.methods.get(mname) if res is not None else None
        if method is not None and (prefix.startswith("@") or not prefix):
            names = [f"@{p}" for p in method.params] + ["@@json"]
            out.extend(_match(prefix, names, start, "parameter"))
            if prefix.startswith("@"):
                return out
    if prefix.startswith("@"):
        return out
    seen: set[str] = set()
    for rid, _ in refs:
        res = source.resource(rid)
        if res is None:
            continue
        for c in res.columns:
            if c.name not in seen:
                seen.add(c.name)
                out.extend(_match(prefix, [c.name], start, f"column of {rid}"))
        for p in sorted(res.param_names):
            if p not in seen:
                seen.add(p)
                out.extend(_match(prefix, [p], start, f"parameter of {rid}"))
    out.extend(_match(prefix, providers, start, "provider"))
    lower = prefix[:1].islower()
    words = [k.lower() if lower else k for k in KEYWORDS]
    out.extend(_match(prefix, words, start, "keyword"))
    return out


def _complete_meta(before: str, source: CompletionSource) -> list[Candidate]:
    stripped = before.lstrip()
    if " " not in stripped:
        names = [*META_COMMANDS, ".exit"]
        return _match(stripped, names, -len(stripped), "command")
    cmd, _, arg = stripped.partition(" ")
    arg = arg.lstrip()
    if " " in arg:
        return []
    if cmd == ".output":
        return _match(arg, OUTPUT_FORMATS, -len(arg), "format")
    if cmd == ".timer":
        return _match(arg, ("on", "off"), -len(arg), "")
    if cmd == ".profile":
        try:
            names = source.profile_names()
        except Error:
            names = []
        return _match(arg, names, -len(arg), "profile")
    return []


# --- the shell ---------------------------------------------------------------------------------


@dataclass
class _Outcome:
    columns: list[str] | None = None
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    message: str | None = None
    error: BaseException | None = None


@cache
def _transport_class() -> type:
    """A transport whose requests can be cancelled from another thread: in-flight ones are
    aborted (their sockets shut down) and new ones refused until :meth:`reset`."""
    import httpcore
    import httpx

    class Cancelled(httpx.TransportError):
        pass

    class _Stream(httpcore.NetworkStream):
        def __init__(self, inner: Any, live: set[Any], lock: threading.Lock):
            self._inner, self._live, self._lock = inner, live, lock
            with lock:
                live.add(self)

        def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            return bytes(self._inner.read(max_bytes, timeout))

        def write(self, buffer: bytes, timeout: float | None = None) -> None:
            self._inner.write(buffer, timeout)

        def close(self) -> None:
            with self._lock:
                self._live.discard(self)
            self._inner.close()

        def start_tls(
            self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
        ) -> Any:
            with self._lock:
                self._live.discard(self)
            return _Stream(
                self._inner.start_tls(ssl_context, server_hostname, timeout), self._live, self._lock
            )

        def get_extra_info(self, info: str) -> Any:
            return self._inner.get_extra_info(info)

        def abort(self) -> None:
            sock = self._inner.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    class _Backend(httpcore.NetworkBackend):
        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()
            self.live: set[Any] = set()
            self.lock = threading.Lock()

        def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Any = None,
        ) -> Any:
            stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
            return _Stream(stream, self.live, self.lock)

        def connect_unix_socket(
            self, path: str, timeout: float | None = None, socket_options: Any = None
        ) -> Any:
            return _Stream(
                self._inner.connect_unix_socket(path, timeout, socket_options), self.live, self.lock
            )

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

        def abort_all(self) -> None:
            with self.lock:
                streams = list(self.live)
            for s in streams:
                s.abort()

    class CancellableTransport(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport | None = None):
            self._owned = inner is None
            self._backend: _Backend | None = None
            if inner is None:
                inner = httpx.HTTPTransport()
                pool = getattr(inner, "_pool", None)
                if pool is not None and hasattr(pool, "_network_backend"):
                    self._backend = _Backend()
                    pool._network_backend = self._backend
            self._inner = inner
            self.cancelled = threading.Event()

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if self.cancelled.is_set():
                raise Cancelled("cancelled", request=request)
            try:
                resp = self._inner.handle_request(request)
            except Exception:
                if self.cancelled.is_set():
                    raise Cancelled("cancelled", request=request) from None
                raise
            if self.cancelled.is_set():
                resp.close()
                raise Cancelled("cancelled", request=request)
            return resp

        def cancel(self) -> None:
            self.cancelled.set()
            if self._backend is not None:
                self._backend.abort_all()

        def reset(self) -> None:
            self.cancelled.clear()

        def close(self) -> None:
            pass  # closed by shutdown(): a session's client closing must not end the shell's pool

        def shutdown(self) -> None:
            self._inner.close()

    return CancellableTransport


class Shell:
    def __init__(
        self,
        connect_kwargs: Settings | Mapping[str, Any],
        output_format: str = "table",
        history_path: str | os.PathLike[str] | None = None,
        input: Any = None,
        output: Any = None,
        *,
        profile: str | None = None,
        stdout: IO[str] | None = None,
        width: int | None = None,
        dry_run: bool = False,
    ):
        if output_format not in OUTPUT_FORMATS:
            raise ConfigError(
                f"unknown output format {output_format!r}: {', '.join(OUTPUT_FORMATS)}"
            )
        # the options of oktaql.connect: every field of Settings (a reconnect keeps them all)
        self.kwargs = _as_options(connect_kwargs)
        self.dry_run = dry_run  # every statement runs as EXPLAIN
        self.fmt = output_format
        self.history_path = (
            Path(history_path) if history_path is not None else default_history_path()
        )
        self.pt_input = input
        self.pt_output = output
        self.out: IO[str] = stdout if stdout is not None else sys.stdout
        self.fixed_width = width
        self.profile = profile
        self.timer = False
        self.last: tuple[list[str], list[tuple[Any, ...]]] | None = None
        self.transport = _transport_class()(self.kwargs.pop("transport", None))
        self.conn: Any = None
        self._abandoned: threading.Thread | None = None
        self._source: CompletionSource | None = None
        self.confirm_session: Any = None

    # --- plumbing --------------------------------------------------------------------------

    def connect(self) -> None:
        import oktaql

        variables = dict(self.conn.session.variables) if self.conn is not None else None
        kwargs = dict(self.kwargs)
        if variables is not None:
            kwargs["variables"] = variables
        conn = oktaql.connect(transport=self.transport, **kwargs)
        if self.conn is not None:
            self._close_conn()
        self.conn = conn

    def _close_conn(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - a broken session must not keep the shell from going on
            pass

    def echo(self, text: str = "", err: bool = False) -> None:
        stream = sys.stderr if err and self.out is sys.stdout else self.out
        from oktaql.output import visible

        # everything the shell says may quote API data (an error, a message, a planned request):
        # its control characters are shown, never sent to the terminal
        stream.write(visible(text, lines=True) + "\n")
        stream.flush()

    def echo_cancelled(self) -> None:
        # the terminal echoed ^C where the cursor was: start a line of our own
        isatty = getattr(self.out, "isatty", lambda: False)
        self.echo(("\n" if isatty() else "") + "cancelled")

    def width(self) -> int:
        if self.fixed_width:
            return self.fixed_width
        return max(20, shutil.get_terminal_size().columns)

    def completion_source(self) -> CompletionSource:
        registry = self.conn.session.catalog.registry
        if self._source is None or self._source.registry is not registry:
            self._source = CompletionSource(registry, self.profile_names)
        return self._source

    def profile_names(self) -> list[str]:
        from oktaql.config import load_config

        return sorted(load_config().profiles)

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.application import get_app
        from prompt_toolkit.completion import CompleteEvent, Completer, Completion
        from prompt_toolkit.document import Document
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.lexers import PygmentsLexer
        from pygments.lexers.sql import SqlLexer

        self.connect()
        shell = self

        class _Completer(Completer):
            def get_completions(
                self, document: Document, complete_event: CompleteEvent
            ) -> Iterable[Completion]:
                for c in complete(
                    document.text, document.cursor_position, shell.completion_source()
                ):
                    yield Completion(c.text, start_position=c.start, display_meta=c.meta)

        class _History(FileHistory):
            def store_string(self, string: str) -> None:
                super().store_string(mask_sql(string))

        history: Any = None
        try:
            self.history_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.history_path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
            os.close(fd)
            history = _History(str(self.history_path))
        except OSError as exc:
            self.echo(f"warning: no history file ({self.history_path}: {exc.strerror})", err=True)

        def continuation(width: int, line_number: int, is_soft_wrap: int) -> str:
            return "...> ".rjust(width)

        session: Any = PromptSession(
            multiline=Condition(lambda: not statement_complete(get_app().current_buffer.text)),
            prompt_continuation=continuation,
            history=history,
            completer=_Completer(),
            complete_while_typing=False,
            lexer=PygmentsLexer(SqlLexer),
            input=self.pt_input,
            output=self.pt_output,
        )
        self.confirm_session = PromptSession(input=self.pt_input, output=self.pt_output)
        self.echo('oktaql shell: statements end with ";", .help lists the commands, Ctrl-D leaves')
        try:
            while True:
                try:
                    text = session.prompt(self.prompt())
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                try:
                    if not self.handle(text):
                        break
                except KeyboardInterrupt:
                    self.echo_cancelled()
        finally:
            self.close()
        return 0

    def prompt(self) -> str:
        return f"oktaql:{self.profile}> " if self.profile else PROMPT

    def close(self) -> None:
        if self.conn is not None:
            if self._abandoned is not None and self._abandoned.is_alive():
                self._abandoned.join(2.0)
            self._close_conn()
            self.conn = None
        self.transport.shutdown()

    def handle(self, text: str) -> bool:
        """Run one input; False to leave the shell."""
        stripped = text.strip()
        if not stripped:
            return True
        if stripped.startswith(".") or stripped.lower() in ("quit", "exit", "help", r"\q"):
            return self.meta(stripped)
        from oktaql import parser

        try:
            statements = parser.split_statements(text)
        except Error as exc:
            self.report(exc)
            return True
        for i, stmt in enumerate(statements):
            if not self.run_statement(stmt) and i + 1 < len(statements):
                left = len(statements) - i - 1
                self.echo(f"{left} statement(s) after it not run", err=True)
                break
        return True

    # --- statements -------------------------------------------------------------------------

    def report(self, exc: BaseException) -> None:
        """An error, as every oktaql surface shows it (oktaql._report)."""
        self.echo(_report.report(exc, "cli").lines(), err=True)

    def run_statement(self, sql: str, *, as_written: bool = False) -> bool:
        """Run one statement; ``as_written``: a meta command's own (no --dry-run EXPLAIN)."""
        self._settle_abandoned()
        started = time.monotonic()
        if self.dry_run and not as_written and first_word(sql) != "EXPLAIN":
            sql = "EXPLAIN " + sql  # --dry-run: plans only, so nothing to confirm
        elif first_word(sql) in _DESTRUCTIVE:
            go = self.confirm(sql)
            if go is None:
                self.echo_cancelled()
                return False
            if not go:
                self.echo("not run")
                return False
        outcome = self._in_worker(sql)
        if outcome is None:
            self.echo_cancelled()
            return False
        elapsed = time.monotonic() - started
        if outcome.error is not None:
            self.report(outcome.error)
            return False
        if outcome.columns is not None:
            self.last = (outcome.columns, outcome.rows)
            self.show_rows(outcome.columns, outcome.rows)
        if outcome.message:
            self.echo(outcome.message)
        if self.timer:
            self.echo(f"Time: {elapsed:.3f} s")
        return True

    def show_rows(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        from oktaql import output

        if self.fmt == "table":
            output.write("table", columns, rows, self.out, width=self.width())
            self.echo(f"{len(rows)} row{'s' if len(rows) != 1 else ''}")
        else:
            output.write(self.fmt, columns, rows, self.out, width=self.width())
            self.out.flush()

    def _in_worker(self, sql: str) -> _Outcome | None:
        """Run ``sql`` on a worker thread; None when Ctrl-C cancelled it."""
        conn = self.conn
        outcome = _Outcome()
        done = threading.Event()

        def work() -> None:
            try:
                cur = conn.cursor()
                try:
                    cur.execute(sql)
                    if cur.description is not None:
                        outcome.columns = [d[0] for d in cur.description]
                        outcome.rows = cur.fetchall()
                    outcome.message = cur.message
                finally:
                    cur.close()
            except BaseException as exc:  # noqa: BLE001 - reported by the shell
                outcome.error = exc if isinstance(exc, Error) else _unexpected(exc)
            finally:
                done.set()

        from oktaql._cancel import sigint_caught

        worker = threading.Thread(target=work, name="oktaql-statement", daemon=True)
        worker.start()
        # Ctrl-C is noted, never raised inside the wait's lock (that broke the lock once:
        # "release unlocked lock")
        with sigint_caught() as interrupted:
            try:
                while not done.wait(0.05):
                    if interrupted():
                        self._cancel(worker)
                        return None
            except KeyboardInterrupt:
                self._cancel(worker)
                return None
        return outcome

    def _cancel(self, worker: threading.Thread) -> None:
        """Stop a running statement: its session sends nothing more, abandons what is in
        flight and interrupts its DuckDB query (``Session.cancel``); the shell's own transport
        shuts its connections down."""
        self.conn.session.cancel()
        self.transport.cancel()
        self._abandoned = worker

    def _settle_abandoned(self) -> None:
        """Before the next statement: let a cancelled one finish unwinding (its requests are
        refused at once, never retried, so it ends quickly), then accept requests again."""
        worker = self._abandoned
        if worker is None:
            return
        if worker.is_alive():
            worker.join(0.5)
        if worker.is_alive():
            from oktaql._cancel import sigint_caught

            self.echo("waiting for the cancelled statement to stop (Ctrl-C: start a new session)")
            with sigint_caught() as interrupted:
                while worker.is_alive() and not interrupted():
                    worker.join(0.1)
            if worker.is_alive():
                self.echo("new session: views and tables of the old one are gone")
                old = self.conn
                self.transport = _transport_class()(None)
                self.conn = None
                import oktaql

                kwargs = dict(self.kwargs)
                kwargs["variables"] = dict(old.session.variables)
                self.conn = oktaql.connect(transport=self.transport, **kwargs)
                self._abandoned = None
                return
        self._abandoned = None
        self.transport.reset()
        self.conn.session.resume()

    def confirm(self, sql: str) -> bool | None:
        """Plan a write first; ask before a bulk one. True to run it, None when Ctrl-C
        cancelled the planning."""
        planned = self._in_worker("EXPLAIN " + sql)
        if planned is None:
            return None
        if planned.error is not None:
            return True  # let the statement itself report what is wrong
        rows = planned.rows
        catalog = self.conn.session.catalog

        def method_path(rid: str, name: str) -> str | None:
            try:
                return str(catalog.resource(rid).methods[name].path)
            except (Error, KeyError):
                return None

        reasons = bulk_reasons(rows, method_path)
        if not reasons:
            return True
        calls = [r for r in rows if r[3]]
        self.echo(f"this statement plans {len(calls)} request(s) ({'; '.join(reasons)}):")
        for r in calls[:20]:
            self.echo(f"  {r[2]}  {r[3]} {r[4]}")
        if len(calls) > 20:
            self.echo(f"  ... and {len(calls) - 20} more")
        try:
            answer = self.confirm_session.prompt("proceed? [y/N] ")
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    # --- meta commands ----------------------------------------------------------------------

    def meta(self, text: str) -> bool:
        text = text.rstrip(";").strip()
        cmd, _, arg = text.partition(" ")
        cmd = cmd.lower()
        arg = arg.strip()
        if cmd in ("quit", "exit", r"\q"):
            cmd = ".quit"
        if cmd == "help":
            cmd = ".help"
        if cmd in (".quit", ".exit"):
            return False
        if cmd == ".help":
            width = max(len(k) for k in META_COMMANDS)
            for name, what in META_COMMANDS.items():
                self.echo(f"{name.ljust(width)}  {what}")
            self.echo("Statements end with ';'. Tab completes; Ctrl-C cancels; Ctrl-D leaves.")
        elif cmd == ".output":
            if not arg:
                self.echo(self.fmt)
            elif arg in OUTPUT_FORMATS:
                self.fmt = arg
                self.echo(f"output: {arg}")
            else:
                self.echo(f"error: unknown format {arg!r}: {', '.join(OUTPUT_FORMATS)}", err=True)
        elif cmd == ".tables":
            self.run_statement("SHOW TABLES", as_written=True)
        elif cmd == ".inspect":
            self.meta_inspect(arg)
        elif cmd == ".vars":
            variables = self.conn.session.variables
            if not variables:
                self.echo("no variables (.set NAME VALUE sets one)")
            for name in sorted(variables):
                shown = (
                    REDACTED
                    if is_secret_name(name)
                    else json.dumps(mask_json(variables[name]), default=str)
                )
                self.echo(f"{name} = {shown}")
        elif cmd == ".set":
            name, _, value = arg.partition(" ")
            value = value.strip()
            if not name or not re.fullmatch(r"[A-Za-z_][\w-]*", name):
                self.echo("error: usage: .set NAME VALUE", err=True)
            else:
                if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                    value = value[1:-1]
                self.conn.session.variables[name] = value
                self.echo(f"{name} set")
        elif cmd == ".unset":
            if self.conn.session.variables.pop(arg, None) is None:
                self.echo(f"error: no variable {arg!r}", err=True)
            else:
                self.echo(f"{arg} unset")
        elif cmd == ".show":
            self.meta_show(arg)
        elif cmd == ".timer":
            if arg.lower() in ("on", "off"):
                self.timer = arg.lower() == "on"
                self.echo(f"timer {arg.lower()}")
            else:
                self.echo(f"timer is {'on' if self.timer else 'off'} (.timer on|off)")
        elif cmd == ".profile":
            self.meta_profile(arg)
        else:
            self.echo(f"error: unknown command {cmd!r}: .help lists them", err=True)
        return True

    def meta_inspect(self, arg: str) -> None:
        """A resource's columns (DESCRIBE), then the parameters its SELECT methods take."""
        if not re.fullmatch(r"[A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*", arg):
            self.echo("error: usage: .inspect okta.<service>.<resource>", err=True)
            return
        if not self.run_statement(f"DESCRIBE {arg}", as_written=True):
            return
        resource = self.conn.session.catalog.resource(arg)
        rows: list[tuple[Any, ...]] = []
        for method in resource.methods_for("select"):
            for param in method.params.values():
                if param.location != "server":
                    where = "required" if param.required else "optional"
                    rows.append((param.name, param.location, where, method.name))
        if rows:
            self.show_rows(["parameter", "in", "required", "method"], rows)
        else:
            self.echo(f"{arg} takes no parameters")

    def meta_show(self, arg: str) -> None:
        if self.last is None:
            self.echo("error: no result yet", err=True)
            return
        columns, rows = self.last
        try:
            n = int(arg)
        except ValueError:
            self.echo("error: usage: .show N (a row number of the last result)", err=True)
            return
        if not 1 <= n <= len(rows):
            self.echo(
                f"error: the last result has {len(rows)} row(s): give 1..{len(rows)}", err=True
            )
            return
        self.echo(format_row(columns, rows[n - 1]))

    def meta_profile(self, arg: str) -> None:
        from oktaql.config import load_config

        if not arg:
            url = self.conn.session.org_url or "(statements name the org with subdomain)"
            self.echo(f"profile: {self.profile or '-'}  org: {url}")
            return
        try:
            prof = load_config().resolve(arg)
            token = prof.token()
        except Error as exc:
            self.report(exc)
            return
        self._settle_abandoned()
        old_kwargs = self.kwargs
        self.kwargs = {**self.kwargs, "org_url": prof.org_url, "token": token}
        try:
            self.connect()
        except Error as exc:
            self.kwargs = old_kwargs
            self.report(exc)
            return
        self.profile = prof.name
        self.last = None
        self.echo(f"profile {prof.name}: {prof.org_url or '-'} (token from {prof.token_source})")


_unexpected = _report.unexpected


def _as_options(given: Settings | Mapping[str, Any]) -> dict[str, Any]:
    """``oktaql.connect``'s keywords from Settings (or a mapping of them)."""
    if isinstance(given, Mapping):
        return dict(given)
    import dataclasses

    return {f.name: getattr(given, f.name) for f in dataclasses.fields(given)}


def run_shell(
    connect_kwargs: Settings | Mapping[str, Any],
    output_format: str = "table",
    history_path: str | os.PathLike[str] | None = None,
    input: Any = None,
    output: Any = None,
    *,
    profile: str | None = None,
    stdout: IO[str] | None = None,
    dry_run: bool = False,
) -> int:
    """Run the shell until Ctrl-D or ``.quit``; returns the exit status (0).

    connect_kwargs: the session's Settings, or :func:`oktaql.connect`'s keywords
    (``registry``, ``org_url``, ``token``, ``variables``, ...). input/output are prompt_toolkit ``Input``/``Output`` objects (the
    terminal when None); results are written to ``stdout`` (``sys.stdout`` when None).
    """
    shell = Shell(
        connect_kwargs,
        output_format,
        history_path,
        input,
        output,
        profile=profile,
        stdout=stdout,
        dry_run=dry_run,
    )
    return shell.run()


# --- `oktaql shell` ------------------------------------------------------------------------------


@click.command("shell", context_settings={"help_option_names": ["-h", "--help"]})
@output_option
@connection_options
def shell_command(output: str, connection: ConnectionOptions) -> None:
    """Interactive SQL shell: multi-line statements, completion, history, Ctrl-C cancels.

    It takes exec's connection and engine options with exec's defaults, so the views and
    tables of exec's --db file are the shell's, and the other way round."""
    if not sys.stdin.isatty():
        _report.fail(
            "oktaql shell needs a terminal; to run SQL from a file or a pipe use oktaql exec"
        )
    try:
        with connected(connection) as target:
            code = run_shell(
                target.settings,
                output_format=output,
                profile=target.profile,
                dry_run=connection.dry_run,
            )
    except Error as exc:
        _report.exit_with(exc)
    _leave(code)


def _leave(code: int) -> None:
    """Exit with ``code``; a request thread a cancelled statement left behind must not keep
    the process alive once the user has left (Ctrl-D means leave)."""
    import os

    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    for t in others:
        t.join(2.0)
    if any(t.is_alive() for t in others):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    shell_command(prog_name="oktaql shell")
