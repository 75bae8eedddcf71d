"""Routes added beyond apps/users/groups/tokens, merged into ``_app``'s route table.

:func:`extend` merges :data:`ROUTES` into the app's table: methods of a path already routed
are added to it (``POST /api/v1/users`` next to ``GET``), new paths go first so that literal
segments win over the existing ``{id}`` patterns (``/api/v1/groups/rules`` is not a group).
It also wraps the existing app and token handlers so their mutations write System Log
events (``application.lifecycle.*``, ``app.oauth2.token.revoke``).
"""

from __future__ import annotations

from collections.abc import Callable

from . import _events
from . import _routes_admin as admin
from . import _routes_authz as authz
from . import _routes_groups as groups
from . import _routes_logs as logs
from . import _routes_policies as policies
from . import _routes_users as users
from ._http import Ctx, Reply
from ._resources import shape

Handler = Callable[..., Reply]


def _simple_routes() -> list[tuple[str, dict[str, Handler]]]:
    out: list[tuple[str, dict[str, Handler]]] = []
    for key, segment in (
        ("idps", "idps"),
        ("zones", "zones"),
        ("origins", "trustedOrigins"),
        ("event_hooks", "eventHooks"),
        ("inline_hooks", "inlineHooks"),
    ):
        h = admin.simple_handlers(key)
        base = f"/api/v1/{segment}"

        def by_rid(fn: Handler) -> Handler:
            def handler(ctx: Ctx, rid: str) -> Reply:
                return fn(ctx, rid)

            return handler

        out += [
            (base, {"GET": h["list"], "POST": h["create"]}),
            (
                base + "/{rid}",
                {
                    "GET": by_rid(h["get"]),
                    "PUT": by_rid(h["replace"]),
                    "DELETE": by_rid(h["delete"]),
                },
            ),
            (base + "/{rid}/lifecycle/activate", {"POST": by_rid(h["activate"])}),
            (base + "/{rid}/lifecycle/deactivate", {"POST": by_rid(h["deactivate"])}),
        ]
        if "verify" in h:
            out.append((base + "/{rid}/lifecycle/verify", {"POST": by_rid(h["verify"])}))
    return out


