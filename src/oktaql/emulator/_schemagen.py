"""Objects generated from the spec's schemas: every field of its documented type.

:class:`Schemas` wraps the component schemas of the spec table (``provider._spec_table``) and builds a
JSON value for a schema from a ``random.Random``, so a generated object is a pure function of
the seed it is drawn with. What it honours: ``$ref``, ``allOf`` (merged), ``oneOf``/``anyOf``
(the first branch), discriminators (a mapped subtype is drawn, or the one a ``hint`` names,
and the discriminating property carries its mapping key), enums, formats (date-time, date,
uri/url, email, uuid, ipv4, hostname...), bounds and lengths, and a primitive ``example``
the spec gives (an id with its prefix, a domain name). Recursive schemas stop at a depth
limit with only their required properties; ``writeOnly`` properties are never generated.
"""

from __future__ import annotations

import random
import re
import uuid

try:  # the regular-expression parser, to build strings a pattern matches
    import re._parser as _parser  # type: ignore[import-not-found]
except ImportError:  # Python < 3.11
    import sre_parse as _parser  # type: ignore[no-redef]
from typing import Any

from ._util import ALNUM, BASE_EPOCH, DAY, iso

_MAX_DEPTH = 7
_ID_EXAMPLE = re.compile(r"^[0-9a-z]{3}[0-9A-Za-z]{14,17}$")


