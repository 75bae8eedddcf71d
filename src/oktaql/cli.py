"""The ``oktaql`` command line.

Heavy modules (DuckDB, sqlglot, httpx, the emulator) are imported inside the commands that need
them, so ``--help`` answers at once. The connection and engine flags are defined once
(:mod:`oktaql._options`, shared with ``oktaql shell``); every error leaves through
:mod:`oktaql._report`: one line on stderr naming what is wrong, exit status 1, no traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from oktaql import __version__, _report
from oktaql._cancel import sigint_cancels
from oktaql._options import (
    ConnectionOptions,
    connected,
    connection_options,
    no_headers_option,
    output_option,
)
from oktaql._report import fail as _fail
from oktaql.errors import ConfigError, Error, WriteIncomplete


@contextmanager
def _errors_reported() -> Iterator[None]:
    try:
        yield
    except (Error, KeyboardInterrupt) as exc:
        if isinstance(exc, WriteIncomplete) and exc.interrupted:  # the report, then 130
            _report.echo(str(exc))
            sys.exit(_report.INTERRUPTED)
        _report.exit_with(exc)


class _LazyGroup(click.Group):
    """Subcommands that live in their own modules load only when they run."""

    lazy = {
        "cache": "oktaql._cache_command:cache_command",
        "config": "oktaql.config:config_command",
        "deploy": "oktaql.deploy:deploy_command",
        "docs": "oktaql.docs:docs_command",
        "mcp": "oktaql.mcp:mcp_command",
        "serve": "oktaql.serve:serve_command",
        "shell": "oktaql.shell:shell_command",
        "sync": "oktaql.sync:sync_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, _, attr = self.lazy[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oktaql")
def main() -> None:
    """Query, deploy and manage Okta with SQL."""


@main.command("exec")
@click.argument("sql", required=False)
@click.option(
    "-f", "--file", "sql_file", type=click.File("r"), help="Read the SQL from FILE ('-' for stdin)."
)
@output_option
@no_headers_option
@click.option(
    "--outfile",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Write the results to FILE instead of stdout (messages stay on stderr).",
)
@connection_options
def exec_command(
    sql: str | None,
    sql_file: Any,
    output: str,
    no_headers: bool,
    outfile: str | None,
    connection: ConnectionOptions,
) -> None:
    """Run SQL statements (as an argument, with -f FILE, or on stdin)."""
    if sql is not None and sql_file is not None:
        _fail("give the SQL either as an argument or with -f, not both")
    if sql is None:
        if sql_file is None:
            if sys.stdin.isatty():
                _fail("no SQL given: pass it as an argument, with -f FILE, or on stdin")
            sql_file = sys.stdin
        sql = sql_file.read()
    assert sql is not None
    with _errors_reported():
        from oktaql import dbapi, parser

        statements = parser.split_statements(sql)
        if not statements:
            _fail("no statement to run: the SQL is empty")
        progress = sys.stderr.isatty() and output != "json"
        with connected(connection, progress=progress) as target:
            conn = dbapi.connect(settings=target.settings)
            try:
                # Ctrl-C: nothing more is sent, what is in flight is abandoned, exit 130
                with _destination(outfile) as out, sigint_cancels(conn.session.cancel):
                    for text in statements:
                        if connection.dry_run:
                            text = "EXPLAIN " + text
                        _run_one(conn, text, output, out, headers=not no_headers)
            finally:
                conn.close()


@contextmanager
def _destination(path: str | None) -> Iterator[IO[str]]:
    """Where results go: stdout, or ``--outfile`` (created or replaced)."""
    if path is None:
        yield sys.stdout
        return
    try:
        fh = open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ConfigError(f"--outfile {path}: cannot write it ({exc.strerror or exc})") from None
    with fh:
        yield fh


def _run_one(conn: Any, sql: str, fmt: str, out: IO[str], *, headers: bool = True) -> None:
    from oktaql import output

    cur = conn.cursor()
    cur.execute(sql)
    if cur.description is None:
        if cur.message:
            click.echo(output.visible(cur.message, lines=True), err=True)
        if fmt == "json":
            out.write("[]\n")
        return
    columns = [d[0] for d in cur.description]
    tty = out is sys.stdout and sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else 10_000
    written = output.Written()
    try:
        # row by row: a batch (fetchmany) that fails part way would lose the rows it had read
        rows = iter(cur.fetchone, None)
        output.write(fmt, columns, rows, out, width=width, written=written, headers=headers)
    except (Error, KeyboardInterrupt) as exc:
        # rows already out stay out (json writes none): say how far it got, after the error
        out.flush()
        n, what = written.rows, "error" if isinstance(exc, Error) else "interruption"
        exc.add_note(f"{n} row{'' if n == 1 else 's'} written before the {what}")
        raise
    out.flush()
    cur.close()


@main.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=int,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--token",
    default="emulator-token",
    show_default=True,
    help="The API token the org accepts (send it as SSWS <token>).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Seed of the generated org data."
)
@click.option(
    "--apps", type=click.IntRange(min=0), help="Exactly N OIDC apps instead of the default org."
)
@click.option(
    "--tokens-per-app", type=click.IntRange(min=0), help="Exactly M refresh tokens per OIDC app."
)
@click.option("--users", type=click.IntRange(min=0), help="Number of users.")
@click.option("--groups", type=click.IntRange(min=0), help="Number of groups.")
@click.option(
    "--latency",
    "latency_ms",
    default=0.0,
    type=click.FloatRange(min=0),
    help="Milliseconds added to every response.",
)
@click.option(
    "--fault-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    metavar="P",
    help="Share of requests answered 500/502/503/504 or cut off mid-response (seeded by --seed; a faulted write changes nothing).",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Requests per window per endpoint family before 429 E0000047.",
)
@click.option(
    "--rate-window",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="S",
    help="Seconds of a --rate-limit window.",
)
@click.option(
    "--concurrency-limit",
    type=click.IntRange(min=1),
    metavar="N",
    help="Requests in flight at once; the N+1th gets 429 E0000047 (Okta's concurrency limit).",
)
@click.option(
    "--oauth-client",
    "oauth_clients",
    multiple=True,
    metavar="ID=PUBLIC_KEY|auto",
    help="Register an OAuth 2.0 service app: its client id and public key file (PEM or JWK); 'auto' makes a throwaway one and prints its id and private key file. Repeatable.",
)
def emulator_command(
    host: str,
    port: int,
    token: str,
    seed: int,
    apps: int | None,
    tokens_per_app: int | None,
    users: int | None,
    groups: int | None,
    latency_ms: float,
    fault_rate: float,
    rate_limit: int | None,
    rate_window: float,
    concurrency_limit: int | None,
    oauth_clients: tuple[str, ...],
) -> None:
    """Serve a local emulated Okta org over HTTP (Okta's wire format, seeded data)."""
    if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get(
        "OKTAQL_EMULATOR_ANY_HOST"
    ):
        _fail("the emulator listens on loopback only (127.0.0.1, localhost or ::1)")
    from oktaql.emulator import EmulatorConfig, generate_client, public_key, serve

    clients: dict[str, Any] = {}
    for spec in oauth_clients:
        client_id, eq, key_path = spec.partition("=")
        if spec.strip().lower() == "auto" or (eq and key_path.strip().lower() == "auto"):
            import tempfile

            generated_id, private_pem, public_jwk = generate_client()
            client_id = client_id.strip() if eq else generated_id  # ID=auto keeps the ID
            if eq and not client_id:
                _fail(f"--oauth-client {spec!r}: write ID=PUBLIC_KEY_FILE, ID=auto or auto")
            # a fixed name: a client id given on the command line is not a path
            key_file = os.path.join(tempfile.mkdtemp(prefix="oktaql-emulator-"), "private-key.pem")
            with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                fh.write(private_pem)
            clients[client_id] = public_jwk
            click.echo(
                f"OAuth 2.0 service app (throwaway): client id {client_id}, private key file {key_file}"
            )
            click.echo(
                f"  OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey OKTA_CLIENT_CLIENTID={client_id} OKTA_CLIENT_PRIVATEKEY={key_file}"
            )
            continue
        if not eq or not client_id.strip() or not key_path.strip():
            _fail(f"--oauth-client {spec!r}: write ID=PUBLIC_KEY_FILE, ID=auto or auto")
        try:
            clients[client_id.strip()] = public_key(key_path.strip())
        except (ValueError, OSError) as exc:
            _fail(f"--oauth-client {client_id.strip()}: {exc}")

    config = EmulatorConfig(
        token=token,
        seed=seed,
        apps=apps,
        tokens_per_app=tokens_per_app,
        users=users,
        groups=groups,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        rate_limit=rate_limit,
        rate_window=rate_window,
        concurrency_limit=concurrency_limit,
        oauth_clients=clients,
    )
    serve(config, host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    main()
