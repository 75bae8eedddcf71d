#!/usr/bin/env python3
"""Derive the emulator's spec table from Okta's Management API spec.

The emulator's generic resources (``src/oktaql/emulator/_resources.py``) are driven by the
facts of Okta's spec: paths, methods, parameters (name, place, required, type, enum,
default, maximum), request and success-response schemas, and the component schemas with
their types, formats, enums, required lists, bounds, patterns and discriminators. This tool
keeps only those facts -- every description, summary, title, example object, tag, security
block and ``x-`` extension is dropped -- and writes them as compact JSON inside a Python
module, so the emulator needs neither the spec nor a data-file entry in the package at run
time. A schema's primitive ``example`` is kept when it satisfies the schema's own pattern:
it is a value of the documented shape (an id prefix, a domain), used to generate data.

usage: build_emulator_spec.py [--spec FILE] [--check]
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
SPEC = ROOT.parent / "shared" / "okta" / "management-minimal.yaml"
OUT = ROOT / "src" / "oktaql" / "provider" / "_spec_table.py"
METHODS = ("get", "post", "put", "patch", "delete")
# facts of a schema node; everything else (prose, x- extensions, examples objects) goes
_SCHEMA_KEYS = {
    "type",
    "format",
    "enum",
    "required",
    "nullable",
    "readOnly",
    "writeOnly",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "pattern",
    "default",
    "multipleOf",
}
_REF = "#/components/schemas/"


def _example(node: dict[str, Any]) -> Any:
    value = node.get("example")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    if isinstance(value, str):
        if len(value) > 200 or "\n" in value:
            return None
        pattern = node.get("pattern")
        if pattern:
            try:
                if not re.search(pattern, value):
                    return None
            except re.error:
                return None
        if "enum" in node and value not in node["enum"]:
            return None
    return value


def schema(node: Any, raw: dict[str, Any]) -> Any:
    """The facts of one schema node, refs kept as ``{"$ref": "Name"}``."""
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref.startswith(_REF):
            return {"$ref": ref[len(_REF) :]}
        return schema(_pointer(raw, ref), raw)
    out: dict[str, Any] = {k: node[k] for k in _SCHEMA_KEYS if k in node}
    example = _example(node)
    if example is not None:
        out["example"] = example
    if isinstance(node.get("properties"), dict):
        out["properties"] = {k: schema(v, raw) for k, v in node["properties"].items()}
    if "items" in node:
        out["items"] = schema(node["items"], raw)
    for key in ("allOf", "oneOf", "anyOf"):
        if key in node:
            out[key] = [schema(v, raw) for v in node[key]]
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        out["additionalProperties"] = extra if isinstance(extra, bool) else schema(extra, raw)
    disc = node.get("discriminator")
    if isinstance(disc, dict):
        out["discriminator"] = {
            "propertyName": disc["propertyName"],
            "mapping": {
                k: v[len(_REF) :] if v.startswith(_REF) else v
                for k, v in (disc.get("mapping") or {}).items()
            },
        }
    return out


def _pointer(raw: dict[str, Any], ref: str) -> Any:
    node: Any = raw
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _deref(raw: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = _pointer(raw, node["$ref"])
    return node


def _param(raw: dict[str, Any], node: Any) -> dict[str, Any]:
    p = _deref(raw, node)
    out = {"name": p["name"], "in": p["in"], "required": bool(p.get("required"))}
    if "schema" in p:
        out["schema"] = schema(p["schema"], raw)
    return out


def _json_schema(raw: dict[str, Any], content: Any) -> tuple[str | None, Any]:
    """(media type, schema) of a request or response's content; JSON preferred."""
    if not isinstance(content, dict) or not content:
        return None, None
    media = next((m for m in content if "json" in m), next(iter(content)))
    return media, schema((content[media] or {}).get("schema"), raw)


def operation(raw: dict[str, Any], path_params: list[Any], op: dict[str, Any]) -> dict[str, Any]:
    params: dict[tuple[str, str], dict[str, Any]] = {}
    for node in [*path_params, *(op.get("parameters") or [])]:
        p = _param(raw, node)
        params[(p["name"], p["in"])] = p
    out: dict[str, Any] = {"id": op.get("operationId"), "params": list(params.values())}
    body = _deref(raw, op.get("requestBody"))
    if isinstance(body, dict):
        media, body_schema = _json_schema(raw, body.get("content"))
        out["body"] = {
            "media": media,
            "schema": body_schema,
            "required": bool(body.get("required")),
        }
    for status, resp in (op.get("responses") or {}).items():
        if str(status).startswith("2"):
            resp = _deref(raw, resp)
            content = resp.get("content")
            media, resp_schema = _json_schema(raw, content)
            # content: {} -- declared, but with no media type (most lifecycle 200s)
            out["ok"] = {
                "status": int(status),
                "media": media,
                "schema": resp_schema,
                "empty": content == {} or content is None,
            }
            break
    return out


def build(raw: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for template, item in raw["paths"].items():
        shared = item.get("parameters") or []
        ops = {m.upper(): operation(raw, shared, item[m]) for m in METHODS if m in item}
        if ops:
            paths[template] = ops
    schemas = {name: schema(node, raw) for name, node in raw["components"]["schemas"].items()}
    return {"version": raw["info"]["version"], "paths": paths, "schemas": schemas}


def render(table: dict[str, Any]) -> str:
    text = json.dumps(table, separators=(",", ":"), sort_keys=True)
    return (
        '"""Okta Management API facts (paths, parameters, schemas): the emulator serves them, '
        "deploy\nchecks stack bodies against them.\n\n"
        "Generated by tools/build_emulator_spec.py from Okta's spec (Apache-2.0); do not edit.\n"
        '"""\n\n'
        f"VERSION = {json.dumps(table['version'])}\n"
        f"TABLE = {text!r}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--check", action="store_true", help="fail if the table is stale")
    args = parser.parse_args(argv)
    if not args.spec.is_file():
        print(f"build_emulator_spec: {args.spec} not found (pass --spec FILE)", file=sys.stderr)
        return 2
    raw = yaml.load(args.spec.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    text = render(build(raw))
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            print(f"build_emulator_spec: {OUT} is stale; run tools/build_emulator_spec.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT} ({len(text) // 1024} KiB, {len(raw['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
