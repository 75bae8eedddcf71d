"""Running a sync: each org on its own thread with its own session; each resource read through
the engine and landed batch by batch; one failure recorded, never the end of the others.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oktaql.errors import APIError, Error
from oktaql.sync._cursor import LogCursor, latest, okta_instant
from oktaql.sync._destinations import Counts, Destination
from oktaql.sync._plan import DELETION_EVENTS, LOG_RESOURCE, Read, parents_needed
from oktaql.sync._table import TableSpec, q

if TYPE_CHECKING:
    import httpx

    from oktaql._settings import Settings
    from oktaql.session import Session

LOG_SETTLE_SECONDS = 60  # a System Log read ends this long before the run started
BATCH_ROWS = 1000  # rows per commit of a snapshot's stage (a System Log batch is one page)
SUMMARY_COLUMNS = (
    "org",
    "resource",
    "status",
    "read",
    "inserted",
    "updated",
    "deleted",
    "requests",
    "seconds",
    "message",
)


@dataclass
class Landed:
    """What one resource of one org came to (a row of the summary)."""

    org: str
    resource: str
    status: str = "ok"  # ok | error | skipped
    read: int = 0
    counts: Counts = field(default_factory=Counts)
    requests: int = 0
    seconds: float = 0.0
    message: str = ""

    def row(self) -> tuple[Any, ...]:
        c = self.counts
        return (
            self.org,
            self.resource,
            self.status,
            self.read,
            c.inserted,
            c.updated,
            c.deleted,
            self.requests,
            round(self.seconds, 3),
            self.message,
        )


@dataclass(frozen=True)
class OrgTarget:
    """An org to sync: its label (``_org``) and how to build its settings (deferred, so a
    profile whose token cannot be read fails that org alone)."""

    name: str
    settings: Callable[[], Settings]


class CountingTransport:
    """Real HTTP that counts what it sends (the requests column of the summary)."""

    def __init__(self, connections: int = 16) -> None:
        import httpx

        # the limits HTTPClient gives its own transport: a connection kept for every worker
        self.inner = httpx.HTTPTransport(
            limits=httpx.Limits(
                max_connections=max(100, connections),
                max_keepalive_connections=max(20, connections),
            )
        )
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class RunOptions:
    since: str | None = None  # Okta's form; the System Log's start on a first run
    full: bool = False  # read lastUpdated resources in full (and mark what vanished)
    page_size: int | None = None  # System Log page size (None: Okta's largest, 1000)


def _rows(session: Session, result: Any) -> Iterator[Sequence[Any]]:
    try:
        if result.stream is not None:
            yield from result.stream
        elif result.relation is not None:
            while chunk := result.relation.fetchmany(BATCH_ROWS):
                yield from chunk
        elif result.rows:
            yield from result.rows
    finally:
        session.drop_scratch(result.scratch)


def _batches(rows: Iterator[Sequence[Any]], size: int) -> Iterator[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class OrgRun:
    """What one org's reads share within a run: the values of parent columns read so far
    (``values[resource][column]``), which drive the children's fan-outs."""

    session: Session
    needed: dict[str, set[str]] = field(default_factory=dict)
    values: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def parent_tables(self, read: Read) -> dict[str, str]:
        """Local tables of the parent values this run has read, for ``read``'s fan-out; a
        parent not read (or not fully read) in this run is left to the statement to list."""
        out: dict[str, str] = {}
        for _, parent, col in read.parents:
            got = self.values.get(parent, {}).get(col)
            if got is None:
                continue
            table = f"_sync_parent_{parent.replace('.', '_')}_{col}"
            duck = self.session.duck
            duck.execute(f"CREATE OR REPLACE TABLE {table} ({q(col)} VARCHAR)")
            if got:
                duck.execute(f"INSERT INTO {table} SELECT UNNEST(?::VARCHAR[])", [got])
            out[parent] = table
        return out


