"""The resource model built from a provider's OpenAPI service documents.

A *resource* (``okta.apps.tokens``) has *methods*, each an OpenAPI operation with the
parameters of the operation, its path item (path-level ``parameters``: where ``appId`` and
``tokenId`` live) and the server variables (``subdomain``). Columns come from the response
schema named by the method's ``openAPIDocKey``, unwrapped by ``objectKey``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from oktaql.errors import ProviderError
from oktaql.provider._schema import deref, describe_type, flatten, flatten_with_variants
from oktaql.provider._yamlcache import load_yaml

SQL_VERBS = ("select", "insert", "update", "delete", "replace")
HTTP_VERBS = ("get", "put", "post", "delete", "patch", "head", "options")


@dataclass(frozen=True)
class Param:
    name: str
    location: str  # path | query | header | cookie | server
    required: bool
    type: str = "string"
    format: str | None = None
    description: str = ""
    default: Any = None
    enum: tuple[Any, ...] = ()

    @property
    def display_type(self) -> str:
        return f"{self.type} ({self.format})" if self.format else self.type


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    format: str | None = None
    description: str = ""

    @property
    def display_type(self) -> str:
        return f"{self.type} ({self.format})" if self.format else self.type


@dataclass(frozen=True)
class BodyField:
    name: str
    type: str
    format: str | None
    required: bool
    description: str = ""
    read_only: bool = False  # the API fills it; a request body never needs it


@dataclass
class Method:
    name: str
    resource_id: str
    http_method: str  # upper case
    path: str
    server_url: str
    params: dict[str, Param]
    body_fields: dict[str, BodyField]
    body_media_type: str | None
    body_is_array: bool
    columns: list[Column]
    body_open: bool  # polymorphic or free-form body: fields beyond body_fields are accepted
    response_media_type: str
    object_key: str | None
    summary: str
    description: str
    sql_verb: str | None  # None: reachable with EXEC only
    operation_id: str = ""
    scopes: tuple[str, ...] = ()

    @cached_property
    def required_params(self) -> tuple[str, ...]:
        """Parameters a statement must bind for this method (server variables excepted)."""
        return tuple(p.name for p in self.params.values() if p.required and p.location != "server")

    @cached_property
    def optional_params(self) -> tuple[str, ...]:
        return tuple(
            p.name for p in self.params.values() if not p.required and p.location != "server"
        )

    @cached_property
    def server_params(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params.values() if p.location == "server")

    @property
    def is_paged(self) -> bool:
        return self.http_method == "GET" and "after" in self.params

    @property
    def full_id(self) -> str:
        return f"{self.resource_id}.{self.name}"


@dataclass
class Resource:
    id: str
    name: str
    title: str
    service: str
    methods: dict[str, Method]
    sql_verbs: dict[str, list[str]]
    description: str = ""

    def methods_for(self, verb: str) -> list[Method]:
        return [self.methods[m] for m in self.sql_verbs.get(verb, []) if m in self.methods]

    @cached_property
    def columns(self) -> list[Column]:
        """Union of the SELECT methods' columns, in first-seen order."""
        seen: dict[str, Column] = {}
        for m in self.methods_for("select"):
            for c in m.columns:
                seen.setdefault(c.name, c)
        return list(seen.values())

    @cached_property
    def param_names(self) -> set[str]:
        return {p for m in self.methods.values() for p in m.params}


@dataclass
class Service:
    name: str
    title: str
    description: str
    path: Path
    provider_name: str
    _resources: dict[str, Resource] | None = field(default=None, repr=False)
    _doc: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            doc = load_yaml(self.path)
            if not isinstance(doc, dict):
                raise ProviderError(f"service file {self.path} is not an OpenAPI document")
            self._doc = doc
        return self._doc

    @property
    def resources(self) -> dict[str, Resource]:
        if self._resources is None:
            self._resources = _build_resources(self)
        return self._resources


@dataclass
class Provider:
    name: str
    version: str
    services: dict[str, Service]
    auth: dict[str, Any]
    root: Path

    def service(self, name: str) -> Service | None:
        return self.services.get(name)


# --- building -------------------------------------------------------------------------------


def _method_ref_name(ref: Any) -> str | None:
    if isinstance(ref, dict):
        ref = ref.get("$ref")
    if not isinstance(ref, str):
        return None
    return ref.rsplit("/", 1)[-1]