class Schemas:
    """The component schemas, with resolution and generation helpers."""

    def __init__(self, schemas: dict[str, Any]):
        self.by_name = schemas
        self._merged: dict[int, dict[str, Any]] = {}
        # subtype name -> (base schema name, discriminator property, mapping key)
        self.subtype_of: dict[str, tuple[str, str, str]] = {}
        for name, node in schemas.items():
            disc = node.get("discriminator") if isinstance(node, dict) else None
            if disc:
                for key, target in disc["mapping"].items():
                    self.subtype_of.setdefault(target, (name, disc["propertyName"], key))

    # ---------------------------------------------------------------- resolution

    def deref(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self.by_name.get(node["$ref"], {})
        return node

    def ref_name(self, node: Any) -> str | None:
        return node.get("$ref") if isinstance(node, dict) else None

    def properties(self, node: Any, hint: dict[str, Any] | None = None) -> dict[str, Any]:
        """The merged properties of an object schema (allOf parts, the hinted subtype's)."""
        out: dict[str, Any] = {}
        for part in self._parts(node, hint or {}, set()):
            out.update(part.get("properties") or {})
        return out

    def required(self, node: Any, hint: dict[str, Any] | None = None) -> list[str]:
        out: list[str] = []
        for part in self._parts(node, hint or {}, set()):
            out += [r for r in part.get("required") or [] if r not in out]
        return out

    def _parts(self, node: Any, hint: dict[str, Any], seen: set[str]) -> list[dict[str, Any]]:
        name = self.ref_name(node)
        if name is not None:
            if name in seen:
                return []
            seen = seen | {name}
        node = self.deref(node)
        if not isinstance(node, dict):
            return []
        disc = node.get("discriminator")
        if disc and disc["mapping"] and name is not None:
            chosen = hint.get(disc["propertyName"])
            target = disc["mapping"].get(chosen) if isinstance(chosen, str) else None
            if target and target not in seen:
                return self._parts({"$ref": target}, hint, seen | {name})
        out = [node]
        for part in node.get("allOf") or []:
            out += self._parts(part, hint, seen)
        return out

    def type_name(self, node: Any) -> str:
        """The schema's name for error messages (``Brand``), else ``Resource``."""
        if isinstance(node, dict) and node.get("type") == "array":
            node = node.get("items")
        return self.ref_name(node) or "Resource"

    # ---------------------------------------------------------------- generation

    def generate(
        self,
        node: Any,
        rng: random.Random,
        *,
        hint: dict[str, Any] | None = None,
        label: str = "",
        refs: dict[str, list[str]] | None = None,
    ) -> Any:
        """A value of schema ``node``; ``hint`` picks discriminated subtypes and enum values,
        ``refs`` gives free-form string fields named like a reference (``userId``) real ids."""
        return _Gen(self, rng, hint or {}, label, refs or {}).value(node, 0, (), "")


class _Gen:
    def __init__(
        self,
        schemas: Schemas,
        rng: random.Random,
        hint: dict[str, Any],
        label: str,
        refs: dict[str, list[str]],
    ):
        self.s = schemas
        self.rng = rng
        self.hint = hint
        self.label = label or "item"
        self.refs = refs

    def value(self, node: Any, depth: int, stack: tuple[str, ...], key: str) -> Any:
        name = self.s.ref_name(node)
        if name is not None:
            # a subtype's allOf names its base once more; a third time is recursion
            if stack.count(name) >= 2:
                return _MISSING
            stack = (*stack, name)
        schema = self.s.deref(node)
        if not isinstance(schema, dict):
            return {}
        disc = schema.get("discriminator")
        if disc and disc["mapping"] and name is not None and name not in stack[:-1]:
            return self._discriminated(name, disc, depth, stack)
        if "allOf" in schema:
            return self._all_of(schema, depth, stack, key)
        for alt in ("oneOf", "anyOf"):
            if schema.get(alt):
                return self.value(self._pick_branch(schema[alt]), depth, stack, key)
        if "enum" in schema and schema["enum"]:
            return self._enum(schema["enum"], key, depth)
        kind = schema.get("type")
        if kind is None:
            kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
        if kind == "object":
            return self._object(schema, depth, stack)
        if kind == "array":
            return self._array(schema, depth, stack, key)
        if kind == "string":
            return self._string(schema, key)
        if kind == "integer":
            return int(self._number(schema, integer=True))
        if kind == "number":
            return self._number(schema, integer=False)
        if kind == "boolean":
            return self.rng.random() < 0.5
        return {}  # a free-form value: an empty object is valid for it

    def _pick_branch(self, branches: list[Any]) -> Any:
        # the first branch: the spec lists the common case first; a draw would make oneOf
        # objects ambiguous more often
        return branches[0]

    def _discriminated(
        self, name: str, disc: dict[str, Any], depth: int, stack: tuple[str, ...]
    ) -> Any:
        prop = disc["propertyName"]
        mapping: dict[str, str] = disc["mapping"]
        wanted = self.hint.get(prop) if depth == 0 else None
        if isinstance(wanted, str) and wanted in mapping:
            key = wanted
        else:
            key = sorted(mapping)[self.rng.randrange(len(mapping))]
        target = mapping[key]
        out = self.value({"$ref": target}, depth, stack, "")
        if isinstance(out, dict):
            out[prop] = key
        return out

    def _all_of(self, schema: dict[str, Any], depth: int, stack: tuple[str, ...], key: str) -> Any:
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = self.value(part, depth, stack, key)
            if isinstance(value, dict):
                out.update(value)
            elif value is not _MISSING and not out:
                return value
        if "properties" in schema:
            extra = self._object(schema, depth, stack)
            if isinstance(extra, dict):
                out.update(extra)
        return out

    def _enum(self, values: list[Any], key: str, depth: int) -> Any:
        wanted = self.hint.get(key) if depth <= 1 else None
        if wanted in values:
            return wanted
        if key == "status" and "ACTIVE" in values:
            return "ACTIVE"
        return values[self.rng.randrange(len(values))]

    def _object(self, schema: dict[str, Any], depth: int, stack: tuple[str, ...]) -> Any:
        props: dict[str, Any] = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out: dict[str, Any] = {}
        for prop, sub in props.items():
            resolved = self.s.deref(sub)
            if isinstance(resolved, dict) and resolved.get("writeOnly"):
                continue
            if depth >= _MAX_DEPTH and prop not in required:
                continue
            value = self.value(sub, depth + 1, stack, prop)
            if value is _MISSING:
                if prop in required:
                    out[prop] = {}
                continue
            out[prop] = value
        for prop in required - set(props):  # required, yet undeclared: any value satisfies it
            out.setdefault(prop, {})
        return out

    def _array(self, schema: dict[str, Any], depth: int, stack: tuple[str, ...], key: str) -> Any:
        items = schema.get("items", {})
        count = max(int(schema.get("minItems") or 0), 1 if depth < _MAX_DEPTH - 1 else 0)
        count = min(count, int(schema.get("maxItems") or count))
        out = []
        for _ in range(count):
            value = self.value(items, depth + 1, stack, key)
            if value is _MISSING:
                return []
            out.append(value)
        if schema.get("uniqueItems"):
            unique: list[Any] = []
            for v in out:
                if v not in unique:
                    unique.append(v)
            out = unique
        return out

    def _string(self, schema: dict[str, Any], key: str) -> str:
        rng = self.rng
        fmt = schema.get("format")
        if fmt == "date-time":
            return iso(BASE_EPOCH + rng.randrange(300 * DAY))
        if fmt == "date":
            return iso(BASE_EPOCH + rng.randrange(300) * DAY)[:10]
        if fmt in ("uri", "url", "uri-reference", "iri") or key == "href":
            return f"https://example.okta.com/{key or 'resource'}/{_word(rng, 8)}"
        if fmt == "email":
            return f"{self.label.lower()}.{_word(rng, 5).lower()}@example.com"
        if fmt == "uuid":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fmt == "ipv4":
            return f"192.0.2.{rng.randrange(1, 255)}"
        if fmt == "ipv6":
            return f"2001:db8::{rng.randrange(1, 0xFFFF):x}"
        if fmt == "hostname":
            return f"{_word(rng, 6).lower()}.example.com"
        if fmt == "byte":
            return "ZXhhbXBsZQ=="
        pool = self.refs.get(key) if not schema.get("pattern") else None
        if pool:
            return pool[rng.randrange(len(pool))]
        example = schema.get("example")
        if isinstance(example, str):
            if _ID_EXAMPLE.match(example):
                return example[:3] + _word(rng, len(example) - 3)
            return example
        pattern = schema.get("pattern")
        text = _matching(pattern, rng) if pattern else None
        if text is not None:
            return text
        text = f"{key or 'value'}-{_word(rng, 6)}"
        low, high = int(schema.get("minLength") or 0), schema.get("maxLength")
        if high is not None and len(text) > int(high):
            text = text[: int(high)]
        if len(text) < low:
            text += "x" * (low - len(text))
        return text

    def _number(self, schema: dict[str, Any], *, integer: bool) -> float:
        example = schema.get("example")
        low = schema.get("minimum")
        high = schema.get("maximum")
        if isinstance(example, (int, float)) and not isinstance(example, bool):
            if (low is None or example >= low) and (high is None or example <= high):
                return int(example) if integer else float(example)
        lo = int(low) if low is not None else 1
        if schema.get("exclusiveMinimum") is True:
            lo += 1
        hi = int(high) if high is not None else max(lo, 1000)
        if schema.get("exclusiveMaximum") is True:
            hi -= 1
        hi = max(lo, hi)
        value = self.rng.randint(lo, min(hi, lo + 1000))
        step = schema.get("multipleOf")
        if step:
            value = int(value // step * step) or int(step)
        return value


def _matching(pattern: str, rng: random.Random) -> str | None:
    """A string ``pattern`` matches, built from its parse tree (None if that fails)."""
    try:
        tree = _parser.parse(pattern)
        text = _emit(tree, rng)
        return text if re.search(pattern, text) else None
    except (re.error, ValueError, TypeError, IndexError, RecursionError):
        return None


def _emit(tree: Any, rng: random.Random) -> str:
    out: list[str] = []
    for op, arg in tree:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_in(arg, rng))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = max(low, 1) if high != 0 else 0
            out.extend(_emit(sub, rng) for _ in range(min(count, 64)))
        elif name == "SUBPATTERN":
            out.append(_emit(arg[-1], rng))
        elif name == "BRANCH":
            out.append(_emit(arg[1][0], rng))
        elif name == "CATEGORY":
            out.append(_category(str(arg)))
        elif name in ("AT", "ASSERT", "ASSERT_NOT", "GROUPREF"):
            continue
        elif name == "NOT_LITERAL":
            out.append("a" if arg != ord("a") else "b")
        else:
            raise ValueError(name)
    return "".join(out)


def _in(items: Any, rng: random.Random) -> str:
    if items and str(items[0][0]) == "NEGATE":
        return "a"
    op, arg = items[rng.randrange(len(items))]
    if str(op) == "LITERAL":
        return chr(arg)
    if str(op) == "RANGE":
        return chr(rng.randint(arg[0], arg[1]))
    if str(op) == "CATEGORY":
        return _category(str(arg))
    raise ValueError(str(op))


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "7", "CATEGORY_SPACE": " ", "CATEGORY_WORD": "w"}.get(name, "a")


def _word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ALNUM) for _ in range(n))


class _Missing:
    """Marks a property left out (a recursive schema past its depth)."""


_MISSING: Any = _Missing()
