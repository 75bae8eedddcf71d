"""Result rows → text: table, text, json, jsonl, csv, markdown.

``json`` and ``jsonl`` are machine-exact: nested objects stay nested and every DuckDB type has
one JSON form (see :func:`jsonable`). ``table``, ``markdown`` and ``csv`` are for people and
show the same scalar text (:func:`scalar_text`), with every control character made visible
(:func:`visible`): API data never reaches a terminal as escape sequences.

A failed read leaves an honest output: ``json`` is written only once complete (else nothing),
the other formats stop where the rows stopped, and :class:`Written` says how many rows went out.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import decimal
import json
import math
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

# the one list of output formats (the CLI's -o, the shell's .output)
OUTPUT_FORMATS = ("table", "text", "json", "jsonl", "csv", "markdown")
_WIDE = 60
_ZERO = dt.timedelta(0)

# --- control characters, made visible -------------------------------------------------------

# C0 controls, DEL, C1 controls (U+009B is a CSI on some terminals), and the invisible
# characters that reorder or break a line: bidi marks, embeddings, overrides and isolates
# (U+202E shows "txt.exe" as "exe.txt"), the Unicode line and paragraph separators.
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_INVISIBLE = [
    0x061C,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x2028,
    0x2029,
]
_SHORT = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(cp: int) -> str:
    return _SHORT.get(cp) or (f"\\x{cp:02x}" if cp < 0x100 else f"\\u{cp:04x}")


_CELL = {cp: _escape(cp) for cp in _CONTROLS + _INVISIBLE}
_LINES = {cp: e for cp, e in _CELL.items() if cp not in (0x09, 0x0A)}
# JSON leaves C1 controls and bidi characters raw (only C0 must be escaped); as \u escapes
# they decode to the very same text, so JSON stays exact and a terminal sees no control
_JSON = {cp: f"\\u{cp:04x}" for cp in [0x7F, *range(0x80, 0xA0), *_INVISIBLE]}


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``).

    ``lines=True`` keeps newlines and tabs (a multi-line error, a CSV field that csv quotes);
    a carriage return is escaped either way, as it would overwrite what the line showed.
    Backslashes are left as they are.
    """
    if _UNSAFE.search(text) is None:  # nearly always: one C-level scan, no copy
        return text
    return text.translate(_LINES if lines else _CELL)


_UNSAFE = re.compile("[" + re.escape("".join(map(chr, _CONTROLS + _INVISIBLE))) + "]")
_JSON_UNSAFE = re.compile("[" + "".join(map(chr, _JSON)) + "]")


# --- one text per value -----------------------------------------------------------------------


def iso(value: dt.datetime | dt.date | dt.time) -> str:
    """ISO 8601: milliseconds as Okta writes them (microseconds when there are any), the
    value's offset (``Z`` for UTC), none for a value without a zone (a DuckDB ``TIMESTAMP``)."""
    if isinstance(value, dt.datetime | dt.time):
        spec = "microseconds" if value.microsecond % 1000 else "milliseconds"
        text = value.isoformat(timespec=spec)
        return text[:-6] + "Z" if value.utcoffset() == _ZERO else text
    return value.isoformat()


def duration(value: dt.timedelta) -> str:
    """An INTERVAL as an ISO 8601 duration (``P1DT2H3M4.5S``; ``-PT1S`` before zero).

    DuckDB's Python client hands an INTERVAL over as a ``timedelta``, in which a month is
    30 days: ``INTERVAL 1 MONTH`` is ``P30D``."""
    if value < _ZERO:
        return "-" + duration(-value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if value.microseconds:
        clock += f"{seconds}.{value.microseconds:06d}".rstrip("0") + "S"
    elif seconds:
        clock += f"{seconds}S"
    text = "P" + (f"{value.days}D" if value.days else "") + ("T" + clock if clock else "")
    return text if text != "P" else "PT0S"


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _blob_text(value: bytes) -> str:
    # as DuckDB shows a BLOB: printable ASCII as it is, every other byte (and \) as \xHH
    return "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02X}" for b in value)


