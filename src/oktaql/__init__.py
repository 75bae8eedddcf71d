"""oktaql: query, deploy and manage Okta with SQL."""

from __future__ import annotations

__version__ = "0.1.0"

from oktaql.dbapi import (  # noqa: E402
    Connection,
    Cursor,
    apilevel,
    connect,
    paramstyle,
    threadsafety,
)
from oktaql.errors import (  # noqa: E402
    APIError,
    ConfigError,
    DatabaseError,
    DataError,
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
)

__all__ = [
    "APIError",
    "ConfigError",
    "Connection",
    "Cursor",
    "DataError",
    "DatabaseError",
    "Error",
    "IntegrityError",
    "InterfaceError",
    "InternalError",
    "NotSupportedError",
    "OperationalError",
    "PlanError",
    "ProgrammingError",
    "ProviderError",
    "SQLSyntaxError",
    "TemplateError",
    "Warning",
    "__version__",
    "apilevel",
    "connect",
    "paramstyle",
    "threadsafety",
]
