"""``oktaql serve``: the Postgres wire protocol over oktaql, for psql, drivers and BI tools.

Why a protocol module of our own: ``riffq`` (the Rust pgwire core the issue names) has no wheel
for this platform and its sdist needs cargo with network access; ``buenavista`` 0.5.0, the
maintained-looking pure-Python option, answers SSLRequest with "no" (no TLS), offers MD5 only
(no SCRAM-SHA-256), sends errors without SQLSTATE, and treats a cancel request as closing the
session. So the protocol (startup, TLS, SCRAM, simple and extended query, cancel) is here, on
asyncio and the standard library, in small modules:

- ``_protocol``: message framing; ``_auth``: SCRAM-SHA-256; ``_types``: DuckDB → Postgres
  types and text values; ``_errors``: SQLSTATE codes;
- ``_catalog``: the provider as one DuckDB database of the catalog's tables;
- ``_statements``: what a statement is (session command, catalog query, oktaql statement);
- ``_pg_schema``: pg_catalog/information_schema as DuckDB tables, macros and views;
  ``_rewrite``: which queries are the catalog's, and rewriting them to read those;
- ``_engine``: one client's statements on its own session; ``_server``: the connections;
  ``_config``: what a server starts with, checked; ``_running``: running one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from oktaql._options import ConnectionOptions, connected, connection_options
from oktaql.errors import ConfigError
from oktaql.serve._config import ServeConfig, check_config, is_loopback

if TYPE_CHECKING:
    from oktaql.serve._running import RunningServer, start_in_thread
    from oktaql.serve._server import Server

# loaded on first use: the server brings sqlglot and asyncio, which `oktaql --help` never needs
_LAZY = {
    "RunningServer": "oktaql.serve._running",
    "start_in_thread": "oktaql.serve._running",
    "Server": "oktaql.serve._server",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oktaql.serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def read_password(env: str | None, file: str | None) -> str | None:
    """The password clients must prove: from an environment variable or a file (its first
    line), never from the command line (where ``ps`` would show it)."""
    if env and file:
        raise ConfigError("give --password-env or --password-file, not both")
    if env:
        value = os.environ.get(env)
        if not value:
            raise ConfigError(f"--password-env {env}: the variable is not set or empty")
        return value
    if file:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"--password-file {file}: {exc.strerror or exc}") from None
        if not lines or not lines[0]:
            raise ConfigError(f"--password-file {file}: the file's first line is empty")
        return lines[0]
    return None


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; beyond loopback TLS and a password are required.",
)
@click.option(
    "--port",
    default=5466,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="TCP port to listen on (0: any free port).",
)
@click.option(
    "--read-only/--allow-writes",
    "read_only",
    default=True,
    show_default=True,
    help="Refuse statements that write to Okta or to the database file (SQLSTATE "
    "42501); --allow-writes runs them.",
)
@click.option(
    "--password-env",
    metavar="NAME",
    help="Clients authenticate with SCRAM-SHA-256 against the password in $NAME.",
)
@click.option(
    "--password-file",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="Like --password-env, the password being the file's first line.",
)
@click.option(
    "--tls-cert",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="TLS certificate chain (PEM); with --tls-key, clients must connect over TLS.",
)
@click.option(
    "--tls-key",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="The TLS certificate's private key (PEM).",
)
@click.option(
    "--max-connections",
    default=16,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Clients connected at once; one more is refused with SQLSTATE 53300.",
)
@connection_options
def serve_command(
    host: str,
    port: int,
    read_only: bool,
    password_env: str | None,
    password_file: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    max_connections: int,
    connection: ConnectionOptions,
) -> None:  # fmt: skip
    """Serve SQL over the Postgres wire protocol (psql, psycopg, Grafana, ...).

    Each client connection is its own session with the connection options given here; the Okta
    token stays in this process."""
    import asyncio

    from oktaql import _report
    from oktaql.cli import _errors_reported
    from oktaql.serve._running import serve_forever
    from oktaql.serve._server import Server

    with _errors_reported():
        config = ServeConfig(
            host=host,
            port=port,
            read_only=read_only,
            password=read_password(password_env, password_file),
            tls_cert=tls_cert,
            tls_key=tls_key,
            max_connections=max_connections,
        )
        check_config(config)
        with connected(connection) as target:
            server = Server(target.settings, config, dry_run=connection.dry_run)
            try:
                asyncio.run(serve_forever(server, _report.echo))
            except KeyboardInterrupt:
                pass
            finally:
                server.close()


__all__ = [
    "RunningServer",
    "ServeConfig",
    "Server",
    "check_config",
    "is_loopback",
    "read_password",
    "serve_command",
    "start_in_thread",
]
