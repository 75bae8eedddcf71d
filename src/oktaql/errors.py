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
    │   └── DeployError     a deploy stack is wrong (names file, line and key), or its
    │                       build/teardown stopped (says what is done and not done)
    ├── OperationalError    the API call failed: network, HTTP status, bad response
    │   ├── APIError        Okta answered with an error body (status, errorCode, ...)
    │   └── WriteIncomplete a write stopped early (an error, Ctrl-C): what is done, not
    │                       done, unknown, per call
    ├── DataError           a value cannot be converted
    ├── IntegrityError      (DB-API; unused)
    ├── InternalError       a bug in oktaql
    └── NotSupportedError   a statement or feature oktaql does not implement
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


class DeployError(ConfigError):
    """A stack that cannot be deployed as written, or a deploy run that stopped. ``where`` is
    the place in the stack (``file:line: key``) when the error has one."""

    def __init__(self, message: str, where: Any = None):
        self.where = where
        super().__init__(f"{where}: {message}" if where is not None else message)


class OperationalError(DatabaseError):
    # True when the request may have taken effect although it failed (its answer was cut off,
    # a 5xx answered a write, an earlier attempt failed midway): check before sending it again
    may_have_acted: bool = False


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


@dataclass(frozen=True)
class WriteCall:
    """One call of a write that stopped early, as :class:`WriteIncomplete` lists it."""

    index: int  # 1-based position among the statement's calls (the n-th row of an INSERT)
    method: str
    url: str
    # the call's path parameters (appId, tokenId, ...); for a done create also the new "id"
    ids: dict[str, Any] = field(default_factory=dict)
    row: Any = None  # for a done create: the object the API returned
    note: str = ""  # "already absent"; for an unknown call, why it is unknown

    def describe(self) -> str:
        text = f"#{self.index} {self.method} {self.url}"
        if "id" in self.ids and self.row is not None:
            text += f" -> id {self.ids['id']}"
        return text + (f" ({self.note})" if self.note else "")


class WriteIncomplete(OperationalError):
    """A write stopped early (an error, Ctrl-C) after changing something, or maybe changing it.
    (A write that changed nothing raises its cause, with a note saying so.)

    ``done``: calls that took effect (a DELETE answered 404 is done: already absent);
    ``unknown``: calls that may have acted (the answer was cut, a 5xx to a write, in flight at
    Ctrl-C): check them before running the statement again; ``pending``: calls not made or
    refused, nothing changed. ``cause`` is what stopped the write (an :class:`Error` or
    ``KeyboardInterrupt``); ``rows``/``columns``: the RETURNING rows of the done calls.
    ``str()`` is :meth:`report`: the cause and every call with its state.
    """

    def __init__(
        self,
        statement: str,
        total: int,
        *,
        done: list[WriteCall],
        pending: list[WriteCall],
        unknown: list[WriteCall],
        cause: BaseException,
        rows: list[tuple[Any, ...]] | None = None,
        columns: list[str] | None = None,
    ):
        self.statement = statement  # "DELETE okta.apps.tokens"
        self.total = total
        self.done = done
        self.pending = pending
        self.unknown = unknown
        self.cause = cause
        self.rows = rows or []
        self.columns = columns or []
        self.may_have_acted = bool(done or unknown)
        super().__init__(self.report())

    @property
    def interrupted(self) -> bool:
        return isinstance(self.cause, KeyboardInterrupt)

    def report(self) -> str:
        """The cause, then every call by state: done, unknown, not done."""
        why = "interrupted" if self.interrupted else "stopped by an error"
        lines = [
            f"{self.statement} {why}: {len(self.done)} done, {len(self.unknown)} unknown, "
            f"{len(self.pending)} not done, of {self.total} request(s)"
        ]
        if not self.interrupted:
            lines.append(f"error: {self.cause}")
        sections = (
            ("done", self.done),
            ("unknown (Okta may have acted: check these before running it again)", self.unknown),
            ("not done", self.pending),
        )
        for title, calls in sections:
            if calls:
                lines.append(f"{title}:")
                lines += [f"  {c.describe()}" for c in calls]
        return "\n".join(lines)


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
