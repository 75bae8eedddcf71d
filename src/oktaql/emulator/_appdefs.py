"""Okta application documents: defaults per sign-on mode and body validation.

Shared by the seeded org and by ``POST``/``PUT /api/v1/apps`` so that an app
created through the API looks exactly like a seeded one of the same kind.
"""

from __future__ import annotations

import random
import re
from typing import Any

from ._util import ALNUM, deep_merge

SIGN_ON_MODES = (
    "AUTO_LOGIN",
    "BASIC_AUTH",
    "BOOKMARK",
    "BROWSER_PLUGIN",
    "OPENID_CONNECT",
    "SAML_1_1",
    "SAML_2_0",
    "SECURE_PASSWORD_STORE",
    "WS_FEDERATION",
)

# Properties a client may set on create/replace; everything else (id, status,
# created, lastUpdated, orn, features, _links, _embedded) is read-only.
WRITABLE = ("label", "accessibility", "visibility", "credentials", "settings", "profile")

# Okta needs a client secret only for these token endpoint auth methods.
_SECRET_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")


class BodyError(ValueError):
    """A create/replace body fails validation; ``field`` names the culprit."""

    def __init__(self, field: str, cause: str):
        self.field = field
        self.cause = cause
        super().__init__(f"{field}: {cause}")


def slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", label.lower()) or "app"


def _notifications() -> dict[str, Any]:
    return {"vpn": {"network": {"connection": "DISABLED"}, "message": None, "helpUrl": None}}


def _oidc_client_settings(label: str, app_type: str) -> dict[str, Any]:
    host = f"https://{slug(label)}.example.com"
    if app_type == "service":
        return {
            "response_types": ["token"],
            "grant_types": ["client_credentials"],
            "application_type": "service",
        }
    if app_type == "native":
        redirect = [f"com.example.{slug(label)}:/callback"]
        logout = [f"com.example.{slug(label)}:/logout"]
    elif app_type == "browser":
        redirect = ["http://localhost:8080/login/callback"]
        logout = ["http://localhost:8080"]
    else:
        redirect = [f"{host}/authorization-code/callback"]
        logout = [host]
    return {
        "redirect_uris": redirect,
        "post_logout_redirect_uris": logout,
        "response_types": ["code"],
        "grant_types": ["authorization_code", "refresh_token"],
        "application_type": app_type,
        "consent_method": "TRUSTED",
        "issuer_mode": "DYNAMIC",
        "idp_initiated_login": {"mode": "DISABLED", "default_scope": []},
        "wildcard_redirect": "DISABLED",
        "dpop_bound_access_tokens": False,
    }


def default_app(
    *,
    org_id: str,
    app_id: str,
    label: str,
    sign_on_mode: str,
    status: str,
    timestamp: str,
    kid: str,
    name: str | None = None,
    oidc_type: str = "web",
) -> dict[str, Any]:
    """A complete app document (without ``_links``) with Okta's defaults."""
    if name is None:
        if sign_on_mode == "OPENID_CONNECT":
            name = "oidc_client"
        elif sign_on_mode == "BOOKMARK":
            name = "bookmark"
        else:
            name = f"emulatororg_{slug(label)}_1"
    link_name = {"OPENID_CONNECT": "oidc_client_link", "BOOKMARK": "login"}.get(
        sign_on_mode, f"{name}_link"
    )
    hidden = sign_on_mode == "OPENID_CONNECT"
    settings: dict[str, Any] = {
        "app": {},
        "notifications": _notifications(),
        "manualProvisioning": False,
        "implicitAssignment": False,
        "notes": {"admin": None, "enduser": None},
        "emOptInStatus": "DISABLED",
    }
    credentials: dict[str, Any] = {
        "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
        "signing": {"kid": kid} if sign_on_mode != "BOOKMARK" else {},
    }
    if sign_on_mode == "OPENID_CONNECT":
        public = oidc_type in ("native", "browser")
        credentials["oauthClient"] = {
            "autoKeyRotation": True,
            "client_id": app_id,
            "token_endpoint_auth_method": "none" if public else "client_secret_basic",
            "pkce_required": public,
        }
        settings["oauthClient"] = _oidc_client_settings(label, oidc_type)
    elif sign_on_mode == "BOOKMARK":
        settings["app"] = {
            "requestIntegration": False,
            "url": f"https://{slug(label)}.example.com/",
        }
    elif sign_on_mode in ("SAML_2_0", "SAML_1_1"):
        acs = f"https://{slug(label)}.example.com/saml/acs"
        settings["signOn"] = {
            "defaultRelayState": None,
            "ssoAcsUrl": acs,
            "idpIssuer": "http://www.okta.com/${org.externalKey}",
            "audience": f"https://{slug(label)}.example.com/saml/metadata",
            "recipient": acs,
            "destination": acs,
            "subjectNameIdTemplate": "${user.userName}",
            "subjectNameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            "responseSigned": True,
            "assertionSigned": True,
            "signatureAlgorithm": "RSA_SHA256",
            "digestAlgorithm": "SHA256",
            "honorForceAuthn": True,
            "authnContextClassRef": (
                "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
            ),
            "attributeStatements": [],
            # required by the spec's SamlApplicationSettingsSignOn
            "allowMultipleAcsEndpoints": False,
            "requestCompressed": False,
        }
    return {
        "id": app_id,
        "orn": f"orn:okta:idp:{org_id}:apps:{name}:{app_id}",
        "name": name,
        "label": label,
        "status": status,
        "lastUpdated": timestamp,
        "created": timestamp,
        # the spec declares these URLs non-nullable: unset ones are left out, not null
        "accessibility": {"selfService": False},
        "visibility": {
            "autoLaunch": False,
            "autoSubmitToolbar": False,
            "hide": {"iOS": hidden, "web": hidden},
            "appLinks": {link_name: True},
        },
        "features": [],
        "signOnMode": sign_on_mode,
        "credentials": credentials,
        "settings": settings,
    }


