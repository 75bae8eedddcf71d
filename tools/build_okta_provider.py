#!/usr/bin/env python3
"""Build oktaql's built-in Okta provider (StackQL provider format) from the API's facts.

Inputs (read-only, from ``../shared`` next to the repo unless given):

* Okta's Management API spec (``okta/management-minimal.yaml``): the facts -- paths, verbs,
  operation ids, parameters, request bodies, response schemas, field names, types, formats,
  enums and required lists.
* StackQL's Okta provider (``okta/stackql-registry``): only the *mapping* -- which resources
  exist, their ids and method names, which path/verb each method calls, which response
  status/media type it reads, and the SQL verb mapping -- so that queries port 1:1.
* ``tools/okta_provider_prose.yaml``: titles, summaries and descriptions, written by us.
  The services first built by hand (``HAND_WRITTEN``) must have all of theirs there; for the
  others, what the file lacks is worded here from the facts (``Words``): a method from its
  name and HTTP call, a column from its name and the schema that holds it.

Every service and resource of StackQL's provider is built, with StackQL's names.

No prose is taken from either reference: descriptions, summaries, titles, examples and
``x-`` extensions are dropped, and ours are attached.  Schemas are trimmed: each response
and request-body schema keeps its own properties (the SQL columns) with their facts;
objects nested one level below keep their property names and types; anything deeper
becomes a plain ``type: object``. Polymorphic schemas keep their discriminator, and the
subtypes it maps to come along, so request bodies accept the subtypes' fields too.

usage: build_okta_provider.py [--shared DIR] [--out DIR] [--check] [--generated]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VERSION = "v0.1.0"
API_VERSION = "5.1.0"
REF_VERSION = "v00.00.00000"
OUT = ROOT / "src" / "oktaql" / "registry" / "src" / "okta" / VERSION
PROSE = Path(__file__).with_name("okta_provider_prose.yaml")
# the facts serve every provider, so they are not in the provider's folder but a module of
# oktaql.provider (always installed with the package); the path is relative to --out
FACTS_NAME = "../../../../provider/_okta_facts.py"

# The services whose prose is all hand-written (a gap is an error), in the priority order of
# the project brief; every other service of StackQL's provider follows, by name.
HAND_WRITTEN = [
    "apps",
    "groups",
    "users",
    "authorizationservers",
    "policies",
    "logs",
    "idps",
    "zones",
    "trustedorigins",
    "eventhooks",
    "inlinehooks",
    "api_tokens",
    "iam",
]

# Schema keywords that are facts; everything else (description, example, title, x-*) is dropped.
FACTS = (
    "type",
    "format",
    "enum",
    "default",
    "nullable",
    "readOnly",
    "writeOnly",
    "deprecated",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
)
PARAM_FACTS = ("name", "in", "required", "style", "explode", "allowEmptyValue", "deprecated")
REASONS = {
    "200": "OK",
    "201": "Created",
    "202": "Accepted",
    "204": "No content",
}
# The end of a sentence: a full stop, then a new sentence (capital letter or code span).
SENTENCE_END = re.compile(r"\.\s+(?=[A-Z`])")
# HTML markup (lifecycle badges) that the spec sometimes puts inside enum values.
MARKUP = re.compile(r"<[^>]*>")
# Link and embed containers: always kept as opaque objects.
OPAQUE_FIELDS = {"_links", "_link", "_embedded"}


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


class UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping: in the prose file the
    second would silently replace the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise SystemExit(f"{PROSE}:{key_node.start_mark.line + 1}: {key!r} given twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def pointer(doc: dict, ref: str) -> Any:
    node: Any = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def escape(path: str) -> str:
    return path.replace("~", "~0").replace("/", "~1")


def deref(doc: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def flatten(doc: dict, node: Any) -> dict:
    """Resolve $ref and merge allOf members into one schema (own keywords win)."""
    node = deref(doc, node)
    if not isinstance(node, dict):
        return {}
    if "allOf" not in node:
        return node
    merged = {k: v for k, v in node.items() if k != "allOf"}
    props: dict = {}
    required: list = []
    for member in node["allOf"]:
        flat = flatten(doc, member)
        props.update(flat.get("properties") or {})
        required += flat.get("required") or []
        for k, v in flat.items():
            if k not in ("properties", "required"):
                merged.setdefault(k, v)
    props.update(node.get("properties") or {})
    required += node.get("required") or []
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = list(dict.fromkeys(required))
    return merged


def column_type(doc: dict, node: Any) -> tuple[str | None, str | None]:
    """The (type, format) a column gets: the declared type, else derived from the shape."""
    flat = flatten(doc, node)
    if flat.get("type"):
        return flat["type"], flat.get("format")
    if flat.get("properties") or "additionalProperties" in flat:
        return "object", None
    members = flat.get("oneOf") or flat.get("anyOf") or []
    kinds = {column_type(doc, m) for m in members}
    if len(kinds) == 1:
        return kinds.pop()
    return None, None


def facts(node: dict) -> dict:
    """The fact keywords of a schema. Markup that leaked into enum values is removed, and a
    `format` that is prose (it has spaces) rather than a format name is dropped."""
    out = {k: node[k] for k in FACTS if k in node}
    if "enum" in out:
        out["enum"] = [
            " ".join(MARKUP.sub("", v).split()) if isinstance(v, str) else v for v in out["enum"]
        ]
    if " " in str(out.get("format", "")):
        del out["format"]
    return out


# Words the generated prose spells in a fixed way (acronyms, names, words the API glues).
SPELLING = {
    "aaguid": "AAGUID",
    "aaguids": "AAGUIDs",
    "adgroup": "AD group",
    "aes": "AES",
    "api": "API",
    "apns": "APNs",
    "captcha": "CAPTCHA",
    "dns": "DNS",
    "fcm": "FCM",
    "hex": "hex",
    "id": "ID",
    "ids": "IDs",
    "ip": "IP",
    "jwe": "JWE",
    "jwk": "JWK",
    "jwks": "JWKS",
    "mfa": "MFA",
    "mfaenforce": "MFA enforce",
    "mfarecovery": "MFA recovery",
    "oauth2": "OAuth 2.0",
    "oidc": "OIDC",
    "okta": "Okta",
    "os": "OS",
    "otp": "OTP",
    "pin": "PIN",
    "rp": "RP",
    "saml": "SAML",
    "sms": "SMS",
    "ssf": "SSF",
    "ui": "UI",
    "uifooter": "UI footer",
    "uischema": "UI schema",
    "uischemas": "UI schemas",
    "uri": "URI",
    "uris": "URIs",
    "url": "URL",
    "urls": "URLs",
    "webauthn": "WebAuthn",
    "yubikey": "YubiKey",
}
# Third-person forms of the verbs that start method names, where adding "s" is wrong.
VERB_FORMS = {
    "get": "Fetches",
    "retrieve": "Fetches",
    "replaces": "Replaces",
    "upsert": "Creates or replaces",
    "bulk": "Bulk",
}
# Verbs whose object is a new thing ("Creates a brand"); the others act on a known one.
MAKING = {"create", "add", "generate", "upload", "enroll", "send"}
# Suffixes of schema names that say nothing about what the object is.
SCHEMA_NOISE = re.compile(r"^(Base)|(RequestObject|ResponseObject|Request|Response|Obj|Object)$")
CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


class Words:
    """Plain descriptions worded from facts (names, verbs, paths), for what the prose file
    does not cover. Every text is ours: built from identifiers, never from reference prose."""

    @staticmethod
    def split(name: str) -> list[str]:
        """Words of an identifier in any of the API's casings (camelCase, snake_case, kebab)."""
        name = name.replace("WebAuthn", "Webauthn").replace("web_authn", "webauthn")
        return [w.lower() for part in re.split(r"[\W_]+", name) for w in CAMEL.findall(part)]

    @classmethod
    def phrase(cls, words: list[str]) -> str:
        text = " ".join(SPELLING.get(w, w) for w in words)
        return text.replace("sign in", "sign-in").replace("sign out", "sign-out")

    @classmethod
    def noun(cls, schema: str) -> str:
        """What a schema holds, as a noun phrase: ``BrandRequest`` -> ``brand``."""
        return cls.phrase(cls.split(SCHEMA_NOISE.sub("", schema) or schema))

    @staticmethod
    def capital(text: str) -> str:
        return text[:1].upper() + text[1:]

    @classmethod
    def verb(cls, word: str) -> str:
        if word in VERB_FORMS:
            return VERB_FORMS[word]
        if word.endswith("y") and word[-2:-1] not in "aeiou":
            return cls.capital(word[:-1] + "ies")
        if word.endswith(("s", "sh", "ch", "x", "z")):
            return cls.capital(word + "es")
        return cls.capital(word + "s")

    @classmethod
    def method(cls, name: str, verb: str, path: str) -> str:
        """``list_brand_themes`` on GET /api/v1/brands/{brandId}/themes -> "Lists the brand
        themes. Calls `GET /api/v1/brands/{brandId}/themes`." """
        first, *rest = cls.split(name)
        obj = cls.phrase(rest)
        if first == "bulk" and rest:
            head = f"{cls.verb(rest[0])} {cls.phrase(rest[1:])} in bulk"
        elif not rest:
            head = cls.verb(first)
        elif rest[0] in ("all", "by", "in", "out") or first in ("opt",):
            head = f"{cls.verb(first)} {obj}"
        elif first in MAKING and not rest[-1].endswith("s"):
            head = f"{cls.verb(first)} {'an' if obj[:1].lower() in 'aeiou' else 'a'} {obj}"
        else:
            head = f"{cls.verb(first)} the {obj}"
        return f"{head}. Calls `{verb.upper()} {path}`."

    @classmethod
    def resource(cls, name: str, path: str) -> dict:
        words = cls.phrase(cls.split(name))
        return {"title": cls.capital(words), "description": f"The {words} at `{path}`."}

    @classmethod
    def service(cls, name: str) -> dict:
        words = cls.phrase(cls.split(name))
        return {"title": cls.capital(words), "description": f"The org's {words}."}

    @classmethod
    def field(cls, schema: str, name: str) -> str:
        words = cls.split(name)
        if words[:1] == ["is"] and len(words) > 1:
            return f"Whether the {cls.noun(schema)} is {cls.phrase(words[1:])}."
        return f"{cls.capital(cls.phrase(words))} of the {cls.noun(schema)}."

    @classmethod
    def param(cls, name: str) -> str:
        return f"{cls.capital(cls.phrase(cls.split(name)))}."


