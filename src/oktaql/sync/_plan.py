"""What a sync reads: which resources, how (System Log cursor, ``lastUpdated`` search, full
snapshot, fan-out from a parent), and the SQL each read runs through the engine.

Every read is an ordinary oktaql statement, so it gets the engine's typed columns, paging,
retries and pacing; only the statement text is chosen here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from oktaql.errors import ConfigError
from oktaql.sync._cursor import earlier

if TYPE_CHECKING:
    from collections.abc import Sequence

    from oktaql.catalog import Catalog
    from oktaql.provider import Method, Resource

LOG_RESOURCE = "okta.logs.system_log_events"

# what lands when neither --resources nor --all is given
DEFAULT_RESOURCES = (
    "okta.users.users",
    "okta.groups.groups",
    "okta.apps.applications",
    "okta.apps.tokens",
    LOG_RESOURCE,
)

# Okta's search takes ``lastUpdated`` for these (users: search, groups: search); every other
# listing has no such filter, so it is read in full each run
LAST_UPDATED_SEARCH = frozenset({"okta.users.users", "okta.groups.groups"})

# Okta's lastUpdated search never returns a hard-deleted row, so an incremental read cannot
# see it vanish; the System Log records each deletion: (event type, target type)
DELETION_EVENTS = {
    "okta.users.users": ("user.lifecycle.delete.completed", "User"),
    "okta.groups.groups": ("group.lifecycle.delete", "UserGroup"),
}

# a required parameter a parent listing provides: the child is read once per parent row
PARENTS = {
    "appId": ("okta.apps.applications", "id"),
    "groupId": ("okta.groups.groups", "id"),
    "authServerId": ("okta.authorizationservers.authorization_servers", "id"),
}

EPOCH = "1970-01-01T00:00:00.000Z"
SEARCH_OVERLAP_SECONDS = 300.0


@dataclass(frozen=True)
class Read:
    """One resource to land: ``kind`` is ``log`` (System Log cursor), ``updated``
    (``lastUpdated`` search; full the first time and with ``--full``) or ``snapshot``."""

    resource: str
    kind: str
    parents: tuple[tuple[str, str, str], ...] = ()  # (param, parent resource, parent column)

    @property
    def table(self) -> str:
        """The destination table: the resource's dotted name with underscores."""
        return self.resource.replace(".", "_")

    def sql(
        self,
        cursor: str | None,
        *,
        page_size: int | None = None,
        until: str | None = None,
        parent_tables: dict[str, str] | None = None,
    ) -> str:
        """The statement reading what is new since ``cursor`` (its form depends on ``kind``:
        a System Log ``since`` instant, or a ``lastUpdated`` instant).

        ``until`` bounds a System Log read: Okta links a bounded query onwards only while
        events remain, so its last page ends the read (a polling query's last page is an
        empty one more). ``parent_tables`` names, per parent resource, a local table holding
        the values of its column that this run has read already: the fan-out takes them
        from there instead of reading the parent's listing a second time."""
        if self.kind == "log":
            where = [f"since = {_literal(cursor)}"] if cursor else []
            if until:
                where.append(f"until = {_literal(until)}")
            if page_size:
                where.append(f"limit = '{int(page_size)}'")
            return f"SELECT * FROM {self.resource}" + (
                " WHERE " + " AND ".join(where) if where else ""
            )
        if self.kind == "updated":
            # Okta's search is eventually consistent: a change indexed late may carry an
            # earlier lastUpdated than one already read, so each run reads a window back
            # from the cursor (the upsert leaves rows read again and unchanged alone)
            since = earlier(cursor, SEARCH_OVERLAP_SECONDS) if cursor else EPOCH
            search = f'lastUpdated ge "{since}"'
            return f"SELECT * FROM {self.resource} WHERE search = {_literal(search)}"
        if self.parents:
            local = parent_tables or {}
            conds = [
                f"{param} IN (SELECT {col} FROM {local.get(parent, parent)})"
                for param, parent, col in self.parents
            ]
            return f"SELECT * FROM {self.resource} WHERE " + " AND ".join(conds)
        return f"SELECT * FROM {self.resource}"


def _literal(text: str | None) -> str:
    return "'" + (text or "").replace("'", "''") + "'"


def _list_method(res: Resource) -> Method | None:
    """The SELECT method a sync reads with: the one needing the fewest parameters."""
    methods = sorted(res.methods_for("select"), key=lambda m: len(m.required_params))
    return methods[0] if methods else None


def read_for(catalog: Catalog, name: str) -> Read:
    """How one resource (``okta.users.users`` or its table name ``okta_users_users``) is
    read; a resource no sync can read is a :class:`ConfigError` saying why."""
    dotted = name.strip()
    if "." not in dotted and dotted.count("_") >= 2:
        dotted = _from_table(catalog, dotted)
    try:
        res = catalog.resource(dotted)
    except Exception as exc:
        raise ConfigError(f"--resources {name}: {exc}") from None
    method = _list_method(res)
    if method is None:
        raise ConfigError(f"--resources {name}: {res.id} has no SELECT method to read it with")
    if res.id == LOG_RESOURCE:
        return Read(res.id, "log")
    required = [p for p in method.required_params if p != "subdomain"]
    if not required:
        return Read(res.id, "updated" if res.id in LAST_UPDATED_SEARCH else "snapshot")
    missing = [p for p in required if p not in PARENTS]
    if missing:
        raise ConfigError(
            f"--resources {name}: {res.id} needs {', '.join(missing)}, which no parent "
            f"listing gives a sync (parents: {', '.join(sorted(PARENTS))})"
        )
    parents = tuple((p, *PARENTS[p]) for p in required)
    return Read(res.id, "snapshot", parents)


def _from_table(catalog: Catalog, table: str) -> str:
    for res in _all_resources(catalog):
        if res.id.replace(".", "_") == table:
            return res.id
    return table  # catalog.resource names the problem


def _all_resources(catalog: Catalog) -> list[Resource]:
    prov = catalog.provider("okta")
    out: list[Resource] = []
    for sname in prov.services:
        svc = prov.service(sname)
        if svc is not None:
            out.extend(svc.resources.values())
    return out


def plan_reads(catalog: Catalog, resources: list[str] | None, everything: bool) -> list[Read]:
    """The reads of a run: ``resources`` as named, every readable resource (``everything``),
    or :data:`DEFAULT_RESOURCES`. The System Log comes first (users and groups deleted since
    the last run are marked from its events), and parents before their children."""
    if everything:
        reads = []
        for res in _all_resources(catalog):
            try:
                reads.append(read_for(catalog, res.id))
            except ConfigError:
                continue  # a resource no sync can read (its parameters come from no parent)
    else:
        names = resources if resources else list(DEFAULT_RESOURCES)
        reads = [read_for(catalog, n) for n in dict.fromkeys(names)]
    return sorted(reads, key=lambda r: (bool(r.parents), r.kind != "log", r.resource))


def parents_needed(reads: Sequence[Read]) -> dict[str, set[str]]:
    """The parent resources of this run's children that the run reads itself, and the
    columns the children take from them."""
    ours = {r.resource for r in reads}
    out: dict[str, set[str]] = {}
    for read in reads:
        for _, parent, col in read.parents:
            if parent in ours:
                out.setdefault(parent, set()).add(col)
    return out


__all__ = [
    "DEFAULT_RESOURCES",
    "DELETION_EVENTS",
    "LOG_RESOURCE",
    "Read",
    "parents_needed",
    "plan_reads",
    "read_for",
]