def scalar_text(value: Any) -> str:
    """The text of a value as table, markdown and csv show it (not yet :func:`visible`)."""
    by_type = _TEXT.get(type(value))
    if by_type is not None:
        return by_type(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return iso(value)
    if isinstance(value, dt.timedelta):
        return duration(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return _blob_text(bytes(value))
    if isinstance(value, dict | list | tuple):
        return json_text(value, compact=True)
    return str(value)  # int, Decimal, UUID


def _json_compact(value: Any) -> str:
    return json_text(value, compact=True)


_TEXT: dict[type, Any] = {
    str: lambda v: v,
    type(None): lambda v: "",
    bool: lambda v: "true" if v else "false",
    int: int.__repr__,
    float: _float_text,
    dt.datetime: iso,
    dt.date: iso,
    dt.time: iso,
    dt.timedelta: duration,
    decimal.Decimal: str,
    dict: _json_compact,
    list: _json_compact,
    tuple: _json_compact,
}


def jsonable(value: Any) -> Any:
    """A value as JSON data: the one JSON form of each DuckDB type.

    TIMESTAMP(TZ)/DATE/TIME as ISO 8601 text (:func:`iso`), INTERVAL as an ISO 8601 duration
    (:func:`duration`), UUID as its text, BLOB as base64, a NaN or infinite double as the
    text ``"NaN"``/``"Infinity"``/``"-Infinity"`` (as protobuf's JSON mapping does), LIST and
    ARRAY as arrays, STRUCT and MAP as objects (a key that is not text written as text).
    DECIMAL stays a ``Decimal``: :func:`json_text` writes it as an exact JSON number, as it
    does HUGEINT's big integers.
    """
    if type(value) in _AS_IS or isinstance(value, str | bool | int | decimal.Decimal):
        return value
    if type(value) is dict:
        return {k if type(k) is str else _key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return iso(value)
    if isinstance(value, dt.timedelta):
        return duration(value)
    if isinstance(value, dict):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


_AS_IS = {str, int, bool, type(None), decimal.Decimal}


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    return "null" if key is None else scalar_text(key)


_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode
_ENCODE_COMPACT = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":")
).encode


def json_text(value: Any, *, indent: int | None = None, compact: bool = False) -> str:
    """``value`` (converted by :func:`jsonable`) as JSON text, exact and terminal-safe."""
    data = jsonable(value)
    seps = (",", ":") if compact else ((",", ": ") if indent is not None else (", ", ": "))
    try:
        if indent is not None:
            text = json.dumps(data, ensure_ascii=False, allow_nan=False, indent=indent)
        else:
            text = (_ENCODE_COMPACT if compact else _ENCODE)(data)
    except (TypeError, ValueError):  # a Decimal somewhere: written by hand, digit for digit
        text = _exact(data, indent, 0, seps)
    if _JSON_UNSAFE.search(text) is None:
        return text
    return text.translate(_JSON)


def _exact(value: Any, indent: int | None, level: int, seps: tuple[str, str]) -> str:
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else json.dumps(str(value))
    if not isinstance(value, dict | list) or not value:
        return json.dumps(value, ensure_ascii=False)
    item_sep, key_sep = seps
    if indent is None:
        pad = close = ""
    else:
        pad, close = "\n" + " " * (indent * (level + 1)), "\n" + " " * (indent * level)
    if isinstance(value, dict):
        parts = [
            json.dumps(k, ensure_ascii=False) + key_sep + _exact(v, indent, level + 1, seps)
            for k, v in value.items()
        ]
        opening, ending = "{", "}"
    else:
        parts = [_exact(v, indent, level + 1, seps) for v in value]
        opening, ending = "[", "]"
    return opening + pad + (item_sep + pad).join(parts) + close + ending


def _cell(value: Any, full: bool = False) -> str:
    text = scalar_text(value)
    if not full and isinstance(value, dict | list | tuple) and len(text) > _WIDE:
        text = text[: _WIDE - 1] + "…"
    return visible(text)


# --- writing ----------------------------------------------------------------------------------


@dataclass
class Written:
    """How many rows reached the output so far (read it after a failed :func:`write`)."""

    rows: int = 0


_JSON_IN_MEMORY = 8 << 20  # a larger JSON result waits for its end in a temporary file


def write(
    fmt: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    out: IO[str],
    *,
    width: int | None = None,
    written: Written | None = None,
    headers: bool = True,
) -> int:
    """Write rows in ``fmt``; returns the number of rows written. ``headers=False`` leaves
    out the header line of ``table``, ``text`` and ``csv``.

    When ``rows`` fails part way, the error propagates: ``json`` has written nothing (a
    half array is not JSON), the others what came before; ``written.rows`` says how many.
    """
    count = written if written is not None else Written()
    if fmt == "json":
        with tempfile.SpooledTemporaryFile(_JSON_IN_MEMORY, "w+", encoding="utf-8") as buf:
            n = 0
            buf.write("[")
            for row in rows:
                buf.write(",\n  " if n else "\n  ")
                buf.write(json_text(_row_obj(columns, row)))
                n += 1
            buf.write("\n]\n" if n else "]\n")
            buf.seek(0)
            shutil.copyfileobj(buf, out)
        count.rows = n
        return n
    if fmt == "jsonl":
        for row in rows:
            out.write(json_text(_row_obj(columns, row)) + "\n")
            count.rows += 1
        return count.rows
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        if headers:
            w.writerow([visible(c, lines=True) for c in columns])
        for row in rows:
            w.writerow([visible(scalar_text(v), lines=True) for v in row])
            count.rows += 1
        return count.rows
    if fmt == "markdown":
        out.write("| " + " | ".join(_md(c) for c in columns) + " |\n")
        out.write("|" + "|".join("---" for _ in columns) + "|\n")
        for row in rows:
            out.write("| " + " | ".join(_md(v, full=True) for v in row) + " |\n")
            count.rows += 1
        return count.rows
    if fmt == "text":
        # StackQL's text: one line per row, tab-separated, no quoting; a tab or newline inside
        # a value is escaped (visible), so every line is exactly one row
        if headers:
            out.write("\t".join(visible(c) for c in columns) + "\n")
        for row in rows:
            out.write("\t".join(visible(scalar_text(v)) for v in row) + "\n")
            count.rows += 1
        return count.rows
    if fmt == "table":
        count.rows = _table(columns, rows, out, width, headers)
        return count.rows
    raise ValueError(f"unknown output format {fmt!r}")


def _md(value: Any, full: bool = False) -> str:
    return _cell(value, full).replace("|", "\\|")


def _row_obj(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(columns, row, strict=False))


def _table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    out: IO[str],
    width: int | None,
    headers: bool = True,
) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    materialised = [list(r) for r in rows]
    table = Table(show_header=headers, header_style="bold", show_lines=False)
    for i, name in enumerate(columns):
        numeric = (
            bool(materialised)
            and all(
                isinstance(r[i], int | float | decimal.Decimal) and not isinstance(r[i], bool)
                for r in materialised
                if r[i] is not None
            )
            and any(r[i] is not None for r in materialised)
        )
        table.add_column(
            Text(visible(name)), justify="right" if numeric else "left", overflow="fold"
        )
    for r in materialised:
        # Text, not str: rich would read "[...]" in the data as markup (and fail on "[/x]")
        table.add_row(*(Text(_cell(v)) for v in r))
    console = Console(
        file=out, width=width or 200, force_terminal=False, no_color=True, soft_wrap=False
    )
    console.print(table)
    return len(materialised)
