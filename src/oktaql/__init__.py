"""oktaql: query, deploy and manage Okta with SQL.

The DB-API entry points load lazily so that ``oktaql --help`` and friends start fast without
importing DuckDB, sqlglot and httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oktaql.errors import (
    APIError,
    ConfigError,
    DatabaseError,
    DataError,
    DeployError,
    Error,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    PlanError,
    ProgrammingError,
    ProviderError,
    SQLSyntaxError,
    TemplateError,
    Warning,
    WriteIncomplete,
)

__version__ = "0.1.0"

apilevel = "2.0"
threadsafety = 1
paramstyle = "named"

if TYPE_CHECKING:
    from oktaql.dbapi import Connection, Cursor, RetryPolicy, Settings, connect

_LAZY = {"connect", "Connection", "Cursor", "RetryPolicy", "Settings"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from oktaql import dbapi

        return getattr(dbapi, name)
    raise AttributeError(f"module 'oktaql' has no attribute {name!r}")


__all__ = [
    "APIError",
    "ConfigError",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "DeployError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "PlanError",
    "ProgrammingError",
    "ProviderError",
    "RetryPolicy",
    "SQLSyntaxError",
    "Settings",
    "TemplateError",
    "Warning",
    "WriteIncomplete",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