class Prose:
    """Our own words, looked up by kind and key. Outside the hand-written services a gap is
    worded from the facts (the caller's fallback); inside them it is recorded as missing."""

    def __init__(self, data: dict):
        self.data = data
        self.missing: list[str] = []
        self.generated: list[str] = []
        self.used: set[str] = set()
        self.strict = True

    def gap(self, key: str, fallback: Any) -> Any:
        if self.strict or fallback is None:
            self.missing.append(key)
        else:
            self.generated.append(key)
        return fallback

    def get(self, *path: str, required: bool = True, fallback: Any = None) -> Any:
        node: Any = self.data
        for p in path:
            if not isinstance(node, dict) or p not in node:
                return self.gap(".".join(path), fallback) if required else None
            node = node[p]
        self.used.add(".".join(path))
        return node

    def unused(self) -> list[str]:
        """Services, resources and methods the file describes that the provider lacks (a
        misspelt or stale key, whose text would silently go nowhere)."""
        keys = [f"services.{s}" for s in self.data.get("services", {})]
        for kind in ("resources", "methods"):
            for svc, names in self.data.get(kind, {}).items():
                keys += [f"{kind}.{svc}.{name}" for name in names]
        return [f"unused:{k}" for k in keys if k not in self.used]

    def field(self, schema: str, name: str) -> str | None:
        """A column's description: ``fields[Schema.name]``, else ``fields[name]``."""
        for key in (f"{schema}.{name}", name):
            text = self.get("fields", key, required=False)
            if text is not None:
                return text
        return self.gap(f"fields.{schema}.{name}", Words.field(schema, name))

    def param(self, key: str, name: str) -> str | None:
        """A parameter's description: by component key or ``operationId.name``, else name."""
        for k in (key, name):
            text = self.get("params", k, required=False)
            if text is not None:
                return text
        return self.gap(f"params.{key}/{name}", Words.param(name))


