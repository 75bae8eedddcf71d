#!/usr/bin/env python3
"""Build oktaql's built-in Okta provider (StackQL provider format) from the API's facts.

Inputs (read-only, from ``../shared`` next to the repo unless given):

* Okta's Management API spec (``okta/management-minimal.yaml``): the facts -- paths, verbs,
  operation ids, parameters, request bodies, response schemas, field names, types, formats,
  enums and required lists.
* StackQL's Okta provider (``okta/stackql-registry``): only the *mapping* -- which resources
  exist, their ids and method names, which path/verb each method calls, which response
  status/media type it reads, and the SQL verb mapping -- so that queries port 1:1.
* ``tools/okta_provider_prose.yaml``: every title, summary and description, written by us.

No prose is taken from either reference: descriptions, summaries, titles, examples and
``x-`` extensions are dropped, and ours are attached.  Schemas are trimmed: each response
and request-body schema keeps its own properties (the SQL columns) with their facts;
objects nested one level below keep their property names and types; anything deeper
becomes a plain ``type: object``. Polymorphic schemas keep their discriminator, and the
subtypes it maps to come along, so request bodies accept the subtypes' fields too.

usage: build_okta_provider.py [--shared DIR] [--out DIR] [--check]
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

# The services built, in this order (priority order of the project brief).
SERVICES = [
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


class Prose:
    """Our own words, looked up by kind and key; records what is missing."""

    def __init__(self, data: dict):
        self.data = data
        self.missing: list[str] = []

    def get(self, *path: str, required: bool = True) -> str | None:
        node: Any = self.data
        for p in path:
            if not isinstance(node, dict) or p not in node:
                if required:
                    self.missing.append(".".join(path))
                return None
            node = node[p]
        return node

    def field(self, schema: str, name: str) -> str | None:
        """A column's description: ``fields[Schema.name]``, else ``fields[name]``."""
        for key in (f"{schema}.{name}", name):
            text = self.get("fields", key, required=False)
            if text is not None:
                return text
        self.missing.append(f"fields.{schema}.{name}")
        return None

    def param(self, key: str, name: str) -> str | None:
        """A parameter's description: by component key or ``operationId.name``, else name."""
        for k in (key, name):
            text = self.get("params", k, required=False)
            if text is not None:
                return text
        self.missing.append(f"params.{key}/{name}")
        return None


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
            item["parameters"] = [self.param(p, "path") for p in src_item["parameters"]]
        text = self.prose.get("methods", self.svc, method) or method
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
        if src.get("security"):
            # the OAuth 2.0 scopes each operation needs (a fact of the API): service apps
            # request exactly these
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
            info = self.prose.get("resources", self.svc, rname) or {}
            resources[rname] = {
                "id": rsrc["id"],
                "name": rname,
                "title": info.get("title", rname),
                "description": info.get("description", ""),
                "methods": methods,
                "sqlVerbs": sql_verbs,
            }
        svc_info = self.prose.get("services", self.svc) or {}
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


def dump(doc: Any) -> str:
    # JSON is YAML, and oktaql reads it ~20x faster than PyYAML reads block style: the first
    # run after an install pays no parse (src/oktaql/provider/_yamlcache.py)
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def build(shared: Path) -> tuple[dict[str, str], list[str]]:
    mgmt = load(shared / "okta" / "management-minimal.yaml")
    ref_dir = shared / "okta" / "stackql-registry" / "src" / "okta" / REF_VERSION
    prose = Prose(load(PROSE))
    files: dict[str, str] = {}
    services = {}
    for svc in SERVICES:
        ref_doc = load(ref_dir / "services" / f"{svc}.yaml")
        doc = ServiceBuilder(svc, mgmt, ref_doc, prose).build()
        files[f"services/{svc}.yaml"] = dump(doc)
        info = prose.get("services", svc) or {}
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
    return files, sorted(set(prose.missing))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="fail if the files on disk differ")
    a = ap.parse_args()
    files, missing = build(a.shared)
    for key in missing:
        print(f"missing prose: {key}", file=sys.stderr)
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
    print(f"wrote {len(stale)} of {len(files)} files under {a.out}; {len(missing)} prose gaps")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
