"""A behaviour's own collection, served from data: list, get, create, replace, delete, lifecycle.

What differs between the collections the behaviours keep themselves (authorization servers and
their scopes, policies, rules and claims; org policies and their rules; group rules) is where
the items live, how one renders, how a body becomes one (its writer validates, stores and logs)
and what a delete or a status change also does. :class:`Family` holds those as functions and
builds the handlers once, with Okta's 404 ``E0000007`` for an unknown item, 400 ``E0000001``
for a bad body and the spec's status codes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import _events
from .._http import Ctx, Handler, Reply, not_found, paged
from .._route_helpers import validated

Doc = dict[str, Any]
Parents = tuple[str, ...]


@dataclass(frozen=True)
class Family:
    collection: str  # the collection's path template; its item is ``{collection}/{key}``
    key: str  # the item's path parameter
    type_name: str  # Okta's name of the item's type, in 404 answers
    # the items under the parent ids, by id, in list order (404 for an unknown parent)
    store: Callable[[Ctx, Parents], dict[str, Doc]]
    render: Callable[..., Doc]  # (*parents, doc, base)
    # (ctx, parents, body, current item or None) → the item written (validated, stored, logged)
    write: Callable[[Ctx, Parents, Any, Doc | None], Doc] | None = None
    remove: Callable[[Ctx, Parents, Doc], None] | None = None  # forget the item (and log)
    set_status: Callable[[Ctx, Parents, Doc, str], None] | None = None
    # The System Log events, ``{verb}`` one of create, update, delete, activate, deactivate
    # ("oauth2.policy.{verb}d"): with it, a write is logged, a delete pops the item from the
    # store (``cascade`` takes what goes with it) and a status change sets ``status``, unless
    # ``remove``/``set_status`` say otherwise (and log themselves).
    events: str | None = None
    cascade: Callable[[Ctx, Parents, Doc], None] | None = None
    # the listing: ordered and filtered by the query (default: the store's order)
    docs: Callable[[Ctx, Parents], list[Doc]] | None = None
    created: int = 201
    deleted: int = 204
    default_limit: int = 200
    by_seq: bool = False  # listed in id-registration order (cursors survive deletion)
    item_methods: tuple[str, ...] = ("GET", "PUT", "DELETE")
    lifecycle: bool = True

    def item(self, ctx: Ctx, parents: Parents, key: str) -> Doc:
        doc = self.store(ctx, parents).get(key)
        if doc is None:
            raise not_found(key, self.type_name)
        return doc

    def _render(self, ctx: Ctx, parents: Parents, doc: Doc) -> Doc:
        return self.render(*parents, doc, ctx.base)

    # ------------------------------------------------------------ handlers

    def list_items(self, ctx: Ctx, **params: str) -> Reply:
        parents = tuple(params.values())
        docs = self.docs(ctx, parents) if self.docs else list(self.store(ctx, parents).values())
        base = ctx.base
        return paged(
            ctx,
            docs,
            lambda d: self.render(*parents, d, base),
            default_limit=self.default_limit,
            max_limit=200,
            ordered_by_seq=self.by_seq,
        )

    def get(self, ctx: Ctx, **params: str) -> Reply:
        *parents, key = params.values()
        return Reply(200, self._render(ctx, tuple(parents), self.item(ctx, tuple(parents), key)))

    def create(self, ctx: Ctx, **params: str) -> Reply:
        assert self.write is not None
        parents = tuple(params.values())
        self.store(ctx, parents)  # 404 for an unknown parent before the body is read
        doc = validated(self.write, ctx, parents, ctx.json_body(), None)
        self._log(ctx, doc, "create")
        return Reply(self.created, self._render(ctx, parents, doc))

    def replace(self, ctx: Ctx, **params: str) -> Reply:
        assert self.write is not None
        *parents, key = params.values()
        current = self.item(ctx, tuple(parents), key)
        doc = validated(self.write, ctx, tuple(parents), ctx.json_body(), current)
        self._log(ctx, doc, "update")
        return Reply(200, self._render(ctx, tuple(parents), doc))

    def _log(self, ctx: Ctx, doc: Doc, verb: str) -> None:
        if self.events is not None:
            ctx.org.log(self.events.format(verb=verb), [ref(doc, self.type_name)], ctx.path)

    def delete(self, ctx: Ctx, **params: str) -> Reply:
        *parents, key = params.values()
        doc = self.item(ctx, tuple(parents), key)
        validated(self.remove or self._remove, ctx, tuple(parents), doc)
        return Reply(self.deleted)

    def _remove(self, ctx: Ctx, parents: Parents, doc: Doc) -> None:
        assert self.events is not None
        ctx.org.tick()
        del self.store(ctx, parents)[doc["id"]]
        if self.cascade is not None:
            self.cascade(ctx, parents, doc)
        self._log(ctx, doc, "delete")

    def _set_status(self, ctx: Ctx, parents: Parents, doc: Doc, status: str) -> None:
        assert self.events is not None
        verb = "activate" if status == "ACTIVE" else "deactivate"
        event = self.events.format(verb=verb)
        status_change(ctx, doc, status, event, [ref(doc, self.type_name)])

    def _status(self, status: str) -> Handler:
        def handler(ctx: Ctx, **params: str) -> Reply:
            *parents, key = params.values()
            doc = self.item(ctx, tuple(parents), key)
            validated(self.set_status or self._set_status, ctx, tuple(parents), doc, status)
            return Reply(204)

        return handler

    def routes(self) -> list[tuple[str, dict[str, Handler]]]:
        item = f"{self.collection}/{{{self.key}}}"
        listing: dict[str, Handler] = {"GET": self.list_items}
        if self.write is not None:
            listing["POST"] = self.create
        calls = {"GET": self.get, "PUT": self.replace, "DELETE": self.delete}
        out: list[tuple[str, dict[str, Handler]]] = [
            (self.collection, listing),
            (item, {m: h for m, h in calls.items() if m in self.item_methods}),
        ]
        if self.lifecycle and (self.set_status is not None or self.events is not None):
            out.append((f"{item}/lifecycle/activate", {"POST": self._status("ACTIVE")}))
            out.append((f"{item}/lifecycle/deactivate", {"POST": self._status("INACTIVE")}))
        return out


# ------------------------------------------------- pieces the families share


def renumber(docs: dict[str, Doc], moved: Doc, priority: Any) -> None:
    """Store ``moved`` at ``priority`` (last when absent or out of range); keep them 1..n."""
    others = sorted(
        (d for d in docs.values() if d["id"] != moved["id"]), key=lambda d: d["priority"]
    )
    n = len(others) + 1
    want = priority if isinstance(priority, int) and 1 <= priority <= n else n
    others.insert(want - 1, moved)
    for k, doc in enumerate(others, start=1):
        doc["priority"] = k
    docs[moved["id"]] = moved


def stamp(ctx: Ctx, current: Doc | None, prefix: str, status: str | None = None) -> Doc:
    """The id, status and times of a written item: ``current``'s (``lastUpdated`` now), else a
    new registered id of ``prefix`` with ``status`` (ACTIVE by default). Call it once the body
    is valid: it ticks the clock and draws the id."""
    now = ctx.org.tick()
    if current is None:
        doc_id = ctx.org.new_id(prefix)
        ctx.org.register(doc_id)
        return {"id": doc_id, "status": status or "ACTIVE", "created": now, "lastUpdated": now}
    keep = {k: current[k] for k in ("id", "status", "created")}
    return {**keep, **({"status": status} if status else {}), "lastUpdated": now}


def status_change(
    ctx: Ctx, doc: Doc, status: str, event: str, targets: list[dict[str, Any]]
) -> bool:
    """Set ``status`` (no-op and no event when it already is); ``event`` is logged."""
    if doc.get("status") == status:
        return False
    doc["status"], doc["lastUpdated"] = status, ctx.org.tick()
    ctx.org.log(event, targets, ctx.path)
    return True


def ref(doc: Doc, type_name: str) -> dict[str, Any]:
    return _events.ref(doc["id"], type_name, doc.get("name") or doc["id"])
