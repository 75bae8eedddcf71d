"""JSON-pointer resolution and schema flattening for OpenAPI documents.

A :class:`Doc` is one service file's document. Every lookup carries the JSON pointer of the node
it starts from, so that whatever is wrong (a ``$ref`` that does not resolve or that cycles, a
value of the wrong kind) is reported as ``<file>#<pointer>``. ``$ref`` chains and
``allOf``/``oneOf``/``anyOf`` nesting are bounded, and a schema reached by ``$ref`` is
flattened once per document: a hostile provider can make neither loop nor blow up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oktaql.errors import ConfigError
from oktaql.provider._bounds import where
from oktaql.provider._facts import subtype_columns

MAX_REF_CHAIN = 32  # $ref to $ref to ...: Okta's documents have at most 2
MAX_NESTING = 32  # allOf/oneOf/anyOf inside each other: Okta's have at most 5
_COMBINATORS = ("allOf", "oneOf", "anyOf")


def kind(value: Any) -> str:
    """What a YAML value is, in the words of an error message."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return f"{type(value).__name__} {str(value)[:40]}"


def escape(key: Any) -> str:
    """One JSON-pointer segment (RFC 6901)."""
    return str(key).replace("~", "~0").replace("/", "~1")


class Doc:
    """A parsed service file and where it came from."""

    def __init__(self, path: Path | str, data: dict[str, Any]):
        self.path = path
        self.data = data
        self._flat: dict[str, dict[str, Any]] = {}  # $ref target → its flattened schema
        self._open: set[str] = set()  # $ref targets being flattened, to catch cycles
        self._poly: dict[str, dict[str, Any]] = {}  # $ref target → base + its subtypes

    def error(self, at: str, message: str) -> ConfigError:
        return ConfigError(f"provider file {where(self.path, at)}: {message}")

    def mapping(self, node: Any, at: str, what: str = "this") -> dict[str, Any]:
        """``node`` when it is a mapping, ``{}`` when it is absent, else an error."""
        if node is None:
            return {}
        if not isinstance(node, dict):
            raise self.error(at, f"{what} must be a mapping, not {kind(node)}")
        return node

    def sequence(self, node: Any, at: str, what: str = "this") -> list[Any]:
        """``node`` when it is a list, ``[]`` when it is absent, else an error."""
        if node is None:
            return []
        if not isinstance(node, list):
            raise self.error(at, f"{what} must be a list, not {kind(node)}")
        return node

    def resolve(self, ref: Any, at: str) -> tuple[Any, str]:
        """The node a local ``$ref`` (written at ``at``) names, and its pointer."""
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise self.error(at, f"only local $refs ('#/...') are supported, got {ref!r}")
        node: Any = self.data
        target = ""
        for part in ref[1:].lstrip("/").split("/"):
            if not part:
                continue
            key = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(key)] if isinstance(node, list) else node[key]
            except (KeyError, TypeError, IndexError, ValueError):
                raise self.error(at, f"$ref {ref!r} does not resolve (no {key!r})") from None
            target += "/" + escape(key)
        return node, target

    def deref_at(self, node: Any, at: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains to a concrete node; returns it with its pointer."""
        start = at
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            node, target = self.resolve(node["$ref"], at + "/$ref")
            if target in seen or len(seen) >= MAX_REF_CHAIN:
                chain = " -> ".join("#" + p for p in [*seen, target])
                raise self.error(start, f"$ref chain does not end: {chain}")
            seen.append(target)
            at = target
        return node, at

    def deref(self, node: Any, at: str) -> Any:
        return self.deref_at(node, at)[0]

    def flatten(self, schema: Any, at: str, depth: int = 0) -> dict[str, Any]:
        """Resolve $ref and merge allOf (and the alternatives of oneOf/anyOf) into one object
        schema.

        Columns come from the merged ``properties``; nested property schemas are left as they
        are (resolved lazily by :meth:`describe_type`).
        """
        node, target = self.deref_at(schema, at)
        if not isinstance(node, dict):
            return {}
        by_ref = target != at
        if by_ref:
            done = self._flat.get(target)
            if done is not None:
                return done
            if target in self._open:
                raise self.error(target, "allOf/oneOf/anyOf includes this schema itself")
        if depth > MAX_NESTING:
            raise self.error(target, f"allOf/oneOf/anyOf nest deeper than {MAX_NESTING} levels")
        if not by_ref:
            return self._merge(node, target, depth)
        self._open.add(target)
        try:
            merged = self._merge(node, target, depth)
        finally:
            self._open.discard(target)
        self._flat[target] = merged
        return merged

    def _merge(self, schema: dict[str, Any], at: str, depth: int) -> dict[str, Any]:
        parts = [schema]
        for key in _COMBINATORS:
            subs = self.sequence(schema.get(key), f"{at}/{key}", key)
            parts.extend(
                self.flatten(sub, f"{at}/{key}/{i}", depth + 1) for i, sub in enumerate(subs)
            )
        if len(parts) == 1:
            return schema
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k not in _COMBINATORS}
        props: dict[str, Any] = {}
        required: list[str] = []
        for part in parts:
            for name, prop in self.mapping(part.get("properties"), at, "properties").items():
                props.setdefault(name, prop)
            for name in self.sequence(part.get("required"), at, "required"):
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

    def describe_type(self, schema: Any, at: str) -> tuple[str, str | None]:
        """(type, format) of a property schema; object when it has properties or combinators."""
        node, at = self.deref_at(schema, at)
        if not isinstance(node, dict):
            return "string", None
        t = node.get("type")
        if isinstance(t, list):  # OpenAPI 3.1 style ["string", "null"]
            t = next((x for x in t if x != "null"), "string")
        if not t:
            if node.get("properties") or node.get("additionalProperties"):
                t = "object"
            elif any(k in node for k in _COMBINATORS):
                merged = self.flatten(node, at)
                fmt = merged.get("format")
                return str(merged.get("type") or "object"), str(fmt) if fmt else None
            elif "items" in node:
                t = "array"
            else:
                t = "string"
        fmt = node.get("format")
        return str(t), str(fmt) if fmt else None

    def flatten_polymorphic(self, schema: Any, at: str) -> dict[str, Any]:
        """Like :meth:`flatten`, with ``properties`` the union over the schema's
        ``discriminator`` subtypes (and theirs, transitively): an Okta app's ``name`` and
        ``settings``, a policy rule's ``actions``, exist only on the subtypes, so they are
        columns of the resource and fields its request bodies accept.

        A subtype is usually ``allOf: [base, own properties]`` while the base's discriminator
        maps back to it: every schema is visited once (base → subtype → base ends there) and a
        property already seen keeps its place. A property whose type differs between subtypes
        becomes a JSON value (``type: object``); one whose format differs loses the format. A
        subtype that cannot be read is left out, so it never hides the base's columns.
        """
        node, target = self.deref_at(schema, at)
        cached = self._poly.get(target) if target != at else None
        if cached is not None:
            return cached
        merged = dict(self.flatten(schema, at))
        props: dict[str, Any] = dict(merged.get("properties") or {})
        seen = {target}
        todo: list[tuple[Any, str, int]] = [(node, target, 0)]
        while todo:
            base, base_at, depth = todo.pop(0)
            if not isinstance(base, dict) or depth > MAX_NESTING:
                continue
            disc = base.get("discriminator")
            mapping = disc.get("mapping") if isinstance(disc, dict) else None
            if not isinstance(mapping, dict):
                continue
            for name, ref in mapping.items():
                ref_at = f"{base_at}/discriminator/mapping/{escape(name)}"
                if isinstance(ref, str) and not ref.startswith("#"):
                    ref = f"#/components/schemas/{ref}"  # OpenAPI allows the bare name
                try:
                    sub, sub_at = self.deref_at({"$ref": ref}, ref_at)
                    if sub_at in seen:
                        continue
                    seen.add(sub_at)
                    flat = self.flatten({"$ref": ref}, ref_at)
                except ConfigError:
                    # a subtype the document names but leaves out (StackQL's do): its
                    # columns as Okta's spec gives them
                    sub, sub_at = None, f"facts:{ref}"
                    known = subtype_columns(str(ref).rsplit("/", 1)[-1])
                    if known is None or sub_at in seen:
                        continue
                    seen.add(sub_at)
                    flat = {"properties": known}
                for pname, prop in (flat.get("properties") or {}).items():
                    if pname not in props:
                        props[pname] = prop
                    else:
                        props[pname] = self._reconcile(props[pname], prop, f"{sub_at}/properties")
                todo.append((sub, sub_at, depth + 1))
        if props:
            merged["properties"] = props
        if target != at:
            self._poly[target] = merged
        return merged

    def _reconcile(self, have: Any, other: Any, at: str) -> Any:
        """One property seen on two subtypes: the first, unless their types differ."""
        if have is other:
            return have
        try:
            t1, f1 = self.describe_type(have, at)
            t2, f2 = self.describe_type(other, at)
        except ConfigError:
            return have
        if t1 == t2 and f1 == f2:
            return have
        description = self.deref(have, at)
        text = description.get("description") if isinstance(description, dict) else None
        out: dict[str, Any] = {"type": t1} if t1 == t2 else {"type": "object"}
        if text:
            out["description"] = text
        return out
