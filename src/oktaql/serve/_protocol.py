"""Postgres frontend/backend protocol 3.0: reading client messages, building server messages.

Only framing lives here (no state): every message is a type byte, a length that counts itself,
and a payload; the startup packet has no type byte. Names follow the protocol documentation
(https://www.postgresql.org/docs/current/protocol-message-formats.html).
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass

PROTOCOL_3 = 196608
SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102

MAX_MESSAGE = 64 * 1024 * 1024  # a longer length is a broken or hostile client


class ProtocolViolation(Exception):
    """The client sent something that is not the protocol: the connection is closed."""


@dataclass(frozen=True)
class Startup:
    code: int
    params: dict[str, str]  # protocol 3.0: user, database, application_name, ...
    process_id: int = 0  # CancelRequest
    secret: int = 0


async def read_startup(reader: asyncio.StreamReader) -> Startup:
    head = await reader.readexactly(8)
    length, code = struct.unpack("!ii", head)
    if length < 8 or length > 10_000:
        raise ProtocolViolation(f"startup packet of {length} bytes")
    body = await reader.readexactly(length - 8)
    if code == CANCEL_REQUEST:
        if len(body) != 8:
            raise ProtocolViolation("cancel request of the wrong length")
        pid, secret = struct.unpack("!ii", body)
        return Startup(code, {}, pid, secret)
    params: dict[str, str] = {}
    if code == PROTOCOL_3:
        parts = body.split(b"\0")
        for key, value in zip(parts[0::2], parts[1::2], strict=False):
            if key:
                params[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return Startup(code, params)


async def read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(type byte, payload)."""
    head = await reader.readexactly(5)
    kind, length = head[:1], struct.unpack("!i", head[1:])[0]
    if length < 4 or length > MAX_MESSAGE:
        raise ProtocolViolation(f"message {kind!r} of {length} bytes")
    return kind, await reader.readexactly(length - 4)


class Payload:
    """Reads the fields of one message's payload in order."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def int16(self) -> int:
        (value,) = struct.unpack("!h", self.raw(2))
        return int(value)

    def int32(self) -> int:
        (value,) = struct.unpack("!i", self.raw(4))
        return int(value)

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise ProtocolViolation("a string without its terminator")
        text = self.data[self.pos : end].decode("utf-8", "replace")
        self.pos = end + 1
        return text

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolViolation("a field runs past the message")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> bytes:
        return self.raw(1)


# --- server messages ---------------------------------------------------------------------------


def message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def auth_ok() -> bytes:
    return message(b"R", struct.pack("!i", 0))


def auth_sasl(mechanisms: Sequence[str]) -> bytes:
    return message(b"R", struct.pack("!i", 10) + b"".join(cstr(m) for m in mechanisms) + b"\0")


def auth_sasl_continue(data: bytes) -> bytes:
    return message(b"R", struct.pack("!i", 11) + data)


def auth_sasl_final(data: bytes) -> bytes:
    return message(b"R", struct.pack("!i", 12) + data)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key(process_id: int, secret: int) -> bytes:
    return message(b"K", struct.pack("!ii", process_id, secret))


def ready(status: bytes) -> bytes:
    return message(b"Z", status)


@dataclass(frozen=True)
class Field:
    """One column of a RowDescription."""

    name: str
    type_oid: int
    type_size: int = -1
    type_mod: int = -1
    fmt: int = 0  # 0 text, 1 binary


def row_description(fields: Sequence[Field]) -> bytes:
    parts = [struct.pack("!h", len(fields))]
    for f in fields:
        # table oid 0 and attribute 0: a computed column
        parts.append(
            cstr(f.name) + struct.pack("!ihihih", 0, 0, f.type_oid, f.type_size, f.type_mod, f.fmt)
        )
    return message(b"T", b"".join(parts))


def data_row(cells: Sequence[bytes | None]) -> bytes:
    parts = [struct.pack("!h", len(cells))]
    for cell in cells:
        if cell is None:
            parts.append(b"\xff\xff\xff\xff")
        else:
            parts.append(struct.pack("!i", len(cell)) + cell)
    return message(b"D", b"".join(parts))


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(
        b"t", struct.pack("!h", len(oids)) + b"".join(struct.pack("!i", o) for o in oids)
    )


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
EMPTY_QUERY = message(b"I")
PORTAL_SUSPENDED = message(b"s")


def error_response(
    sqlstate: str,
    text: str,
    *,
    severity: str = "ERROR",
    detail: str | None = None,
    hint: str | None = None,
    position: int | None = None,
) -> bytes:
    return message(b"E", _notice_fields(sqlstate, text, severity, detail, hint, position))


def notice_response(text: str, sqlstate: str = "00000") -> bytes:
    return message(b"N", _notice_fields(sqlstate, text, "NOTICE", None, None))


def _notice_fields(
    sqlstate: str, text: str, severity: str, detail: str | None, hint: str | None,
    position: int | None = None,
) -> bytes:  # fmt: skip
    fields = [(b"S", severity), (b"V", severity), (b"C", sqlstate), (b"M", text)]
    if detail:
        fields.append((b"D", detail))
    if hint:
        fields.append((b"H", hint))
    if position is not None:
        fields.append((b"P", str(position)))  # psql shows the line and a caret under it
    return b"".join(k + cstr(v.replace("\0", "")) for k, v in fields) + b"\0"


__all__ = [
    "BIND_COMPLETE",
    "CANCEL_REQUEST",
    "CLOSE_COMPLETE",
    "EMPTY_QUERY",
    "GSSENC_REQUEST",
    "NO_DATA",
    "PARSE_COMPLETE",
    "PORTAL_SUSPENDED",
    "PROTOCOL_3",
    "SSL_REQUEST",
    "Field",
    "Payload",
    "ProtocolViolation",
    "Startup",
    "auth_ok",
    "auth_sasl",
    "auth_sasl_continue",
    "auth_sasl_final",
    "backend_key",
    "command_complete",
    "data_row",
    "error_response",
    "message",
    "notice_response",
    "parameter_description",
    "parameter_status",
    "read_message",
    "read_startup",
    "ready",
    "row_description",
]
