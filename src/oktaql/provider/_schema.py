"""JSON-pointer resolution and schema flattening for OpenAPI documents."""

from __future__ import annotations

from typing import Any

from oktaql.errors import ProviderError


def resolve_pointer(doc: dict[str, Any], ref: str, where: str = "") -> Any:
    if not ref.startswith("#"):
        raise ProviderError(f"{where}: only local $refs are supported, got {ref!r}")
    node: Any = doc
    for part in ref[1:].lstrip("/").split("/"):
        if not part:
            continue
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[key]
        except (KeyError, TypeError, IndexError):
            raise ProviderError(f"{where}: $ref {ref!r} does not resolve (no {key!r})") from None
    return node


def deref(doc: dict[str, Any], node: Any, where: str = "") -> Any:
    """Follow $ref chains until a concrete node."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        node = resolve_pointer(doc, node["$ref"], where)
        seen += 1
        if seen > 50:
            raise ProviderError(f"{where}: $ref cycle")
    return node


def flatten(doc: dict[str, Any], schema: Any, where: str = "", depth: int = 0) -> dict[str, Any]:
    """Resolve $ref and merge allOf (and the alternatives of oneOf/anyOf) into one object schema.

    Columns come from the merged ``properties``; nested property schemas are left as they are
    (resolved lazily by :func:`describe_type`).
    """
    schema = deref(doc, schema, where)
    if not isinstance(schema, dict):
        return {}
    if depth > 20:
        return schema
    parts = [schema]
    for key in ("allOf", "oneOf", "anyOf"):
        parts.extend(flatten(doc, sub, where, depth + 1) for sub in schema.get(key) or [])
    if len(parts) == 1:
        return schema
    merged: dict[str, Any] = {
        k: v for k, v in schema.items() if k not in ("allOf", "oneOf", "anyOf")
    }
    props: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        for name, prop in (part.get("properties") or {}).items():
            props.setdefault(name, prop)
        for name in part.get("required") or []:
            if name not in required:
                required.append(name)
        for key in ("type", "format", "items", "description"):
            if key in part and key not in merged:
                merged[key] = part[key]
    if props:
        merged["properties"] = props
        merged.setdefault("type", "object")
    if required:
        merged["required"] = required
    return merged


def describe_type(doc: dict[str, Any], schema: Any, where: str = "") -> tuple[str, str | None]:
    """(type, format) of a property schema; object when it has properties or combinators."""
    schema = deref(doc, schema, where)
    if not isinstance(schema, dict):
        return "string", None
    t = schema.get("type")
    if isinstance(t, list):  # OpenAPI 3.1 style ["string", "null"]
        t = next((x for x in t if x != "null"), "string")
    if not t:
        if schema.get("properties") or schema.get("additionalProperties"):
            t = "object"
        elif any(k in schema for k in ("allOf", "oneOf", "anyOf")):
            merged = flatten(doc, schema, where)
            t = merged.get("type") or "object"
            return str(t), merged.get("format")
        elif "items" in schema:
            t = "array"
        else:
            t = "string"
    return str(t), schema.get("format")


def flatten_with_variants(doc: dict[str, Any], schema: Any, where: str = "") -> dict[str, Any]:
    """Like :func:`flatten`, plus the properties of every ``discriminator`` variant.

    Okta's polymorphic bodies (an app's ``settings`` exist only on its signOnMode's subtype)
    would otherwise reject fields the API accepts.
    """
    merged = dict(flatten(doc, schema, where))
    props = dict(merged.get("properties") or {})
    base = deref(doc, schema, where)
    mapping = ((base or {}).get("discriminator") or {}).get("mapping") or {}
    for ref in mapping.values():
        try:
            variant = flatten(doc, {"$ref": ref}, where)
        except Exception:  # a broken variant must not hide the base fields
            continue
        for name, prop in (variant.get("properties") or {}).items():
            props.setdefault(name, prop)
    if props:
        merged["properties"] = props
    return merged