class ServiceBuilder:
    def __init__(self, svc: str, mgmt: dict, ref_doc: dict, prose: Prose):
        self.svc = svc
        self.m = mgmt
        self.ref = ref_doc
        self.prose = prose
        self.schemas: dict[str, Any] = {}
        self.parameters: dict[str, Any] = {}
        self.paths: dict[str, dict] = {}

    # ----- schemas -------------------------------------------------------------------------

    def root_ref(self, name: str) -> dict:
        if name not in self.schemas:
            self.schemas[name] = None  # placeholder: guards against cycles
            self.schemas[name] = self.root(self.m["components"]["schemas"][name], name)
        return {"$ref": f"#/components/schemas/{name}"}

    def root(self, node: dict, owner: str) -> dict:
        """A schema whose own properties are SQL columns: keep them all, with their facts."""
        if "$ref" in node:
            return self.root_ref(node["$ref"].split("/")[-1])
        out = facts(node)
        for key in ("allOf", "oneOf", "anyOf"):
            if key in node:
                out[key] = [self.root(member, owner) for member in node[key]]
        if "items" in node:
            out["items"] = self.root(node["items"], owner)
        if "discriminator" in node:
            # Polymorphic: each subtype adds its own fields (an app's `settings` live on its
            # signOnMode's subtype), so the subtypes come along as schemas of their own.
            disc = node["discriminator"]
            out["discriminator"] = {"propertyName": disc["propertyName"]}
            if disc.get("mapping"):
                out["discriminator"]["mapping"] = {
                    key: self.root_ref(ref.split("/")[-1])["$ref"]
                    for key, ref in disc["mapping"].items()
                }
        if node.get("required"):
            out["required"] = list(node["required"])
        if "properties" in node:
            out["properties"] = {
                name: self.prop(sub, 1, self.prose.field(owner, name), name)
                for name, sub in node["properties"].items()
            }
        if "additionalProperties" in node:
            extra = node["additionalProperties"]
            out["additionalProperties"] = (
                extra if isinstance(extra, bool) else self.prop(extra, 2, None, "")
            )
        return out

    def prop(self, node: Any, level: int, description: str | None, name: str) -> dict:
        """A nested schema, inlined: facts only, detail kept down to the second level."""
        flat = flatten(self.m, node)
        out: dict = {}
        if description:
            out["description"] = description
        kind, fmt = column_type(self.m, node)
        if kind:
            out["type"] = kind
        if fmt and " " not in fmt:
            out["format"] = fmt
        out.update({k: v for k, v in facts(flat).items() if k not in ("type", "format")})
        if kind == "array" and "items" in flat:
            out["items"] = self.prop(flat["items"], level, None, "")
        elif kind == "object" and name not in OPAQUE_FIELDS and level < 2:
            if flat.get("properties"):
                out["properties"] = {
                    k: self.prop(v, level + 1, None, k) for k, v in flat["properties"].items()
                }
                if flat.get("required"):
                    out["required"] = list(flat["required"])
            extra = flat.get("additionalProperties")
            if isinstance(extra, bool):
                out["additionalProperties"] = extra
            elif isinstance(extra, dict):
                out["additionalProperties"] = self.prop(extra, level + 1, None, "")
        elif kind is None and (flat.get("oneOf") or flat.get("anyOf")):
            key = "oneOf" if flat.get("oneOf") else "anyOf"
            out[key] = [self.prop(m, 2, None, "") for m in flat[key]]
        return out

    # ----- parameters ----------------------------------------------------------------------

    def param(self, p: dict, op_id: str) -> dict:
        if "$ref" in p:
            key = p["$ref"].split("/")[-1]
            if key not in self.parameters:
                self.parameters[key] = self.param_body(deref(self.m, p), key)
            return {"$ref": f"#/components/parameters/{key}"}
        return self.param_body(p, f"{op_id}.{p['name']}")

    def param_body(self, p: dict, key: str) -> dict:
        out = {k: p[k] for k in PARAM_FACTS if k in p}
        if p["in"] == "path":
            out["required"] = True
        text = self.prose.param(key, p["name"])
        if text:
            out["description"] = text
        if "schema" in p:
            out["schema"] = self.prop(p["schema"], 2, None, "")
        return out

    # ----- operations ----------------------------------------------------------------------

    def operation(self, path: str, verb: str, method: str) -> None:
        src_item = self.m["paths"][path]
        src = src_item[verb]
        item = self.paths.setdefault(path, {})
        if "parameters" in src_item and "parameters" not in item:
            # inline path-level parameters are looked up as `<operationId>.<name>` of the
            # first method built on the path
            item["parameters"] = [self.param(p, src["operationId"]) for p in src_item["parameters"]]
        text = self.prose.get(
            "methods", self.svc, method, fallback=Words.method(method, verb, path)
        )
        op: dict = {"operationId": src["operationId"]}
        op["summary"], op["description"] = self.method_text(text, src)
        if src.get("deprecated"):
            op["deprecated"] = True
        if src.get("parameters"):
            op["parameters"] = [self.param(p, src["operationId"]) for p in src["parameters"]]
        if "requestBody" in src:
            body = deref(self.m, src["requestBody"])
            out_body: dict = {}
            if "required" in body:
                out_body["required"] = body["required"]
            out_body["content"] = {
                media: {"schema": self.root(c.get("schema", {}), src["operationId"])}
                for media, c in body.get("content", {}).items()
            }
            op["requestBody"] = out_body
        responses: dict = {}
        for code, resp in src["responses"].items():
            if not str(code).startswith("2"):
                continue
            resp = deref(self.m, resp)
            out_resp: dict = {"description": REASONS.get(str(code), "Success")}
            content = resp.get("content") or {}
            if content:
                out_resp["content"] = {
                    media: {"schema": self.root(c["schema"], src["operationId"])}
                    if "schema" in c
                    else {}
                    for media, c in content.items()
                }
            responses[str(code)] = out_resp
        responses["default"] = {"$ref": "#/components/responses/Error"}
        op["responses"] = responses
        if "security" in src:
            # the OAuth 2.0 scopes each operation needs (a fact of the API): service apps
            # request exactly these; an empty list says the call takes no API credentials
            # (the current session's cookie, a security event token)
            op["security"] = [dict(s) for s in src["security"]]
        item[verb] = op

    def method_text(self, text: str, src: dict) -> tuple[str, str]:
        summary = SENTENCE_END.split(text, maxsplit=1)[0].rstrip(".")
        description = text if text.endswith(".") else text + "."
        names = set()
        for p in src.get("parameters", []):
            names.add(deref(self.m, p)["name"])
        ok = src["responses"].get("200") or {}
        schema = (deref(self.m, ok).get("content") or {}).get("application/json", {}).get("schema")
        is_list = column_type(self.m, schema)[0] == "array" if schema else False
        if is_list and "after" in names:
            description += (
                " Okta returns the results in pages; oktaql follows the `next` links"
                " and returns every page, so `limit` only sets the page size."
            )
        return summary, description

    # ----- resources -----------------------------------------------------------------------

    def build(self) -> dict:
        resources = {}
        ref_resources = self.ref["components"]["x-stackQL-resources"]
        for rname, rsrc in ref_resources.items():
            methods = {}
            for mname, meth in rsrc["methods"].items():
                ref = meth["operation"]["$ref"]
                parts = ref.split("/")
                path, verb = parts[-2].replace("~1", "/").replace("~0", "~"), parts[-1]
                self.operation(path, verb, mname)
                methods[mname] = {
                    "operation": {"$ref": f"#/paths/{escape(path)}/{verb}"},
                    "response": dict(meth["response"]),
                }
            base = f"#/components/x-stackQL-resources/{rname}/methods"
            sql_verbs = {
                verb: [{"$ref": f"{base}/{r['$ref'].split('/')[-1]}"} for r in refs]
                for verb, refs in rsrc["sqlVerbs"].items()
            }
            first = next(iter(methods.values()))["operation"]["$ref"].split("/")[-2]
            info = self.prose.get(
                "resources",
                self.svc,
                rname,
                fallback=Words.resource(rname, first.replace("~1", "/").replace("~0", "~")),
            )
            resources[rname] = {
                "id": rsrc["id"],
                "name": rname,
                "title": info.get("title", rname),
                "description": info.get("description", ""),
                "methods": methods,
                "sqlVerbs": sql_verbs,
            }
        svc_info = self.prose.get("services", self.svc, fallback=Words.service(self.svc))
        server = self.ref["servers"][0]
        return {
            "openapi": "3.0.3",
            "info": {
                "title": svc_info.get("title", self.svc),
                "description": svc_info.get("description", ""),
                "version": API_VERSION,
            },
            "servers": [
                {
                    "url": server["url"],
                    "variables": {
                        name: {
                            "default": var["default"],
                            "description": self.prose.get("server", name) or name,
                        }
                        for name, var in server["variables"].items()
                    },
                }
            ],
            "paths": self.paths,
            "components": {
                "parameters": dict(sorted(self.parameters.items())),
                "responses": {
                    "Error": {
                        "description": self.prose.get("error", "response"),
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    }
                },
                "schemas": dict(sorted({**self.schemas, "Error": self.error_schema()}.items())),
                "x-stackQL-resources": resources,
            },
        }

    def error_schema(self) -> dict:
        text = self.prose.get("error", "fields") or {}
        props = {}
        for name in ("errorCode", "errorSummary", "errorLink", "errorId"):
            props[name] = {"type": "string", "description": text.get(name, name)}
        props["errorCauses"] = {
            "type": "array",
            "description": text.get("errorCauses", "errorCauses"),
            "items": {"type": "object", "properties": {"errorSummary": {"type": "string"}}},
        }
        return {"type": "object", "properties": props}


