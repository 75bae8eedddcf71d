"""Live state in bulk: one listing per resource type (and parent), shared by its resources.

A plan of 150 declarative groups reads ``GET /api/v1/groups`` once, at the largest page the
listing allows (the planner's default), not one GET per group. The listing is planned as a
SELECT, so it gets the planner's pushdown: where every resource of a type matches on the same
top-level field, that field's values go in the WHERE clause and Okta filters them where its
API can. Pages are read raw (the objects as Okta sent them) through the session's clients,
with their retries and pacing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from oktaql import parser
from oktaql.deploy._diff import get_path, same
from oktaql.deploy._kind import Kind
from oktaql.planning import Plan
from oktaql.planning._steps import Fetch, Stream

MAX_PUSHED_VALUES = 20  # more values than this make a URL too long to be worth it


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _scalar(value: Any) -> tuple[str, Any]:
    # True == 1 in Python; the type keeps them apart as `same` does
    return (type(value).__name__, value)


def pushed(narrow: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The part of a narrowing a listing's WHERE clause carries (too many values: none)."""
    return {k: v for k, v in narrow.items() if 0 < len(v) <= MAX_PUSHED_VALUES}


def covers(read: dict[str, list[Any]], asked: dict[str, list[Any]]) -> bool:
    """Whether a listing read narrowed by ``read`` holds every object a listing narrowed by
    ``asked`` would: each field it was narrowed by, the ask narrows too, to values among its
    own (a whole listing, ``{}``, covers every ask)."""
    return all(
        path in asked and {_scalar(v) for v in asked[path]} <= {_scalar(v) for v in values}
        for path, values in read.items()
    )


def listing_sql(kind: Kind, parents: dict[str, Any], narrow: dict[str, list[Any]]) -> str:
    where = [f"{_ident(k)} = {_literal(v)}" for k, v in parents.items()]
    for path, values in pushed(narrow).items():
        head, _, rest = path.partition(".")
        # profile.name: the planner pushes json_extract_string(profile, '$.name') as Okta's
        # `profile.name eq "..."`
        column = (
            f"json_extract_string({_ident(head)}, {_literal('$.' + rest)})"
            if rest
            else _ident(head)
        )
        where.append(
            f"{column} IN ({', '.join(_literal(v) for v in values)})"
            if len(values) > 1
            else f"{column} = {_literal(values[0])}"
        )
    sql = f"SELECT * FROM {kind.id}"
    return sql + (" WHERE " + " AND ".join(where) if where else "")


def narrowing(kind: Kind, matches: Iterable[dict[str, Any] | None]) -> dict[str, list[Any]]:
    """The match fields every resource of a type names, with their values: what a listing may
    be narrowed by (the planner pushes to Okta what its API filters; the rest stays local). A
    resource whose match isn't known yet narrows nothing."""
    common: dict[str, list[Any]] | None = None
    columns = set(kind.columns)
    for match in matches:
        if match is None:
            return {}
        fields = {
            k: v
            for k, v in match.items()
            if k.partition(".")[0] in columns
            and k != "id"
            and (isinstance(v, str) or ("." not in k and isinstance(v, int | bool)))
        }
        if common is None:
            common = {k: [v] for k, v in fields.items()}
        else:
            common = {k: vals + [fields[k]] for k, vals in common.items() if k in fields}
    return {k: list(dict.fromkeys(v)) for k, v in (common or {}).items()}


_Key = tuple[str, tuple[tuple[str, str], ...], str]  # type, parents, the listing's SQL


class Listings:
    """The listings one run has read, shared by all its readers (each run of declarative
    resources, and the .iql updates' field changes), so a type is listed once per run until
    something writes it. ``full``: the types several parts of the stack read, listed whole
    (never narrowed to one part's matches) so that one listing serves them all."""

    def __init__(self, full: Iterable[str] = ()):
        self.full = {t.lower() for t in full}
        self.seen: dict[_Key, list[dict[str, Any]]] = {}
        # what each listing read was narrowed by (as its WHERE clause says): a later ask it
        # covers is served from it
        self.narrowed: dict[_Key, dict[str, list[Any]]] = {}
        self.indexes: dict[tuple[_Key, tuple[str, ...]], dict[tuple[Any, ...], list[Any]]] = {}

    def forget_all(self) -> None:
        """A write the run can't tell the types of (an .iql query, a command, a script: they
        may change anything, e.g. deleting a group drops its app assignments)."""
        self.seen.clear()
        self.narrowed.clear()
        self.indexes.clear()

    def forget(self, resource_id: str) -> None:
        """A write of ``resource_id``: its listings (and indexes) are stale."""
        rid = resource_id.lower()
        self.seen = {k: v for k, v in self.seen.items() if k[0].lower() != rid}
        self.narrowed = {k: v for k, v in self.narrowed.items() if k[0].lower() != rid}
        self.indexes = {k: v for k, v in self.indexes.items() if k[0][0].lower() != rid}


