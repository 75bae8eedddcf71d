"""Where a sync lands: a DuckDB file (the default), PostgreSQL, or a Parquet dataset.

``--to`` picks one: ``postgresql://...`` (or ``postgres://``), ``parquet:DIR`` (or a folder
ending in ``/``), else a DuckDB file path (``duckdb:PATH`` too). Each destination hands out a
:class:`Writer` per transaction: rows are staged with :meth:`Writer.add` as pages arrive, and
:meth:`Writer.commit` merges them and stores the cursor they reach, together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from oktaql.sync._table import TableSpec

# how a commit merges: "append" (System Log: new events only), "upsert" (changed rows) or
# "snapshot" (a full read: upsert, and rows no longer there get _deleted_at)
MODES = ("append", "upsert", "snapshot")


@dataclass
class Counts:
    inserted: int = 0
    updated: int = 0
    deleted: int = 0

    def __iadd__(self, other: Counts) -> Counts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.deleted += other.deleted
        return self


class Writer(Protocol):
    def add(self, rows: Sequence[Sequence[Any]]) -> None: ...

    def commit(self, mode: str, cursor: str | None, gone: Sequence[str] = ()) -> Counts:
        """Merge the staged rows (``mode``), mark the rows keyed by ``gone`` deleted, and store
        ``cursor``, in one transaction."""
        ...

    def abort(self) -> None: ...


class Destination(Protocol):
    label: str  # shown in the summary; never a password

    def cursor(self, org: str, resource: str) -> str | None: ...

    def writer(
        self, spec: TableSpec, org: str, resource: str, synced_at: dt.datetime
    ) -> Writer: ...

    def landed_targets(self, org: str, table: str, event_type: str) -> list[str]:
        """The ``target`` (JSON text) of each event of ``event_type`` landed in the System Log
        table ``table`` for ``org`` (none when the table is not there)."""
        ...

    def close(self) -> None: ...


def open_destination(url: str) -> Destination:
    """The destination ``--to`` names."""
    lowered = url.lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        from oktaql.sync._postgres import PostgresDestination

        return PostgresDestination(url)
    if lowered.startswith("parquet:"):
        from oktaql.sync._parquet import ParquetDestination

        return ParquetDestination(url[len("parquet:") :])
    if url.endswith(("/", "\\")):
        from oktaql.sync._parquet import ParquetDestination

        return ParquetDestination(url)
    from oktaql.sync._duckdb import DuckDBDestination

    return DuckDBDestination(url[len("duckdb:") :] if lowered.startswith("duckdb:") else url)


__all__ = ["MODES", "Counts", "Destination", "Writer", "open_destination"]