# ----- facts for every provider -----------------------------------------------------------
#
# Okta facts that belong to an API operation, whoever's document maps a resource onto it:
# StackQL's provider carries neither filter capabilities nor (for some operations) scopes, and
# its polymorphic schemas name subtypes it leaves out. They go to src/oktaql/provider/
# _okta_facts.py, which oktaql reads for any provider (src/oktaql/provider/_facts.py).

OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "sw", "co", "pr")
SEARCH_OPERATORS = tuple(op for op in OPERATORS if op != "ne")  # users and groups: no `ne`
ATTRIBUTE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
LOG_FIELDS = [
    "eventType",
    "outcome.result",
    "actor.id",
    "actor.alternateId",
    "actor.type",
    "client.ipAddress",
    "severity",
    "uuid",
    "transaction.id",
    "authenticationContext.externalSessionId",
]
# What the spec says only in prose, or not at all. A path here replaces what its parameter's
# description gives; None: nothing is pushed (the operators named work on a few attributes
# only, and `co` is not one oktaql translates).
FILTERS: dict[str, dict | None] = {
    # "all properties": oktaql pushes only supersets (planning/_pushdown.py). An expression
    # search also returns DEPROVISIONED users, which the plain listing leaves out: ANDed back.
    # "The `ne` (not equal) operator isn't supported, but you can obtain the same result by
    # using `lt ... or ... gt`": ne is never sent (the implicit rule is written that way too).
    "/api/v1/users": {
        "param": "search",
        "ops": list(SEARCH_OPERATORS),
        "fields": None,
        "implicit": ["status", "DEPROVISIONED"],
    },
    "/api/v1/groups": {"param": "search", "ops": list(SEARCH_OPERATORS), "fields": None},
    # "All operators except [ ] are supported", on the attributes of the System Log guide
    "/api/v1/logs": {
        "param": "filter",
        "ops": ["eq", "sw", "co", "gt", "ge", "lt", "le", "pr"],
        "fields": LOG_FIELDS,
    },
    "/api/v1/devices": None,
    "/api/v1/realms": None,
}


