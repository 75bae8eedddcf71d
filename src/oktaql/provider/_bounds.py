"""Limits a parsed provider document must keep, and its conversion to JSON's data model.

A provider is input from whoever wrote the registry. YAML aliases let a few hundred bytes
stand for a billion values ("billion laughs"), or for a value that contains itself; anything
that walks such a document (the cache's encoder, ``str()`` of a description) then takes all
the memory there is or never ends. Every document is measured once, right after parsing, as if
each alias were written out in full: too large, too deep or cyclic, it is refused with the
JSON pointer of the place, before anything else reads it.
"""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path
from typing import Any

from oktaql.errors import ConfigError

try:
    import orjson
except ImportError:  # pragma: no cover - a platform without an orjson wheel
    orjson = None  # type: ignore[assignment]

# StackQL's largest Okta service file comes to ~40k units with its examples; a limit 25 times
# that keeps even a hand-written provider well inside and a bomb's output under ~64 MB
MAX_UNITS = 1_000_000
_STRING_UNIT = 64  # a string counts one unit, plus one per 64 characters
MAX_DEPTH = 200  # nesting of mappings and lists; OpenAPI documents stay under 30


def where(path: Path | str, pointer: str) -> str:
    """``<file>#<JSON pointer>``: the place a provider error is about."""
    return f"{path}#{pointer}"


def pointer(parts: list[Any]) -> str:
    """The JSON pointer (RFC 6901) of a path of keys and list indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check_bounds(doc: Any, path: Path | str, label: str = "provider file") -> None:
    """Raise :class:`ConfigError` when ``doc`` is cyclic, deeper than :data:`MAX_DEPTH`, or
    larger than :data:`MAX_UNITS` with its aliases expanded.

    Linear in the document as parsed: a value reached through several aliases is measured once
    (by identity) and its size reused.
    """
    sizes: dict[int, int] = {}  # id of a mapping or list → its expanded size; -1 while open
    stack: list[Any] = []  # keys from the root to the node being measured, for errors

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{label} {where(path, pointer(stack))}: {message}")

    def measure(node: Any) -> int:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            if known < 0:
                raise fail("a YAML alias refers to a value that contains it (a cycle)")
            return known
        if len(stack) >= MAX_DEPTH:
            raise fail(f"values nest deeper than {MAX_DEPTH} levels")
        sizes[key] = -1
        total = 1
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in items:
            if isinstance(v, (dict, list)):
                stack.append(k)
                total += measure(v)
                stack.pop()
            elif isinstance(v, str):
                total += 1 + len(v) // _STRING_UNIT
            else:
                total += 1
            if total > MAX_UNITS:
                stack.append(k)
                raise fail(
                    f"the document expands to more than {MAX_UNITS:,} values (YAML aliases "
                    "repeating values: a 'billion laughs' document?)"
                )
        sizes[key] = total
        return total

    if isinstance(doc, (dict, list)):
        measure(doc)


def encode(doc: Any, path: Path | str) -> bytes:
    """``doc`` as JSON text: what the parse cache stores, so a cold and a warm run see the same.

    YAML holds more than JSON; each extra is converted explicitly: keys that are not strings
    become their JSON text (``200`` → ``"200"``, ``true`` → ``"true"``), dates and timestamps
    ISO 8601 text, sets sorted lists, binary base64 text. Only call it on a document that
    passed :func:`check_bounds`.
    """
    if orjson is not None:
        try:
            return orjson.dumps(doc, default=_convert, option=orjson.OPT_NON_STR_KEYS)
        except orjson.JSONEncodeError:
            pass  # an integer wider than 64 bits: the standard library writes it
    try:
        return json.dumps(doc, default=_convert, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"provider file {path} holds a value JSON cannot: {exc}") from None


def _convert(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON value")
