"""The one exception tree of oktaql.

Error                       (DB-API ``Error``; everything oktaql raises)
├── InterfaceError          misuse of the Python API (closed cursor, fetch before execute)
└── DatabaseError
    ├── ProgrammingError    the statement is wrong: SQL syntax, unknown resource or
    │   │                   column, a required parameter missing
    │   ├── SQLSyntaxError  the text does not parse (carries line/column)
    │   ├── TemplateError   a ``{{ var }}`` has no value or does not render
    │   └── PlanError       no method fits the bound parameters, bad parameter value
    ├── ProviderError       a provider document cannot be loaded or is inconsistent
    ├── ConfigError         bad settings: org URL, token source, registry path
    ├── OperationalError    the API call failed: network, HTTP status, bad response
    │   └── APIError        Okta answered with an error body (status, errorCode, ...)
    ├── DataError           a value cannot be converted
    ├── IntegrityError      (DB-API; unused)
    ├── InternalError       a bug in oktaql
    └── NotSupportedError   a statement or feature oktaql does not implement
"""

from __future__ import annotations

from typing import Any


class Error(Exception):
    """Base class of every error oktaql raises."""


class Warning(Exception):  # noqa: A001 - DB-API name
    """DB-API warning class (oktaql does not raise it)."""


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class ProgrammingError(DatabaseError):
    pass


class SQLSyntaxError(ProgrammingError):
    """The SQL text does not parse; ``line``/``col`` point at the offending spot (1-based)."""

    def __init__(
        self, message: str, sql: str = "", line: int | None = None, col: int | None = None
    ):
        self.line = line
        self.col = col
        self.sql = sql
        text = message
        if line is not None and col is not None and sql:
            text = f"{message} (line {line}, column {col})\n{_highlight(sql, line, col)}"
        super().__init__(text)


class TemplateError(ProgrammingError):
    pass


class PlanError(ProgrammingError):
    pass


class ProviderError(DatabaseError):
    pass


class ConfigError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class APIError(OperationalError):
    """Okta answered a request with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        method: str | None = None,
        url: str | None = None,
        error_code: str | None = None,
        error_summary: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ):
        super().__init__(message)
        self.status = status
        self.method = method
        self.url = url
        self.error_code = error_code
        self.error_summary = error_summary
        self.request_id = request_id
        self.body = body


class DataError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


def _highlight(sql: str, line: int, col: int) -> str:
    lines = sql.splitlines() or [""]
    idx = max(0, min(line - 1, len(lines) - 1))
    shown = lines[idx]
    return f"  {shown}\n  {' ' * max(col - 1, 0)}^"
