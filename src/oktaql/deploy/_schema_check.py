"""Desired fields of a polymorphic body checked against Okta's schema of the variant chosen.

An app's body is one of nine schemas, chosen by its ``signOnMode`` (``OPENID_CONNECT`` →
``OpenIdConnectApplication``, whose ``settings.oauthClient`` lists ``redirect_uris``...); a
policy's by its ``type``, an IdP's by its ``type``. A provider document gives such a body as
open (``Method.body_open``: its fields vary), and StackQL's and the built-in one keep only two
levels of its schema, so these checks read Okta's spec itself: the schema of the operation the
method calls (found by verb and path, as ``provider._facts`` finds an operation's facts), its
``discriminator`` mappings followed wherever the written value names a variant, ``allOf`` parts
merged, ``oneOf``/``anyOf`` alternatives each allowed. Below a free-form object
(``additionalProperties``, or an object whose fields the spec doesn't list) anything goes.

A method whose operation the spec doesn't have (a provider of other paths) is left to the
provider-based checks of ``_kind``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

from oktaql.catalog import suggest
from oktaql.deploy._context import UNKNOWN, has_template
from oktaql.deploy._model import Where
from oktaql.errors import DeployError
from oktaql.provider import Method

_MAX_DEPTH = 40  # $ref/allOf/oneOf chains at one level: Okta's are under 10 deep

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}
_TYPE_WORDS = {dict: "a mapping", list: "a list", str: "a string", bool: "true/false"}


# Fields Okta's objects carry, and its spec's own examples show, that its schemas leave out:
# an exported app's settings hold them, so a stack written from live objects must pass
# (a variant's own schema of the field, e.g. a bookmark's settings.app, wins over these)
_UNLISTED: dict[str, dict[str, Any]] = {
    "ApplicationSettings": {
        "manualProvisioning": {"type": "boolean", "x-unlisted": True},
        "app": {"type": "object", "x-unlisted": True},
    },
}


def _unlisted(options: list[Any]) -> bool:
    return all(isinstance(o, dict) and o.get("x-unlisted") for o in options)


@functools.cache
def _spec() -> dict[str, Any]:
    """Okta's spec as the package carries it (the emulator serves the same table): operations
    by path and verb, schemas by name."""
    from oktaql.provider._spec_table import TABLE

    data = json.loads(TABLE)
    return data if isinstance(data, dict) else {}


def _shape(path: str) -> tuple[str | None, ...]:
    return tuple(
        None if s.startswith("{") and s.endswith("}") else s for s in path.strip("/").split("/")
    )


@functools.cache
def _operations() -> dict[tuple[str, tuple[str | None, ...]], Any]:
    out: dict[tuple[str, tuple[str | None, ...]], Any] = {}
    for path, verbs in (_spec().get("paths") or {}).items():
        for verb, op in (verbs or {}).items() if isinstance(verbs, dict) else ():
            out.setdefault((str(verb).upper(), _shape(str(path))), op)
    return out


def body_schema(method: Method) -> Any | None:
    """The spec's request-body schema of the operation ``method`` calls; None: not known."""
    op = _operations().get((method.http_method, _shape(method.path)))
    body = op.get("body") if isinstance(op, dict) else None
    schema = body.get("schema") if isinstance(body, dict) else None
    return schema if isinstance(schema, dict) else None


def _pending(value: Any) -> bool:
    """A template, or what one renders to before apply: its value isn't known yet."""
    return isinstance(value, str) and (has_template(value) or UNKNOWN in value)


def _ref_name(ref: Any) -> str:
    return str(ref).rsplit("/", 1)[-1]


def _deref(schema: Any) -> tuple[dict[str, Any], str | None]:
    """A schema with its ``$ref`` chain followed, and the name of the last schema named."""
    schemas = _spec().get("schemas") or {}
    name = None
    for _ in range(_MAX_DEPTH):
        if not isinstance(schema, dict) or "$ref" not in schema:
            break
        name = _ref_name(schema["$ref"])
        schema = schemas.get(name)
    return (schema if isinstance(schema, dict) else {}), name