def land(
    run: OrgRun, read: Read, org: str, dest: Destination, opts: RunOptions, out: Landed
) -> None:
    """Read one resource of one org and land it; ``out`` counts as it goes (a failure part
    way leaves what committed counted)."""
    session = run.session
    synced_at = dt.datetime.now(dt.UTC)
    stored = dest.cursor(org, read.resource)
    if read.kind == "log":
        cursor = LogCursor.parse(stored)
        size = opts.page_size or 1000
        # a bounded read up to a minute ago: Okta persists an event a few seconds after its
        # `published`, and one persisted after this read, published before the cursor it
        # leaves, would never be read
        until = okta_instant(synced_at - dt.timedelta(seconds=LOG_SETTLE_SECONDS))
        since = cursor.published or opts.since
        if since is not None and since >= until:
            return  # nothing has settled since the cursor yet
        sql = read.sql(since, page_size=opts.page_size, until=until)
        result = session.execute(sql)
        spec = TableSpec.of(read.table, result.columns)
        uid, pub = spec.index("uuid"), spec.index("published")
        landed_any = False
        for batch in _batches(_rows(session, result), size):
            out.read += len(batch)
            pairs = [(r[uid], r[pub]) for r in batch]
            fresh = cursor.fresh(pairs)
            if not fresh:
                continue
            nxt = cursor.advanced([pairs[i] for i in fresh])
            writer = dest.writer(spec, org, read.resource, synced_at)
            try:
                writer.add([batch[i] for i in fresh])
                out.counts += writer.commit("append", nxt.text())
            except BaseException:
                writer.abort()
                raise
            cursor, landed_any = nxt, True
        if not landed_any and stored is None:  # the table exists after a first run
            dest.writer(spec, org, read.resource, synced_at).commit("append", None)
        return
    # a parent whose children this run reads is read in full: the children need every id,
    # and one full read is fewer requests than a search for changes plus a listing
    full = opts.full or read.kind != "updated" or read.resource in run.needed
    since = None if full else stored
    result = session.execute(read.sql(since, parent_tables=run.parent_tables(read)))
    spec = TableSpec.of(read.table, result.columns)
    stamp = spec.index("lastUpdated") if "lastUpdated" in spec.names else None
    keep = {c: spec.index(c) for c in run.needed.get(read.resource, ()) if c in spec.names}
    kept: dict[str, list[Any]] = {c: [] for c in keep}
    # asked before the writer opens its transaction (PostgreSQL: the same connection)
    gone = deleted_in_log(dest, org, read) if since else []
    writer = dest.writer(spec, org, read.resource, synced_at)
    newest = since
    try:
        for batch in _batches(_rows(session, result), BATCH_ROWS):
            out.read += len(batch)
            writer.add(batch)
            for col, at in keep.items():
                kept[col].extend(r[at] for r in batch if r[at] is not None)
            if stamp is not None and read.kind == "updated":
                newest = latest((r[stamp] for r in batch), newest)
        mode = "upsert" if since else "snapshot"
        out.counts += writer.commit(mode, newest if read.kind == "updated" else None, gone)
    except BaseException:
        writer.abort()
        raise
    if keep:  # the whole listing landed: its children fan out from these rows
        run.values[read.resource] = kept


def deleted_in_log(dest: Destination, org: str, read: Read) -> list[str]:
    """Ids of ``read``'s rows that the landed System Log says were deleted (an incremental
    read never sees them vanish). The whole landed log is asked, not just this run's pages,
    so a run killed between landing the log and marking the users loses no deletion."""
    if read.resource not in DELETION_EVENTS:
        return []
    event_type, target_type = DELETION_EVENTS[read.resource]
    ids: set[str] = set()
    for text in dest.landed_targets(org, LOG_RESOURCE.replace(".", "_"), event_type):
        try:
            targets = json.loads(text)
        except ValueError:
            continue
        for t in targets if isinstance(targets, list) else []:
            if isinstance(t, dict) and t.get("type") == target_type and t.get("id"):
                ids.add(str(t["id"]))
    return sorted(ids)


def sync_org(
    target: OrgTarget,
    reads: Sequence[Read],
    dest: Destination,
    opts: RunOptions,
    live: list[Session] | None = None,
) -> list[Landed]:
    """Every read of one org, in order; an org whose credential is refused stops there.
    ``live`` gets the org's session while it runs (so Ctrl-C can cancel it)."""
    from oktaql._settings import Settings
    from oktaql.session import Session

    results = [Landed(target.name, r.resource) for r in reads]
    try:
        base = target.settings()
        counter = CountingTransport(base.concurrency)
        settings = Settings.of(base, transport=counter, db=None, progress=False)
        session = Session(settings)
        if live is not None:
            live.append(session)
    except Exception as exc:  # a profile without a token, an unreadable config...
        for res in results:
            res.status, res.message = "error", _message(exc)
        return results
    run = OrgRun(session, parents_needed(reads))
    try:
        with dest.lock(target.name):
            _read_all(run, target, reads, dest, opts, results, counter)
    except Error as exc:  # another run holds the org
        for res in results:
            res.status, res.message = "error", _message(exc)
    finally:
        session.close()
    return results


def _read_all(
    run: OrgRun,
    target: OrgTarget,
    reads: Sequence[Read],
    dest: Destination,
    opts: RunOptions,
    results: list[Landed],
    counter: CountingTransport,
) -> None:
    """Each read in order; an org whose credential is refused stops there."""
    stop: str | None = None
    for read, res in zip(reads, results, strict=True):
        if stop is not None:
            res.status, res.message = "skipped", stop
            continue
        before, start = counter.count, time.monotonic()
        try:
            land(run, read, target.name, dest, opts, res)
        except Exception as exc:
            res.status, res.message = "error", _message(exc)
            if isinstance(exc, APIError) and exc.status == 401:
                stop = f"not read: the org refused the credential ({exc.status})"
        finally:
            res.requests = counter.count - before
            res.seconds = time.monotonic() - start


def _message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if isinstance(exc, Error) else f"{type(exc).__name__}: {first}"


def sync_orgs(
    targets: Sequence[OrgTarget], reads: Sequence[Read], dest: Destination, opts: RunOptions
) -> list[Landed]:
    """Every org at once (a thread each); the summary rows in the order orgs were named.
    Ctrl-C cancels every org's session (nothing more is sent; what committed stays)."""
    live: list[Session] = []
    pool = ThreadPoolExecutor(max_workers=max(1, len(targets)))
    try:
        futures = [pool.submit(sync_org, t, reads, dest, opts, live) for t in targets]
        out: list[Landed] = []
        for f in futures:
            out.extend(f.result())
        return out
    except KeyboardInterrupt:
        for session in list(live):
            session.cancel()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["SUMMARY_COLUMNS", "Landed", "OrgTarget", "RunOptions", "sync_orgs"]
