"""Where a sync lands: a DuckDB file (the default), PostgreSQL, or a Parquet dataset.

``--to`` picks one: ``postgresql://...`` (or ``postgres://``), ``parquet:DIR`` (or a folder
ending in ``/``), else a DuckDB file path (``duckdb:PATH`` too). Each destination hands out a
:class:`Writer` per transaction: rows are staged with :meth:`Writer.add` as pages arrive, and
:meth:`Writer.commit` merges them and stores the cursor they reach, together.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from oktaql.errors import ConfigError, OperationalError
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

    def lock(self, org: str) -> AbstractContextManager[None]:
        """Held while one run lands ``org``: a second run of the same org into the same
        destination is refused (:func:`busy`) instead of racing on its cursors."""
        ...

    def landed_targets(self, org: str, table: str, event_type: str) -> list[str]:
        """The ``target`` (JSON text) of each event of ``event_type`` landed in the System Log
        table ``table`` for ``org`` (none when the table is not there)."""
        ...

    def close(self) -> None: ...


def busy(org: str, where: str, holder: str = "") -> OperationalError:
    return OperationalError(
        f"another oktaql sync is landing org {org} into {where} right now{holder}: wait for it "
        "to finish (run syncs of one org one at a time: flock -n in cron, concurrencyPolicy: "
        "Forbid in Kubernetes)"
    )


def open_destination(url: str) -> Destination:
    """The destination ``--to`` names."""
    lowered = url.lower()
    if lowered.startswith(("postgresql://", "postgres://")):
        from oktaql.sync._postgres import PostgresDestination

        return PostgresDestination(url)
    if lowered.startswith("parquet:"):
        from oktaql.sync._parquet import ParquetDestination

        return ParquetDestination(url[len("parquet:") :])
    scheme = lowered.partition("://")[0] if "://" in lowered else ""
    if scheme:
        raise ConfigError(
            f"--to {scheme}://...: not a destination sync knows; use postgresql://USER@HOST/DB, "
            "parquet:DIR or a DuckDB file path"
        )
    if re.match(r"^\s*\w+\s*=", url):  # host=... dbname=...: libpq's keyword form
        raise ConfigError(
            "--to: give PostgreSQL as a URL, postgresql://USER@HOST:PORT/DB (keywords such as "
            "sslmode go in its query string: ?sslmode=require)"
        )
    if url.endswith(("/", "\\")):
        from oktaql.sync._parquet import ParquetDestination

        return ParquetDestination(url)
    from oktaql.sync._duckdb import DuckDBDestination

    return DuckDBDestination(url[len("duckdb:") :] if lowered.startswith("duckdb:") else url)


__all__ = ["MODES", "Counts", "Destination", "Writer", "busy", "open_destination"]
