"""Concrete URLs for the spec's path templates, with ids read from a running emulator.

``/api/v1/brands/{brandId}/themes/{themeId}`` becomes ``/api/v1/brands/bnd.../themes/thm...``:
each path parameter, left to right, is read from its parent collection as the emulator lists
it (the item's key named like the parameter, ``name``/``type`` for ``*Name``/``*Type``, then
``id`` and other id-like keys). A parameter whose parent is no listing takes a root collection
by its name (:data:`FALLBACK_ROOTS`), else its enum's first value, else a value Okta
documents as fixed (:data:`CONSTANTS`), else the spec's example of it (an id nothing lists).
Used by the tests that run
every path of the spec and every SELECT of StackQL's registry against the emulator.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from oktaql.emulator._resources import load_spec

Get = Callable[[str], tuple[int, Any]]

FALLBACK_ROOTS: dict[str, tuple[str, str | None]] = {
    "appId": ("/api/v1/apps", None),
    "userId": ("/api/v1/users", None),
    "id": ("/api/v1/users", None),
    "userIdOrLogin": ("/api/v1/users", None),
    "groupId": ("/api/v1/groups", None),
    "authServerId": ("/api/v1/authorizationServers", None),
    "idpId": ("/api/v1/idps", None),
    "clientId": ("/api/v1/apps", "credentials.oauthClient.client_id"),
    "policyId": ("/api/v1/policies?type=OKTA_SIGN_ON", None),
    "keyId": ("/api/v1/hook-keys", "keyId"),
}
# Names Okta documents as fixed values, for parameters no listing provides.
CONSTANTS = {
    "schemaId": "default",  # /api/v1/meta/schemas/user/default
    "appName": "admin-console",  # the first-party app with settings
    "roleRef": "SUPER_ADMIN",  # a standard role type
    "relationshipName": "manager",
}
_PARAM = re.compile(r"^\{(\w+)\}$")


def items_of(body: Any) -> list[Any]:
    """A listing's items: the array, or the one array of a wrapper object."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        lists = [v for v in body.values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return []


def _dig(item: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def key_of(item: Any, name: str) -> str | None:
    if not isinstance(item, dict):
        return None
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    keys = [name, snake]
    if name.endswith("Name"):
        keys.append("name")
    if name.endswith("Type"):
        keys.append("type")
    keys += ["id", "kid", "keyId", "client_id", "name", "type", "label"]
    for key in keys:
        value = item.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def concrete(template: str, get: Get) -> str | None:
    """``template`` with every path parameter filled from the emulator, or None."""
    values = path_values(template, get)
    if values is None:
        return None
    return "/".join(
        quote(values[m.group(1)], safe="") if (m := _PARAM.match(seg)) else seg
        for seg in template.split("/")
    )


def path_values(template: str, get: Get) -> dict[str, str] | None:
    """The path parameters of ``template`` read from the emulator, left to right, or None."""
    spec = load_spec()
    segs = template.split("/")
    out: list[str] = []
    values: dict[str, str] = {}
    for i, seg in enumerate(segs):
        m = _PARAM.match(seg)
        if not m:
            out.append(seg)
            continue
        name = m.group(1)
        value = None
        parent_t = "/".join(segs[:i])
        if "GET" in spec.paths.get(parent_t, {}):
            status, body = get("/".join(out))
            if status == 200:
                value = next((k for k in (key_of(x, name) for x in items_of(body)) if k), None)
        if value is None and name in FALLBACK_ROOTS:
            root, dotted = FALLBACK_ROOTS[name]
            status, body = get(root)
            for item in items_of(body) if status == 200 else []:
                value = _dig(item, dotted) if dotted else key_of(item, "id")
                if value:
                    break
        if value is None:
            value = _enum_value(spec, template, name) or CONSTANTS.get(name)
        listed = "GET" in spec.paths.get(parent_t, {}) and spec.role(parent_t)[0] == "collection"
        if value is None and not listed:  # nothing lists it
            value = _unlisted_value(spec, template, "/".join(segs[: i + 1]), name)
        if value is None:
            return None
        values[name] = str(value)
        out.append(quote(str(value), safe=""))
    return values


def _unlisted_value(spec: Any, template: str, item: str, name: str) -> str | None:
    """For an id nothing lists: the spec's example of it (the emulator seeds a collection no
    GET lists with that item), else, where no GET reads the item the id names (so nothing
    can refuse it), a fixed made-up id."""
    for op in spec.paths.get(template, {}).values():
        example = ((op.param(name, "path") or {}).get("schema") or {}).get("example")
        if isinstance(example, str) and example:
            return example
    return None if "GET" in spec.paths.get(item, {}) else "0oaUNLISTED0000000000"


def _enum_value(spec: Any, template: str, name: str) -> str | None:
    for op in spec.paths.get(template, {}).values():
        param = op.param(name, "path")
        enum = ((param or {}).get("schema") or {}).get("enum")
        if enum:
            return str(enum[0])
    return None
