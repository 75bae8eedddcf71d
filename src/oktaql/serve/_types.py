"""DuckDB column types → Postgres types, values → Postgres text format, parameters → values.

Objects and arrays (DuckDB JSON, STRUCT, MAP, LIST) are ``jsonb``, so a client renders and
parses them as JSON; instants are ``timestamptz`` in the session's zone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from oktaql.errors import DataError


@dataclass(frozen=True)
class PgType:
    oid: int
    name: str
    size: int  # typlen: -1 for variable length
    category: str  # typcategory: S string, N numeric, B boolean, D date/time, U user


TEXT = PgType(25, "text", -1, "S")
INT8 = PgType(20, "int8", 8, "N")
INT4 = PgType(23, "int4", 4, "N")
INT2 = PgType(21, "int2", 2, "N")
FLOAT8 = PgType(701, "float8", 8, "N")
FLOAT4 = PgType(700, "float4", 4, "N")
NUMERIC = PgType(1700, "numeric", -1, "N")
BOOL = PgType(16, "bool", 1, "B")
JSONB = PgType(3802, "jsonb", -1, "U")
JSON = PgType(114, "json", -1, "U")
TIMESTAMPTZ = PgType(1184, "timestamptz", 8, "D")
TIMESTAMP = PgType(1114, "timestamp", 8, "D")
DATE = PgType(1082, "date", 4, "D")
TIME = PgType(1083, "time", 8, "D")
INTERVAL = PgType(1186, "interval", 16, "T")
UUID = PgType(2950, "uuid", 16, "U")
BYTEA = PgType(17, "bytea", -1, "U")
VARCHAR = PgType(1043, "varchar", -1, "S")
NAME = PgType(19, "name", 64, "S")
CHAR = PgType(18, "char", 1, "Z")
OID = PgType(26, "oid", 4, "N")
UNKNOWN = PgType(705, "unknown", -2, "X")

# every type the catalog describes (pg_type), and so what format_type knows
ALL_TYPES = (
    TEXT, INT8, INT4, INT2, FLOAT8, FLOAT4, NUMERIC, BOOL, JSONB, JSON, TIMESTAMPTZ, TIMESTAMP,
    DATE, TIME, INTERVAL, UUID, BYTEA, VARCHAR, NAME, CHAR, OID,
)  # fmt: skip
BY_OID = {t.oid: t for t in ALL_TYPES}

_EXACT = {
    "VARCHAR": TEXT,
    "BIGINT": INT8,
    "INTEGER": INT4,
    "SMALLINT": INT2,
    "TINYINT": INT2,
    "UTINYINT": INT2,
    "USMALLINT": INT4,
    "UINTEGER": INT8,
    "UBIGINT": NUMERIC,
    "HUGEINT": NUMERIC,
    "UHUGEINT": NUMERIC,
    "DOUBLE": FLOAT8,
    "FLOAT": FLOAT4,
    "BOOLEAN": BOOL,
    "JSON": JSONB,
    "TIMESTAMP WITH TIME ZONE": TIMESTAMPTZ,
    "TIMESTAMP": TIMESTAMP,
    "TIMESTAMP_S": TIMESTAMP,
    "TIMESTAMP_MS": TIMESTAMP,
    "TIMESTAMP_NS": TIMESTAMP,
    "DATE": DATE,
    "TIME": TIME,
    "INTERVAL": INTERVAL,
    "UUID": UUID,
    "BLOB": BYTEA,
    "NULL": TEXT,
    '"NULL"': TEXT,
}


def pg_type(duck: str) -> PgType:
    """The Postgres type of a DuckDB column type (its name as a description gives it)."""
    name = duck.strip().upper()
    found = _EXACT.get(name)
    if found is not None:
        return found
    if name.startswith("DECIMAL"):
        return NUMERIC
    if name.endswith("]") or name.startswith(("STRUCT", "MAP", "LIST", "UNION")):
        return JSONB
    return TEXT


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def text_value(value: Any, kind: PgType) -> bytes | None:
    """``value`` in Postgres's text format for a column of type ``kind``; None for NULL."""
    if value is None:
        return None
    if kind is JSONB:
        # DuckDB hands JSON back as its text; a streamed result, or a STRUCT, as objects
        return (value if isinstance(value, str) else _json(value)).encode()
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, float):
        return _float(value).encode()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ").encode()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat().encode()
    if isinstance(value, bytes | bytearray | memoryview):
        return b"\\x" + bytes(value).hex().encode()
    if isinstance(value, dict | list | tuple):
        return _json(value).encode()
    return str(value).encode()


