"""Turn stored resources into Okta's JSON shape for a given base URL.

Resources are stored without ``_links`` because Okta's links are absolute
URLs and the emulator builds them from each request's base URL (a client that
connects to ``localhost`` sees ``localhost`` links). Rendering adds them; keys
starting with ``_`` are internal bookkeeping and never rendered. Every function
takes the base URL of the request (or ``Org.base_url`` for ground truth).
"""

from __future__ import annotations

from typing import Any


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored document without its internal (``_``-prefixed) keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _href(url: str, *allow: str, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"href": url, **extra}
    if allow:
        out["hints"] = {"allow": list(allow)}
    return out


def _lifecycle_links(href: str, status: str) -> dict[str, Any]:
    if status == "ACTIVE":
        return {"deactivate": _href(f"{href}/lifecycle/deactivate", "POST")}
    return {"activate": _href(f"{href}/lifecycle/activate", "POST")}


# ------------------------------------------------------------------ users


def render_factor(user_id: str, factor: dict[str, Any], base: str) -> dict[str, Any]:
    user_href = f"{base}/api/v1/users/{user_id}"
    href = f"{user_href}/factors/{factor['id']}"
    links: dict[str, Any] = {}
    if factor["status"] == "PENDING_ACTIVATION":
        links["activate"] = _href(f"{href}/lifecycle/activate", "POST")
    elif factor["factorType"] == "question":
        links["questions"] = _href(f"{user_href}/factors/questions", "GET")
    else:
        links["verify"] = _href(f"{href}/verify", "POST")
    links["self"] = _href(href, "GET", "DELETE")
    links["user"] = _href(user_href, "GET")
    return {**public(factor), "_links": links}


def render_role(user_id: str, role: dict[str, Any], base: str) -> dict[str, Any]:
    links: dict[str, Any] = {"assignee": _href(f"{base}/api/v1/users/{user_id}")}
    if role["type"] == "CUSTOM":
        rs, rid = role["resource-set"], role["role"]
        links["resource-set"] = _href(f"{base}/api/v1/iam/resource-sets/{rs}")
        links["role"] = _href(f"{base}/api/v1/iam/roles/{rid}")
        links["permissions"] = _href(f"{base}/api/v1/iam/roles/{rid}/permissions")
        links["member"] = _href(
            f"{base}/api/v1/iam/resource-sets/{rs}/bindings/{rid}/members/{role['_member']}"
        )
    return {**public(role), "_links": links}