# The largest page of listings whose `limit` parameter gives no maximum, from Okta's
# documentation of the operation (the spec states the default only).
PAGE_MAX: dict[str, int] = {
    "/api/v1/users": 200,
    "/api/v1/logs": 1000,
    "/api/v1/groups/{groupId}/users": 1000,
    "/api/v1/authorizationServers": 200,
}


def page_max(path: str, params: list[dict]) -> int | None:
    """How many items one page of ``path`` may hold: the `limit` parameter's maximum."""
    limit = next((p for p in params if p.get("name") == "limit" and p.get("in") == "query"), None)
    if limit is None:
        return None
    maximum = (limit.get("schema") or {}).get("maximum")
    return int(maximum) if isinstance(maximum, int) and maximum > 0 else PAGE_MAX.get(path)


def described_filter(p: dict) -> dict | None:
    """A `filter`/`search` parameter's capability, where its description names both the
    operators (`eq`) and the attributes (`status`) it accepts."""
    ticks = re.findall(r"`([^`]+)`", p.get("description") or "")
    ops = [t for t in dict.fromkeys(ticks) if t in OPERATORS]
    fields = [t for t in dict.fromkeys(ticks) if t not in OPERATORS and ATTRIBUTE.fullmatch(t)]
    if not ops or not fields:
        return None
    return {"param": p["name"], "ops": ops, "fields": fields}