def _build_resources(svc: Service) -> dict[str, Resource]:
    doc = svc.doc
    raw = (doc.get("components") or {}).get("x-stackQL-resources") or {}
    if not isinstance(raw, dict):
        raise ProviderError(f"{svc.path}: components/x-stackQL-resources is not a mapping")
    servers = doc.get("servers") or [{"url": "https://{subdomain}.okta.com/"}]
    out: dict[str, Resource] = {}
    for key, res in raw.items():
        if not isinstance(res, dict):
            continue
        name = str(res.get("name") or key)
        rid = str(res.get("id") or f"{svc.provider_name}.{svc.name}.{name}")
        verbs: dict[str, list[str]] = {}
        method_verb: dict[str, str] = {}
        for verb, refs in (res.get("sqlVerbs") or {}).items():
            names = [n for n in (_method_ref_name(r) for r in refs or []) if n]
            verbs[str(verb)] = names
            for n in names:
                method_verb.setdefault(n, str(verb))
        methods: dict[str, Method] = {}
        for mname, mdef in (res.get("methods") or {}).items():
            where = f"{rid}.{mname}"
            methods[mname] = _build_method(
                doc, rid, str(mname), mdef, servers, method_verb.get(mname), where
            )
        out[name] = Resource(
            id=rid,
            name=name,
            title=str(res.get("title") or name),
            service=svc.name,
            methods=methods,
            sql_verbs=verbs,
            description=str(res.get("description") or ""),
        )
    return out


_OP_REF = re.compile(r"^#/paths/(?P<path>.+)/(?P<verb>[a-z]+)$")


def _build_method(
    doc: dict[str, Any],
    rid: str,
    name: str,
    mdef: dict[str, Any],
    servers: list[dict[str, Any]],
    sql_verb: str | None,
    where: str,
) -> Method:
    ref = ((mdef or {}).get("operation") or {}).get("$ref")
    m = _OP_REF.match(ref or "")
    if not m:
        raise ProviderError(f"{where}: operation $ref {ref!r} is not '#/paths/<path>/<verb>'")
    path = m.group("path").replace("~1", "/").replace("~0", "~")
    verb = m.group("verb")
    path_item = (doc.get("paths") or {}).get(path)
    if not isinstance(path_item, dict) or not isinstance(path_item.get(verb), dict):
        raise ProviderError(f"{where}: operation {verb.upper()} {path} is not in the document")
    op = path_item[verb]
    server = (op.get("servers") or path_item.get("servers") or servers or [{}])[0]
    server_url = str(server.get("url") or "")

    params: dict[str, Param] = {}
    for raw in list(path_item.get("parameters") or []) + list(op.get("parameters") or []):
        p = deref(doc, raw, where)
        if not isinstance(p, dict) or "name" not in p:
            continue
        schema = deref(doc, p.get("schema") or {}, where)
        ptype, pfmt = describe_type(doc, schema, where)
        loc = str(p.get("in", "query"))
        params[str(p["name"])] = Param(
            name=str(p["name"]),
            location=loc,
            # a path parameter is always required, whatever the document says
            required=bool(p.get("required")) or loc == "path",
            type=ptype,
            format=pfmt,
            description=str(p.get("description") or "").strip(),
            default=schema.get("default") if isinstance(schema, dict) else None,
            enum=tuple(schema.get("enum") or ()) if isinstance(schema, dict) else (),
        )
    for vname, var in (server.get("variables") or {}).items():
        params.setdefault(
            str(vname),
            Param(
                name=str(vname),
                location="server",
                required=True,
                type="string",
                description=str((var or {}).get("description") or "").strip(),
                default=(var or {}).get("default"),
            ),
        )

    body_fields: dict[str, BodyField] = {}
    body_media: str | None = None
    body_is_array = False
    body_open = False
    rb = deref(doc, op.get("requestBody"), where) if op.get("requestBody") else None
    if isinstance(rb, dict):
        content = rb.get("content") or {}
        if content:
            body_media = (
                "application/json" if "application/json" in content else next(iter(content))
            )
            schema = deref(doc, (content.get(body_media) or {}).get("schema") or {}, where)
            if isinstance(schema, dict) and schema.get("type") == "array":
                body_is_array = True
            if isinstance(schema, dict):
                body_open = bool(
                    schema.get("discriminator")
                    or schema.get("oneOf")
                    or schema.get("anyOf")
                    or schema.get("additionalProperties")
                )
            flat = flatten_with_variants(doc, schema, where)
            req = set(flatten(doc, schema, where).get("required") or [])
            for pname, prop in (flat.get("properties") or {}).items():
                ptype, pfmt = describe_type(doc, prop, where)
                desc = deref(doc, prop, where)
                body_fields[str(pname)] = BodyField(
                    str(pname),
                    ptype,
                    pfmt,
                    pname in req,
                    str((desc or {}).get("description") or "").strip(),
                    bool((desc or {}).get("readOnly")) or bool((prop or {}).get("readOnly")),
                )

    resp = (mdef or {}).get("response") or {}
    doc_key = str(resp.get("openAPIDocKey") or "200")
    media = str(resp.get("mediaType") or "")
    object_key = resp.get("objectKey")
    columns = _columns(doc, op, doc_key, media, object_key, where)
    scopes: list[str] = []
    for sec in op.get("security") or []:
        for v in (sec or {}).values():
            scopes.extend(str(s) for s in v or [])
    return Method(
        name=name,
        resource_id=rid,
        http_method=verb.upper(),
        path=path,
        server_url=server_url,
        params=params,
        body_fields=body_fields,
        body_media_type=body_media,
        body_is_array=body_is_array,
        columns=columns,
        body_open=body_open,
        response_media_type=media,
        object_key=str(object_key) if object_key else None,
        summary=str(op.get("summary") or "").strip(),
        description=str(op.get("description") or op.get("summary") or "").strip(),
        sql_verb=sql_verb,
        operation_id=str(op.get("operationId") or ""),
        scopes=tuple(scopes),
    )


