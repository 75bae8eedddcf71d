"""The generic resource: every spec path no behaviour module serves, driven by the spec.

What each path of Okta's spec (``provider._spec_table``) is, follows from its shape:

* a **collection**: its GET answers an array (or a child path ``<collection>/{key}`` exists).
  GET lists one page (``limit`` default and maximum from the spec's ``limit`` parameter,
  ``after`` = the last item's key, ``Link`` rel=self/next); POST creates (the body is checked
  against the request schema's required fields, enums and types: 400 ``E0000001``); DELETE
  removes every item.
* an **item**: ``<collection>/{key}``. GET, PUT (replace the writable fields the body names),
  POST/PATCH (merge), DELETE (its child collections go with it); unknown key: 404
  ``E0000007``. A key the spec enumerates (``{featureName}``...) always exists.
* a **lifecycle** call: ``<item>/lifecycle/activate|deactivate`` sets ``status`` to
  ACTIVE/INACTIVE; other lifecycle verbs answer without changing it.
* anything else is a **singleton** (``/api/v1/org``, ``.../logo``) or an **action**
  (``.../clone``): one object per path and path values, generated once and updated by
  PUT/POST with the response schema of its GET; an action answers a generated object.

Every collection is seeded lazily, the first time it is read, with :data:`SEED_ITEMS` objects
generated from its item schema (``_schemagen``) with a ``random.Random`` seeded from the
org's seed, the path template and the parent ids, so the data is a pure function of the seed
and of the requests made. A path under an item needs the item: the parent is looked up
through the router (``exists``), so a child of a deleted app or of an unknown brand is 404.
Answers carry the spec's success status, and no body where the spec declares none.
"""

from __future__ import annotations

import functools
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._filters import FilterError, compile_filter
from ._http import Ctx, Reply, not_found, paged, validation_failed
from ._schemagen import Schemas
from ._util import deep_merge, okta_id

if TYPE_CHECKING:
    from ._org import Org

SEED_ITEMS = 3
_LIFECYCLE_STATUS = {"activate": "ACTIVE", "deactivate": "INACTIVE"}
_PARAM = re.compile(r"^\{(\w+)\}$")
_ID_PREFIX = re.compile(r"^[0-9a-z]{3}[0-9A-Za-z]{14,17}$")
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def segments(template: str) -> list[str]:
    return [s for s in template.split("/") if s]


def shape(template: str) -> str:
    """``/api/v1/apps/{appId}`` → ``/api/v1/apps/*``: templates equal up to parameter names."""
    return "/" + "/".join("*" if _PARAM.match(s) else s for s in segments(template))


@dataclass(frozen=True)
class Op:
    """One operation of the spec table."""

    method: str
    template: str
    raw: dict[str, Any]

    @property
    def ok(self) -> dict[str, Any]:
        return self.raw.get("ok") or {"status": 200, "schema": None, "empty": True}

    def param(self, name: str, where: str = "query") -> dict[str, Any] | None:
        return next((p for p in self.raw["params"] if p["name"] == name and p["in"] == where), None)

    @property
    def body_schema(self) -> Any:
        return (self.raw.get("body") or {}).get("schema")


@dataclass
class Collection:
    template: str
    item_schema: Any
    key_param: str | None = None  # the {param} of its item path
    key_enum: list[str] | None = None
    key_example: str = ""  # the spec's example of the key parameter (its id prefix)
    key_prop: str = "id"
    wrapper: str | None = None  # GET answers {wrapper: [items]} ({"domains": [...]})


