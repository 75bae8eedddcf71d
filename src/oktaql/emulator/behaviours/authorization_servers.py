"""Authorization servers and their scopes, policies, rules, claims, keys, clients and client
tokens; apps' consent grants and signing keys.

``/api/v1/authorizationServers[/{id}]`` (+ lifecycle), ``/scopes``, ``/policies[/{id}[/rules
[/{id}]]]`` (+ lifecycle), ``/claims``, ``/credentials/keys``, ``/clients``,
``/clients/{clientId}/tokens[/{id}]``, ``/api/v1/apps/{id}/grants[/{id}]`` and
``/api/v1/apps/{id}/credentials/keys[/{kid}]``. Servers, scopes, policies, rules and claims
are :class:`~._family.Family` collections: what is theirs is a writer (validation, fields,
System Log event) and what a delete takes with it.
"""

from __future__ import annotations

from typing import Any

from .. import _org_grants, _org_policies
from .._appdefs import BodyError
from .._http import Ctx, Handler, OktaError, Reply, not_found, paged
from .._render import (
    render_app_grant,
    render_claim,
    render_server_key,
    render_server_policy,
    render_server_rule,
)
from .._route_helpers import (
    app_or_404,
    expand,
    obj,
    server_or_404,
    validated,
)
from .._seed import system_scopes
from .._tokens import AuthServer, render_auth_server, render_scope
from ._family import Doc, Family, Parents, ref, renumber, stamp

# ------------------------------------------------------------ helpers


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


def _name(body: Any, limit: int = 0) -> str:
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    if limit and len(name) > limit:
        raise BodyError("name", f"The field must be at most {limit} characters long.")
    return name


def _forbidden(what: str) -> OktaError:
    return OktaError(
        403, "E0000006", "You do not have permission to perform the requested action", [what]
    )


def _verb(status: str) -> str:
    return "activated" if status == "ACTIVE" else "deactivated"


# ------------------------------------------------- authorization servers


def _server_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    """The servers as documents holding the :class:`AuthServer` (tokens share the object)."""
    return {
        s.id: {"id": s.id, "name": s.name, "status": s.status, "server": s}
        for s in ctx.org.server_list()
    }


def _server_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    docs = list(_server_store(ctx, parents).values())
    q = (ctx.param("q") or "").lower()
    return [d for d in docs if d["name"].lower().startswith(q)] if q else docs


def _render_server(doc: Doc, base: str) -> Doc:
    return render_auth_server(doc["server"], base)


