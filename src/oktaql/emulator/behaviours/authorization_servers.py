"""Authorization servers' policies, rules, claims, keys, clients and client tokens; apps'
consent grants and signing keys.

``/api/v1/authorizationServers/{id}/policies[/{id}[/rules[/{id}]]]`` (+ lifecycle),
``/claims``, ``/credentials/keys``, ``/clients``, ``/clients/{clientId}/tokens[/{id}]``,
``/api/v1/apps/{id}/grants[/{id}]`` and ``/api/v1/apps/{id}/credentials/keys[/{kid}]``.
"""

from __future__ import annotations

from typing import Any

from .. import _events
from .._appdefs import BodyError
from .._http import Ctx, Handler, Reply, not_found, paged
from .._render import (
    render_app_grant,
    render_claim,
    render_server_client,
    render_server_key,
    render_server_policy,
    render_server_rule,
)
from .._route_helpers import (
    app_or_404,
    expand,
    obj,
    owned_token,
    revoke_reply,
    server_or_404,
    token_reply,
    validated,
)
from .._tokens import render_auth_server, render_scope
from .users import token_page

# ------------------------------------------------------------ helpers


def _renumber(docs: dict[str, dict[str, Any]], moved: dict[str, Any], priority: Any) -> None:
    """Give ``moved`` its priority (last when absent) and keep priorities 1..n."""
    others = sorted(
        (d for d in docs.values() if d["id"] != moved["id"]), key=lambda d: d["priority"]
    )
    n = len(others) + 1
    want = priority if isinstance(priority, int) and 1 <= priority <= n else n
    others.insert(want - 1, moved)
    for k, doc in enumerate(others, start=1):
        doc["priority"] = k
    docs[moved["id"]] = moved


def _status(body: dict[str, Any], default: str) -> str:
    status = body.get("status") or default
    if status not in ("ACTIVE", "INACTIVE"):
        raise BodyError("status", f"Invalid value {status!r}.")
    return status


def _str_list(value: Any, field: str, *, required: bool = True) -> list[str]:
    if value is None and not required:
        return []
    if (
        not isinstance(value, list)
        or not all(isinstance(v, str) for v in value)
        or (required and not value)
    ):
        raise BodyError(field, "The field must be a non-empty list of strings.")
    return list(value)


# ------------------------------------------------------------ keys