@dataclass
class _Flat:
    """One schema as a written value meets it: its fields (each with the schemas it may take),
    type, enum, and whether it takes fields it doesn't list."""

    props: dict[str, list[Any]] = field(default_factory=dict)
    listed: bool = False  # some part lists properties
    extra: bool = False  # additionalProperties: fields beyond the listed ones are taken
    extra_schemas: list[Any] = field(default_factory=list)
    types: set[str] = field(default_factory=set)  # empty: any
    enum: list[Any] | None = None
    items: list[Any] = field(default_factory=list)
    read_only: bool = False
    variant: str = ""  # "signOnMode OPENID_CONNECT": the discriminator value that chose it
    # a discriminator value the mapping lacks: (property, value, allowed)
    bad: tuple[str, str, list[str]] | None = None

    @property
    def open(self) -> bool:
        return self.extra or not self.listed


def _all_of(parts: list[_Flat]) -> _Flat:
    """Every part holds: fields of each, the first enum, read-only if any part says so."""
    out = _Flat()
    for p in parts:
        for k, v in p.props.items():
            have = out.props.get(k)
            if have is None or (_unlisted(have) and not _unlisted(v)):
                out.props[k] = list(v)
            elif not _unlisted(v):
                have.extend(v)
        out.listed = out.listed or p.listed
        out.extra = out.extra or p.extra
        out.extra_schemas.extend(p.extra_schemas)
        out.types |= p.types
        if out.enum is None:
            out.enum = p.enum
        out.items.extend(p.items)
        out.read_only = out.read_only or p.read_only
        out.variant = out.variant or p.variant
        out.bad = out.bad or p.bad
    return out


def _any_of(alts: list[_Flat]) -> _Flat:
    """One of the alternatives holds: a field, type or value any of them takes is taken."""
    if not alts:
        return _Flat()
    out = _all_of(alts)
    out.listed = all(a.listed for a in alts)
    out.types = set() if any(not a.types for a in alts) else out.types
    out.enum = (
        None
        if any(a.enum is None for a in alts)
        else list(dict.fromkeys(v for a in alts for v in (a.enum or [])))
    )
    out.read_only = all(a.read_only for a in alts)
    variants = {a.variant for a in alts}
    out.variant = variants.pop() if len(variants) == 1 else ""
    out.bad = alts[0].bad if all(a.bad for a in alts) else None
    return out


def _flat(schema: Any, value: Any, chosen: frozenset[str] = frozenset(), depth: int = 0) -> _Flat:
    """``schema`` flattened for ``value``: a discriminator the value names picks its variant
    (``chosen``: bases whose choice is made, so a variant's ``allOf`` base doesn't choose
    again); one the value doesn't name takes what any variant takes."""
    node, name = _deref(schema)
    if depth > _MAX_DEPTH:
        return _Flat()
    disc = node.get("discriminator")
    disc = disc if isinstance(disc, dict) else {}
    mapping = disc.get("mapping")
    if isinstance(mapping, dict) and mapping and name not in chosen and isinstance(value, dict):
        prop = str(disc.get("propertyName") or "")
        picked = value.get(prop)
        done = chosen | ({name} if name else set())
        if isinstance(picked, str) and not _pending(picked):
            if picked not in mapping:
                return _Flat(bad=(prop, picked, sorted(str(k) for k in mapping)))
            target = _ref_name(mapping[picked])
            if target != name:
                out = _any_of(
                    [
                        _flat({"$ref": t}, value, done | {t}, depth + 1)
                        for t in [target, *_pinned_to(prop, picked, value, done | {target})]
                    ]
                )
                out.variant = f"{prop} {picked}"
                return out
        elif picked is None:  # not written: what any variant takes
            targets = dict.fromkeys(_ref_name(t) for t in mapping.values())
            return _any_of(
                [_flat({"$ref": t}, value, done | {t}, depth + 1) for t in targets if t != name]
                + [_flat(_without_disc(node), value, done, depth + 1)]
            )
        else:
            return _Flat()  # a templated choice: known only once rendered
    own = _Flat(read_only=bool(node.get("readOnly")))
    t = node.get("type")
    if isinstance(t, str) and t in JSON_TYPES:
        own.types = {t}
    if isinstance(node.get("enum"), list):
        own.enum = list(node["enum"])
    props = {**(node.get("properties") or {}), **_UNLISTED.get(name or "", {})}
    if isinstance(props, dict) and props:
        own.listed = True
        own.props = {str(k): [v] for k, v in props.items()}
    extra = node.get("additionalProperties")
    if extra:
        own.extra = True
        if isinstance(extra, dict) and extra:
            own.extra_schemas.append(extra)
    if "items" in node:
        own.items.append(node["items"])
    parts = [own]
    parts += [
        _flat(s, value, chosen, depth + 1) for s in node.get("allOf") or () if isinstance(s, dict)
    ]
    for key in ("oneOf", "anyOf"):
        alts = [_flat(s, value, chosen, depth + 1) for s in node.get(key) or ()]
        if alts:
            parts.append(_any_of(_matching(alts, value)))
    return _all_of(parts)  # an allOf's empty {type: object} part opens nothing


