"""The resource model built from a provider's OpenAPI service documents.

A *resource* (``okta.apps.tokens``) has *methods*, each an OpenAPI operation with the
parameters of the operation, its path item (path-level ``parameters``: where ``appId`` and
``tokenId`` live) and the server variables (``subdomain``). Columns come from the response
schema named by the method's ``openAPIDocKey``, unwrapped by ``objectKey``; for a polymorphic
schema (a ``discriminator``), the union over its subtypes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from oktaql.errors import ConfigError
from oktaql.provider._facts import FilterRule, operation_facts
from oktaql.provider._schema import Doc, escape, kind
from oktaql.provider._yamlcache import load_yaml


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
    maximum: int | float | None = None

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
    # an object's own fields, when its schema lists them and takes no others (deploy checks a
    # desired body against them); empty: not known, anything goes
    fields: tuple[BodyField, ...] = field(default=(), compare=False)


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
    object_key: str | None
    summary: str
    description: str
    sql_verb: str | None  # None: reachable with EXEC only
    operation_id: str = ""
    # the OAuth 2.0 scopes the operation lists: the document's ``security``, else Okta's spec's
    scopes: tuple[str, ...] = ()
    # how its search/filter parameter takes an expression (Okta's spec); None: not at all
    filter: FilterRule | None = None
    # the largest page its `limit` may ask for: the parameter's maximum, else Okta's spec
    page_max: int | None = None

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
    # the provider's own folder, which ``path`` must not leave through a symbolic link, and the
    # place of the $ref that named ``path`` (checked when the file is first read: it is cheap)
    folder: Path | None = None
    named_at: str = ""
    _resources: dict[str, Resource] | None = field(default=None, repr=False)
    _doc: Doc | None = field(default=None, repr=False)

    @property
    def doc(self) -> Doc:
        if self._doc is None:
            if self.folder is not None:
                _check_inside(self.path, self.folder, self.named_at)
            data = load_yaml(self.path)
            if not isinstance(data, dict):
                raise ConfigError(
                    f"provider file {self.path} is not an OpenAPI document (it is {kind(data)})"
                )
            self._doc = Doc(self.path, data)
        return self._doc

    @property
    def resources(self) -> dict[str, Resource]:
        if self._resources is None:
            self._resources = _build_resources(self)
        return self._resources


def _check_inside(path: Path, folder: Path, named_at: str) -> None:
    try:
        inside = path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        inside = False
    if not inside:
        raise ConfigError(
            f"provider file {named_at}: the service file {path} leads out of {folder} "
            "through a symbolic link"
        )


@dataclass
class Provider:
    name: str
    version: str
    services: dict[str, Service]
    auth: dict[str, Any]
    root: Path
    folder: Path | None = None  # <root>/src/<name>/<version>, where provider.yaml is

    def service(self, name: str) -> Service | None:
        return self.services.get(name)


# --- building -------------------------------------------------------------------------------

_RESOURCES_AT = "/components/x-stackQL-resources"
# what a document's own mistakes raise inside the model code, turned into a ConfigError that
# names the method; the checks below catch the common shapes with a more precise pointer
_MALFORMED = (AttributeError, TypeError, KeyError, ValueError, IndexError, RecursionError)


def _method_ref_name(ref: Any) -> str | None:
    if isinstance(ref, dict):
        ref = ref.get("$ref")
    if not isinstance(ref, str):
        return None
    return ref.rsplit("/", 1)[-1]


def _build_resources(svc: Service) -> dict[str, Resource]:
    doc = svc.doc
    components = doc.mapping(doc.data.get("components"), "/components", "components")
    raw = doc.mapping(components.get("x-stackQL-resources"), _RESOURCES_AT, "x-stackQL-resources")
    servers = doc.sequence(doc.data.get("servers"), "/servers", "servers") or [
        {"url": "https://{subdomain}.okta.com/"}
    ]
    out: dict[str, Resource] = {}
    for key, res in raw.items():
        at = f"{_RESOURCES_AT}/{escape(key)}"
        res = doc.mapping(res, at, f"resource {key!r}")
        name = str(res.get("name") or key)
        rid = str(res.get("id") or f"{svc.provider_name}.{svc.name}.{name}")
        verbs: dict[str, list[str]] = {}
        method_verb: dict[str, str] = {}
        for verb, refs in doc.mapping(res.get("sqlVerbs"), f"{at}/sqlVerbs", "sqlVerbs").items():
            refs = doc.sequence(refs, f"{at}/sqlVerbs/{escape(verb)}", f"sqlVerbs.{verb}")
            names = [n for n in (_method_ref_name(r) for r in refs) if n]
            verbs[str(verb)] = names
            for n in names:
                method_verb.setdefault(n, str(verb))
        methods: dict[str, Method] = {}
        for mname, mdef in doc.mapping(res.get("methods"), f"{at}/methods", "methods").items():
            mat = f"{at}/methods/{escape(mname)}"
            try:
                methods[str(mname)] = _build_method(
                    doc, rid, str(mname), mdef, servers, method_verb.get(str(mname)), mat
                )
            except _MALFORMED as exc:
                raise doc.error(
                    mat, f"method {mname!r} cannot be read ({type(exc).__name__}: {exc})"
                ) from None
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
    doc: Doc,
    rid: str,
    name: str,
    mdef: Any,
    servers: list[Any],
    sql_verb: str | None,
    at: str,
) -> Method:
    mdef = doc.mapping(mdef, at, f"method {name!r}")
    ref = doc.mapping(mdef.get("operation"), f"{at}/operation", "operation").get("$ref")
    m = _OP_REF.match(ref) if isinstance(ref, str) else None
    if not m:
        raise doc.error(f"{at}/operation", f"operation $ref {ref!r} is not '#/paths/<path>/<verb>'")
    path = m.group("path").replace("~1", "/").replace("~0", "~")
    verb = m.group("verb")
    path_item = doc.mapping(doc.data.get("paths"), "/paths", "paths").get(path)
    if not isinstance(path_item, dict) or not isinstance(path_item.get(verb), dict):
        raise doc.error(
            f"{at}/operation", f"operation {verb.upper()} {path} is not in the document"
        )
    path_at = f"/paths/{escape(path)}"
    op_at = f"{path_at}/{verb}"
    op = path_item[verb]
    server = (
        doc.sequence(op.get("servers"), f"{op_at}/servers", "servers")
        or doc.sequence(path_item.get("servers"), f"{path_at}/servers", "servers")
        or servers
        or [{}]
    )[0]
    server = doc.mapping(server, "/servers/0", "a server")
    server_url = str(server.get("url") or "")

    params: dict[str, Param] = {}
    listed = [
        (raw, f"{where_}/parameters/{i}")
        for node, where_ in ((path_item, path_at), (op, op_at))
        for i, raw in enumerate(
            doc.sequence(node.get("parameters"), f"{where_}/parameters", "parameters")
        )
    ]
    for raw, raw_at in listed:
        p, p_at = doc.deref_at(raw, raw_at)
        if not isinstance(p, dict) or "name" not in p:
            continue
        schema, s_at = doc.deref_at(p.get("schema") or {}, f"{p_at}/schema")
        ptype, pfmt = doc.describe_type(schema, s_at)
        schema = schema if isinstance(schema, dict) else {}
        loc = str(p.get("in", "query"))
        params[str(p["name"])] = Param(
            name=str(p["name"]),
            location=loc,
            # a path parameter is always required, whatever the document says
            required=bool(p.get("required")) or loc == "path",
            type=ptype,
            format=pfmt,
            description=str(p.get("description") or "").strip(),
            default=schema.get("default"),
            enum=tuple(doc.sequence(schema.get("enum"), f"{s_at}/enum", "enum")),
            maximum=_number(schema.get("maximum")),
        )
    variables = doc.mapping(server.get("variables"), "/servers/0/variables", "variables")
    for vname, var in variables.items():
        var = doc.mapping(var, f"/servers/0/variables/{escape(vname)}", f"variable {vname!r}")
        params.setdefault(
            str(vname),
            Param(
                name=str(vname),
                location="server",
                required=True,
                type="string",
                description=str(var.get("description") or "").strip(),
                default=var.get("default"),
            ),
        )

    body_fields: dict[str, BodyField] = {}
    body_media: str | None = None
    body_is_array = False
    body_open = False
    rb, rb_at = (None, "")
    if op.get("requestBody"):
        rb, rb_at = doc.deref_at(op.get("requestBody"), f"{op_at}/requestBody")
    if isinstance(rb, dict):
        content = doc.mapping(rb.get("content"), f"{rb_at}/content", "content")
        if content:
            body_media = (
                "application/json" if "application/json" in content else next(iter(content))
            )
            c_at = f"{rb_at}/content/{escape(body_media)}"
            entry = doc.mapping(content.get(body_media), c_at, body_media)
            schema, s_at = doc.deref_at(entry.get("schema") or {}, f"{c_at}/schema")
            if isinstance(schema, dict):
                body_is_array = schema.get("type") == "array"
                body_open = bool(
                    schema.get("discriminator")
                    or schema.get("oneOf")
                    or schema.get("anyOf")
                    or schema.get("additionalProperties")
                )
            flat = doc.flatten_polymorphic(schema, s_at)
            req = set(doc.flatten(schema, s_at).get("required") or [])
            for pname, prop in (flat.get("properties") or {}).items():
                prop_at = f"{s_at}/properties/{escape(pname)}"
                ptype, pfmt = doc.describe_type(prop, prop_at)
                desc = doc.deref(prop, prop_at)
                desc = desc if isinstance(desc, dict) else {}
                body_fields[str(pname)] = BodyField(
                    str(pname),
                    ptype,
                    pfmt,
                    pname in req,
                    str(desc.get("description") or "").strip(),
                    bool(desc.get("readOnly"))
                    or (isinstance(prop, dict) and bool(prop.get("readOnly"))),
                    _nested_fields(doc, prop, prop_at) if ptype == "object" else (),
                )

    resp = doc.mapping(mdef.get("response"), f"{at}/response", "response")
    doc_key = str(resp.get("openAPIDocKey") or "200")
    media = str(resp.get("mediaType") or "")
    object_key = resp.get("objectKey")
    columns = _columns(doc, op, op_at, doc_key, media, object_key)
    scopes: list[str] = []
    for i, sec in enumerate(doc.sequence(op.get("security"), f"{op_at}/security", "security")):
        for v in doc.mapping(sec, f"{op_at}/security/{i}", "a security requirement").values():
            scopes.extend(str(s) for s in doc.sequence(v, f"{op_at}/security/{i}", "scopes"))
    facts = operation_facts(verb, path)
    if "security" not in op and facts.scopes is not None:
        scopes = list(facts.scopes)  # the document says nothing: Okta's spec does
    rule = facts.filter if facts.filter is not None and facts.filter.param in params else None
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
        object_key=str(object_key) if object_key else None,
        summary=str(op.get("summary") or "").strip(),
        description=str(op.get("description") or op.get("summary") or "").strip(),
        sql_verb=sql_verb,
        operation_id=str(op.get("operationId") or ""),
        scopes=tuple(dict.fromkeys(scopes)),
        filter=rule,
        page_max=_page_max(params.get("limit"), facts.page_max),
    )


def _nested_fields(doc: Doc, schema: Any, at: str, depth: int = 0) -> tuple[BodyField, ...]:
    """The fields of an object body member whose schema lists them and is closed (no
    ``additionalProperties``, no polymorphism); () when anything may go there."""
    node, at = doc.deref_at(schema, at)
    if depth > 4 or not isinstance(node, dict):
        return ()
    if any(node.get(k) for k in ("additionalProperties", "discriminator", "oneOf", "anyOf")):
        return ()
    flat = doc.flatten(node, at)
    if flat.get("additionalProperties"):
        return ()
    out = []
    for pname, prop in (flat.get("properties") or {}).items():
        prop_at = f"{at}/properties/{escape(pname)}"
        ptype, pfmt = doc.describe_type(prop, prop_at)
        d = doc.deref(prop, prop_at)
        d = d if isinstance(d, dict) else {}
        inner = _nested_fields(doc, prop, prop_at, depth + 1) if ptype == "object" else ()
        out.append(BodyField(str(pname), ptype, pfmt, False, "", bool(d.get("readOnly")), inner))
    return tuple(out)


def _columns(
    doc: Doc, op: dict[str, Any], op_at: str, doc_key: str, media: str, object_key: Any
) -> list[Column]:
    responses = doc.mapping(op.get("responses"), f"{op_at}/responses", "responses")
    # keys are text: a YAML 200 is read as "200" (see _bounds.encode)
    resp, r_at = doc.deref_at(responses.get(doc_key), f"{op_at}/responses/{escape(doc_key)}")
    if not isinstance(resp, dict):
        return []
    content = doc.mapping(resp.get("content"), f"{r_at}/content", "content")
    key = media if media in content else "application/json"
    if key not in content:
        key = next(iter(content), "")
    entry = content.get(key)
    if not isinstance(entry, dict):
        return []
    schema, s_at = doc.deref_at(entry.get("schema") or {}, f"{r_at}/content/{escape(key)}/schema")
    if object_key:
        for part in object_key_parts(str(object_key)):
            flat = doc.flatten(schema, s_at)
            if flat.get("type") == "array" or "items" in flat:
                schema, s_at = doc.deref_at(flat.get("items") or {}, f"{s_at}/items")
                flat = doc.flatten(schema, s_at)
            props = doc.mapping(flat.get("properties"), f"{s_at}/properties", "properties")
            schema, s_at = doc.deref_at(props.get(part) or {}, f"{s_at}/properties/{escape(part)}")
    if isinstance(schema, dict) and (schema.get("type") == "array" or "items" in schema):
        schema, s_at = doc.deref_at(schema.get("items") or {}, f"{s_at}/items")
    # a polymorphic object's columns are its subtypes' too (an app's name, a rule's actions)
    flat = doc.flatten_polymorphic(schema, s_at)
    cols = []
    for pname, prop in (flat.get("properties") or {}).items():
        prop_at = f"{s_at}/properties/{escape(pname)}"
        ptype, pfmt = doc.describe_type(prop, prop_at)
        cols.append(Column(str(pname), ptype, pfmt, _description(doc, prop, prop_at)))
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


def _description(doc: Doc, prop: Any, at: str) -> str:
    """A property's description, looking through $ref and allOf where it hides."""
    node, at = doc.deref_at(prop, at)
    if not isinstance(node, dict):
        return ""
    text = node.get("description") or doc.flatten(node, at).get("description")
    return str(text or "").strip()


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _page_max(limit: Param | None, documented: int | None) -> int | None:
    """The largest page a listing may ask for: its ``limit`` parameter's maximum, else what
    Okta documents for the operation; None when it takes no ``limit``."""
    if limit is None or limit.location != "query" or limit.type != "integer":
        return None
    if isinstance(limit.maximum, int) and limit.maximum > 0:
        return limit.maximum
    return documented
