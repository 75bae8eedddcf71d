"""``oktaql mcp``: exec's connection and engine options, then an MCP server on stdio or HTTP.

Only click and the standard library load at import time (``oktaql mcp --help`` works without
the MCP SDK); the SDK, the engine and the session load when the server starts.
"""

from __future__ import annotations

import sys
from types import ModuleType

import click

from oktaql import _report
from oktaql._options import ConnectionOptions, connected, connection_options
from oktaql.errors import ConfigError, Error

DEFAULT_PORT = 5467
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command("mcp", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio: the MCP client starts this command and talks over stdin/stdout; http: "
    "streamable HTTP at http://HOST:PORT/mcp.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface the HTTP transport listens on (loopback only: the server has no "
    "authentication of its own).",
)
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port of the HTTP transport (0 picks a free one; the URL is printed on stderr).",
)
@click.option(
    "--max-rows",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Most rows a query or execute answer returns; the answer says when it stopped there.",
)
@click.option(
    "--allow-writes",
    is_flag=True,
    help="Offer the execute tool (INSERT, UPDATE, REPLACE, DELETE, EXEC, views, tables): it "
    "answers the plan first and runs only when called with confirm: true.",
)
@connection_options
def mcp_command(
    transport: str,
    host: str,
    port: int,
    max_rows: int,
    allow_writes: bool,
    connection: ConnectionOptions,
) -> None:
    """Model Context Protocol server for AI agents: list_resources, describe, explain, query
    (read-only, row-capped), and with --allow-writes execute (plan first, confirm to run).

    It takes exec's connection and engine options with exec's defaults."""
    try:
        _check_where(transport, host)
        server_module = _sdk()
        from oktaql import dbapi
        from oktaql.mcp._tools import ToolOptions, Tools

        options = ToolOptions(
            max_rows=max_rows, allow_writes=allow_writes, dry_run=connection.dry_run
        )
        with connected(connection) as target:
            conn = dbapi.connect(settings=target.settings)
            try:
                server = server_module.build_server(Tools(conn, options))
                if transport == "http":
                    server_module.serve_http(server, host, port)
                else:
                    if sys.stdin.isatty():
                        _report.echo(
                            "oktaql MCP server on stdio: an MCP client starts this command and "
                            "talks JSON-RPC over stdin/stdout (Ctrl-C leaves)"
                        )
                    server_module.serve_stdio(server)
            finally:
                conn.close()
    except Error as exc:
        _report.exit_with(exc)
    except KeyboardInterrupt:
        sys.exit(_report.INTERRUPTED)


def _check_where(transport: str, host: str) -> None:
    ctx = click.get_current_context()
    given = [
        f"--{name}"
        for name in ("host", "port")
        if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
    ]
    if transport == "stdio" and given:
        verb = "is" if len(given) == 1 else "are"
        raise ConfigError(
            f"{' and '.join(given)} {verb} for --transport http (stdio listens nowhere)"
        )
    if transport == "http" and host not in LOOPBACK:
        raise ConfigError(
            f"--host {host}: the MCP server listens on loopback only (127.0.0.1, localhost or "
            "::1): it has no authentication of its own, and the Okta token it holds must not "
            "be reachable from the network; to reach it from elsewhere, put an authenticating "
            "reverse proxy in front of it"
        )


def _sdk() -> ModuleType:
    """The server module, once the MCP SDK is known to be there."""
    try:
        import mcp.server.mcpserver  # noqa: F401 - the SDK (not oktaql.mcp: imports are absolute)
    except ImportError as exc:
        raise ConfigError(
            "oktaql mcp needs the MCP Python SDK (mcp>=2.3): pip install 'oktaql[mcp]' "
            f"(it failed to import: {exc})"
        ) from None
    from oktaql.mcp import _server

    return _server