def operation_facts(mgmt: dict) -> dict:
    """``"GET /api/v1/users"`` → its OAuth 2.0 scopes and filter capability."""
    out: dict = {}
    for path, item in sorted(mgmt["paths"].items()):
        for verb, op in sorted(item.items()):
            if verb not in ("get", "put", "post", "patch", "delete", "head"):
                continue
            entry: dict = {}
            if "security" in op:
                entry["scopes"] = sorted(
                    {s for req in op["security"] for v in req.values() for s in v or []}
                )
            if verb == "get":
                params = [
                    deref(mgmt, x) for x in item.get("parameters", []) + op.get("parameters", [])
                ]
                if path in FILTERS:
                    rule = FILTERS[path]
                else:
                    rule = next(
                        (
                            r
                            for p in params
                            if p["name"] in ("search", "filter")
                            for r in [described_filter(p)]
                            if r
                        ),
                        None,
                    )
                if rule is not None:
                    entry["filter"] = rule
                largest = page_max(path, params)
                if largest is not None:
                    entry["page_max"] = largest
            if entry:
                out[f"{verb.upper()} {path}"] = entry
    return out


def subtype_facts(docs: dict[str, dict]) -> dict:
    """Every discriminator subtype of the built documents → its columns (type, format, our
    description, readOnly): a provider whose document names a subtype but leaves its schema out (as
    StackQL's does) still gets the subtype's columns."""
    out: dict = {}
    for doc in docs.values():
        schemas = doc["components"]["schemas"]
        for base in schemas.values():
            disc = base.get("discriminator") if isinstance(base, dict) else None
            for ref in ((disc or {}).get("mapping") or {}).values():
                name = ref.split("/")[-1]
                if name in out or name not in schemas:
                    continue
                cols = {}
                for pname, prop in (flatten(doc, schemas[name]).get("properties") or {}).items():
                    kind, fmt = column_type(doc, prop)
                    node = deref(doc, prop)
                    text = node.get("description") or flatten(doc, node).get("description")
                    col = {"type": kind or "string"}
                    if fmt:
                        col["format"] = fmt
                    if text:
                        col["description"] = text
                    if node.get("readOnly") or (isinstance(prop, dict) and prop.get("readOnly")):
                        col["readOnly"] = True  # a request body never needs it
                    cols[pname] = col
                out[name] = dict(sorted(cols.items()))
    return dict(sorted(out.items()))


