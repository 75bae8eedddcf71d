"""User writes and a user's sub-resources: lifecycle, factors, admin roles, grants, clients.

``/api/v1/users`` (POST), ``/api/v1/users/{id}`` (POST partial update, PUT replace, DELETE),
``/api/v1/users/{id}/lifecycle/<op>``, ``/factors``, ``/roles``, ``/grants``, ``/clients``,
``/clients/{clientId}/tokens`` and ``/clients/{clientId}/grants``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _org_grants, _org_users
from .._http import Ctx, Handler, Reply, not_found, paged
from .._render import render_factor, render_group, render_role, render_user
from .._route_helpers import (
    expand,
    filtered,
    sorted_for_search,
    starts,
    user_or_404,
    validated,
)

# ------------------------------------------------------------ users

if TYPE_CHECKING:
    from .._org import Org


def create_user(ctx: Ctx) -> Reply:
    body = ctx.json_body()
    activate = ctx.flag("activate", True)
    user = validated(_org_users.create_user, ctx.org, body, activate, ctx.path)
    return Reply(200, render_user(user, ctx.base))


def update_user(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    user = validated(
        _org_users.update_user, ctx.org, uid, ctx.json_body(), replace=False, uri=ctx.path
    )
    return Reply(200, render_user(user, ctx.base))


def replace_user(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    user = validated(
        _org_users.update_user, ctx.org, uid, ctx.json_body(), replace=True, uri=ctx.path
    )
    return Reply(200, render_user(user, ctx.base))


def delete_user(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    _org_users.delete_user(ctx.org, uid, ctx.path)
    return Reply(204)


def _lifecycle(op: str, send_email_default: bool) -> Any:
    def handler(ctx: Ctx, user_id: str) -> Reply:
        uid = user_or_404(ctx, user_id)["id"]
        send_email = ctx.flag("sendEmail", send_email_default)
        body = _org_users.user_lifecycle(ctx.org, uid, op, ctx.path, send_email=send_email)
        if op.startswith("expire_password"):  # the spec answers with the user
            body = render_user(body, ctx.base)
        return Reply(200, body)

    handler.__name__ = f"{op}_user"
    return handler


activate_user = _lifecycle("activate", True)
reactivate_user = _lifecycle("reactivate", False)
deactivate_user = _lifecycle("deactivate", False)
suspend_user = _lifecycle("suspend", False)
unsuspend_user = _lifecycle("unsuspend", False)
unlock_user = _lifecycle("unlock", False)
reset_password_user = _lifecycle("reset_password", True)
expire_password_user = _lifecycle("expire_password", False)
expire_password_with_temp_password_user = _lifecycle("expire_password_with_temp_password", False)
reset_factors_user = _lifecycle("reset_factors", False)

# ------------------------------------------------------- factors and admin roles


@dataclass(frozen=True)
class _OfUser:
    """A collection of a user's own (factors, role assignments): what differs between them."""

    docs: Callable[[Org, str], list[dict[str, Any]]]  # the user's documents
    render: Callable[[str, dict[str, Any], str], dict[str, Any]]
    type_name: str  # in 404 errors
    remove: Callable[[Org, str, str, str], None]  # (org, user, id, uri): delete one


_FACTORS = _OfUser(_org_users.factor_docs, render_factor, "UserFactor", _org_users.unenroll_factor)
_ROLES = _OfUser(_org_users.role_docs, render_role, "RoleAssignment", _org_users.unassign_role)


def _list_of_user(kind: _OfUser) -> Handler:
    def handler(ctx: Ctx, user_id: str) -> Reply:
        uid = user_or_404(ctx, user_id)["id"]
        base = ctx.base
        docs = kind.docs(ctx.org, uid)
        return paged(
            ctx, docs, lambda d: kind.render(uid, d, base), default_limit=200, max_limit=200
        )

    return handler


def _one_of_user(ctx: Ctx, kind: _OfUser, user_id: str, rid: str) -> tuple[str, dict[str, Any]]:
    uid = user_or_404(ctx, user_id)["id"]
    doc = next((d for d in kind.docs(ctx.org, uid) if d["id"] == rid), None)
    if doc is None:
        raise not_found(rid, kind.type_name)
    return uid, doc


def _get_of_user(kind: _OfUser) -> Handler:
    def handler(ctx: Ctx, user_id: str, **ids: str) -> Reply:
        uid, doc = _one_of_user(ctx, kind, user_id, *ids.values())
        return Reply(200, kind.render(uid, doc, ctx.base))

    return handler


def _remove_of_user(kind: _OfUser) -> Handler:
    def handler(ctx: Ctx, user_id: str, **ids: str) -> Reply:
        uid, doc = _one_of_user(ctx, kind, user_id, *ids.values())
        kind.remove(ctx.org, uid, doc["id"], ctx.path)
        return Reply(204)

    return handler


def _handlers_of_user(kind: _OfUser) -> tuple[Handler, Handler, Handler]:
    return _list_of_user(kind), _get_of_user(kind), _remove_of_user(kind)


list_factors, get_factor, unenroll_factor = _handlers_of_user(_FACTORS)
list_roles, get_role, unassign_role = _handlers_of_user(_ROLES)