AS = "/api/v1/authorizationServers/{server_id}"
U = "/api/v1/users/{user_id}"

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    # users
    ("/api/v1/users", {"POST": users.create_user}),
    (
        U,
        {"POST": users.update_user, "PUT": users.replace_user, "DELETE": users.delete_user},
    ),
    *[
        (f"{U}/lifecycle/{op}", {"POST": getattr(users, f"{op}_user")})
        for op in ("activate", "reactivate", "deactivate", "suspend", "unsuspend", "unlock")
    ],
    (f"{U}/factors", {"GET": users.list_factors, "POST": users.enroll_factor}),
    (f"{U}/factors/{{factor_id}}", {"GET": users.get_factor, "DELETE": users.unenroll_factor}),
    (f"{U}/roles", {"GET": users.list_roles, "POST": users.assign_role}),
    (
        f"{U}/roles/{{assignment_id}}",
        {"GET": users.get_role, "DELETE": users.unassign_role},
    ),
    (f"{U}/grants", {"GET": users.list_user_grants, "DELETE": users.revoke_user_grants}),
    (
        f"{U}/grants/{{grant_id}}",
        {"GET": users.get_user_grant, "DELETE": users.revoke_user_grant},
    ),
    (f"{U}/clients", {"GET": users.list_user_clients}),
    (
        f"{U}/clients/{{client_id}}/grants",
        {"GET": users.list_client_grants, "DELETE": users.revoke_client_grants},
    ),
    (
        f"{U}/clients/{{client_id}}/tokens",
        {"GET": users.list_client_tokens, "DELETE": users.revoke_client_tokens},
    ),
    (
        f"{U}/clients/{{client_id}}/tokens/{{token_id}}",
        {"GET": users.get_client_token, "DELETE": users.revoke_client_token},
    ),
    # groups (the literal /rules paths before the existing /groups/{group_id})
    ("/api/v1/groups/rules", {"GET": groups.list_rules, "POST": groups.create_rule}),
    (
        "/api/v1/groups/rules/{rule_id}",
        {"GET": groups.get_rule, "PUT": groups.replace_rule, "DELETE": groups.delete_rule},
    ),
    ("/api/v1/groups/rules/{rule_id}/lifecycle/activate", {"POST": groups.activate_rule}),
    ("/api/v1/groups/rules/{rule_id}/lifecycle/deactivate", {"POST": groups.deactivate_rule}),
    ("/api/v1/groups", {"POST": groups.create_group}),
    ("/api/v1/groups/{group_id}", {"PUT": groups.replace_group, "DELETE": groups.delete_group}),
    (
        "/api/v1/groups/{group_id}/users/{user_id}",
        {"PUT": groups.assign_user, "DELETE": groups.unassign_user},
    ),
    # apps: consent grants and keys
    (
        "/api/v1/apps/{app_id}/grants",
        {"GET": authz.list_app_grants, "POST": authz.create_app_grant},
    ),
    (
        "/api/v1/apps/{app_id}/grants/{grant_id}",
        {"GET": authz.get_app_grant, "DELETE": authz.revoke_app_grant},
    ),
    ("/api/v1/apps/{app_id}/credentials/keys", {"GET": authz.list_app_keys}),
    ("/api/v1/apps/{app_id}/credentials/keys/{key_id}", {"GET": authz.get_app_key}),
    # authorization servers
    (f"{AS}/credentials/keys", {"GET": authz.list_server_keys}),
    (f"{AS}/credentials/keys/{{key_id}}", {"GET": authz.get_server_key}),
    (
        f"{AS}/policies",
        {"GET": authz.list_server_policies, "POST": authz.create_server_policy},
    ),
    (
        f"{AS}/policies/{{policy_id}}",
        {
            "GET": authz.get_server_policy,
            "PUT": authz.replace_server_policy,
            "DELETE": authz.delete_server_policy,
        },
    ),
    (f"{AS}/policies/{{policy_id}}/lifecycle/activate", {"POST": authz.activate_server_policy}),
    (
        f"{AS}/policies/{{policy_id}}/lifecycle/deactivate",
        {"POST": authz.deactivate_server_policy},
    ),
    (
        f"{AS}/policies/{{policy_id}}/rules",
        {"GET": authz.list_server_rules, "POST": authz.create_server_rule},
    ),
    (
        f"{AS}/policies/{{policy_id}}/rules/{{rule_id}}",
        {
            "GET": authz.get_server_rule,
            "PUT": authz.replace_server_rule,
            "DELETE": authz.delete_server_rule,
        },
    ),
    (
        f"{AS}/policies/{{policy_id}}/rules/{{rule_id}}/lifecycle/activate",
        {"POST": authz.activate_server_rule},
    ),
    (
        f"{AS}/policies/{{policy_id}}/rules/{{rule_id}}/lifecycle/deactivate",
        {"POST": authz.deactivate_server_rule},
    ),
    (f"{AS}/claims", {"GET": authz.list_claims, "POST": authz.create_claim}),
    (
        f"{AS}/claims/{{claim_id}}",
        {"GET": authz.get_claim, "PUT": authz.replace_claim, "DELETE": authz.delete_claim},
    ),
    (f"{AS}/clients", {"GET": authz.list_server_clients}),
    (
        f"{AS}/clients/{{client_id}}/tokens",
        {"GET": authz.list_server_client_tokens, "DELETE": authz.revoke_server_client_tokens},
    ),
    (
        f"{AS}/clients/{{client_id}}/tokens/{{token_id}}",
        {"GET": authz.get_server_client_token, "DELETE": authz.revoke_server_client_token},
    ),
    # org policies
    ("/api/v1/policies", {"GET": policies.list_policies, "POST": policies.create_policy}),
    (
        "/api/v1/policies/{policy_id}",
        {
            "GET": policies.get_policy,
            "PUT": policies.replace_policy,
            "DELETE": policies.delete_policy,
        },
    ),
    ("/api/v1/policies/{policy_id}/lifecycle/activate", {"POST": policies.activate_policy}),
    ("/api/v1/policies/{policy_id}/lifecycle/deactivate", {"POST": policies.deactivate_policy}),
    (
        "/api/v1/policies/{policy_id}/rules",
        {"GET": policies.list_policy_rules, "POST": policies.create_policy_rule},
    ),
    (
        "/api/v1/policies/{policy_id}/rules/{rule_id}",
        {
            "GET": policies.get_policy_rule,
            "PUT": policies.replace_policy_rule,
            "DELETE": policies.delete_policy_rule,
        },
    ),
    (
        "/api/v1/policies/{policy_id}/rules/{rule_id}/lifecycle/activate",
        {"POST": policies.activate_policy_rule},
    ),
    (
        "/api/v1/policies/{policy_id}/rules/{rule_id}/lifecycle/deactivate",
        {"POST": policies.deactivate_policy_rule},
    ),
    # system log
    ("/api/v1/logs", {"GET": logs.list_logs}),
    # org administration
    *_simple_routes(),
    ("/api/v1/api-tokens", {"GET": admin.list_api_tokens}),
    (
        "/api/v1/api-tokens/{token_id}",
        {
            "GET": admin.get_api_token,
            "PUT": admin.upsert_api_token,
            "DELETE": admin.revoke_api_token,
        },
    ),
    ("/api/v1/iam/roles", {"GET": admin.list_iam_roles, "POST": admin.create_iam_role}),
    (
        "/api/v1/iam/roles/{role}",
        {"GET": admin.get_iam_role, "PUT": admin.replace_iam_role, "DELETE": admin.delete_iam_role},
    ),
    ("/api/v1/iam/assignees/users", {"GET": admin.list_role_assignees}),
]


