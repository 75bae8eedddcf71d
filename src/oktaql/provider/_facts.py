"""Okta facts that belong to API operations, for any provider that maps resources onto them.

A provider document says which path and verb a method calls; what Okta does there is a fact of
the API, the same whoever wrote the document: the OAuth 2.0 scopes an operation needs, whether
its ``search``/``filter`` parameter takes an expression (with which operators, on which
attributes), and the columns of the subtypes a polymorphic schema names. StackQL's provider
carries no filter capabilities and leaves the subtypes' schemas out, so these facts are
generated from Okta's spec by ``tools/build_okta_provider.py`` into ``_okta_facts.py`` and
decoded here, once, when first needed.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from oktaql.provider._okta_facts import TABLE


@dataclass(frozen=True)
class FilterRule:
    """What an operation's expression parameter accepts (Okta's SCIM-like filter language)."""

    param: str  # the query parameter carrying the expression: search or filter
    ops: frozenset[str]
    fields: frozenset[str] | None = None  # attribute paths it filters on; None: any
    # (attribute, value) the plain listing leaves out and an expression would let in: always
    # ANDed, so the rows stay the listing's
    implicit: tuple[str, str] | None = None


@dataclass(frozen=True)
class OperationFacts:
    scopes: tuple[str, ...] | None  # None: the spec names none (not: no scope needed)
    filter: FilterRule | None
    page_max: int | None = None  # the largest page a listing may ask for (`limit`)


_NONE = OperationFacts(None, None)


@functools.cache
def _table() -> dict[str, Any]:
    data = json.loads(TABLE)
    return data if isinstance(data, dict) else {}


def _rule(raw: Any) -> FilterRule | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("param"), str):
        return None
    fields = raw.get("fields")
    implicit = raw.get("implicit")
    return FilterRule(
        param=raw["param"],
        ops=frozenset(raw.get("ops") or ()),
        fields=frozenset(fields) if isinstance(fields, list) else None,
        implicit=(str(implicit[0]), str(implicit[1]))
        if isinstance(implicit, list) and len(implicit) == 2
        else None,
    )


@functools.cache
def operation_facts(http_method: str, path: str) -> OperationFacts:
    """The facts of Okta's operation ``http_method path`` (a path template of the spec, e.g.
    ``/api/v1/apps/{appId}``; parameter names may differ from the spec's)."""
    key = _template_key(http_method, path)
    entry = _templates().get(key[0], {}).get(key[1])
    if not isinstance(entry, dict):
        return _NONE
    scopes = entry.get("scopes")
    return OperationFacts(
        tuple(str(s) for s in scopes) if isinstance(scopes, list) else None,
        _rule(entry.get("filter")),
        entry["page_max"] if isinstance(entry.get("page_max"), int) else None,
    )


def request_scopes(http_method: str, path: str) -> tuple[str, ...] | None:
    """The scopes Okta's spec names for a concrete call (``/api/v1/apps/0oa1/tokens``, or a
    whole URL): the operation whose template matches, a literal segment winning over a
    parameter (``/api/v1/users/me`` over ``/api/v1/users/{id}``). None: no operation matches."""
    path = urlsplit(path).path if "://" in path else path.split("?", 1)[0]
    segments = tuple(path.strip("/").split("/"))
    best: tuple[tuple[bool, ...], dict[str, Any]] | None = None
    for shape, entry in _by_length().get((http_method.upper(), len(segments)), ()):
        if all(t is None or t == s for t, s in zip(shape, segments, strict=True)):
            rank = tuple(t is not None for t in shape)
            if best is None or rank > best[0]:
                best = (rank, entry)
    if best is None:
        return None
    scopes = best[1].get("scopes")
    return tuple(str(s) for s in scopes) if isinstance(scopes, list) else None


def subtype_columns(schema_name: str) -> dict[str, dict[str, Any]] | None:
    """The columns (property schemas: type, format, description) of a discriminator subtype
    of Okta's spec, for a document that names the subtype without defining it."""
    found = (_table().get("subtypes") or {}).get(schema_name)
    return found if isinstance(found, dict) else None


def _template_key(http_method: str, path: str) -> tuple[str, tuple[str | None, ...]]:
    """``GET``, ``('api', 'v1', 'apps', None)``: parameters are unnamed, so a provider that
    calls ``{appId}`` ``{id}`` finds the same operation."""
    return http_method.upper(), tuple(
        None if s.startswith("{") and s.endswith("}") else s for s in path.strip("/").split("/")
    )


@functools.cache
def _templates() -> dict[str, dict[tuple[str | None, ...], dict[str, Any]]]:
    out: dict[str, dict[tuple[str | None, ...], dict[str, Any]]] = {}
    for key, entry in (_table().get("operations") or {}).items():
        verb, _, path = str(key).partition(" ")
        method, shape = _template_key(verb, path)
        out.setdefault(method, {}).setdefault(shape, entry)
    return out


@functools.cache
def _by_length() -> dict[tuple[str, int], list[tuple[tuple[str | None, ...], dict[str, Any]]]]:
    out: dict[tuple[str, int], list[tuple[tuple[str | None, ...], dict[str, Any]]]] = {}
    for method, shapes in _templates().items():
        for shape, entry in shapes.items():
            out.setdefault((method, len(shape)), []).append((shape, entry))
    return out