@functools.cache
def _pins() -> dict[tuple[str, str], list[tuple[str, dict[str, frozenset[str]]]]]:
    """Schemas that pin fields to a few values in their own parts, by each (field, value):
    ``ZoomUsApplication`` pins ``signOnMode`` to SAML_2_0 and ``name`` to zoomus."""
    out: dict[tuple[str, str], list[tuple[str, dict[str, frozenset[str]]]]] = {}
    for name, node in (_spec().get("schemas") or {}).items():
        if not isinstance(node, dict):
            continue
        pins: dict[str, frozenset[str]] = {}
        for part in [node, *(p for p in node.get("allOf") or () if isinstance(p, dict))]:
            for prop, sch in (part.get("properties") or {}).items():
                enum = sch.get("enum") if isinstance(sch, dict) else None
                if isinstance(enum, list) and enum and all(isinstance(v, str) for v in enum):
                    pins[str(prop)] = frozenset(enum)
        for prop, values in pins.items():
            for v in values:
                out.setdefault((prop, v), []).append((str(name), pins))
    return out


def _pinned_to(prop: str, picked: str, value: dict[str, Any], skip: frozenset[str]) -> list[str]:
    """Schemas besides the mapping's that a value choosing ``prop: picked`` is: each pins
    ``prop`` to it and every other field it pins is written with a value it allows (an OIN
    app: ``signOnMode: SAML_2_0`` and ``name: zoomus`` is a ``ZoomUsApplication``, whose
    ``name`` is the user's to give, while a custom SAML app's is generated)."""
    return [
        n
        for n, pins in _pins().get((prop, picked), ())
        if n not in skip
        and len(pins) > 1
        and all(value.get(k) in allowed for k, allowed in pins.items())
    ]


def _matching(alts: list[_Flat], value: Any) -> list[_Flat]:
    """The alternatives of a ``oneOf`` without a discriminator that ``value`` may be: an IdP's
    ``protocol`` is OIDC, SAML2, ... by its ``type``, whose one allowed value each alternative
    states (``enum: [OIDC]``). None left: all of them (the union's messages say what goes)."""
    if not isinstance(value, dict):
        return alts
    kept: list[_Flat] = []
    for alt in alts:
        tag = ""
        for prop, options in alt.props.items():
            v = value.get(prop)
            if not isinstance(v, str) or _pending(v):
                continue
            enums = [_flat(o, None).enum for o in options]
            if any(e is None for e in enums):
                continue
            allowed = {x for e in enums for x in (e or [])}
            if v not in allowed:
                break
            if len(allowed) == 1:
                tag = f"{prop} {v}"
        else:
            kept.append(alt)
            if tag and not alt.variant:
                alt.variant = tag
    return kept or alts


def _without_disc(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k != "discriminator"}


