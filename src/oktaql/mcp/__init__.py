"""``oktaql mcp``: a Model Context Protocol server, so an AI agent can query Okta with SQL.

``_tools`` does the work over one oktaql connection (no SDK needed), ``_server`` offers it as
MCP tools on the official ``mcp`` SDK (stdio and streamable HTTP), ``_command`` is the CLI.
Only ``_command`` loads here: the SDK and the engine load when the server starts.
"""

from __future__ import annotations

from oktaql.mcp._command import mcp_command

__all__ = ["mcp_command"]