def _write_server(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    org = ctx.org
    name = _name(body)
    audiences = _str_list(body.get("audiences"), "audiences")
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise BodyError("description", "The field must be a string.")
    for other in org.server_list():
        if other.name.lower() == name.lower() and (current is None or other.id != current["id"]):
            raise BodyError("name", "An authorization server with this name already exists.")
    now = org.tick()
    server: AuthServer
    if current is None:
        server = AuthServer(
            id=org.new_id("aus"),
            name=name,
            description=description or "",
            audiences=audiences,
            created=now,
            kid=org.new_id("") + org.new_id("")[:23],
            scopes=system_scopes(org._rng),
        )
        org.register(server.id)
        org.add_server(server)
    else:
        server = current["server"]
        server.name, server.audiences = name, audiences
        if description is not None:
            server.description = description
    server.last_updated = now
    doc = {"id": server.id, "name": name, "status": server.status, "server": server}
    return doc


def _server_ref(doc: Doc) -> dict[str, Any]:
    return ref(doc, "AuthorizationServer")


def _remove_server(ctx: Ctx, parents: Parents, doc: Doc) -> None:
    """Its policies (and their rules), claims, keys and consent grants go; its tokens are
    revoked, as Okta invalidates what a deleted server issued."""
    org, server_id = ctx.org, doc["id"]
    org.tick()
    for policy_id in org._as_policies.pop(server_id, {}):
        org._as_rules.pop(policy_id, None)
    org._claims.pop(server_id, None)
    org._as_keys.pop(server_id, None)
    for gid in [g for g, grant in org._user_grants.items() if grant["_server"] == server_id]:
        del org._user_grants[gid]
    for app_id, tokens in org._tokens.items():
        if any(s.id == server_id for s in tokens.servers):
            for i in _org_grants.active_token_indexes(org, app_id, lambda _u, s: s == server_id):
                tokens.revoke(i)
    del org._servers[server_id]
    org.log("oauth2.as.deleted", [_server_ref(doc)], ctx.path)


def _server_status(ctx: Ctx, parents: Parents, doc: Doc, status: str) -> None:
    server: AuthServer = doc["server"]
    if server.status == status:
        return
    server.status, server.last_updated = status, ctx.org.tick()
    ctx.org.log(f"oauth2.as.{_verb(status)}", [_server_ref(doc)], ctx.path)


SERVERS = Family(
    "/api/v1/authorizationServers",
    "server_id",
    "AuthorizationServer",
    _server_store,
    _render_server,
    write=_write_server,
    events="oauth2.as.{verb}d",
    remove=_remove_server,
    set_status=_server_status,
    docs=_server_docs,
)


def _server(ctx: Ctx, server_id: str) -> AuthServer:
    server: AuthServer = server_or_404(ctx, server_id)
    return server


# ------------------------------------------------------------ scopes

_CONSENT = ("REQUIRED", "IMPLICIT", "FLEXIBLE")
_PUBLISH = ("ALL_CLIENTS", "NO_CLIENTS")


def _scope_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    return {s["id"]: s for s in _server(ctx, parents[0]).scopes}


def _scope_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    docs = list(_scope_store(ctx, parents).values())
    q = (ctx.param("q") or "").lower()
    return [s for s in docs if s["name"].lower().startswith(q)] if q else docs


def _scopes_changed(ctx: Ctx, server_id: str) -> None:
    """Tokens name their scopes from the server's: their cached names and pages go."""
    for tokens in ctx.org._tokens.values():
        if any(s.id == server_id for s in tokens.servers):
            tokens.scopes_changed()


def _write_scope(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    server = _server(ctx, parents[0])
    name = _name(body, 1024)
    if current is not None and current.get("system") and name != current["name"]:
        raise _forbidden("A system scope cannot be renamed.")
    if any(s["name"] == name and s["id"] != (current or {}).get("id") for s in server.scopes):
        raise BodyError("name", "A scope with this name already exists.")
    doc: Doc = {"id": current["id"] if current else ctx.org.new_id("scp"), "name": name}
    for key, allowed in (("consent", _CONSENT), ("metadataPublish", _PUBLISH)):
        value = body.get(key) or (current or {}).get(key) or allowed[0 if key == "consent" else 1]
        if value not in allowed:
            raise BodyError(key, f"Invalid value {value!r}.")
        doc[key] = value
    for key in ("displayName", "description"):
        if body.get(key) is not None:
            if not isinstance(body[key], str):
                raise BodyError(key, "The field must be a string.")
            doc[key] = body[key]
    for key in ("default", "optional"):
        if not isinstance(body.get(key, False), bool):
            raise BodyError(key, "The value must be of type boolean.")
        doc[key] = bool(body.get(key, False))
    doc["system"] = bool(current and current.get("system"))
    ctx.org.tick()
    if current is None:
        server.scopes.append(doc)
    else:
        server.scopes[server.scopes.index(current)] = doc
    _scopes_changed(ctx, server.id)
    return doc


def _remove_scope(ctx: Ctx, parents: Parents, scope: Doc) -> None:
    """A scope's consent grants go with it; tokens stop naming it."""
    if scope.get("system"):
        raise _forbidden("A system scope cannot be deleted.")
    org, server = ctx.org, _server(ctx, parents[0])
    org.tick()
    server.scopes.remove(scope)
    for gid in [g for g, grant in org._user_grants.items() if grant["scopeId"] == scope["id"]]:
        del org._user_grants[gid]
    _scopes_changed(ctx, server.id)
    org.log("oauth2.scope.deleted", [ref(scope, "OAuth2Scope")], ctx.path)


SCOPES = Family(
    "/api/v1/authorizationServers/{server_id}/scopes",
    "scope_id",
    "OAuth2Scope",
    _scope_store,
    render_scope,
    write=_write_scope,
    events="oauth2.scope.{verb}d",
    remove=_remove_scope,
    docs=_scope_docs,
)

# ------------------------------------------------------------ keys (read-only)


def _keyed(keys: list[Doc]) -> dict[str, Doc]:
    return {k["kid"]: {"id": k["kid"], "key": k} for k in keys}


SERVER_KEYS = Family(
    "/api/v1/authorizationServers/{server_id}/credentials/keys",
    "key_id",
    "AuthorizationServerJsonWebKey",
    lambda ctx, parents: _keyed(
        _org_policies.server_key_docs(ctx.org, _server(ctx, parents[0]).id)
    ),
    lambda server_id, doc, base: render_server_key(server_id, doc["key"], base),
    item_methods=("GET",),
)
APP_KEYS = Family(
    "/api/v1/apps/{app_id}/credentials/keys",
    "key_id",
    "JsonWebKey",
    lambda ctx, parents: _keyed(
        _org_grants.app_key_docs(ctx.org, app_or_404(ctx, parents[0])["id"])
    ),
    lambda app_id, doc, base: doc["key"],
    item_methods=("GET",),
)

# ------------------------------------------------------------ policies


def _policy_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    _server(ctx, parents[0])
    store: dict[str, Doc] = ctx.org._as_policies.setdefault(parents[0], {})
    return store


def _policy_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    _server(ctx, parents[0])
    return _org_policies.server_policy_docs(ctx.org, parents[0])


def _write_policy(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    name = _name(body)
    ptype = body.get("type") or "OAUTH_AUTHORIZATION_POLICY"
    if ptype != "OAUTH_AUTHORIZATION_POLICY":
        raise BodyError("type", f"Invalid value {ptype!r}.")
    clients = ((body.get("conditions") or {}).get("clients") or {}).get("include")
    include = _str_list(clients, "conditions.clients.include")
    description = body.get("description")
    doc = {
        "type": ptype,
        **stamp(ctx, current, "00p", _status(body, current["status"] if current else "ACTIVE")),
        "name": name,
        "description": description if isinstance(description, str) else name,
        "priority": 0,
        "system": False,
        "conditions": {"clients": {"include": include}},
    }
    renumber(_policy_store(ctx, parents), doc, body.get("priority"))
    return doc


POLICIES = Family(
    "/api/v1/authorizationServers/{server_id}/policies",
    "policy_id",
    "AuthorizationServerPolicy",
    _policy_store,
    render_server_policy,
    write=_write_policy,
    events="oauth2.policy.{verb}d",
    cascade=lambda ctx, parents, policy: ctx.org._as_rules.pop(policy["id"], None),
    docs=_policy_docs,
)

# ------------------------------------------------------------ rules

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


def _rule_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    POLICIES.item(ctx, parents[:1], parents[1])
    store: dict[str, Doc] = ctx.org._as_rules.setdefault(parents[1], {})
    return store


def _rule_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    _rule_store(ctx, parents)
    return _org_policies.server_rule_docs(ctx.org, parents[1])


def _write_rule(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    name = _name(body)
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
    doc = {
        "type": "RESOURCE_ACCESS",
        **stamp(ctx, current, "0pr", _status(body, current["status"] if current else "ACTIVE")),
        "name": name,
        "priority": 0,
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
    renumber(_rule_store(ctx, parents), doc, body.get("priority"))
    return doc


RULES = Family(
    "/api/v1/authorizationServers/{server_id}/policies/{policy_id}/rules",
    "rule_id",
    "AuthorizationServerPolicyRule",
    _rule_store,
    render_server_rule,
    write=_write_rule,
    events="oauth2.policy.rule.{verb}d",
    docs=_rule_docs,
)

# ------------------------------------------------------------ claims


def _claim_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    _server(ctx, parents[0])
    store: dict[str, Doc] = ctx.org._claims.setdefault(parents[0], {})
    return store


def _write_claim(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    org = ctx.org
    store = _claim_store(ctx, parents)
    name = _name(body)
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
    doc: Doc = {
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
    return doc


CLAIMS = Family(
    "/api/v1/authorizationServers/{server_id}/claims",
    "claim_id",
    "OAuth2Claim",
    _claim_store,
    render_claim,
    write=_write_claim,
    events="oauth2.claim.{verb}d",
    lifecycle=False,
    by_seq=True,
)

# ------------------------------------------------------------ app grants and keys


def list_app_grants(ctx: Ctx, app_id: str) -> Reply:
    app = app_or_404(ctx, app_id)
    base, label, embed = ctx.base, app["label"], "scope" in expand(ctx)
    return paged(
        ctx,
        _org_grants.app_grant_docs(ctx.org, app_id),
        lambda g: render_app_grant(g, base, app_label=label, expand_scope=embed),
        default_limit=200,
        max_limit=200,
    )


def _app_grant(ctx: Ctx, app_id: str, grant_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    app = app_or_404(ctx, app_id)
    grant = next(
        (g for g in _org_grants.app_grant_docs(ctx.org, app_id) if g["id"] == grant_id), None
    )
    if grant is None:
        raise not_found(grant_id, "OAuth2ScopeConsentGrant")
    return app, grant


def get_app_grant(ctx: Ctx, app_id: str, grant_id: str) -> Reply:
    app, grant = _app_grant(ctx, app_id, grant_id)
    embed = "scope" in expand(ctx)
    return Reply(200, render_app_grant(grant, ctx.base, app_label=app["label"], expand_scope=embed))


def create_app_grant(ctx: Ctx, app_id: str) -> Reply:
    app = app_or_404(ctx, app_id)
    grant = validated(_org_grants.grant_app_consent, ctx.org, app_id, ctx.json_body(), ctx.path)
    return Reply(201, render_app_grant(grant, ctx.base, app_label=app["label"], expand_scope=False))


def revoke_app_grant(ctx: Ctx, app_id: str, grant_id: str) -> Reply:
    _app_grant(ctx, app_id, grant_id)
    _org_grants.revoke_app_grant(ctx.org, app_id, grant_id, ctx.path)
    return Reply(204)


# ------------------------------------------------------------------ routes


ROUTES: list[tuple[str, dict[str, Handler]]] = [
    # apps' consent grants and keys
    ("/api/v1/apps/{app_id}/grants", {"GET": list_app_grants, "POST": create_app_grant}),
    (
        "/api/v1/apps/{app_id}/grants/{grant_id}",
        {"GET": get_app_grant, "DELETE": revoke_app_grant},
    ),
    *APP_KEYS.routes(),
    # authorization servers and what they hold
    *SERVERS.routes(),
    *SCOPES.routes(),
    *POLICIES.routes(),
    *RULES.routes(),
    *CLAIMS.routes(),
    *SERVER_KEYS.routes(),
]