# ------------------------------------------------- log events for the existing handlers


def _app_events(handler: Handler, event: str, *, status_change: bool = False) -> Handler:
    def wrapped(ctx: Ctx, **params: str) -> Reply:
        org = ctx.org
        before = org.app_doc(params.get("app_id", ""))
        before_status = before["status"] if before else None
        reply = handler(ctx, **params)
        if reply.status >= 300:
            return reply
        app = org.app_doc(params["app_id"]) if "app_id" in params else None
        if app is None and isinstance(reply.body, dict) and "id" in reply.body:
            app = org.app_doc(reply.body["id"])
        app = app or before
        if app is None or (status_change and app["status"] == before_status):
            return reply
        if event == "application.lifecycle.delete":
            org.forget_app_grants(app["id"])
        org.log(event, [_events.app_ref(app)], ctx.path)
        return reply

    return wrapped


def _token_revoke_events(handler: Handler, *, all_tokens: bool) -> Handler:
    def wrapped(ctx: Ctx, **params: str) -> Reply:
        org = ctx.org
        app = org.app_doc(params["app_id"])
        user_id = None
        if app is not None and not all_tokens:
            tokens = org.token_set(app["id"])
            index = tokens.index_of(params["token_id"]) if tokens else None
            if tokens is not None and index is not None and tokens.is_active(index):
                user_id = org.token_attrs(app["id"], index)[0]
        had = org.token_count(app["id"]) if app is not None else 0
        reply = handler(ctx, **params)
        if reply.status < 300 and app is not None and had:
            org.log_token_revoke(app, None if all_tokens else params["token_id"], user_id, ctx.path)
        return reply

    return wrapped


_WRAPS: dict[tuple[str, str], Callable[[Handler], Handler]] = {
    ("/api/v1/apps", "POST"): lambda h: _app_events(h, "application.lifecycle.create"),
    ("/api/v1/apps/{app_id}", "PUT"): lambda h: _app_events(h, "application.lifecycle.update"),
    ("/api/v1/apps/{app_id}", "DELETE"): lambda h: _app_events(h, "application.lifecycle.delete"),
    ("/api/v1/apps/{app_id}/lifecycle/activate", "POST"): lambda h: _app_events(
        h, "application.lifecycle.activate", status_change=True
    ),
    ("/api/v1/apps/{app_id}/lifecycle/deactivate", "POST"): lambda h: _app_events(
        h, "application.lifecycle.deactivate", status_change=True
    ),
    ("/api/v1/apps/{app_id}/tokens", "DELETE"): lambda h: _token_revoke_events(h, all_tokens=True),
    ("/api/v1/apps/{app_id}/tokens/{token_id}", "DELETE"): lambda h: _token_revoke_events(
        h, all_tokens=False
    ),
}


def extend(routes: list[tuple[str, dict[str, Handler]]]) -> list[tuple[str, dict[str, Handler]]]:
    """The app's route table with :data:`ROUTES` merged in (see module docstring)."""
    by_shape = {shape(t): (t, dict(methods)) for t, methods in routes}
    for path, method in _WRAPS:
        key = shape(path)
        if key in by_shape and method in by_shape[key][1]:
            by_shape[key][1][method] = _WRAPS[(path, method)](by_shape[key][1][method])
    for path, methods in ROUTES:
        key = shape(path)
        if key in by_shape:
            by_shape[key][1].update(methods)
        else:
            by_shape[key] = (path, dict(methods))
    return list(by_shape.values())