def render_role_assignee(user_id: str, orn: str, base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/users/{user_id}"
    return {
        "id": user_id,
        "orn": orn,
        "_links": {"self": _href(href), "roles": _href(f"{href}/roles")},
    }


def render_user_client(user_id: str, app: dict[str, Any], base: str) -> dict[str, Any]:
    """An OAuth client as listed for a user (``/api/v1/users/{id}/clients``)."""
    client_id = app["credentials"]["oauthClient"]["client_id"]
    href = f"{base}/api/v1/users/{user_id}/clients/{client_id}"
    out: dict[str, Any] = {"client_id": client_id, "client_name": app["label"]}
    settings = (app.get("settings") or {}).get("oauthClient") or {}
    for key in ("client_uri", "logo_uri"):
        if settings.get(key):
            out[key] = settings[key]
    out["_links"] = {"grants": _href(f"{href}/grants"), "tokens": _href(f"{href}/tokens")}
    return out


def render_server_client(server_id: str, app: dict[str, Any], base: str) -> dict[str, Any]:
    """An OAuth client as listed for an authorization server."""
    client_id = app["credentials"]["oauthClient"]["client_id"]
    href = f"{base}/api/v1/authorizationServers/{server_id}/clients/{client_id}"
    out: dict[str, Any] = {"client_id": client_id, "client_name": app["label"]}
    settings = (app.get("settings") or {}).get("oauthClient") or {}
    for key in ("client_uri", "logo_uri"):
        if settings.get(key):
            out[key] = settings[key]
    out["_links"] = {"tokens": _href(f"{href}/tokens")}
    return out


def render_user_grant(
    grant: dict[str, Any],
    base: str,
    *,
    app_label: str,
    server_name: str,
    scope: dict[str, Any] | None,
    user_title: str,
    expand_scope: bool,
) -> dict[str, Any]:
    """A user's consent grant (``OAuth2ScopeConsentGrant``, source END_USER)."""
    server_id, app_id, uid = grant["_server"], grant["_app"], grant["userId"]
    aus = f"{base}/api/v1/authorizationServers/{server_id}"
    out = public(grant)
    out["issuer"] = f"{base}/oauth2/{server_id}"
    if expand_scope and scope is not None:
        embedded: dict[str, Any] = {"id": scope["id"], "name": scope["name"]}
        if scope.get("displayName"):
            embedded["displayName"] = scope["displayName"]
        embedded["description"] = scope.get("description", "")
        out["_embedded"] = {"scope": embedded}
    out["_links"] = {
        "app": _href(f"{base}/api/v1/apps/{app_id}", title=app_label),
        "authorizationServer": _href(aus, title=server_name),
        "scope": _href(
            f"{aus}/scopes/{grant['scopeId']}", title=(scope or {}).get("name", grant["scopeId"])
        ),
        "self": _href(f"{base}/api/v1/users/{uid}/grants/{grant['id']}", "GET", "DELETE"),
        "client": _href(f"{base}/oauth2/v1/clients/{grant['clientId']}", title=app_label),
        "user": _href(f"{base}/api/v1/users/{uid}", title=user_title),
        "issuer": _href(f"{aus}"),
    }
    return out


def render_app_grant(
    grant: dict[str, Any], base: str, *, app_label: str, expand_scope: bool
) -> dict[str, Any]:
    """An admin consent grant of an Okta API scope to an app (source ADMIN)."""
    app_id = grant["_app"]
    out = public(grant)
    out["issuer"] = base
    if expand_scope:
        out["_embedded"] = {"scope": {"id": grant["scopeId"]}}
    out["_links"] = {
        "app": _href(f"{base}/api/v1/apps/{app_id}", title=app_label),
        "self": _href(f"{base}/api/v1/apps/{app_id}/grants/{grant['id']}", "GET", "DELETE"),
        "client": _href(f"{base}/oauth2/v1/clients/{grant['clientId']}", title=app_label),
    }
    return out


# ---------------------------------------------------- authorization servers


def render_server_key(server_id: str, key: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/authorizationServers/{server_id}/credentials/keys/{key['kid']}"
    return {**public(key), "_links": {"self": _href(href, "GET")}}


def render_server_policy(server_id: str, policy: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/authorizationServers/{server_id}/policies/{policy['id']}"
    links = {
        "self": _href(href, "GET", "PUT", "DELETE"),
        **_lifecycle_links(href, policy["status"]),
        "rules": _href(f"{href}/rules", "GET"),
    }
    return {**public(policy), "_links": links}


def render_server_rule(
    server_id: str, policy_id: str, rule: dict[str, Any], base: str
) -> dict[str, Any]:
    href = f"{base}/api/v1/authorizationServers/{server_id}/policies/{policy_id}/rules/{rule['id']}"
    links = {"self": _href(href, "GET", "PUT", "DELETE"), **_lifecycle_links(href, rule["status"])}
    return {**public(rule), "_links": links}


def render_claim(server_id: str, claim: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/authorizationServers/{server_id}/claims/{claim['id']}"
    return {**public(claim), "_links": {"self": _href(href, "GET", "PUT", "DELETE")}}


# ------------------------------------------------------------- org level


def render_policy(policy: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/policies/{policy['id']}"
    links: dict[str, Any] = {
        "self": _href(href, "GET", "PUT", *(() if policy.get("system") else ("DELETE",))),
        **_lifecycle_links(href, policy["status"]),
        "rules": _href(f"{href}/rules", "GET", "POST"),
    }
    return {**public(policy), "_links": links}


def render_policy_rule(policy_id: str, rule: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/policies/{policy_id}/rules/{rule['id']}"
    links = {
        "self": _href(href, "GET", "PUT", "DELETE"),
        **_lifecycle_links(href, rule["status"]),
    }
    return {**public(rule), "_links": links}


def render_group_rule(rule: dict[str, Any], base: str) -> dict[str, Any]:
    return public(rule)


def render_simple(collection: str, doc: dict[str, Any], base: str) -> dict[str, Any]:
    """IdPs, zones, trusted origins, event/inline hooks: ``self`` plus lifecycle links."""
    href = f"{base}/api/v1/{collection}/{doc['id']}"
    links: dict[str, Any] = {}
    if collection == "idps":
        links["authorize"] = _href(
            f"{base}/oauth2/v1/authorize?idp={doc['id']}&client_id={{clientId}}"
            "&response_type={responseType}&response_mode={responseMode}&scope={scopes}"
            "&redirect_uri={redirectUri}&state={state}",
            "GET",
            templated=True,
        )
        links["clientRedirectUri"] = _href(f"{base}/oauth2/v1/authorize/callback", "POST")
        links.update(_lifecycle_links(href, doc["status"]))
        return {**public(doc), "_links": links}
    links["self"] = _href(href, "GET", "PUT", "DELETE")
    if collection == "eventHooks":
        links["verify"] = _href(f"{href}/lifecycle/verify", "POST")
    if collection == "inlineHooks":
        links["execute"] = _href(f"{href}/execute", "POST")
    links.update(_lifecycle_links(href, doc["status"]))
    return {**public(doc), "_links": links}


def render_api_token(token: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        **public(token),
        "_links": {
            "self": _href(f"{base}/api/v1/api-tokens/{token['id']}", "GET", "DELETE"),
            "user": _href(f"{base}/api/v1/users/{token['userId']}", "GET"),
        },
    }


def render_iam_role(role: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/iam/roles/{role['id']}"
    return {
        **public(role),
        "_links": {"permissions": _href(f"{href}/permissions"), "self": _href(href)},
    }


def _post(url: str) -> dict[str, Any]:
    return {"href": url, "method": "POST"}


def app_links(app: dict[str, Any], base: str, app_link_id: str) -> dict[str, Any]:
    app_id = app["id"]
    href = f"{base}/api/v1/apps/{app_id}"
    link_name = next(iter(app.get("visibility", {}).get("appLinks", {}) or {}), "login")
    links: dict[str, Any] = {
        "uploadLogo": _href(f"{href}/logo", hints={"allow": ["POST"]}),
        "appLinks": [
            {
                "name": link_name,
                "href": f"{base}/home/{app.get('name', 'app')}/{app_id}/{app_link_id}",
                "type": "text/html",
            }
        ],
        "groups": _href(f"{href}/groups"),
        "logo": [
            {"name": "medium", "href": f"{base}/assets/img/logos/default.png", "type": "image/png"}
        ],
        "users": _href(f"{href}/users"),
    }
    if app.get("status") == "ACTIVE":
        links["deactivate"] = _href(f"{href}/lifecycle/deactivate")
    else:
        links["activate"] = _href(f"{href}/lifecycle/activate")
    if app.get("signOnMode") in ("SAML_2_0", "SAML_1_1", "WS_FEDERATION"):
        links["metadata"] = _href(f"{href}/sso/saml/metadata", type="application/xml")
    return links


def render_app(app: dict[str, Any], base: str, app_link_id: str) -> dict[str, Any]:
    return {**app, "_links": app_links(app, base, app_link_id)}


# Lifecycle operations Okta advertises for a user in each status.
_USER_LIFECYCLE: dict[str, tuple[str, ...]] = {
    "ACTIVE": ("suspend", "resetPassword", "expirePassword", "deactivate"),
    "STAGED": ("activate", "deactivate"),
    "PROVISIONED": ("reactivate", "deactivate"),
    "SUSPENDED": ("unsuspend", "deactivate"),
    "LOCKED_OUT": ("unlock", "resetPassword", "deactivate"),
    "PASSWORD_EXPIRED": ("resetPassword", "deactivate"),
    "RECOVERY": ("resetPassword", "deactivate"),
    "DEPROVISIONED": ("activate", "delete"),
}

_LIFECYCLE_PATH = {
    "resetPassword": "reset_password",
    "expirePassword": "expire_password",
}


def user_links(user: dict[str, Any], base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/users/{user['id']}"
    links: dict[str, Any] = {}
    for op in _USER_LIFECYCLE.get(user.get("status", ""), ()):
        if op == "delete":
            links[op] = {"href": href, "method": "DELETE"}
        else:
            links[op] = _post(f"{href}/lifecycle/{_LIFECYCLE_PATH.get(op, op)}")
    if user.get("status") == "ACTIVE":
        links["changeRecoveryQuestion"] = _post(f"{href}/credentials/change_recovery_question")
        links["changePassword"] = _post(f"{href}/credentials/change_password")
    links["self"] = _href(href)
    type_id = (user.get("type") or {}).get("id")
    if type_id:
        links["type"] = _href(f"{base}/api/v1/meta/types/user/{type_id}")
    return links


def render_user(user: dict[str, Any], base: str) -> dict[str, Any]:
    return {**user, "_links": user_links(user, base)}


def render_group(
    group: dict[str, Any], base: str, stats: dict[str, Any] | None = None
) -> dict[str, Any]:
    href = f"{base}/api/v1/groups/{group['id']}"
    out = {
        **group,
        "_links": {
            "logo": [
                {
                    "name": "medium",
                    "href": f"{base}/img/logos/groups/okta-medium.png",
                    "type": "image/png",
                },
                {
                    "name": "large",
                    "href": f"{base}/img/logos/groups/okta-large.png",
                    "type": "image/png",
                },
            ],
            "users": _href(f"{href}/users"),
            "apps": _href(f"{href}/apps"),
        },
    }
    if stats is not None:
        out["_embedded"] = {"stats": {**stats, "_links": {"self": _href(f"{href}/stats")}}}
    return out


def render_app_user(
    app_id: str, assignment: dict[str, Any], base: str, user: dict[str, Any] | None = None
) -> dict[str, Any]:
    out = {
        **assignment,
        "_links": {
            "app": _href(f"{base}/api/v1/apps/{app_id}"),
            "user": _href(f"{base}/api/v1/users/{assignment['id']}"),
        },
    }
    if user is not None:
        out["_embedded"] = {"user": render_user(user, base)}
    return out


def render_app_group(
    app_id: str, assignment: dict[str, Any], base: str, group: dict[str, Any] | None = None
) -> dict[str, Any]:
    app_href = f"{base}/api/v1/apps/{app_id}"
    out = {
        **assignment,
        "_links": {
            "app": _href(app_href),
            "self": _href(f"{app_href}/groups/{assignment['id']}"),
            "group": _href(f"{base}/api/v1/groups/{assignment['id']}"),
        },
    }
    if group is not None:
        out["_embedded"] = {"group": render_group(group, base)}
    return out


def render_client(app: dict[str, Any], base: str) -> dict[str, Any]:
    """An OIDC app as the ``/oauth2/v1/clients/{clientId}`` resource (OAuth2Client)."""
    settings = (app.get("settings") or {}).get("oauthClient") or {}
    creds = (app.get("credentials") or {}).get("oauthClient") or {}
    client_id = creds.get("client_id", app["id"])
    href = f"{base}/oauth2/v1/clients/{client_id}"
    out: dict[str, Any] = {
        "client_id": client_id,
        "client_name": app.get("label"),
        "application_type": settings.get("application_type"),
        "redirect_uris": settings.get("redirect_uris", []),
        "response_types": settings.get("response_types", []),
        "grant_types": settings.get("grant_types", []),
        "token_endpoint_auth_method": creds.get("token_endpoint_auth_method"),
    }
    for key in ("client_uri", "logo_uri"):
        if settings.get(key):
            out[key] = settings[key]
    out["_links"] = {
        "self": _href(href),
        "grants": _href(f"{href}/grants"),
        "tokens": _href(f"{href}/tokens"),
    }
    return out
