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


def listing_sql(kind: Kind, parents: dict[str, Any], narrow: dict[str, list[Any]]) -> str:
    where = [f"{_ident(k)} = {_literal(v)}" for k, v in parents.items()]
    for path, values in narrow.items():
        if 0 < len(values) <= MAX_PUSHED_VALUES:
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


class LiveReader:
    """Reads each (type, parents) listing once per plan; ``requests`` counts what it sent."""

    def __init__(self, session: Any):
        self.session = session
        self._seen: dict[tuple[str, tuple[tuple[str, str], ...]], list[dict[str, Any]]] = {}
        self.narrow: dict[str, dict[str, list[Any]]] = {}
        self._indexes: dict[Any, dict[tuple[Any, ...], list[dict[str, Any]]]] = {}
        self._count = threading.Lock()
        self.requests = 0

    def objects(self, kind: Kind, parents: dict[str, Any]) -> list[dict[str, Any]]:
        key = _key(kind, parents)
        got = self._seen.get(key)
        if got is None:
            got = self._fetch(self._scans(kind, parents))
            self._seen[key] = got
        return got

    def prefetch(self, wanted: Iterable[tuple[Kind, dict[str, Any]]]) -> None:
        """Read several listings at once (each one's pages follow each other, as its cursor
        says; different listings need not wait for each other)."""
        todo: dict[Any, tuple[Kind, dict[str, Any]]] = {}
        for kind, parents in wanted:
            key = _key(kind, parents)
            if key not in self._seen:
                todo.setdefault(key, (kind, parents))
        if len(todo) < 2:
            return
        from concurrent.futures import ThreadPoolExecutor

        planned = [(key, self._scans(kind, parents)) for key, (kind, parents) in todo.items()]
        workers = min(len(planned), max(1, int(getattr(self.session, "concurrency", 1))))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(lambda item: self._fetch(item[1]), planned))
        for (key, _scans), objects in zip(planned, results):
            self._seen[key] = objects

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
        seen = (kind.id, tuple(sorted((k, str(v)) for k, v in parents.items())), names)
        got = self._indexes.get(seen)
        if got is None:
            got = {}
            for o in self.objects(kind, parents):
                values = tuple(get_path(o, n) for n in names)
                if all(isinstance(v, str | int | bool) for v in values):
                    got.setdefault(tuple(_scalar(v) for v in values), []).append(o)
            self._indexes[seen] = got
        return got

    def forget_type(self, resource_id: str) -> None:
        self._indexes = {k: v for k, v in self._indexes.items() if k[0] != resource_id}
        self._seen = {k: v for k, v in self._seen.items() if k[0] != resource_id}

    def _scans(self, kind: Kind, parents: dict[str, Any]) -> list[Any]:
        """The listing planned as a SELECT (in the caller's thread: planning is not shared)."""
        s = self.session
        plan: Plan = s.plan(parser.parse(listing_sql(kind, parents, self.narrow.get(kind.id, {}))))
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


def _key(kind: Kind, parents: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (kind.id, tuple(sorted((k, str(v)) for k, v in parents.items())))