class LiveReader:
    """Reads each (type, parents) listing once per plan; ``requests`` counts what it sent.
    Readers given one :class:`Listings` share what any of them read."""

    def __init__(self, session: Any, shared: Listings | None = None):
        self.session = session
        self.shared = shared if shared is not None else Listings()
        self.narrow: dict[str, dict[str, list[Any]]] = {}
        self._count = threading.Lock()
        self.requests = 0

    def _narrowing(self, kind: Kind) -> dict[str, list[Any]]:
        """What this reader's listing of ``kind`` is narrowed by, as its WHERE clause says."""
        if kind.id.lower() in self.shared.full:
            return {}
        return pushed(self.narrow.get(kind.id, {}))

    def _key(self, kind: Kind, parents: dict[str, Any]) -> _Key:
        ps = tuple(sorted((k, str(v)) for k, v in parents.items()))
        return (kind.id, ps, listing_sql(kind, parents, self._narrowing(kind)))

    def _cached(self, kind: Kind, parents: dict[str, Any]) -> _Key | None:
        """The key of a listing read already that holds what ``kind`` + ``parents`` asks for:
        the same listing, or one that covers it (the whole one, or one narrowed to values
        among which are all of the ask's: a part of a run that narrows by fewer resources than
        another, e.g. teardown's read of exports before its plan)."""
        key = self._key(kind, parents)
        if key in self.shared.seen:
            return key
        asked = self._narrowing(kind)
        for read in self.shared.seen:
            narrowed = self.shared.narrowed.get(read)
            if read[:2] == key[:2] and narrowed is not None and covers(narrowed, asked):
                return read
        return None

    def _store(self, key: _Key, kind: Kind, objects: list[dict[str, Any]]) -> None:
        self.shared.seen[key] = objects
        self.shared.narrowed[key] = self._narrowing(kind)

    def objects(self, kind: Kind, parents: dict[str, Any]) -> list[dict[str, Any]]:
        return self.shared.seen[self._read(kind, parents)]

    def _read(self, kind: Kind, parents: dict[str, Any]) -> _Key:
        key = self._cached(kind, parents)
        if key is None:
            key = self._key(kind, parents)
            self._store(key, kind, self._fetch(self._scans(key[2])))
        return key

    def prefetch(self, wanted: Iterable[tuple[Kind, dict[str, Any]]]) -> None:
        """Read several listings at once (each one's pages follow each other, as its cursor
        says; different listings need not wait for each other)."""
        todo: dict[_Key, tuple[Kind, dict[str, Any]]] = {}
        for kind, parents in wanted:
            if self._cached(kind, parents) is None:
                todo.setdefault(self._key(kind, parents), (kind, parents))
        if len(todo) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        planned = [(key, self._scans(key[2])) for key in todo]
        workers = min(len(planned), max(1, int(getattr(self.session, "concurrency", 1))))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda item: self._fetch(item[1]), planned))
        for (key, _scans), objects in zip(planned, results):
            self._store(key, todo[key][0], objects)

    def by_id(self, kind: Kind, parents: dict[str, Any], ident: str) -> dict[str, Any] | None:
        return self._index(kind, parents, ("id",)).get((_scalar(ident),), [None])[0]

    def matching(
        self, kind: Kind, parents: dict[str, Any], fields: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The objects whose fields equal ``fields`` (scalar values: looked up in an index
        built once per listing, so a plan of N resources costs N lookups, not N scans)."""
        names = tuple(sorted(fields))
        if not all(isinstance(v, str | int | bool) for v in fields.values()):
            objects = self.objects(kind, parents)
            return [o for o in objects if all(same(v, get_path(o, k)) for k, v in fields.items())]
        key = tuple(_scalar(fields[n]) for n in names)
        return list(self._index(kind, parents, names).get(key, []))

    def _index(
        self, kind: Kind, parents: dict[str, Any], names: tuple[str, ...]
    ) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
        listing = self._read(kind, parents)
        got = self.shared.indexes.get((listing, names))
        if got is None:
            got = {}
            for o in self.shared.seen[listing]:
                values = tuple(get_path(o, n) for n in names)
                if all(isinstance(v, str | int | bool) for v in values):
                    got.setdefault(tuple(_scalar(v) for v in values), []).append(o)
            self.shared.indexes[(listing, names)] = got
        return got

    def forget_type(self, resource_id: str) -> None:
        self.shared.forget(resource_id)

    def _scans(self, sql: str) -> list[Any]:
        """The listing planned as a SELECT (in the caller's thread: planning is not shared)."""
        s = self.session
        plan: Plan = s.plan(parser.parse(sql))
        s.check_targets(plan.requests())
        return [step.scan for step in plan.steps if isinstance(step, Fetch | Stream)]

    def _fetch(self, scans: list[Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for scan in scans:
            for rows, _bound in self.session.pages(scan, list(scan.calls)):
                with self._count:
                    self.requests += 1
                out.extend(r for r in rows if isinstance(r, dict))
        return out
