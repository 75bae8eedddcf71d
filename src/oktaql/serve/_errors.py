"""oktaql errors → Postgres SQLSTATE codes (Appendix A of the Postgres manual).

The class of the error decides, with two facts a message cannot fake: whether the statement
names a resource the catalog does not have (42P01), and whether the client cancelled (57014).
"""

from __future__ import annotations

from oktaql import errors

SYNTAX = "42601"
UNDEFINED_TABLE = "42P01"
INSUFFICIENT_PRIVILEGE = "42501"
QUERY_CANCELED = "57014"
TOO_MANY_CONNECTIONS = "53300"
INVALID_PASSWORD = "28P01"
INVALID_AUTHORIZATION = "28000"
PROTOCOL_VIOLATION = "08P01"
FEATURE_NOT_SUPPORTED = "0A000"
INTERNAL = "XX000"

_BY_CLASS: list[tuple[type[errors.Error], str]] = [
    (errors.SQLSyntaxError, SYNTAX),
    (errors.TemplateError, "42P02"),  # undefined_parameter
    (errors.PlanError, "22023"),  # invalid_parameter_value
    (errors.ProgrammingError, "42000"),  # syntax_error_or_access_rule_violation
    (errors.WriteIncomplete, "40003"),  # statement_completion_unknown
    (errors.ConfigError, "F0000"),  # config_file_error
    (errors.ProviderError, "58000"),  # system_error
    (errors.DataError, "22000"),  # data_exception
    (errors.NotSupportedError, FEATURE_NOT_SUPPORTED),
    (errors.InterfaceError, "08000"),
    (errors.OperationalError, "58030"),  # io_error: the API call failed
]

_API_STATUS = {
    401: INVALID_AUTHORIZATION,
    403: INSUFFICIENT_PRIVILEGE,
    404: "42704",  # undefined_object
    429: "53400",  # configuration_limit_exceeded: the rate limit
}


def sqlstate(exc: BaseException, *, undefined_table: bool = False, cancelled: bool = False) -> str:
    if cancelled:
        return QUERY_CANCELED
    if isinstance(exc, errors.APIError) and exc.status is not None:
        return _API_STATUS.get(exc.status, "22000" if exc.status < 500 else "58000")
    if undefined_table and isinstance(exc, errors.ProgrammingError):
        if not isinstance(exc, errors.SQLSyntaxError):
            return UNDEFINED_TABLE
    for cls, code in _BY_CLASS:
        if isinstance(exc, cls):
            return code
    return INTERNAL


def duck_sqlstate(exc: BaseException) -> str:
    """A DuckDB error of a catalog query."""
    import duckdb

    if isinstance(exc, duckdb.ParserException):
        return SYNTAX
    if isinstance(exc, duckdb.CatalogException):
        return UNDEFINED_TABLE
    if isinstance(exc, duckdb.BinderException):
        return "42703"  # undefined_column
    if isinstance(exc, duckdb.ConversionException):
        return "22000"
    if isinstance(exc, duckdb.PermissionException):
        return INSUFFICIENT_PRIVILEGE
    if isinstance(exc, duckdb.InterruptException):
        return QUERY_CANCELED
    return INTERNAL


__all__ = [
    "INSUFFICIENT_PRIVILEGE",
    "INVALID_AUTHORIZATION",
    "INVALID_PASSWORD",
    "PROTOCOL_VIOLATION",
    "QUERY_CANCELED",
    "SYNTAX",
    "TOO_MANY_CONNECTIONS",
    "UNDEFINED_TABLE",
    "duck_sqlstate",
    "sqlstate",
]
