"""The prompt loop (prompt_toolkit): multi-line input, completion, history, highlighting."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from oktaql.errors import ConfigError, Error
from oktaql.output import OUTPUT_FORMATS
from oktaql.shell._commands import MetaCommands
from oktaql.shell._completion import CompletionSource, complete
from oktaql.shell._history import default_history_path, file_history
from oktaql.shell._text import statement_complete

if TYPE_CHECKING:
    from oktaql._settings import Settings


PROMPT = "oktaql> "


class Shell(MetaCommands):
    """The prompt loop: reads input, runs statements and meta commands until Ctrl-D."""

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
        # requests go through the session's own cancellable transport (Session.cancel)
        self.transport = self.kwargs.pop("transport", None)
        self.conn: Any = None
        self._abandoned: threading.Thread | None = None
        self._source: CompletionSource | None = None
        self.confirm_session: Any = None

    def completion_source(self) -> CompletionSource:
        registry = self.conn.session.catalog.registry
        if self._source is None or self._source.registry is not registry:
            self._source = CompletionSource(registry, self.profile_names)
        return self._source

    def profile_names(self) -> list[str]:
        from oktaql.config import load_config

        return sorted(load_config().profiles)

    def run(self) -> int:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.application import get_app
        from prompt_toolkit.completion import CompleteEvent, Completer, Completion
        from prompt_toolkit.document import Document
        from prompt_toolkit.filters import Condition
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

        history = file_history(self.history_path, self.echo)

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