class Spec:
    """The spec table, with each path's role (see the module docstring)."""

    def __init__(self, table: dict[str, Any]):
        self.paths: dict[str, dict[str, Op]] = {
            t: {m: Op(m, t, op) for m, op in ops.items()} for t, ops in table["paths"].items()
        }
        self.schemas = Schemas(table["schemas"])
        self.by_shape = {shape(t): t for t in self.paths}
        self.collections: dict[str, Collection] = {}
        for template, ops in self.paths.items():
            listed = self._list_schema(template, ops)
            if listed is not None:
                self.collections[template] = Collection(template, listed[0], wrapper=listed[1])
        for template in self.paths:
            parent, last = template.rsplit("/", 1)
            m = _PARAM.match(last)
            if not m:
                continue
            coll = self.collections.get(parent)
            if coll is None:
                ops = self.paths.get(parent, {})
                if "POST" not in ops or "GET" in ops:
                    continue
                created = ops["POST"].ok.get("schema")
                if created is None:
                    continue
                coll = self.collections[parent] = Collection(parent, created)
            if coll.key_param is None:
                coll.key_param = m.group(1)
                item_get = self.paths[template].get("GET")
                pschema = (item_get.param(m.group(1), "path") if item_get else None) or {}
                enum = (pschema.get("schema") or {}).get("enum")
                coll.key_enum = list(enum) if enum else None
                example = (pschema.get("schema") or {}).get("example")
                coll.key_example = example if isinstance(example, str) else ""
        for coll in self.collections.values():
            coll.key_prop = self._key_prop(coll)

    def _list_schema(self, template: str, ops: dict[str, Op]) -> tuple[Any, str | None] | None:
        """(item schema, wrapper property) of a listing GET, else None."""
        get = ops.get("GET")
        schema = get.ok.get("schema") if get else None
        node = self.schemas.deref(schema)
        if not isinstance(node, dict):
            return None
        if node.get("type") == "array":
            return node.get("items"), None
        # an object holding the one list, with an item path below it: {"domains": [...]}
        props = self.schemas.properties(schema)
        lists = [
            k for k, v in props.items() if (self.schemas.deref(v) or {}).get("type") == "array"
        ]
        depth = template.count("/") + 1
        has_items = any(t.startswith(template + "/{") and t.count("/") == depth for t in self.paths)
        if len(lists) == 1 and has_items:
            return self.schemas.deref(props[lists[0]]).get("items"), lists[0]
        return None

    def _key_prop(self, coll: Collection) -> str:
        props = self.schemas.properties(coll.item_schema)
        name = coll.key_param or "id"
        snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
        candidates = [name, snake]
        if name.endswith("Name"):
            candidates.append("name")
        if name.endswith("Type"):
            candidates.append("type")
        candidates += ["id", "kid", "keyId", "name", "type"]
        return next((c for c in candidates if c in props), "id")

    def role(self, template: str) -> tuple[str, str | None]:
        """(role, the collection's template) for ``template``; see the module docstring."""
        if template in self.collections:
            return "collection", template
        parent, last = template.rsplit("/", 1)
        coll = self.collections.get(parent)
        if coll is not None and coll.key_param and last == "{" + coll.key_param + "}":
            return "item", parent
        segs = template.rsplit("/", 3)
        if len(segs) == 4 and segs[2] == "lifecycle":
            item = segs[0] + "/" + segs[1]
            if self.role(item)[0] == "item":
                return "lifecycle", item
        return "singleton", None


@functools.cache
def load_spec() -> Spec:
    """The spec table, parsed once per process (it is never modified)."""
    from oktaql.provider._spec_table import TABLE

    return Spec(json.loads(TABLE))


