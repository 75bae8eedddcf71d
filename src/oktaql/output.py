"""Result rows → text: table, json, jsonl, csv, markdown.

``json`` and ``jsonl`` are machine-exact (nested objects stay nested, timestamps are ISO 8601
UTC as Okta writes them); ``table`` is for people (numbers right-aligned, timestamps readable,
wide JSON shortened).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

FORMATS = ("table", "json", "jsonl", "csv", "markdown")
_WIDE = 60


def iso(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    return value.isoformat()


def jsonable(value: Any) -> Any:
    """A value as plain JSON data: timestamps in Okta's ISO form, decimals as numbers."""
    if isinstance(value, dt.datetime | dt.date):
        return iso(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _cell(value: Any, full: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dict | list):
        text = json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)
        if not full and len(text) > _WIDE:
            text = text[: _WIDE - 1] + "…"
        return text
    return str(value)


def _plain(value: Any) -> str:
    """A cell for csv: exact, JSON as compact JSON text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date):
        return iso(value)
    if isinstance(value, dict | list):
        return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return str(value)


def write(
    fmt: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    out: IO[str],
    *,
    width: int | None = None,
) -> int:
    """Write rows in ``fmt``; returns the number of rows written."""
    if fmt == "json":
        n = 0
        out.write("[")
        for row in rows:
            out.write(",\n  " if n else "\n  ")
            out.write(json.dumps(_row_obj(columns, row), ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
        return n
    if fmt == "jsonl":
        n = 0
        for row in rows:
            out.write(json.dumps(_row_obj(columns, row), ensure_ascii=False) + "\n")
            n += 1
        return n
    if fmt == "csv":
        w = csv.writer(out, lineterminator="\n")
        w.writerow(columns)
        n = 0
        for row in rows:
            w.writerow([_plain(v) for v in row])
            n += 1
        return n
    if fmt == "markdown":
        out.write("| " + " | ".join(columns) + " |\n")
        out.write("|" + "|".join("---" for _ in columns) + "|\n")
        n = 0
        for row in rows:
            cells = [_cell(v, full=True).replace("|", "\\|").replace("\n", " ") for v in row]
            out.write("| " + " | ".join(cells) + " |\n")
            n += 1
        return n
    if fmt == "table":
        return _table(columns, rows, out, width)
    raise ValueError(f"unknown output format {fmt!r}")


def _row_obj(columns: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    return {c: jsonable(v) for c, v in zip(columns, row, strict=False)}


def _table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], out: IO[str], width: int | None
) -> int:
    from rich.console import Console
    from rich.table import Table

    materialised = [list(r) for r in rows]
    table = Table(show_header=True, header_style="bold", show_lines=False)
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
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    for r in materialised:
        table.add_row(*(_cell(v) for v in r))
    console = Console(
        file=out, width=width or 200, force_terminal=False, no_color=True, soft_wrap=False
    )
    console.print(table)
    return len(materialised)