def dump(doc: Any) -> str:
    # JSON is YAML, and oktaql reads it ~20x faster than PyYAML reads block style: the first
    # run after an install pays no parse (src/oktaql/provider/_yamlcache.py)
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def build(shared: Path) -> tuple[dict[str, str], list[str], list[str]]:
    """The files of the provider, the prose keys missing and those worded from facts."""
    mgmt = load(shared / "okta" / "management-minimal.yaml")
    ref_dir = shared / "okta" / "stackql-registry" / "src" / "okta" / REF_VERSION
    prose = Prose(yaml.load(PROSE.read_text(), Loader=UniqueKeyLoader))
    files: dict[str, str] = {}
    docs: dict[str, dict] = {}
    services = {}
    for svc in service_names(ref_dir):
        prose.strict = svc in HAND_WRITTEN
        ref_doc = load(ref_dir / "services" / f"{svc}.yaml")
        doc = ServiceBuilder(svc, mgmt, ref_doc, prose).build()
        docs[svc] = doc
        files[f"services/{svc}.yaml"] = dump(doc)
        info = prose.get("services", svc, fallback=Words.service(svc))
        services[svc] = {
            "id": f"{svc}:{VERSION}",
            "name": svc,
            "preferred": True,
            "service": {"$ref": f"okta/{VERSION}/services/{svc}.yaml"},
            "title": info.get("title", svc),
            "version": VERSION,
            "description": info.get("description", ""),
        }
    provider = {
        "id": "okta",
        "name": "okta",
        "version": VERSION,
        "providerServices": services,
        "config": {
            "auth": {
                "type": "api_key",
                "credentialsenvvar": "OKTA_API_TOKEN",
                "valuePrefix": "SSWS ",
            }
        },
    }
    header = (
        "# oktaql's built-in Okta provider, in StackQL's provider format.\n"
        "# Generated by tools/build_okta_provider.py from Okta's Management API facts\n"
        f"# (v{API_VERSION}); prose from tools/okta_provider_prose.yaml. Edit those, then rebuild.\n"
    )
    files = {"provider.yaml": header + dump(provider), **{k: header + v for k, v in files.items()}}
    facts = {
        "operations": operation_facts(mgmt),
        "subtypes": subtype_facts(docs),
    }
    files[FACTS_NAME] = (
        '"""Okta facts for any provider: each operation\'s OAuth 2.0 scopes and filter capability,\n'
        "and the columns of each discriminator subtype (read by oktaql.provider._facts).\n\n"
        f"Generated by tools/build_okta_provider.py from Okta's spec (v{API_VERSION}); do not edit.\n"
        '"""\n\n'
        f"TABLE = {json.dumps(facts, ensure_ascii=False, separators=(',', ':'))!r}\n"
    )
    missing = sorted(set(prose.missing)) + prose.unused()
    return files, missing, sorted(set(prose.generated) - set(prose.missing))


