"""The MCP server: :class:`~oktaql.mcp._tools.Tools` as MCP tools, on the official SDK.

``import mcp`` here is the SDK (absolute imports: this package is ``oktaql.mcp``). Each tool
answers one ``CallToolResult``: the answer as JSON text and as structured content, or, for an
error, ``is_error`` with oktaql's own message (never a traceback; the session masks secrets).
"""

# no `from __future__ import annotations`: the SDK reads the tools' signatures at runtime

import sys
from collections.abc import Callable
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from oktaql import __version__, _report
from oktaql.mcp._tools import Ticket, Tools, dumps

INSTRUCTIONS = """\
oktaql answers SQL about an Okta org (StackQL's dialect, DuckDB for the rest). Resources are
named <provider>.<service>.<resource>, e.g. okta.apps.applications. Start with list_resources,
then describe a resource for its columns and the parameters its SELECT needs (bind them in
WHERE: appId = '...', or from another resource with a join). list_resources, describe and
explain send no API call; query (and execute) send the calls their plan lists, against the
org's rate limit: run explain first for a join or an IN (SELECT ...) that fans out (one call
per value)."""

LIST_RESOURCES = """\
The services and resources (tables) of the loaded provider, with a one-line description and \
the SQL verbs each supports. Cost: no API calls (read from the provider)."""

DESCRIBE = """\
A resource's columns and their types, the parameters its SELECT needs (bind them in WHERE or \
through a join), and its methods (SQL verb, HTTP method and path, required and optional \
parameters). Cost: no API calls (read from the provider)."""

EXPLAIN = """\
The plan of one SQL statement without running it: each step, the exact HTTP requests \
(credentials masked), what is pushed to the API as a filter, what runs locally in DuckDB, \
and how many API calls it makes (calls known before it runs; a fan-out adds one per distinct \
value of its source; a listing one per further page). Cost: no API calls (an INSERT ... SELECT \
reads its SELECT's rows to know what it would write)."""

QUERY = """\
Run one read-only SQL statement (SELECT, SHOW, DESCRIBE, EXPLAIN) and return its rows as JSON: \
columns with their types, rows as arrays in column order (timestamps ISO 8601, objects and \
arrays as JSON), row_count, and truncated=true when the row cap cut it off. A statement whose \
plan changes anything (INSERT, UPDATE, DELETE, EXEC, views, tables) is refused before \
anything is sent. Cost: the API calls its plan lists (explain shows them); run explain first \
for joins and IN (SELECT ...) that fan out, one call per value."""

EXECUTE = """\
Run one SQL statement that may change the org (INSERT, UPDATE, REPLACE, DELETE, EXEC) or the \
session's local state (views, tables). Without confirm=true it sends nothing and answers the \
plan: every step and the exact requests it would send, and a plan_id. Show that to the user; \
only with their go-ahead call again with the same sql, confirm=true and that plan_id: it runs \
only when that plan was shown to this client and its requests are still the ones shown (else it \
answers the new plan and a new plan_id, again sending nothing). Cost: nothing without confirm; with it, the requests of the plan (writes cannot be \
undone)."""


async def _call(
    tools: Tools, work: Callable[[], dict[str, Any]], *, interruptible: bool = True
) -> CallToolResult:
    """``work`` on a worker thread, after the calls before it. When the client cancels the
    call (``notifications/cancelled``, a timeout), its requests stop at once; a write that
    started runs to its end, and what it did is said on stderr (nobody waits for the answer)."""
    ticket = Ticket(interruptible=interruptible)

    def on_thread() -> CallToolResult:
        result = _answer(lambda: tools.run(work, ticket))
        if ticket.cancelled and not interruptible:
            text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
            _report.echo(f"note: a cancelled execute call ran to its end: {text}")
        return result

    try:
        return await anyio.to_thread.run_sync(on_thread, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        tools.cancel(ticket)
        raise


def _answer(work: Callable[[], dict[str, Any]]) -> CallToolResult:
    """The tool's answer, or its error as oktaql words it (``error: ...``, a hint)."""
    try:
        answer = work()
    except Exception as exc:  # an oktaql error, or a bug of ours as one InternalError line
        text = _report.report(exc, "cli").lines()
        return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)
    return CallToolResult(
        content=[TextContent(type="text", text=dumps(answer))], structured_content=answer
    )


Sql = Annotated[str, Field(description="One SQL statement (StackQL's dialect).")]
MaxRows = Annotated[
    int | None,
    Field(
        default=None,
        ge=0,
        description="Return at most this many rows (default and upper bound: the server's "
        "--max-rows).",
    ),
]


def build_server(tools: Tools) -> MCPServer:
    """An MCP server offering ``tools``; ``execute`` only when the options allow writes."""
    server: MCPServer = MCPServer(
        "oktaql",
        version=__version__,
        instructions=INSTRUCTIONS,
        log_level="WARNING",
    )
    read_only = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=True)
    catalog = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)

    async def list_resources(
        service: Annotated[
            str | None,
            Field(
                default=None,
                description="Only this service, e.g. apps or okta.apps (default: all).",
            ),
        ] = None,
    ) -> CallToolResult:
        return await _call(tools, lambda: tools.list_resources(service))

    async def describe(
        resource: Annotated[str, Field(description="A resource name, e.g. okta.apps.tokens.")],
    ) -> CallToolResult:
        return await _call(tools, lambda: tools.describe(resource))

    async def explain(sql: Sql) -> CallToolResult:
        return await _call(tools, lambda: tools.explain(sql))

    async def query(sql: Sql, max_rows: MaxRows = None) -> CallToolResult:
        return await _call(tools, lambda: tools.query(sql, max_rows))

    async def execute(
        sql: Sql,
        confirm: Annotated[
            bool,
            Field(
                default=False,
                description="true runs the statement; false (the default) only answers its "
                "plan and sends nothing.",
            ),
        ] = False,
        max_rows: MaxRows = None,
        plan_id: Annotated[
            str | None,
            Field(
                default=None,
                description="With confirm=true: the plan_id of the plan answer this client "
                "was shown (each plan answer has a new one).",
            ),
        ] = None,
    ) -> CallToolResult:
        return await _call(
            tools,
            lambda: tools.execute(sql, confirm, max_rows, plan_id),
            interruptible=not confirm,
        )

    server.add_tool(list_resources, description=LIST_RESOURCES, annotations=catalog)
    server.add_tool(describe, description=DESCRIBE, annotations=catalog)
    server.add_tool(explain, description=EXPLAIN, annotations=catalog)
    server.add_tool(query, description=QUERY, annotations=read_only)
    if tools.options.allow_writes:
        writes = ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
        )
        server.add_tool(execute, description=EXECUTE, annotations=writes)
    return server


def serve_stdio(server: MCPServer) -> None:
    server.run("stdio")


def serve_http(server: MCPServer, host: str, port: int) -> None:
    """Streamable HTTP at ``http://host:port/mcp``; the URL is printed on stderr once it
    listens (``--port 0`` picks a free port)."""
    import uvicorn

    app = server.streamable_http_app(host=host)

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and self.servers:
                bound = self.servers[0].sockets[0].getsockname()
                shown = f"[{host}]" if ":" in host else host
                print(
                    f"oktaql MCP server (streamable HTTP) listening on "
                    f"http://{shown}:{bound[1]}/mcp",
                    file=sys.stderr,
                    flush=True,
                )

    config = uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False)
    anyio.run(Announcing(config).serve)


__all__ = ["build_server", "serve_http", "serve_stdio"]