_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # Postgres's binary time origin
_EPOCH_DATE = dt.date(2000, 1, 1)
_INT_FORMAT = {20: "!q", 23: "!i", 21: "!h", 26: "!I"}
_FLOAT_FORMAT = {701: "!d", 700: "!f"}


def binary_value(value: Any, kind: PgType) -> bytes | None:
    """``value`` in Postgres's binary format for ``kind`` (what drivers such as pgx ask for
    once a statement is described); None for NULL."""
    if value is None:
        return None
    oid = kind.oid
    if oid in _INT_FORMAT:
        return struct.pack(_INT_FORMAT[oid], int(value))
    if oid in _FLOAT_FORMAT:
        return struct.pack(_FLOAT_FORMAT[oid], float(value))
    if oid == BOOL.oid:
        return b"\x01" if value else b"\x00"
    if oid == JSONB.oid:
        return b"\x01" + (text_value(value, kind) or b"")
    if oid in (TIMESTAMPTZ.oid, TIMESTAMP.oid) and isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        delta = aware - _EPOCH
        micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
        return struct.pack("!q", micros)
    if oid == DATE.oid and isinstance(value, dt.date):
        return struct.pack("!i", (value - _EPOCH_DATE).days)
    if oid == TIME.oid and isinstance(value, dt.time):
        micros = ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000
        return struct.pack("!q", micros + value.microsecond)
    if oid == INTERVAL.oid and isinstance(value, dt.timedelta):
        micros = value.seconds * 1_000_000 + value.microseconds
        return struct.pack("!qii", micros, value.days, 0)
    if oid == UUID.oid:
        import uuid

        return uuid.UUID(str(value)).bytes
    if oid == NUMERIC.oid:
        return _numeric(Decimal(str(value)))
    if oid == BYTEA.oid and isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return text_value(value, kind)  # text, varchar, name, json: the text is the binary form


def _numeric(d: Decimal) -> bytes:
    """Postgres's binary numeric: base-10000 digits, weight, sign, display scale."""
    if d.is_nan():
        return struct.pack("!hhHh", 0, 0, 0xC000, 0)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text = "".join(map(str, digits))
    int_part = text[: len(text) + exponent] if exponent < 0 else text + "0" * exponent
    frac_part = text[len(text) + exponent :] if exponent < 0 else ""
    int_part = int_part.lstrip("0")
    int_part = "0" * (-len(int_part) % 4) + int_part
    frac_part = frac_part + "0" * (-len(frac_part) % 4)
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    while groups and groups[-1] == 0:
        groups.pop()
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    if not groups:
        weight = 0
    head = struct.pack("!hhHh", len(groups), weight, 0x4000 if sign else 0, scale)
    return head + b"".join(struct.pack("!H", g) for g in groups)


def _float(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return repr(x)


_INTS = {INT2.oid, INT4.oid, INT8.oid, OID.oid}
_FLOATS = {FLOAT4.oid, FLOAT8.oid}
_BINARY_INT = {INT2.oid: "!h", INT4.oid: "!i", INT8.oid: "!q", OID.oid: "!I"}
_BINARY_FLOAT = {FLOAT4.oid: "!f", FLOAT8.oid: "!d"}


def parameter_value(data: bytes | None, type_oid: int, binary: bool) -> Any:
    """A bound parameter as the Python value a statement is given (text format: by its
    declared type; 0, text, varchar and unknown stay strings)."""
    if data is None:
        return None
    if binary:
        if type_oid in _BINARY_INT:
            return struct.unpack(_BINARY_INT[type_oid], data)[0]
        if type_oid in _BINARY_FLOAT:
            return struct.unpack(_BINARY_FLOAT[type_oid], data)[0]
        if type_oid == BOOL.oid:
            return data != b"\0"
        if type_oid in (0, TEXT.oid, VARCHAR.oid, NAME.oid, UNKNOWN.oid, JSON.oid):
            return data.decode()
        if type_oid == JSONB.oid and data[:1] == b"\x01":
            return data[1:].decode()
        raise DataError(
            f"binary parameters of type {type_oid} are not supported: send them as text"
        )
    text = data.decode()
    try:
        if type_oid in _INTS:
            return int(text)
        if type_oid in _FLOATS:
            return float(text)
        if type_oid == NUMERIC.oid:
            return Decimal(text) if re.search(r"[.eE]", text) else int(text)
    except ValueError:
        raise DataError(f"invalid input for a parameter of type {type_oid}: {text!r}") from None
    if type_oid == BOOL.oid:
        return text.strip().lower() in ("t", "true", "1", "yes", "on", "y")
    return text


__all__ = [
    "ALL_TYPES",
    "BY_OID",
    "JSONB",
    "TEXT",
    "PgType",
    "binary_value",
    "parameter_value",
    "pg_type",
    "text_value",
]