def json_kind(value: object) -> str:
    """A value's JSON kind in words, for an error."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return next((w for t, w in _TYPE_WORDS.items() if isinstance(value, t)), type(value).__name__)


def _fits(value: object, types: set[str]) -> bool:
    for t in types:
        if isinstance(value, bool) and t != "boolean":
            continue
        if isinstance(value, JSON_TYPES[t]):
            return True
    return False


def _line(where: Where, parent: object, key: str | int) -> Where:
    """``where`` moved to the line ``key`` (a mapping's key, a list's index) is written on."""
    if isinstance(key, int):
        lines = getattr(parent, "item_lines", None)
        line = lines[key] if isinstance(lines, list) and key < len(lines) else None
    else:
        line = getattr(parent, "key_lines", {}).get(key)
    return Where(where.file, line, where.key) if line else where


class _Checker:
    def __init__(self, what: str, hidden: frozenset[str]):
        self.what = what  # okta.apps.applications
        self.hidden = hidden  # top-level fields never offered (the server sets them)

    def check(self, path: str, value: Any, schemas: list[Any], where: Where, in_: str) -> None:
        """``value`` written at ``desired.<path>`` against the schemas that may take it;
        ``in_``: the variant above it, for the message (" (signOnMode OPENID_CONNECT)")."""
        if value is None or _pending(value) or not schemas:
            return
        flats = [_flat(s, value) for s in schemas]
        bad = [f.bad for f in flats if f.bad]
        if bad and len(bad) == len(flats):
            prop, picked, _ = bad[0]
            allowed = sorted({a for b in bad for a in b[2]})
            raise DeployError(
                f"desired.{path + '.' if path else ''}{prop}: {self.what} has no {prop} "
                f"{picked!r}{suggest(picked, allowed)}; {prop} is one of {', '.join(allowed)}",
                _line(where, value, prop),
            )
        f = _any_of([x for x in flats if not x.bad])
        if f.variant:
            in_ = f" ({path + '.' if path else ''}{f.variant})"
        who = f"{self.what}{in_}"
        if path and f.read_only:
            raise DeployError(
                f"desired.{path}: {who} can't be given {path!r}: the API sets it", where
            )
        if path and f.types and not _fits(value, f.types):
            raise DeployError(
                f"desired.{path}: {who} takes {' or '.join(sorted(f.types))} here, "
                f"not {json_kind(value)} ({value!r})",
                where,
            )
        if path and f.enum is not None and isinstance(value, str | int) and value not in f.enum:
            allowed = [str(v) for v in f.enum if v is not None]
            raise DeployError(
                f"desired.{path}: {who} takes one of {', '.join(allowed)} here, not {value!r}"
                f"{suggest(str(value), allowed)}",
                where,
            )
        if isinstance(value, dict):
            for key, v in value.items():
                at = f"{path}.{key}" if path else str(key)
                if key in f.props:
                    self.check(at, v, f.props[key], _line(where, value, key), in_)
                elif f.extra_schemas:
                    self.check(at, v, f.extra_schemas, _line(where, value, key), in_)
                elif not f.open and v not in (None, {}, []):  # an empty one says nothing
                    names = sorted(
                        n
                        for n, options in f.props.items()
                        if not (path == "" and n in self.hidden)
                        and not all(_flat(o, None).read_only for o in options)
                    )
                    what = f"field {key!r} in {path}" if path else f"settable field {key!r}"
                    has = f"{path} has" if path else "fields:"
                    raise DeployError(
                        f"desired.{at}: {who} has no {what}"
                        f"{suggest(str(key), names)}; {has} {', '.join(names)}",
                        _line(where, value, key),
                    )
        elif isinstance(value, list) and f.items:
            for i, item in enumerate(value):
                self.check(f"{path}[{i}]", item, f.items, _line(where, value, i), in_)


def check_body(
    what: str,
    methods: list[Method],
    desired: dict[str, Any],
    where: Where,
    hidden: frozenset[str] = frozenset(),
) -> bool:
    """Check ``desired`` against the spec's body schemas of ``methods`` (a field either takes
    is fine); False, checking nothing, when the spec lacks one of them. ``hidden``: top-level
    fields a message never offers."""
    schemas = [body_schema(m) for m in methods]
    if not schemas or any(s is None for s in schemas):
        return False
    _Checker(what, hidden).check("", desired, schemas, where, "")
    return True


def _writable(value: Any, schemas: list[Any]) -> Any:
    if not schemas or not isinstance(value, dict | list):
        return value
    f = _any_of([x for x in (_flat(s, value) for s in schemas) if not x.bad])
    if isinstance(value, list):
        return [_writable(v, f.items) for v in value]
    out = {}
    for k, v in value.items():
        options = f.props.get(k) or f.extra_schemas
        if options and all(_flat(o, v).read_only for o in options):
            continue
        out[k] = _writable(v, options)
    return out


def writable(methods: list[Method], obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` (a live object) without the fields, at any depth, that the spec's body schemas
    of ``methods`` mark read-only for its variant (an app's ``settings.emOptInStatus``): what
    a stack written from it may say. Unchanged when the spec lacks one of the methods."""
    schemas = [body_schema(m) for m in methods]
    if not schemas or any(s is None for s in schemas):
        return obj
    out = _writable(obj, schemas)
    return out if isinstance(out, dict) else obj


__all__ = ["JSON_TYPES", "body_schema", "check_body", "json_kind", "writable"]
