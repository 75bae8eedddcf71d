"""What a statement produced: a DuckDB cursor, a stream of typed rows, literal rows or a
status (the answer of a plan's last step, ``_execute.run``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


@dataclass
class Result:
    """What a statement produced: a row source (DuckDB) or literal rows, plus a status."""

    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, DuckDB type)
    rows: list[tuple[Any, ...]] | None = None
    relation: duckdb.DuckDBPyConnection | None = None  # rows still to fetch from DuckDB
    stream: Iterator[tuple[Any, ...]] | None = None  # rows still to come from the API, typed
    rowcount: int = -1
    message: str | None = None
    scratch: list[str] = field(default_factory=list)


def literal_result(cols: list[str], rows: list[tuple[Any, ...]]) -> Result:
    types = []
    for i, _ in enumerate(cols):
        sample = next((r[i] for r in rows if r[i] is not None), None)
        if isinstance(sample, bool):
            types.append("BOOLEAN")
        elif isinstance(sample, int):
            types.append("BIGINT")
        else:
            types.append("VARCHAR")
    return Result(columns=list(zip(cols, types, strict=True)), rows=rows, rowcount=len(rows))


__all__ = ["Result", "literal_result"]
