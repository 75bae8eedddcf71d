"""Consent grants (users' and apps'), views of refresh tokens by user and client, app keys.

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _events
from ._appdefs import BodyError
from ._render import (
    render_app_grant,
    render_server_client,
    render_user_client,
)
from ._render import (
    render_user_grant as render_grant_doc,
)
from ._tokens import TokenUser
from ._util import TEN_YEARS, iso, parse_iso

if TYPE_CHECKING:
    from ._org import Org

# Token indexes looked at per app when deriving consent grants from refresh tokens (an app
# may have a million lazily generated tokens).
GRANT_SCAN = 400


def user_grant_docs(self: Org, user_id: str, client_id: str | None = None) -> list[dict[str, Any]]:
    return [
        g
        for g in self._user_grants.values()
        if g["userId"] == user_id and (client_id is None or g["clientId"] == client_id)
    ]


def render_user_grant(self: Org, grant: dict[str, Any], base: str, expand: bool) -> dict[str, Any]:
    server = self._servers[grant["_server"]]
    scope = next((s for s in server.scopes if s["id"] == grant["scopeId"]), None)
    user = self._users.get(grant["userId"])
    title = f"{user['profile'].get('firstName')} {user['profile'].get('lastName')}" if user else ""
    return render_grant_doc(
        grant,
        base,
        app_label=self._apps[grant["_app"]]["label"] if grant["_app"] in self._apps else "",
        server_name=server.name,
        scope=scope,
        user_title=title,
        expand_scope=expand,
    )


def user_grants(
    self: Org, user_id: str, *, client_id: str | None = None, expand_scope: bool = False
) -> list[dict[str, Any]]:
    """A user's consent grants (``/api/v1/users/{id}/grants``), oldest first."""
    base = self._base(None)
    return [
        render_user_grant(self, g, base, expand_scope)
        for g in user_grant_docs(self, user_id, client_id)
    ]


def add_user_grant(self: Org, grant: dict[str, Any]) -> None:
    self._user_grants[grant["id"]] = grant
    self.register(grant["id"])


def revoke_user_grants(self: Org, grant_ids: list[str], uri: str) -> None:
    if not grant_ids:
        return
    self.tick()
    for gid in grant_ids:
        grant = self._user_grants.pop(gid)
        user = self._users.get(grant["userId"])
        targets = [_events.ref(gid, "OAuth2ScopeConsentGrant", grant["scopeId"])]
        if user:
            targets.insert(0, _events.user_ref(user))
        app = self._apps.get(grant["_app"])
        if app:
            targets.append(_events.app_ref(app))
        self.log("app.oauth2.as.consent.revoke", targets, uri)


def app_grant_docs(self: Org, app_id: str) -> list[dict[str, Any]]:
    return [g for g in self._app_grants.values() if g["_app"] == app_id]


def app_grants(self: Org, app_id: str, *, expand_scope: bool = False) -> list[dict[str, Any]]:
    """Admin consent grants of Okta API scopes to an app (``/api/v1/apps/{id}/grants``)."""
    base = self._base(None)
    label = self._apps[app_id]["label"] if app_id in self._apps else ""
    return [
        render_app_grant(g, base, app_label=label, expand_scope=expand_scope)
        for g in app_grant_docs(self, app_id)
    ]


def add_app_grant(self: Org, grant: dict[str, Any]) -> None:
    self._app_grants[grant["id"]] = grant
    self.register(grant["id"])