def validate_body(body: Any, existing: dict[str, Any] | None = None) -> tuple[str, str]:
    """Check a create/replace body; returns ``(signOnMode, label)``.

    Okta requires ``signOnMode`` and ``label`` (schema ``Application``), and
    does not let a replace change an app's sign-on mode.
    """
    if not isinstance(body, dict):
        raise BodyError("body", "The request body must be a JSON object.")
    mode = body.get("signOnMode")
    if mode is None or mode == "":
        raise BodyError("signOnMode", "The field cannot be left blank.")
    if not isinstance(mode, str) or mode not in SIGN_ON_MODES:
        raise BodyError("signOnMode", f"Invalid value {mode!r}.")
    label = body.get("label")
    if label is None or (isinstance(label, str) and not label.strip()):
        raise BodyError("label", "The field cannot be left blank.")
    if not isinstance(label, str):
        raise BodyError("label", "The field must be a string.")
    if len(label) > 100:
        raise BodyError("label", "The field must be at most 100 characters long.")
    for key in ("accessibility", "visibility", "credentials", "settings", "profile"):
        if key in body and body[key] is not None and not isinstance(body[key], dict):
            raise BodyError(key, "The field must be a JSON object.")
    if existing is not None and mode != existing["signOnMode"]:
        raise BodyError("signOnMode", "The sign-on mode of an existing app cannot be changed.")
    if mode == "OPENID_CONNECT":
        client = ((body.get("settings") or {}).get("oauthClient")) or {}
        grants = client.get("grant_types")
        if grants is not None and (
            not isinstance(grants, list) or not all(isinstance(g, str) for g in grants)
        ):
            raise BodyError("grant_types", "The field must be a list of strings.")
    return mode, label


def apply_body(app: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Overlay the writable properties of ``body`` on the app's defaults.

    The OIDC ``client_id`` is immutable (it equals the app id unless the
    creator chose one), so it is restored after the merge.
    """
    out = dict(app)
    for key in WRITABLE:
        if key in body and body[key] is not None:
            value = body[key]
            out[key] = deep_merge(out[key], value) if isinstance(out.get(key), dict) else value
    oauth = (app.get("credentials") or {}).get("oauthClient")
    if oauth is not None:
        new_oauth = dict(out["credentials"].get("oauthClient") or {})
        new_oauth.pop("client_secret", None)  # never stored in the document
        new_oauth["client_id"] = oauth["client_id"]
        out["credentials"] = {**out["credentials"], "oauthClient": new_oauth}
    return out


def needs_secret(app: dict[str, Any]) -> bool:
    oauth = (app.get("credentials") or {}).get("oauthClient") or {}
    return oauth.get("token_endpoint_auth_method") in _SECRET_METHODS


def new_secret(rng: random.Random) -> str:
    return "".join(rng.choice(ALNUM + "-_") for _ in range(64))