def enroll_factor(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    body = ctx.json_body()
    factor = validated(
        _org_users.enroll_factor, ctx.org, uid, body, ctx.flag("activate", False), ctx.path
    )
    return Reply(200, render_factor(uid, factor, ctx.base))


def activate_factor(ctx: Ctx, user_id: str, factor_id: str) -> Reply:
    uid, factor = _one_of_user(ctx, _FACTORS, user_id, factor_id)
    body = ctx.json_body()
    factor = validated(_org_users.activate_factor, ctx.org, uid, factor["id"], body, ctx.path)
    return Reply(200, render_factor(uid, factor, ctx.base))


def assign_role(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    role = validated(_org_users.assign_role, ctx.org, uid, ctx.json_body(), ctx.path)
    return Reply(201, render_role(uid, role, ctx.base))


# ------------------------------------------------------------ grants


def _grants_reply(ctx: Ctx, docs: list[dict[str, Any]]) -> Reply:
    org, base = ctx.org, ctx.base
    scope_id = ctx.param("scopeId")
    if scope_id:
        docs = [g for g in docs if g["scopeId"] == scope_id]
    embed = "scope" in expand(ctx)
    return paged(
        ctx,
        docs,
        lambda g: _org_grants.render_user_grant(org, g, base, embed),
        default_limit=20,
        max_limit=200,
    )


def list_user_grants(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    return _grants_reply(ctx, _org_grants.user_grant_docs(ctx.org, uid))


def _grant(ctx: Ctx, user_id: str, grant_id: str) -> dict[str, Any]:
    uid = user_or_404(ctx, user_id)["id"]
    grant = next(
        (g for g in _org_grants.user_grant_docs(ctx.org, uid) if g["id"] == grant_id), None
    )
    if grant is None:
        raise not_found(grant_id, "OAuth2ScopeConsentGrant")
    return grant


def get_user_grant(ctx: Ctx, user_id: str, grant_id: str) -> Reply:
    grant = _grant(ctx, user_id, grant_id)
    return Reply(
        200, _org_grants.render_user_grant(ctx.org, grant, ctx.base, "scope" in expand(ctx))
    )


def revoke_user_grant(ctx: Ctx, user_id: str, grant_id: str) -> Reply:
    grant = _grant(ctx, user_id, grant_id)
    _org_grants.revoke_user_grants(ctx.org, [grant["id"]], ctx.path)
    return Reply(204)


def revoke_user_grants(ctx: Ctx, user_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    _org_grants.revoke_user_grants(
        ctx.org, [g["id"] for g in _org_grants.user_grant_docs(ctx.org, uid)], ctx.path
    )
    return Reply(204)


def list_client_grants(ctx: Ctx, user_id: str, client_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    return _grants_reply(ctx, _org_grants.user_grant_docs(ctx.org, uid, client_id))


def revoke_client_grants(ctx: Ctx, user_id: str, client_id: str) -> Reply:
    uid = user_or_404(ctx, user_id)["id"]
    ids = [g["id"] for g in _org_grants.user_grant_docs(ctx.org, uid, client_id)]
    _org_grants.revoke_user_grants(ctx.org, ids, ctx.path)
    return Reply(204)


# ------------------------------------------------------------------ users


def list_users(ctx: Ctx) -> Reply:
    org = ctx.org
    q, expr, search = ctx.param("q"), ctx.param("filter"), ctx.param("search")
    docs = org.user_docs()
    if expr is None and search is None:
        # A plain listing (and ``q``) omits DEPROVISIONED users, as Okta does.
        docs = [u for u in docs if u["status"] != "DEPROVISIONED"]
    if q:
        ql = q.lower()
        docs = [
            u
            for u in docs
            if starts(
                ql,
                (
                    u["profile"].get("firstName"),
                    u["profile"].get("lastName"),
                    u["profile"].get("email"),
                ),
            )
        ]
    # Okta: "The ne (not equal) operator isn't supported" in a user search
    docs = filtered(ctx, filtered(ctx, docs), param="search", refused=frozenset({"ne"}))
    docs, natural = sorted_for_search(ctx, docs)
    base = ctx.base
    return paged(
        ctx,
        docs,
        lambda u: render_user(u, base),
        default_limit=10 if q else 200,
        max_limit=200,
        ordered_by_seq=natural,
    )


def get_user(ctx: Ctx, user_id: str) -> Reply:
    return Reply(200, render_user(user_or_404(ctx, user_id), ctx.base))


def list_user_groups(ctx: Ctx, user_id: str) -> Reply:
    user = user_or_404(ctx, user_id)
    base = ctx.base
    docs = ctx.org.groups_of_user(user["id"])
    return paged(ctx, docs, lambda g: render_group(g, base), default_limit=200, max_limit=200)


# ------------------------------------------------------------------ routes

U = "/api/v1/users/{user_id}"

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/api/v1/users", {"GET": list_users, "POST": create_user}),
    (U, {"GET": get_user, "POST": update_user, "PUT": replace_user, "DELETE": delete_user}),
    (f"{U}/groups", {"GET": list_user_groups}),
    *[
        (f"{U}/lifecycle/{op}", {"POST": globals()[f"{op}_user"]})
        for op in (
            "activate",
            "reactivate",
            "deactivate",
            "suspend",
            "unsuspend",
            "unlock",
            "reset_password",
            "expire_password",
            "expire_password_with_temp_password",
            "reset_factors",
        )
    ],
    (f"{U}/factors", {"GET": list_factors, "POST": enroll_factor}),
    (f"{U}/factors/{{factor_id}}", {"GET": get_factor, "DELETE": unenroll_factor}),
    (f"{U}/factors/{{factor_id}}/lifecycle/activate", {"POST": activate_factor}),
    (f"{U}/roles", {"GET": list_roles, "POST": assign_role}),
    (f"{U}/roles/{{assignment_id}}", {"GET": get_role, "DELETE": unassign_role}),
    (f"{U}/grants", {"GET": list_user_grants, "DELETE": revoke_user_grants}),
    (f"{U}/grants/{{grant_id}}", {"GET": get_user_grant, "DELETE": revoke_user_grant}),
    (
        f"{U}/clients/{{client_id}}/grants",
        {"GET": list_client_grants, "DELETE": revoke_client_grants},
    ),
]