def _columns(
    doc: dict[str, Any], op: dict[str, Any], doc_key: str, media: str, object_key: Any, where: str
) -> list[Column]:
    responses = op.get("responses") or {}
    resp = deref(
        doc,
        responses.get(doc_key) or responses.get(int(doc_key) if doc_key.isdigit() else doc_key),
        where,
    )
    if not isinstance(resp, dict):
        return []
    content = resp.get("content") or {}
    entry = content.get(media) if media else None
    if entry is None:
        entry = content.get("application/json") or (
            next(iter(content.values())) if content else None
        )
    if not isinstance(entry, dict):
        return []
    schema = deref(doc, entry.get("schema") or {}, where)
    if object_key:
        for part in object_key_parts(str(object_key)):
            schema = flatten(doc, schema, where)
            if schema.get("type") == "array" or "items" in schema:
                schema = deref(doc, schema.get("items") or {}, where)
                schema = flatten(doc, schema, where)
            schema = deref(doc, (schema.get("properties") or {}).get(part) or {}, where)
    schema = deref(doc, schema, where)
    if isinstance(schema, dict) and (schema.get("type") == "array" or "items" in schema):
        schema = deref(doc, schema.get("items") or {}, where)
    flat = flatten(doc, schema, where)
    cols = []
    for pname, prop in (flat.get("properties") or {}).items():
        ptype, pfmt = describe_type(doc, prop, where)
        cols.append(Column(str(pname), ptype, pfmt, _description(doc, prop, where)))
    # StackQL's order: identity first, then by name, so `SELECT *` reads like its docs
    cols.sort(key=lambda c: (c.name not in ("id", "name"), c.name != "id", c.name.lower()))
    return cols


def object_key_parts(object_key: str) -> list[str]:
    """``$.items[*]`` → ``['items']``; ``$.a.b`` → ``['a', 'b']``."""
    key = object_key.strip()
    if key.startswith("$"):
        key = key[1:]
    parts = []
    for part in key.split("."):
        part = part.replace("[*]", "").strip()
        if part:
            parts.append(part)
    return parts


def _description(doc: dict[str, Any], prop: Any, where: str) -> str:
    """A property's description, looking through $ref and allOf where it hides."""
    node = deref(doc, prop, where)
    text = (node or {}).get("description") if isinstance(node, dict) else None
    if not text and isinstance(node, dict):
        text = flatten(doc, node, where).get("description")
    return str(text or "").strip()