def grant_app_consent(self: Org, app_id: str, body: Any, uri: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError("scopeId", "The field cannot be left blank.")
    scope_id, issuer = body.get("scopeId"), body.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise BodyError("issuer", "The field cannot be left blank.")
    if not isinstance(scope_id, str) or not scope_id.startswith("okta."):
        raise BodyError("scopeId", f"Invalid value {scope_id!r}.")
    app = self._apps[app_id]
    client = ((app.get("credentials") or {}).get("oauthClient") or {}).get("client_id")
    if not client:
        raise BodyError("appId", "The app is not an OAuth 2.0 client.")
    for g in app_grant_docs(self, app_id):
        if g["scopeId"] == scope_id:
            return g
    now = self.tick()
    grant = {
        "id": self.new_id("oag"),
        "status": "ACTIVE",
        "created": now,
        "createdBy": {"id": self.admin_id or "system", "type": "User"},
        "lastUpdated": now,
        "clientId": client,
        "scopeId": scope_id,
        "source": "ADMIN",
        "_app": app_id,
    }
    add_app_grant(self, grant)
    self.log(
        "app.oauth2.admin.consent.grant",
        [_events.app_ref(app), _events.ref(grant["id"], "OAuth2ScopeConsentGrant", scope_id)],
        uri,
    )
    return grant


def revoke_app_grant(self: Org, app_id: str, grant_id: str, uri: str) -> None:
    grant = self._app_grants.pop(grant_id)
    self.tick()
    self.log(
        "app.oauth2.admin.consent.revoke",
        [
            _events.app_ref(self._apps[app_id]),
            _events.ref(grant_id, "OAuth2ScopeConsentGrant", grant["scopeId"]),
        ],
        uri,
    )


def forget_app_grants(self: Org, app_id: str) -> None:
    """A deleted app's consent grants (its users' and its admin ones) go with it."""
    for store in (self._user_grants, self._app_grants):
        for gid in [g for g, doc in store.items() if doc["_app"] == app_id]:
            del store[gid]


def token_attrs(self: Org, app_id: str, index: int) -> tuple[str | None, str]:
    """(user id, authorization server id) of token ``index`` of an app."""
    tokens = self._tokens[app_id]
    user_idx, s_idx, _names, _created = tokens._attrs(index)
    user = tokens.users[user_idx].id if user_idx >= 0 else None
    return user, tokens.servers[s_idx].id


def active_token_indexes(
    self: Org, app_id: str, pred: Callable[[str | None, str], bool], stop_at_first: bool = False
) -> list[int]:
    """Indexes of the app's active tokens whose (user id, server id) satisfy ``pred``."""
    tokens = self._tokens.get(app_id)
    if tokens is None or tokens.all_revoked:
        return []
    out = []
    for i in range(tokens.count):
        if i in tokens.revoked:
            continue
        user, server = token_attrs(self, app_id, i)
        if pred(user, server):
            out.append(i)
            if stop_at_first:
                break
    return out


def oidc_app_docs(self: Org) -> list[dict[str, Any]]:
    return [a for a in self._apps.values() if a["id"] in self._tokens]


def user_client_app_docs(self: Org, user_id: str) -> list[dict[str, Any]]:
    """OAuth clients the user holds active refresh tokens or consent grants for."""
    granted = {g["_app"] for g in user_grant_docs(self, user_id)}
    out = []
    for app in oidc_app_docs(self):
        tokens = self._tokens[app["id"]]
        holds = any(u.id == user_id for u in tokens.users) and bool(
            active_token_indexes(self, app["id"], lambda u, _s: u == user_id, True)
        )
        if holds or app["id"] in granted:
            out.append(app)
    return out


def user_clients(self: Org, user_id: str) -> list[dict[str, Any]]:
    """``/api/v1/users/{id}/clients``: the OAuth clients of a user's tokens and grants."""
    base = self._base(None)
    return [render_user_client(user_id, a, base) for a in user_client_app_docs(self, user_id)]


def client_tokens(
    self: Org, client_id: str, *, user_id: str | None = None, server_id: str | None = None
) -> list[dict[str, Any]]:
    """One client's active refresh tokens, in creation order: a user's, or one server's."""
    app = app_for_client_id(self, client_id)
    if app is None:
        return []
    base = self._base(None)
    tokens = self._tokens[app["id"]]
    return [
        tokens.render(i, base, app["label"], False)
        for i in active_token_indexes(
            self, app["id"], lambda u, s: user_id in (None, u) and server_id in (None, s)
        )
    ]


def app_for_client_id(self: Org, client_id: str) -> dict[str, Any] | None:
    for app in oidc_app_docs(self):
        if app["credentials"]["oauthClient"]["client_id"] == client_id:
            return app
    return None


def server_client_app_docs(self: Org, server_id: str) -> list[dict[str, Any]]:
    return [
        a
        for a in oidc_app_docs(self)
        if active_token_indexes(self, a["id"], lambda _u, s: s == server_id, True)
    ]


def server_clients(self: Org, server_id: str) -> list[dict[str, Any]]:
    """``/api/v1/authorizationServers/{id}/clients``: clients holding its refresh tokens."""
    base = self._base(None)
    return [
        render_server_client(server_id, a, base) for a in server_client_app_docs(self, server_id)
    ]


def revoke_token_indexes(self: Org, app_id: str, indexes: list[int], uri: str) -> None:
    """Revoke tokens and log one ``app.oauth2.token.revoke`` per token."""
    if not indexes:
        return
    tokens = self._tokens[app_id]
    app = self._apps[app_id]
    self.tick()
    for i in indexes:
        user_id, _server = token_attrs(self, app_id, i)
        tokens.revoke(i)
        log_token_revoke(self, app, tokens.token_id(i), user_id, uri)


def log_token_revoke(
    self: Org, app: dict[str, Any], token_id: str | None, user_id: str | None, uri: str
) -> None:
    targets = []
    if token_id:
        targets.append(_events.ref(token_id, "RefreshToken", "Refresh Token"))
    targets.append(_events.app_ref(app))
    if user_id and user_id in self._users:
        targets.append(_events.user_ref(self._users[user_id]))
    self.log("app.oauth2.token.revoke", targets, uri)


def refresh_token_titles(self: Org, user_id: str) -> None:
    """Keep tokens' ``_links.user.title`` in step with a renamed user."""
    user = self._users[user_id]
    title = f"{user['profile'].get('firstName') or ''} {user['profile'].get('lastName') or ''}"
    for tokens in self._tokens.values():
        if any(u.id == user_id for u in tokens.users):
            tokens.users = tuple(
                TokenUser(u.id, title.strip()) if u.id == user_id else u for u in tokens.users
            )


def app_key_docs(self: Org, app_id: str) -> list[dict[str, Any]]:

    app = self._apps[app_id]
    kid = ((app.get("credentials") or {}).get("signing") or {}).get("kid")
    return [app_key(app, kid)] if kid else []


def app_keys(self: Org, app_id: str) -> list[dict[str, Any]]:
    """An app's signing keys (``/api/v1/apps/{id}/credentials/keys``)."""
    return [dict(k) for k in app_key_docs(self, app_id)]


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def rsa_public_parts(seed: str) -> tuple[str, str, str]:
    """(n, x5c certificate, x5t#S256) that look like a 2048-bit RSA key, derived from ``seed``."""
    rng = random.Random(seed)
    modulus = bytes([0xC0 | rng.getrandbits(6)]) + rng.randbytes(255)
    der = b"\x30\x82\x03\x9c" + rng.randbytes(460) + modulus + b"\x02\x03\x01\x00\x01"
    return (
        _b64url(modulus),
        base64.b64encode(der).decode(),
        _b64url(hashlib.sha256(der).digest()),
    )


def app_key(app: dict[str, Any], kid: str) -> dict[str, Any]:
    """The signing key (``JsonWebKey``) of an app, derived from its ``kid``."""
    n, x5c, x5t = rsa_public_parts(kid)
    created = app["created"]
    return {
        "created": created,
        "lastUpdated": created,
        "expiresAt": iso(parse_iso(created) + TEN_YEARS),
        "x5c": [x5c],
        "e": "AQAB",
        "n": n,
        "kid": kid,
        "kty": "RSA",
        "use": "sig",
        "x5t#S256": x5t,
    }