def list_server_keys(ctx: Ctx, server_id: str) -> Reply:
    server_or_404(ctx, server_id)
    base = ctx.base
    docs = [{"id": k["kid"], "key": k} for k in ctx.org.server_key_docs(server_id)]
    return paged(
        ctx,
        docs,
        lambda d: render_server_key(server_id, d["key"], base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_server_key(ctx: Ctx, server_id: str, key_id: str) -> Reply:
    server_or_404(ctx, server_id)
    key = next((k for k in ctx.org.server_key_docs(server_id) if k["kid"] == key_id), None)
    if key is None:
        raise not_found(key_id, "AuthorizationServerJsonWebKey")
    return Reply(200, render_server_key(server_id, key, ctx.base))


# ------------------------------------------------------------ policies


def _policies(ctx: Ctx, server_id: str) -> dict[str, dict[str, Any]]:
    server_or_404(ctx, server_id)
    store: dict[str, dict[str, Any]] = ctx.org._as_policies.setdefault(server_id, {})
    return store


def _policy(ctx: Ctx, server_id: str, policy_id: str) -> dict[str, Any]:
    policy = _policies(ctx, server_id).get(policy_id)
    if policy is None:
        raise not_found(policy_id, "AuthorizationServerPolicy")
    return policy


def list_server_policies(ctx: Ctx, server_id: str) -> Reply:
    _policies(ctx, server_id)
    base = ctx.base
    docs = ctx.org.server_policy_docs(server_id)
    return paged(
        ctx,
        docs,
        lambda p: render_server_policy(server_id, p, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_server_policy(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    return Reply(200, render_server_policy(server_id, _policy(ctx, server_id, policy_id), ctx.base))


def _policy_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    ptype = body.get("type") or "OAUTH_AUTHORIZATION_POLICY"
    if ptype != "OAUTH_AUTHORIZATION_POLICY":
        raise BodyError("type", f"Invalid value {ptype!r}.")
    clients = ((body.get("conditions") or {}).get("clients") or {}).get("include")
    return {
        "type": ptype,
        "name": name,
        "description": body.get("description")
        if isinstance(body.get("description"), str)
        else name,
        "conditions": {"clients": {"include": _str_list(clients, "conditions.clients.include")}},
    }


def _write_policy(
    ctx: Ctx, server_id: str, body: Any, current: dict[str, Any] | None
) -> dict[str, Any]:
    org = ctx.org
    store = _policies(ctx, server_id)
    fields = _policy_fields(body)
    now = org.tick()
    doc = {
        "type": fields["type"],
        "id": current["id"] if current else org.new_id("00p"),
        "status": _status(body, current["status"] if current else "ACTIVE"),
        "name": fields["name"],
        "description": fields["description"],
        "priority": 0,
        "system": False,
        "conditions": fields["conditions"],
        "created": current["created"] if current else now,
        "lastUpdated": now,
    }
    if current is None:
        org.register(doc["id"])
    _renumber(store, doc, body.get("priority"))
    event = "oauth2.policy.updated" if current else "oauth2.policy.created"
    org.log(event, [_events.ref(doc["id"], "AuthorizationServerPolicy", doc["name"])], ctx.path)
    return doc


def create_server_policy(ctx: Ctx, server_id: str) -> Reply:
    _policies(ctx, server_id)
    doc = validated(_write_policy, ctx, server_id, ctx.json_body(), None)
    return Reply(201, render_server_policy(server_id, doc, ctx.base))


def replace_server_policy(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    current = _policy(ctx, server_id, policy_id)
    doc = validated(_write_policy, ctx, server_id, ctx.json_body(), current)
    return Reply(200, render_server_policy(server_id, doc, ctx.base))


def delete_server_policy(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    policy = _policy(ctx, server_id, policy_id)
    org = ctx.org
    org.tick()
    del org._as_policies[server_id][policy_id]
    org._as_rules.pop(policy_id, None)
    org.log(
        "oauth2.policy.deleted",
        [_events.ref(policy_id, "AuthorizationServerPolicy", policy["name"])],
        ctx.path,
    )
    return Reply(204)


def _set_status(ctx: Ctx, doc: dict[str, Any], status: str, kind: str, type_name: str) -> None:
    if doc["status"] == status:
        return
    doc["status"], doc["lastUpdated"] = status, ctx.org.tick()
    verb = "activated" if status == "ACTIVE" else "deactivated"
    ctx.org.log(f"{kind}.{verb}", [_events.ref(doc["id"], type_name, doc["name"])], ctx.path)


def activate_server_policy(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    _set_status(
        ctx,
        _policy(ctx, server_id, policy_id),
        "ACTIVE",
        "oauth2.policy",
        "AuthorizationServerPolicy",
    )
    return Reply(204)


def deactivate_server_policy(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    _set_status(
        ctx,
        _policy(ctx, server_id, policy_id),
        "INACTIVE",
        "oauth2.policy",
        "AuthorizationServerPolicy",
    )
    return Reply(204)


# ------------------------------------------------------------ rules


def _rules(ctx: Ctx, server_id: str, policy_id: str) -> dict[str, dict[str, Any]]:
    _policy(ctx, server_id, policy_id)
    store: dict[str, dict[str, Any]] = ctx.org._as_rules.setdefault(policy_id, {})
    return store


def _rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> dict[str, Any]:
    rule = _rules(ctx, server_id, policy_id).get(rule_id)
    if rule is None:
        raise not_found(rule_id, "AuthorizationServerPolicyRule")
    return rule


def list_server_rules(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    _rules(ctx, server_id, policy_id)
    base = ctx.base
    return paged(
        ctx,
        ctx.org.server_rule_docs(policy_id),
        lambda r: render_server_rule(server_id, policy_id, r, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_server_rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, server_id, policy_id, rule_id)
    return Reply(200, render_server_rule(server_id, policy_id, rule, ctx.base))


_GRANT_TYPES = (
    "authorization_code",
    "client_credentials",
    "implicit",
    "password",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "interaction_code",
)


def _write_rule(
    ctx: Ctx, server_id: str, policy_id: str, body: Any, current: dict[str, Any] | None
) -> dict[str, Any]:
    org = ctx.org
    store = _rules(ctx, server_id, policy_id)
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    conditions = obj(body.get("conditions"))
    grants = _str_list(
        (conditions.get("grantTypes") or {}).get("include"), "conditions.grantTypes.include"
    )
    for g in grants:
        if g not in _GRANT_TYPES:
            raise BodyError("conditions.grantTypes.include", f"Invalid grant type {g!r}.")
    scopes = _str_list((conditions.get("scopes") or {}).get("include"), "conditions.scopes.include")
    people = obj(conditions.get("people"))
    users = (people or {}).get("users") or {}
    groups = (people or {}).get("groups") or {}
    if not users.get("include") and not groups.get("include"):
        groups = {"include": ["EVERYONE"], "exclude": groups.get("exclude") or []}
    token = ((body.get("actions") or {}).get("token")) or {}
    now = org.tick()
    doc = {
        "type": "RESOURCE_ACCESS",
        "id": current["id"] if current else org.new_id("0pr"),
        "status": _status(body, current["status"] if current else "ACTIVE"),
        "name": name,
        "priority": 0,
        "created": current["created"] if current else now,
        "lastUpdated": now,
        "system": False,
        "conditions": {
            "people": {
                "users": {
                    "include": list(users.get("include") or []),
                    "exclude": list(users.get("exclude") or []),
                },
                "groups": {
                    "include": list(groups.get("include") or []),
                    "exclude": list(groups.get("exclude") or []),
                },
            },
            "grantTypes": {"include": grants},
            "scopes": {"include": scopes},
        },
        "actions": {
            "token": {
                "accessTokenLifetimeMinutes": int(token.get("accessTokenLifetimeMinutes") or 60),
                "refreshTokenLifetimeMinutes": int(token.get("refreshTokenLifetimeMinutes") or 0),
                "refreshTokenWindowMinutes": int(token.get("refreshTokenWindowMinutes") or 10080),
            }
        },
    }
    if current is None:
        org.register(doc["id"])
    _renumber(store, doc, body.get("priority"))
    event = "oauth2.policy.rule.updated" if current else "oauth2.policy.rule.created"
    org.log(event, [_events.ref(doc["id"], "AuthorizationServerPolicyRule", name)], ctx.path)
    return doc


def create_server_rule(ctx: Ctx, server_id: str, policy_id: str) -> Reply:
    _rules(ctx, server_id, policy_id)
    doc = validated(_write_rule, ctx, server_id, policy_id, ctx.json_body(), None)
    return Reply(201, render_server_rule(server_id, policy_id, doc, ctx.base))


def replace_server_rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> Reply:
    current = _rule(ctx, server_id, policy_id, rule_id)
    doc = validated(_write_rule, ctx, server_id, policy_id, ctx.json_body(), current)
    return Reply(200, render_server_rule(server_id, policy_id, doc, ctx.base))


def delete_server_rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, server_id, policy_id, rule_id)
    ctx.org.tick()
    del ctx.org._as_rules[policy_id][rule_id]
    ctx.org.log(
        "oauth2.policy.rule.deleted",
        [_events.ref(rule_id, "AuthorizationServerPolicyRule", rule["name"])],
        ctx.path,
    )
    return Reply(204)


def activate_server_rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, server_id, policy_id, rule_id)
    _set_status(ctx, rule, "ACTIVE", "oauth2.policy.rule", "AuthorizationServerPolicyRule")
    return Reply(204)


def deactivate_server_rule(ctx: Ctx, server_id: str, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, server_id, policy_id, rule_id)
    _set_status(ctx, rule, "INACTIVE", "oauth2.policy.rule", "AuthorizationServerPolicyRule")
    return Reply(204)


# ------------------------------------------------------------ claims


def _claims(ctx: Ctx, server_id: str) -> dict[str, dict[str, Any]]:
    server_or_404(ctx, server_id)
    store: dict[str, dict[str, Any]] = ctx.org._claims.setdefault(server_id, {})
    return store


def _claim(ctx: Ctx, server_id: str, claim_id: str) -> dict[str, Any]:
    claim = _claims(ctx, server_id).get(claim_id)
    if claim is None:
        raise not_found(claim_id, "OAuth2Claim")
    return claim


def list_claims(ctx: Ctx, server_id: str) -> Reply:
    store = _claims(ctx, server_id)
    base = ctx.base
    return paged(
        ctx,
        list(store.values()),
        lambda c: render_claim(server_id, c, base),
        default_limit=200,
        max_limit=200,
    )


def get_claim(ctx: Ctx, server_id: str, claim_id: str) -> Reply:
    return Reply(200, render_claim(server_id, _claim(ctx, server_id, claim_id), ctx.base))


def _write_claim(
    ctx: Ctx, server_id: str, body: Any, current: dict[str, Any] | None
) -> dict[str, Any]:
    org = ctx.org
    store = _claims(ctx, server_id)
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    ctype, vtype = body.get("claimType"), body.get("valueType") or "EXPRESSION"
    if ctype not in ("IDENTITY", "RESOURCE"):
        raise BodyError("claimType", f"Invalid value {ctype!r}.")
    if vtype not in ("EXPRESSION", "GROUPS"):
        raise BodyError("valueType", f"Invalid value {vtype!r}.")
    value = body.get("value")
    if not isinstance(value, str) or not value:
        raise BodyError("value", "The field cannot be left blank.")
    for other in store.values():
        if (
            other["name"] == name
            and other["claimType"] == ctype
            and (current is None or other["id"] != current["id"])
        ):
            raise BodyError("name", "A claim with this name and type already exists.")
    scopes = _str_list(
        ((body.get("conditions") or {}).get("scopes")), "conditions.scopes", required=False
    )
    doc: dict[str, Any] = {
        "id": current["id"] if current else org.new_id("ocl"),
        "name": name,
        "status": _status(body, current["status"] if current else "ACTIVE"),
        "claimType": ctype,
        "valueType": vtype,
        "value": value,
        "conditions": {"scopes": scopes},
        "system": False,
        "alwaysIncludeInToken": bool(body.get("alwaysIncludeInToken", ctype == "IDENTITY")),
    }
    if vtype == "GROUPS":
        gft = body.get("group_filter_type") or "REGEX"
        if gft not in ("CONTAINS", "EQUALS", "REGEX", "STARTS_WITH"):
            raise BodyError("group_filter_type", f"Invalid value {gft!r}.")
        doc["group_filter_type"] = gft
    org.tick()
    if current is None:
        org.register(doc["id"])
    store[doc["id"]] = doc
    event = "oauth2.claim.updated" if current else "oauth2.claim.created"
    org.log(event, [_events.ref(doc["id"], "OAuth2Claim", name)], ctx.path)
    return doc


def create_claim(ctx: Ctx, server_id: str) -> Reply:
    _claims(ctx, server_id)
    doc = validated(_write_claim, ctx, server_id, ctx.json_body(), None)
    return Reply(201, render_claim(server_id, doc, ctx.base))


def replace_claim(ctx: Ctx, server_id: str, claim_id: str) -> Reply:
    current = _claim(ctx, server_id, claim_id)
    doc = validated(_write_claim, ctx, server_id, ctx.json_body(), current)
    return Reply(200, render_claim(server_id, doc, ctx.base))


def delete_claim(ctx: Ctx, server_id: str, claim_id: str) -> Reply:
    claim = _claim(ctx, server_id, claim_id)
    ctx.org.tick()
    del ctx.org._claims[server_id][claim_id]
    ctx.org.log(
        "oauth2.claim.deleted", [_events.ref(claim_id, "OAuth2Claim", claim["name"])], ctx.path
    )
    return Reply(204)


# ------------------------------------------------------------ clients and tokens


def list_server_clients(ctx: Ctx, server_id: str) -> Reply:
    server_or_404(ctx, server_id)
    base = ctx.base
    docs = [
        {"id": a["credentials"]["oauthClient"]["client_id"], "app": a}
        for a in ctx.org.server_client_app_docs(server_id)
    ]
    return paged(
        ctx,
        docs,
        lambda d: render_server_client(server_id, d["app"], base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def _client_app(ctx: Ctx, server_id: str, client_id: str) -> dict[str, Any]:
    server_or_404(ctx, server_id)
    app = ctx.org.app_for_client_id(client_id)
    if app is None:
        raise not_found(client_id, "OAuth2Client")
    return app


def _server_indexes(ctx: Ctx, server_id: str, app: dict[str, Any]) -> list[int]:
    return ctx.org.active_token_indexes(app["id"], lambda _u, s: s == server_id)


def list_server_client_tokens(ctx: Ctx, server_id: str, client_id: str) -> Reply:
    app = _client_app(ctx, server_id, client_id)
    return token_page(ctx, app, _server_indexes(ctx, server_id, app))


def _server_token(
    ctx: Ctx, server_id: str, client_id: str, token_id: str
) -> tuple[dict[str, Any], int]:
    app = _client_app(ctx, server_id, client_id)
    return app, owned_token(ctx, app, token_id, 1, server_id)


def get_server_client_token(ctx: Ctx, server_id: str, client_id: str, token_id: str) -> Reply:
    return token_reply(ctx, *_server_token(ctx, server_id, client_id, token_id))


def revoke_server_client_token(ctx: Ctx, server_id: str, client_id: str, token_id: str) -> Reply:
    return revoke_reply(ctx, *_server_token(ctx, server_id, client_id, token_id))


def revoke_server_client_tokens(ctx: Ctx, server_id: str, client_id: str) -> Reply:
    app = _client_app(ctx, server_id, client_id)
    ctx.org.revoke_token_indexes(app["id"], _server_indexes(ctx, server_id, app), ctx.path)
    return Reply(204)


# ------------------------------------------------------------ app grants and keys


def list_app_grants(ctx: Ctx, app_id: str) -> Reply:
    app = app_or_404(ctx, app_id)
    base, label, embed = ctx.base, app["label"], "scope" in expand(ctx)
    return paged(
        ctx,
        ctx.org.app_grant_docs(app_id),
        lambda g: render_app_grant(g, base, app_label=label, expand_scope=embed),
        default_limit=200,
        max_limit=200,
    )


def _app_grant(ctx: Ctx, app_id: str, grant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = app_or_404(ctx, app_id)
    grant = next((g for g in ctx.org.app_grant_docs(app_id) if g["id"] == grant_id), None)
    if grant is None:
        raise not_found(grant_id, "OAuth2ScopeConsentGrant")
    return app, grant


def get_app_grant(ctx: Ctx, app_id: str, grant_id: str) -> Reply:
    app, grant = _app_grant(ctx, app_id, grant_id)
    embed = "scope" in expand(ctx)
    return Reply(200, render_app_grant(grant, ctx.base, app_label=app["label"], expand_scope=embed))


def create_app_grant(ctx: Ctx, app_id: str) -> Reply:
    app = app_or_404(ctx, app_id)
    grant = validated(ctx.org.grant_app_consent, app_id, ctx.json_body(), ctx.path)
    return Reply(201, render_app_grant(grant, ctx.base, app_label=app["label"], expand_scope=False))


def revoke_app_grant(ctx: Ctx, app_id: str, grant_id: str) -> Reply:
    _app_grant(ctx, app_id, grant_id)
    ctx.org.revoke_app_grant(app_id, grant_id, ctx.path)
    return Reply(204)


def list_app_keys(ctx: Ctx, app_id: str) -> Reply:
    app_or_404(ctx, app_id)
    docs = [{"id": k["kid"], "key": k} for k in ctx.org.app_key_docs(app_id)]
    return paged(
        ctx, docs, lambda d: d["key"], default_limit=200, max_limit=200, ordered_by_seq=False
    )


def get_app_key(ctx: Ctx, app_id: str, key_id: str) -> Reply:
    app_or_404(ctx, app_id)
    key = next((k for k in ctx.org.app_key_docs(app_id) if k["kid"] == key_id), None)
    if key is None:
        raise not_found(key_id, "JsonWebKey")
    return Reply(200, key)


# ------------------------------------------------- authorization servers


def list_auth_servers(ctx: Ctx) -> Reply:
    base = ctx.base
    servers = ctx.org.server_list()
    q = ctx.param("q")
    if q:
        servers = [s for s in servers if s.name.lower().startswith(q.lower())]
    docs = [{"id": s.id, "server": s} for s in servers]
    return paged(
        ctx,
        docs,
        lambda d: render_auth_server(d["server"], base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_auth_server(ctx: Ctx, server_id: str) -> Reply:
    return Reply(200, render_auth_server(server_or_404(ctx, server_id), ctx.base))


def list_scopes(ctx: Ctx, server_id: str) -> Reply:
    server = server_or_404(ctx, server_id)
    base = ctx.base
    docs = list(server.scopes)
    q = ctx.param("q")
    if q:
        docs = [s for s in docs if s["name"].lower().startswith(q.lower())]
    return paged(
        ctx,
        docs,
        lambda s: render_scope(server, s, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_scope(ctx: Ctx, server_id: str, scope_id: str) -> Reply:
    server = server_or_404(ctx, server_id)
    scope = next((s for s in server.scopes if s["id"] == scope_id), None)
    if scope is None:
        raise not_found(scope_id, "OAuth2Scope")
    return Reply(200, render_scope(server, scope, ctx.base))


# ------------------------------------------------------------------ routes

AS = "/api/v1/authorizationServers/{server_id}"
RULE = f"{AS}/policies/{{policy_id}}/rules/{{rule_id}}"

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    # apps' consent grants and keys
    ("/api/v1/apps/{app_id}/grants", {"GET": list_app_grants, "POST": create_app_grant}),
    (
        "/api/v1/apps/{app_id}/grants/{grant_id}",
        {"GET": get_app_grant, "DELETE": revoke_app_grant},
    ),
    ("/api/v1/apps/{app_id}/credentials/keys", {"GET": list_app_keys}),
    ("/api/v1/apps/{app_id}/credentials/keys/{key_id}", {"GET": get_app_key}),
    # authorization servers
    ("/api/v1/authorizationServers", {"GET": list_auth_servers}),
    (AS, {"GET": get_auth_server}),
    (f"{AS}/scopes", {"GET": list_scopes}),
    (f"{AS}/scopes/{{scope_id}}", {"GET": get_scope}),
    (f"{AS}/credentials/keys", {"GET": list_server_keys}),
    (f"{AS}/credentials/keys/{{key_id}}", {"GET": get_server_key}),
    (f"{AS}/policies", {"GET": list_server_policies, "POST": create_server_policy}),
    (
        f"{AS}/policies/{{policy_id}}",
        {
            "GET": get_server_policy,
            "PUT": replace_server_policy,
            "DELETE": delete_server_policy,
        },
    ),
    (f"{AS}/policies/{{policy_id}}/lifecycle/activate", {"POST": activate_server_policy}),
    (f"{AS}/policies/{{policy_id}}/lifecycle/deactivate", {"POST": deactivate_server_policy}),
    (f"{AS}/policies/{{policy_id}}/rules", {"GET": list_server_rules, "POST": create_server_rule}),
    (RULE, {"GET": get_server_rule, "PUT": replace_server_rule, "DELETE": delete_server_rule}),
    (f"{RULE}/lifecycle/activate", {"POST": activate_server_rule}),
    (f"{RULE}/lifecycle/deactivate", {"POST": deactivate_server_rule}),
    (f"{AS}/claims", {"GET": list_claims, "POST": create_claim}),
    (
        f"{AS}/claims/{{claim_id}}",
        {"GET": get_claim, "PUT": replace_claim, "DELETE": delete_claim},
    ),
    (f"{AS}/clients", {"GET": list_server_clients}),
    (
        f"{AS}/clients/{{client_id}}/tokens",
        {"GET": list_server_client_tokens, "DELETE": revoke_server_client_tokens},
    ),
    (
        f"{AS}/clients/{{client_id}}/tokens/{{token_id}}",
        {"GET": get_server_client_token, "DELETE": revoke_server_client_token},
    ),
]
