"""Org administration: IdPs, network zones, trusted origins, event and inline hooks (one
generic set of handlers, see ``_simple_kinds``), API tokens, custom admin roles and the
users holding admin roles.

``/api/v1/{idps,zones,trustedOrigins,eventHooks,inlineHooks}[/{id}[/lifecycle/<op>]]``,
``/api/v1/api-tokens[/{id}]``, ``/api/v1/iam/roles[/{id}]`` and
``/api/v1/iam/assignees/users``. ``/api/v1/iam/roles`` and ``/api/v1/iam/assignees/users``
answer objects (``{"roles": [...]}`` / ``{"value": [...]}``) with ``_links.next`` in the body,
as Okta does, and the same ``Link`` headers as every other list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _events, _org_admin, _org_users
from .._appdefs import BodyError
from .._http import Ctx, Handler, OktaError, Reply, not_found, paged
from .._render import render_api_token, render_iam_role, render_role_assignee, render_simple
from .._route_helpers import filtered, in_store, prefix_q, validated
from .._simple_kinds import KINDS, SimpleKind


def _ref(kind: SimpleKind, doc: dict[str, Any]) -> dict[str, Any]:
    return _events.ref(doc["id"], kind.type_name, doc.get("name") or doc["id"])


def _log(ctx: Ctx, kind: SimpleKind, which: int, doc: dict[str, Any]) -> None:
    event = kind.events[which]
    if event is not None:
        ctx.org.log(event, [_ref(kind, doc)], ctx.path)


def simple_handlers(key: str) -> dict[str, Handler]:
    """list/get/create/replace/delete/activate/deactivate handlers for one simple kind."""
    kind = KINDS[key]

    def store(ctx: Ctx) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = _org_admin.simple_store(ctx.org, kind.kind)
        return result

    def render(ctx: Ctx) -> Callable[[dict[str, Any]], dict[str, Any]]:
        base = ctx.base
        return lambda d: render_simple(kind.segment, d, base)

    def list_(ctx: Ctx) -> Reply:
        docs = list(store(ctx).values())
        if kind.kind == "idps":
            docs = prefix_q(ctx, docs, "name")
            if ctx.param("type"):
                docs = [d for d in docs if d["type"] == ctx.param("type")]
        elif kind.kind == "origins":
            docs = prefix_q(ctx, docs, "name", "origin")
            docs = filtered(ctx, docs)
        elif kind.kind == "zones":
            docs = filtered(ctx, docs)
        elif kind.kind == "inline_hooks" and ctx.param("type"):
            docs = [d for d in docs if d["type"] == ctx.param("type")]
        return paged(
            ctx, docs, render(ctx), default_limit=kind.default_limit, max_limit=kind.max_limit
        )

    def get(ctx: Ctx, rid: str) -> Reply:
        return Reply(200, render(ctx)(in_store(store(ctx), rid, kind.type_name)))

    def write(ctx: Ctx, current: dict[str, Any] | None) -> dict[str, Any]:
        body = ctx.json_body()
        if not isinstance(body, dict):
            raise BodyError("name", "The field cannot be left blank.")
        org = ctx.org
        now = org.tick()
        doc = kind.build(org, body, now, current)
        if current is None:
            org.register(doc["id"])
        store(ctx)[doc["id"]] = doc
        _log(ctx, kind, 1 if current else 0, doc)
        return doc

    def create(ctx: Ctx) -> Reply:
        return Reply(200, render(ctx)(validated(write, ctx, None)))

    def replace(ctx: Ctx, rid: str) -> Reply:
        current = in_store(store(ctx), rid, kind.type_name)
        return Reply(200, render(ctx)(validated(write, ctx, current)))

    def delete(ctx: Ctx, rid: str) -> Reply:
        doc = in_store(store(ctx), rid, kind.type_name)
        if doc.get("system"):
            raise OktaError(
                403,
                "E0000006",
                "You do not have permission to perform the requested action",
                [f"A system {kind.type_name} cannot be deleted."],
            )
        if kind.delete_needs_inactive and doc.get("status") == "ACTIVE":
            raise OktaError(
                403,
                "E0000006",
                "You do not have permission to perform the requested action",
                [f"An ACTIVE {kind.type_name} cannot be deleted: deactivate it first."],
            )
        ctx.org.tick()
        del store(ctx)[rid]
        _log(ctx, kind, 4, doc)
        return Reply(204)

    def lifecycle(status: str) -> Handler:
        def handler(ctx: Ctx, rid: str) -> Reply:
            doc = in_store(store(ctx), rid, kind.type_name)
            if doc["status"] != status:
                now = ctx.org.tick()
                doc = {**doc, "status": status, "lastUpdated": now}
                store(ctx)[rid] = doc
                _log(ctx, kind, 2 if status == "ACTIVE" else 3, doc)
            if kind.kind in ("idps", "zones", "origins", "inline_hooks", "event_hooks"):
                return Reply(200, render(ctx)(doc))
            return Reply(204)

        return handler

    def verify(ctx: Ctx, rid: str) -> Reply:
        doc = in_store(store(ctx), rid, kind.type_name)
        doc = {**doc, "verificationStatus": "VERIFIED", "lastUpdated": ctx.org.tick()}
        store(ctx)[rid] = doc
        return Reply(200, render(ctx)(doc))

    out: dict[str, Handler] = {
        "list": list_,
        "get": get,
        "create": create,
        "replace": replace,
        "delete": delete,
        "activate": lifecycle("ACTIVE"),
        "deactivate": lifecycle("INACTIVE"),
    }
    if kind.kind == "event_hooks":
        out["verify"] = verify
    return out


# ------------------------------------------------------------ API tokens


def _api_token(ctx: Ctx, token_id: str) -> dict[str, Any]:
    token: dict[str, Any] | None = ctx.org._api_tokens.get(token_id)
    if token is None:
        raise not_found(token_id, "ApiToken")
    return token


def list_api_tokens(ctx: Ctx) -> Reply:
    base = ctx.base
    return paged(
        ctx,
        _org_admin.api_token_docs(ctx.org),
        lambda t: render_api_token(t, base),
        default_limit=200,
        max_limit=200,
    )


def get_api_token(ctx: Ctx, token_id: str) -> Reply:
    return Reply(200, render_api_token(_api_token(ctx, token_id), ctx.base))


def _upsert(ctx: Ctx, token: dict[str, Any], body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name", token["name"])
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    window = body.get("tokenWindow", token["tokenWindow"])
    if not isinstance(window, str) or not window.startswith("P"):
        raise BodyError("tokenWindow", f"'{window}' is not an ISO 8601 duration.")
    network = body.get("network", token["network"])
    if not isinstance(network, dict) or network.get("connection") not in (
        "ANYWHERE",
        "ZONE",
    ):
        raise BodyError("network.connection", "Must be ANYWHERE or ZONE.")
    updated = {
        **token,
        "name": name,
        "tokenWindow": window,
        "network": network,
        "lastUpdated": ctx.org.tick(),
    }
    ctx.org._api_tokens[token["id"]] = updated
    ctx.org.log("system.api_token.update", [_events.ref(token["id"], "Token", name)], ctx.path)
    return updated


def upsert_api_token(ctx: Ctx, token_id: str) -> Reply:
    token = _api_token(ctx, token_id)
    return Reply(200, render_api_token(validated(_upsert, ctx, token, ctx.json_body()), ctx.base))


def revoke_api_token(ctx: Ctx, token_id: str) -> Reply:
    token = _api_token(ctx, token_id)
    ctx.org.tick()
    del ctx.org._api_tokens[token_id]
    ctx.org.log(
        "system.api_token.revoke", [_events.ref(token_id, "Token", token["name"])], ctx.path
    )
    return Reply(204)


# ------------------------------------------------------------ IAM


def _body_page(ctx: Ctx, key: str, docs: list[dict[str, Any]], render: Any, default: int) -> Reply:
    """A list answered as ``{key: [...], "_links": {...}}`` (Okta's IAM list shape)."""
    reply = paged(ctx, docs, render, default_limit=default, max_limit=default)
    body: dict[str, Any] = {key: reply.body, "_links": {}}
    for link in reply.links:
        if link.endswith('rel="next"'):
            body["_links"]["next"] = {"href": link[1 : link.index(">")]}
    return Reply(200, body, reply.links)


def list_iam_roles(ctx: Ctx) -> Reply:
    base = ctx.base
    return _body_page(
        ctx, "roles", _org_admin.iam_role_docs(ctx.org), lambda r: render_iam_role(r, base), 100
    )


def _iam_role(ctx: Ctx, role: str) -> dict[str, Any]:
    for doc in _org_admin.iam_role_docs(ctx.org):
        if role in (doc["id"], doc["label"]):
            return doc
    raise not_found(role, "IamRole")


def get_iam_role(ctx: Ctx, role: str) -> Reply:
    return Reply(200, render_iam_role(_iam_role(ctx, role), ctx.base))


def _write_iam_role(ctx: Ctx, body: Any, current: dict[str, Any] | None) -> dict[str, Any]:
    org = ctx.org
    if not isinstance(body, dict):
        raise BodyError("label", "The field cannot be left blank.")
    label, desc = body.get("label"), body.get("description")
    if not isinstance(label, str) or not label.strip():
        raise BodyError("label", "The field cannot be left blank.")
    if not isinstance(desc, str) or not desc.strip():
        raise BodyError("description", "The field cannot be left blank.")
    for other in _org_admin.iam_role_docs(org):
        if other["label"] == label and (current is None or other["id"] != current["id"]):
            raise BodyError(
                "label", "An object with this field already exists in the current organization"
            )
    perms = body.get("permissions", (current or {}).get("_permissions", []))
    if current is None and (not isinstance(perms, list) or not perms):
        raise BodyError("permissions", "The field cannot be left blank.")
    now = org.tick()
    doc = {
        "id": current["id"] if current else org.new_id("cr0"),
        "label": label,
        "description": desc,
        "created": current["created"] if current else now,
        "lastUpdated": now,
        "_permissions": list(perms),
    }
    if current is None:
        org.register(doc["id"])
    org._iam_roles[doc["id"]] = doc
    event = "iam.role.update" if current else "iam.role.create"
    org.log(event, [_events.ref(doc["id"], "ROLE", label)], ctx.path)
    return doc


def create_iam_role(ctx: Ctx) -> Reply:
    return Reply(
        200, render_iam_role(validated(_write_iam_role, ctx, ctx.json_body(), None), ctx.base)
    )


def replace_iam_role(ctx: Ctx, role: str) -> Reply:
    current = _iam_role(ctx, role)
    doc = validated(_write_iam_role, ctx, ctx.json_body(), current)
    return Reply(200, render_iam_role(doc, ctx.base))


def delete_iam_role(ctx: Ctx, role: str) -> Reply:
    doc = _iam_role(ctx, role)
    org = ctx.org
    if any(
        r.get("role") == doc["id"]
        for u in org.role_assignee_ids()
        for r in _org_users.role_docs(org, u)
    ):
        raise OktaError(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            ["The role is still assigned; unassign it first."],
        )
    org.tick()
    del org._iam_roles[doc["id"]]
    org.log("iam.role.delete", [_events.ref(doc["id"], "ROLE", doc["label"])], ctx.path)
    return Reply(204)


def list_role_assignees(ctx: Ctx) -> Reply:
    org, base = ctx.org, ctx.base
    docs = [{"id": u} for u in org.role_assignee_ids()]
    return _body_page(
        ctx,
        "value",
        docs,
        lambda d: render_role_assignee(d["id"], _org_users.user_orn(org, d["id"]), base),
        100,
    )


# ------------------------------------------------------------------ routes


def _simple_routes() -> list[tuple[str, dict[str, Handler]]]:
    """The flat org-level collections of ``_simple_kinds``, each at /api/v1/<segment>."""
    out: list[tuple[str, dict[str, Handler]]] = []
    for key, kind in KINDS.items():
        h = simple_handlers(key)
        base = f"/api/v1/{kind.segment}"
        out += [
            (base, {"GET": h["list"], "POST": h["create"]}),
            (base + "/{rid}", {"GET": h["get"], "PUT": h["replace"], "DELETE": h["delete"]}),
            *(
                (f"{base}/{{rid}}/lifecycle/{op}", {"POST": h[op]})
                for op in ("activate", "deactivate", "verify")
                if op in h
            ),
        ]
    return out


ROUTES: list[tuple[str, dict[str, Handler]]] = [
    *_simple_routes(),
    ("/api/v1/api-tokens", {"GET": list_api_tokens}),
    (
        "/api/v1/api-tokens/{token_id}",
        {"GET": get_api_token, "PUT": upsert_api_token, "DELETE": revoke_api_token},
    ),
    ("/api/v1/iam/roles", {"GET": list_iam_roles, "POST": create_iam_role}),
    (
        "/api/v1/iam/roles/{role}",
        {"GET": get_iam_role, "PUT": replace_iam_role, "DELETE": delete_iam_role},
    ),
    ("/api/v1/iam/assignees/users", {"GET": list_role_assignees}),
]
