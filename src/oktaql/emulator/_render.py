"""Turn stored resources into Okta's JSON shape for a given base URL.

Resources are stored without ``_links`` because Okta's links are absolute
URLs and the emulator builds them from each request's base URL (a client that
connects to ``localhost`` sees ``localhost`` links). Rendering adds them.
"""

from __future__ import annotations

from typing import Any


def _href(url: str, **extra: Any) -> dict[str, Any]:
    return {"href": url, **extra}


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