@dataclass
class Resources:
    """The generic resources' state: collections' items and singletons, per parent ids."""

    org: Org
    # (collection template, parent values) → key → object, in list order
    items: dict[tuple[str, tuple[str, ...]], dict[str, dict[str, Any]]] = field(
        default_factory=dict
    )
    singletons: dict[tuple[str, tuple[str, ...]], Any] = field(default_factory=dict)
    # Set by the router: does the item at (template, values) exist (a GET of it answers)?
    exists: Callable[[str, list[str]], bool] = lambda template, values: True
    fetch: Callable[[str, list[str]], Any] = lambda template, values: {}
    hand_served: Callable[[str], bool] = lambda template: False

    @property
    def spec(self) -> Spec:
        return load_spec()

    # ----------------------------------------------------------------- dispatch

    def handle(self, ctx: Ctx, op: Op, values: list[str]) -> Reply:
        spec = self.spec
        role, coll_template = spec.role(op.template)
        self._check_parent(op.template, values)
        if role == "collection":
            assert coll_template is not None
            coll = spec.collections[coll_template]
            if op.method == "POST" and self.hand_served(coll_template):
                return self._of_behaviour(ctx, op, coll, None, values)
            return self._collection(ctx, op, coll, tuple(values))
        if role in ("item", "lifecycle"):
            assert coll_template is not None
            coll_t = coll_template if role == "item" else spec.role(coll_template)[1]
            assert coll_t is not None
            coll = spec.collections[coll_t]
            parents, key = tuple(values[:-1]), values[-1]
            if self.hand_served(coll_t):
                item_t = coll_template if role == "lifecycle" else op.template
                return self._of_behaviour(ctx, op, coll, item_t, values)
            if role == "item":
                return self._item(ctx, op, coll, parents, key)
            return self._lifecycle(ctx, op, coll, parents, key)
        return self._singleton(ctx, op, tuple(values))

    def _check_parent(self, template: str, values: list[str]) -> None:
        """404 unless the nearest item above the path exists (checked through the router)."""
        segs = template.split("/")
        params = [i for i, s in enumerate(segs[:-1]) if _PARAM.match(s)]
        if not params:
            return
        count = len(params)
        if not self.exists("/".join(segs[: params[-1] + 1]), values[:count]):
            raise not_found(values[count - 1], "Resource")

    # --------------------------------------------------------------- collections

    def store(self, coll: Collection, parents: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        key = (coll.template, parents)
        found = self.items.get(key)
        if found is None:
            found = self.items[key] = {}
            if coll.key_enum:
                for value in coll.key_enum[:SEED_ITEMS]:
                    found[value] = self._seeded(coll, parents, value)
            else:
                # A collection no GET lists (sessions: POST only) starts with the spec's
                # example item, so the documented id is one a client can read.
                example = coll.key_example if "GET" not in self.spec.paths[coll.template] else ""
                for i in range(SEED_ITEMS):
                    doc = self._seeded(coll, parents, example if i == 0 and example else i)
                    found.setdefault(_key(doc, coll.key_prop), doc)
        return found

    def _rng(self, *parts: Any) -> random.Random:
        return random.Random("|".join(map(str, (self.org.config.seed, *parts))))

    def _seeded(self, coll: Collection, parents: tuple[str, ...], which: Any) -> Any:
        rng = self._rng(coll.template, "/".join(parents), which)
        doc = self.spec.schemas.generate(
            coll.item_schema, rng, label=_label(coll.template), refs=self._refs()
        )
        if isinstance(doc, dict):
            doc[coll.key_prop] = (
                which if isinstance(which, str) else self._new_key(coll, rng, doc, which)
            )
        return doc

    def _new_key(self, coll: Collection, rng: random.Random, doc: dict[str, Any], n: int) -> Any:
        """A key of the documented shape: an enum's n-th value, a UUID, an Okta id."""
        current = doc.get(coll.key_prop)
        prop = self.spec.schemas.deref(
            self.spec.schemas.properties(coll.item_schema).get(coll.key_prop)
        )
        prop = prop if isinstance(prop, dict) else {}
        if prop.get("enum"):
            return prop["enum"][n % len(prop["enum"])]
        if prop.get("pattern") or prop.get("format") or prop.get("type") not in (None, "string"):
            return current  # generated to the documented shape already
        if coll.key_prop in ("id", "kid", "keyId") or not isinstance(current, str):
            # an id of the documented prefix: the property's example, else the path parameter's
            samples = [prop.get("example"), coll.key_example]
            prefix = next(
                (x[:3] for x in samples if isinstance(x, str) and _ID_PREFIX.match(x)), "gen"
            )
            return okta_id(prefix, rng)
        return current

    def _collection(self, ctx: Ctx, op: Op, coll: Collection, parents: tuple[str, ...]) -> Reply:
        store = self.store(coll, parents)
        if op.method == "GET":
            reply = self._page(ctx, op, list(store.values()), coll.key_prop)
            if coll.wrapper:
                reply.body = {coll.wrapper: reply.body}
            return reply
        if op.method == "POST":
            return self._create(ctx, op, coll, parents, store)
        if op.method == "DELETE":
            for key in list(store):
                self._drop(coll, parents, key)
            return _answer(op, None)
        return _answer(op, self._generated(op, ctx, parents))

    def _page(self, ctx: Ctx, op: Op, docs: list[dict[str, Any]], key: str) -> Reply:
        expr = ctx.param("filter")
        if expr:
            try:
                pred = compile_filter(expr)
            except FilterError:
                pred = None  # another of Okta's filter dialects: not applied
            if pred is not None:
                docs = [d for d in docs if pred(d)]
        limit_param = op.param("limit")
        if limit_param is None:
            return Reply(200, docs, [ctx.self_link()])
        lschema = limit_param.get("schema") or {}
        maximum = int(lschema.get("maximum") or 200)
        default = lschema.get("default")
        default = int(default) if isinstance(default, int) and default > 0 else maximum
        return paged(
            ctx,
            docs,
            lambda d: d,
            default_limit=min(default, maximum),
            max_limit=maximum,
            ordered_by_seq=False,
            key=lambda d: _key(d, key),
        )

    def _create(
        self,
        ctx: Ctx,
        op: Op,
        coll: Collection,
        parents: tuple[str, ...],
        store: dict[str, dict[str, Any]],
    ) -> Reply:
        body = self._body(ctx, op)
        rng = self._rng(coll.template, "/".join(parents), "created", len(self.items), ctx.path)
        rng.seed(self.org.new_id("new"))  # each create draws afresh from the org's stream
        schema = op.ok.get("schema") or coll.item_schema
        label = _label(coll.template)
        doc = self.spec.schemas.generate(schema, rng, hint=body, label=label, refs=self._refs())
        if not isinstance(doc, dict):
            return _answer(op, doc)
        doc = self._overlay(doc, body, schema, merge=True)
        key = body.get(coll.key_prop) if coll.key_prop not in ("id",) else None
        if not (isinstance(key, str) and key):
            key = self._new_key(coll, rng, doc, len(store))
        doc[coll.key_prop] = key
        now = self.org.tick()
        for stamp in ("created", "lastUpdated"):
            if stamp in doc:
                doc[stamp] = now
        if "status" in doc and ctx.param("activate") == "false":
            doc["status"] = "INACTIVE"
        store[str(doc[coll.key_prop])] = doc
        return _answer(op, doc)

    def _of_behaviour(
        self, ctx: Ctx, op: Op, coll: Collection, item_t: str | None, values: list[str]
    ) -> Reply:
        """A call on a collection a behaviour module lists, in a way that module does not serve.

        The item must exist as the module shows it (else 404 ``E0000007``); the answer has
        the spec's status and shape (the item itself where the spec answers with it), and the
        module's state is left as it is: only behaviours change their own resources.
        """
        doc: Any = None
        if item_t is not None:
            count = len([s for s in item_t.split("/") if _PARAM.match(s)])
            doc = self.fetch(item_t, values[:count])
            if doc is None:
                raise not_found(values[count - 1], self.spec.schemas.type_name(coll.item_schema))
        body = self._body(ctx, op)
        schema = op.ok.get("schema")
        if schema is None:
            return _answer(op, None)
        same = self.spec.schemas.ref_name(schema) == self.spec.schemas.ref_name(coll.item_schema)
        out = doc if same and isinstance(doc, dict) else self._generated(op, ctx, tuple(values))
        if isinstance(out, dict):
            out = self._overlay(out, body, schema, merge=op.method != "PUT")
        return _answer(op, out)

    # ---------------------------------------------------------------------- items

    def _get(
        self, coll: Collection, parents: tuple[str, ...], key: str
    ) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
        store = self.store(coll, parents)
        doc = store.get(key)
        if doc is None and coll.key_enum and key in coll.key_enum:
            doc = store[key] = self._seeded(coll, parents, key)
        if doc is None:
            raise not_found(key, self.spec.schemas.type_name(coll.item_schema))
        return store, doc

    def _item(
        self, ctx: Ctx, op: Op, coll: Collection, parents: tuple[str, ...], key: str
    ) -> Reply:
        store, doc = self._get(coll, parents, key)
        if op.method == "GET":
            return Reply(200, doc)
        if op.method == "DELETE":
            self._drop(coll, parents, key)
            return _answer(op, None)
        body = self._body(ctx, op)
        schema = op.ok.get("schema") or coll.item_schema
        updated = self._overlay(doc, body, schema, merge=op.method != "PUT")
        updated[coll.key_prop] = doc[coll.key_prop]
        if "lastUpdated" in updated:
            updated["lastUpdated"] = self.org.tick()
        store[key] = updated
        return _answer(op, updated)

    def _lifecycle(
        self, ctx: Ctx, op: Op, coll: Collection, parents: tuple[str, ...], key: str
    ) -> Reply:
        store, doc = self._get(coll, parents, key)
        status = _LIFECYCLE_STATUS.get(op.template.rsplit("/", 1)[1])
        if status and "status" in doc:
            doc["status"] = status
            if "lastUpdated" in doc:
                doc["lastUpdated"] = self.org.tick()
        schema = op.ok.get("schema")
        if schema is None:
            return _answer(op, None)
        if self.spec.schemas.ref_name(schema) == self.spec.schemas.ref_name(coll.item_schema):
            return _answer(op, doc)
        return _answer(op, self._generated(op, ctx, (*parents, key)))

    def _drop(self, coll: Collection, parents: tuple[str, ...], key: str) -> None:
        """Delete an item and everything generated under it."""
        self.store(coll, parents).pop(key, None)
        below = (*parents, key)
        prefix = coll.template + "/"
        for k in [k for k in self.items if k[0].startswith(prefix) and k[1][: len(below)] == below]:
            del self.items[k]
        for k in [
            k for k in self.singletons if k[0].startswith(prefix) and k[1][: len(below)] == below
        ]:
            del self.singletons[k]

    # -------------------------------------------------------- singletons, actions

    def _singleton(self, ctx: Ctx, op: Op, values: tuple[str, ...]) -> Reply:
        key = (op.template, values)
        get = self.spec.paths[op.template].get("GET")
        get_schema = get.ok.get("schema") if get else None
        if op.method == "GET":
            if key not in self.singletons:
                self.singletons[key] = self._generated(op, ctx, values)
            return _answer(op, self.singletons[key])
        if op.method == "DELETE":
            self.singletons.pop(key, None)
            return _answer(op, None)
        schema = op.ok.get("schema")
        body = self._body(ctx, op)
        if get_schema is not None and schema == get_schema:
            current = self.singletons.get(key)
            if current is None:
                current = self._generated(get, ctx, values) if get else {}
            if isinstance(current, dict):
                current = self._overlay(current, body, schema, merge=op.method != "PUT")
            self.singletons[key] = current
            return _answer(op, current)
        out = self._generated(op, ctx, values)
        if isinstance(out, dict) and schema is not None:
            out = self._overlay(out, body, schema, merge=True)
        return _answer(op, out)

    def _generated(self, op: Op, ctx: Ctx, values: tuple[str, ...]) -> Any:
        schema = op.ok.get("schema")
        if schema is None:
            return None
        rng = self._rng(op.template, op.method, "/".join(values))
        return self.spec.schemas.generate(schema, rng, label=_label(op.template), refs=self._refs())

    def _refs(self) -> dict[str, list[str]]:
        """Ids of the behaviours' resources, for generated fields that reference them."""
        org = self.org
        users = [u["id"] for u in org.user_docs()]
        groups = [g["id"] for g in org.group_docs()]
        apps = [a["id"] for a in org.app_docs()]
        return {
            "userId": users,
            "groupId": groups,
            "appId": apps,
            "appInstanceId": apps,
            "authServerId": [s.id for s in org.server_list()],
        }

    # ----------------------------------------------------------------- bodies

    def _body(self, ctx: Ctx, op: Op) -> dict[str, Any]:
        """The request body checked against the request schema: 400 ``E0000001`` if off."""
        schema = op.body_schema
        if schema is None or (op.raw.get("body") or {}).get("media") != "application/json":
            return {}
        raw = ctx.json_body()
        if raw is None:
            if (op.raw.get("body") or {}).get("required"):
                raise validation_failed("body", "The request body is required.")
            return {}
        node = self.spec.schemas.deref(schema)
        if isinstance(node, dict) and node.get("type") == "array":
            if not isinstance(raw, list):
                raise validation_failed("body", "The request body must be a JSON array.")
            return {}
        if not isinstance(raw, dict):
            raise validation_failed("body", "The request body must be a JSON object.")
        self._check(raw, schema)
        return raw

    def _check(self, body: dict[str, Any], schema: Any) -> None:
        schemas = self.spec.schemas
        props = schemas.properties(schema, body)
        for name in schemas.required(schema, body):
            sub = schemas.deref(props.get(name)) or {}
            if name not in body and not sub.get("readOnly"):
                raise validation_failed(name, "The field cannot be left blank.")
        for name, value in body.items():
            sub = schemas.deref(props.get(name))
            if not isinstance(sub, dict) or value is None:
                continue
            enum = sub.get("enum")
            if enum and value not in enum:
                allowed = ", ".join(map(str, enum[:12]))
                raise validation_failed(name, f"'{value}' is not one of: {allowed}.")
            kinds = _JSON_TYPES.get(sub.get("type", ""))
            if kinds and (not isinstance(value, kinds) or _bool_as_number(value, sub)):
                raise validation_failed(name, f"The value must be of type {sub['type']}.")

    def _overlay(
        self, doc: dict[str, Any], body: dict[str, Any], schema: Any, *, merge: bool
    ) -> dict[str, Any]:
        """``doc`` with the body's writable fields the response schema knows."""
        props = self.spec.schemas.properties(schema, body)
        out = dict(doc)
        for name, value in body.items():
            sub = self.spec.schemas.deref(props.get(name))
            if not isinstance(sub, dict) or sub.get("readOnly") or sub.get("writeOnly"):
                continue
            if merge and isinstance(value, dict) and isinstance(out.get(name), dict):
                out[name] = deep_merge(out[name], value)
            else:
                out[name] = value
        return out


def _key(doc: Any, prop: str) -> str:
    """An item's key: its key property, or the item itself when it is a plain value."""
    return str(doc.get(prop) if isinstance(doc, dict) else doc)


def _bool_as_number(value: Any, schema: dict[str, Any]) -> bool:
    return isinstance(value, bool) and schema.get("type") in ("integer", "number")


def _answer(op: Op, body: Any) -> Reply:
    """The spec's success status; no body where the spec declares none (``{}`` for a 200)."""
    ok = op.ok
    status = int(ok.get("status", 200))
    if ok.get("schema") is None:
        return Reply(status, {} if status == 200 else None)
    return Reply(status, body)


def _label(template: str) -> str:
    """A word for generated values (``brands`` for ``/api/v1/brands/{brandId}``)."""
    words = [s for s in segments(template) if not _PARAM.match(s)]
    return re.sub(r"[^A-Za-z0-9]", "", words[-1] if words else "item") or "item"