def service_names(ref_dir: Path) -> list[str]:
    """Every service of StackQL's provider: the hand-written ones first, then the rest by name."""
    names = sorted(p.stem for p in (ref_dir / "services").glob("*.yaml"))
    lost = [n for n in HAND_WRITTEN if n not in names]
    if lost:
        raise SystemExit(f"StackQL's provider has no service {', '.join(lost)}: {ref_dir}")
    return HAND_WRITTEN + [n for n in names if n not in HAND_WRITTEN]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="fail if the files on disk differ")
    ap.add_argument(
        "--generated", action="store_true", help="list the texts worded from facts, not the file"
    )
    a = ap.parse_args()
    files, missing, generated = build(a.shared)
    for key in missing:
        print(f"missing prose: {key}", file=sys.stderr)
    if a.generated:
        for key in generated:
            print(f"generated: {key}")
    stale = [
        name
        for name, text in files.items()
        if not (a.out / name).is_file() or (a.out / name).read_text() != text
    ]
    if a.check:
        for name in stale:
            print(f"out of date: {a.out / name}", file=sys.stderr)
        return 1 if stale or missing else 0
    for name in stale:
        (a.out / name).parent.mkdir(parents=True, exist_ok=True)
        (a.out / name).write_text(files[name])
    print(
        f"wrote {len(stale)} of {len(files)} files under {a.out}; {len(missing)} prose gaps,"
        f" {len(generated)} texts worded from facts (--generated lists them)"
    )
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
