"""``oktaql shell``: exec's connection and engine options (oktaql._options), then the prompt."""

from __future__ import annotations

import sys
import threading

import click

from oktaql import _report
from oktaql._options import ConnectionOptions, connected, connection_options, output_option
from oktaql.errors import Error
from oktaql.shell._repl import run_shell


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
