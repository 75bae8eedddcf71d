"""One routing table: every path of Okta's spec, the behaviour modules' handlers first.

The table is a trie over path segments built from the spec's templates (``provider._spec_table``):
a literal segment wins over a ``{param}`` (``/api/v1/groups/rules`` is not a group, with
backtracking when the literal branch leads nowhere). Each method of a template is served by
the hand-written handler registered for the template's shape (the behaviour modules: apps,
tokens, users, groups...), else by the generic resource (``_resources``). A template that a
handler serves and the spec lacks (``/oauth2/v1/clients/{clientId}``) is added to the trie.

A matched path with no handler for the method is 405 ``E0000022`` (with ``Allow``); a path
matching no template is 404 ``E0000007`` for the URI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._http import Ctx, Handler, OktaError, Reply
from ._resources import Op, Resources, segments, shape


@dataclass
class Endpoint:
    template: str
    # method → (handler, names of the path parameters in order, as the handler takes them)
    methods: dict[str, tuple[Handler, list[str]]] = field(default_factory=dict)


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    endpoint: Endpoint | None = None


def _names(template: str) -> list[str]:
    return [s[1:-1] for s in segments(template) if s.startswith("{") and s.endswith("}")]


class Router:
    """The trie; :meth:`match` finds the endpoint of a path and the path's values."""

    def __init__(self, hand: list[tuple[str, dict[str, Handler]]], resources: Resources):
        self._root = _Node()
        self._by_shape: dict[str, Endpoint] = {}
        self.resources = resources
        for template, ops in resources.spec.paths.items():
            endpoint = self._insert(template)
            for method, op in ops.items():
                endpoint.methods[method] = (self._generic(op), _names(template))
        served: set[tuple[str, str]] = set()
        for template, methods in hand:
            endpoint = self._insert(template)
            for method, handler in methods.items():
                if (endpoint.template, method) in served:  # two behaviours claim one call
                    raise ValueError(f"{method} {template} is routed twice")
                served.add((endpoint.template, method))
                endpoint.methods[method] = (handler, _names(template))
        resources.exists = self.exists
        resources.fetch = self.fetch
        resources.hand_served = self.hand_served

    def _generic(self, op: Op) -> Handler:
        resources = self.resources

        def handler(ctx: Ctx, **params: str) -> Reply:
            return resources.handle(ctx, op, list(params.values()))

        handler.generic = True  # type: ignore[attr-defined]
        return handler

    def _insert(self, template: str) -> Endpoint:
        key = shape(template)
        found = self._by_shape.get(key)
        if found is not None:
            return found
        node = self._root
        for seg in segments(template):
            if seg.startswith("{"):
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.literal.setdefault(seg, _Node())
        node.endpoint = self._by_shape[key] = Endpoint(template)
        return node.endpoint

    def match(self, path: str) -> tuple[Endpoint, list[str]] | None:
        segs = path.split("/")
        if segs and segs[0] == "":
            segs = segs[1:]
        if segs and segs[-1] == "":
            segs = segs[:-1]  # one trailing slash is the same path
        values: list[str] = []
        found = _walk(self._root, segs, 0, values)
        return (found, values) if found is not None else None

    def fetch(self, template: str, values: list[str]) -> Any:
        """What a GET of ``template`` with ``values`` answers; None if 404 (no GET: ``{}``)."""
        endpoint = self._by_shape.get(shape(template))
        if endpoint is None or "GET" not in endpoint.methods:
            return {}
        handler, names = endpoint.methods["GET"]
        org = self.resources.org
        ctx = Ctx(org=org, base=org.base_url, path=template, query=[])
        try:
            return handler(ctx, **dict(zip(names, values))).body
        except OktaError as err:
            if err.status == 404:
                return None
            return {}

    def exists(self, template: str, values: list[str]) -> bool:
        """Does a GET of the item at ``template`` with ``values`` answer (no GET: yes)?"""
        return self.fetch(template, values) is not None

    def hand_served(self, template: str) -> bool:
        """Is the GET of ``template`` a behaviour module's (not the generic resource's)?"""
        endpoint = self._by_shape.get(shape(template))
        route = endpoint.methods.get("GET") if endpoint else None
        return route is not None and not getattr(route[0], "generic", False)


def _walk(node: _Node, segs: list[str], i: int, values: list[str]) -> Endpoint | None:
    if i == len(segs):
        return node.endpoint
    seg = segs[i]
    if not seg:
        return None
    child = node.literal.get(seg)
    if child is not None:
        found = _walk(child, segs, i + 1, values)
        if found is not None:
            return found
    if node.param is not None:
        values.append(seg)
        found = _walk(node.param, segs, i + 1, values)
        if found is not None:
            return found
        values.pop()
    return None


def params_of(endpoint: Endpoint, method: str, values: list[str]) -> dict[str, Any]:
    _, names = endpoint.methods[method]
    return dict(zip(names, values))
