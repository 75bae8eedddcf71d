"""Lazily generated OAuth 2.0 refresh tokens of one OIDC app.

An app may be configured with a million tokens (memory benchmark), so no
per-token state is kept: token ``i`` is a pure function of the app's key and
``i``. Token ids are an invertible scramble of ``i`` (see
:class:`~oktaql.emulator._util.IdPermutation`), so a list cursor (the last id
returned) maps back to an index in O(1) and every page costs O(page size).

Revocation is recorded as a small override: a set of revoked indexes plus an
``all_revoked`` flag for "revoke all". Revoked tokens are not listed and are
404 on GET/DELETE, mirroring Okta, which stops returning revoked refresh
tokens.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ._util import BASE_EPOCH, DAY, IdPermutation, b62_encode, iso, mix64

# Token lifetime reported in ``expiresAt`` (Okta's default refresh-token policy
# allows up to 90 days of use).
TOKEN_LIFETIME = 90 * DAY
# Seeded tokens are spread over this window after the app's creation.
TOKEN_WINDOW = 300 * DAY
# Rendered pages kept per app: 32 pages of 200 (6.4 MB) cover benchmark 1's 5,000 tokens.
PAGES_KEPT = 32


@dataclass
class AuthServer:
    """A custom authorization server and its scopes (in Okta's list order)."""

    id: str
    name: str
    description: str
    audiences: list[str]
    created: str
    kid: str
    scopes: list[dict[str, Any]] = field(default_factory=list)
    status: str = "ACTIVE"
    last_updated: str = ""  # set by a write through the API; else ``created``

    def scope(self, name: str) -> dict[str, Any] | None:
        for scope in self.scopes:
            if scope["name"] == name:
                return scope
        return None


@dataclass(frozen=True)
class TokenUser:
    id: str
    title: str  # "First Last", used as the ``_links.user.title``


class TokenSet:
    """The refresh tokens of one app (see module docstring)."""

    def __init__(
        self,
        app_id: str,
        client_id: str,
        key: int,
        count: int,
        users: Sequence[TokenUser],
        servers: Sequence[AuthServer],
        created_epoch: int,
    ):
        self.app_id = app_id
        self.client_id = client_id
        self.key = key
        self.count = count
        self.users = tuple(users)
        self.servers = tuple(servers)
        self.revoked: set[int] = set()
        self.all_revoked = False
        self._pages: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._perm = IdPermutation(key)
        self._prefix = "oar" + b62_encode(mix64(key ^ 0xA5A5) % 62**5, 5)
        # Creation times are increasing with the index so that list order is
        # also chronological, and stay inside TOKEN_WINDOW whatever the count.
        self._spacing = max(1, min(6 * 3600, TOKEN_WINDOW // max(count, 1)))
        self._created0 = created_epoch + 3600
        # Per-server scope choices: "offline_access" and "openid" are always
        # granted (a refresh token implies offline_access), the rest optional.
        self._scope_names: dict[tuple[int, int], tuple[str, ...]] = {}
        self._optional = [
            [s["name"] for s in srv.scopes if s["name"] not in ("offline_access", "openid")]
            for srv in self.servers
        ]

    # ---------------------------------------------------------------- identity

    def token_id(self, index: int) -> str:
        return self._prefix + self._perm.encode(index)

    def index_of(self, token_id: str) -> int | None:
        """Index of ``token_id`` if it names one of this app's tokens (any status)."""
        if len(token_id) != 20 or not token_id.startswith(self._prefix):
            return None
        index = self._perm.decode(token_id[8:])
        if index is None or index >= self.count:
            return None
        return index

    def is_active(self, index: int) -> bool:
        return not self.all_revoked and 0 <= index < self.count and index not in self.revoked

    def active_count(self) -> int:
        return 0 if self.all_revoked else self.count - len(self.revoked)

    # --------------------------------------------------------------- mutation

    def scopes_changed(self) -> None:
        """A server's scopes were edited: derive the tokens' scope names and pages afresh."""
        self._scope_names.clear()
        self._pages.clear()

    def revoke(self, index: int) -> None:
        self.revoked.add(index)

    def revoke_all(self) -> None:
        self.all_revoked = True
        self.revoked.clear()

    # ------------------------------------------------------------- pagination

    def page(self, start: int, limit: int) -> tuple[list[int], bool]:
        """Up to ``limit`` active indexes from ``start``; plus whether more follow.

        Cost is O(limit + number of revoked tokens), never O(count).
        """
        if self.all_revoked or start >= self.count:
            return [], False
        out: list[int] = []
        i = start
        revoked = self.revoked
        while i < self.count and len(out) < limit:
            if i not in revoked:
                out.append(i)
            i += 1
        if i >= self.count:
            return out, False
        remaining_revoked = sum(1 for r in revoked if r >= i) if revoked else 0
        return out, (self.count - i) > remaining_revoked

    # -------------------------------------------------------------- rendering

    def _attrs(self, index: int) -> tuple[int, int, tuple[str, ...], int]:
        """(user index or -1, server index, scope names, created epoch) of token ``index``."""
        h = mix64(self.key ^ (index * 0x9E3779B1))
        user_idx = h % len(self.users) if self.users else -1
        s_idx = (h >> 16) % len(self.servers)
        # Two bits per optional scope: the first two (profile, email) are
        # granted half of the time, the others a quarter of the time.
        mask = h >> 24
        chosen = 0
        for bit in range(len(self._optional[s_idx])):
            if ((mask >> (2 * bit)) & 3) < (2 if bit < 2 else 1):
                chosen |= 1 << bit
        names = self._scope_names.get((s_idx, chosen))
        if names is None:
            picked = {n for bit, n in enumerate(self._optional[s_idx]) if chosen >> bit & 1}
            names = tuple(
                s["name"]
                for s in self.servers[s_idx].scopes
                if s["name"] in ("offline_access", "openid") or s["name"] in picked
            )
            self._scope_names[(s_idx, chosen)] = names
        created = self._created0 + index * self._spacing + (h >> 40) % self._spacing
        return user_idx, s_idx, names, created

    def render(self, index: int, base: str, app_label: str, expand_scope: bool) -> dict[str, Any]:
        """The token in Okta's JSON shape, links built from ``base``."""
        user_idx, s_idx, scope_names, created = self._attrs(index)
        user = self.users[user_idx] if user_idx >= 0 else None
        server = self.servers[s_idx]
        tid = self.token_id(index)
        app_href = f"{base}/api/v1/apps/{self.app_id}"
        self_href = f"{app_href}/tokens/{tid}"
        aus_href = f"{base}/api/v1/authorizationServers/{server.id}"
        created_s = iso(created)
        token: dict[str, Any] = {
            "id": tid,
            "status": "ACTIVE",
            "created": created_s,
            "lastUpdated": created_s,
            "expiresAt": iso(created + TOKEN_LIFETIME),
            "issuer": f"{base}/oauth2/{server.id}",
            "clientId": self.client_id,
            "userId": user.id if user else None,
            "scopes": list(scope_names),
        }
        if expand_scope:
            token["_embedded"] = {
                "scopes": [embedded_scope(server, server.scope(n), base) for n in scope_names]
            }
        links: dict[str, Any] = {
            "app": {"href": app_href, "title": app_label},
            "self": {"href": self_href},
            "revoke": {"href": self_href, "hints": {"allow": ["DELETE"]}},
            "client": {"href": f"{base}/oauth2/v1/clients/{self.client_id}", "title": app_label},
        }
        if user is not None:
            links["user"] = {"href": f"{base}/api/v1/users/{user.id}", "title": user.title}
        links["authorizationServer"] = {"href": aus_href, "title": server.name}
        token["_links"] = links
        return token

    def render_json(
        self, indexes: list[int], base: str, app_label: str, expand_scope: bool
    ) -> bytes:
        """The JSON array of tokens ``indexes``, byte-for-byte ``dumps([render(i) ...])``.

        The hot path of every benchmark: instead of building and encoding
        nested dicts per token, fill a template whose constant pieces (links,
        issuer, scope lists) are JSON-encoded once per page. The last pages
        served are kept as bytes, so re-reading them costs the emulator almost
        nothing and a benchmark measures the client, not this server. The key
        holds everything a page's bytes depend on that can change (which tokens
        are active decides ``indexes``; servers can be renamed); expanded scopes
        are never kept, as a server's scopes can be edited.
        """
        key = (tuple(indexes), base, app_label, tuple(s.name for s in self.servers))
        if not expand_scope:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return cached
        body = self._render_json(indexes, base, app_label, expand_scope)
        if not expand_scope:
            self._pages[key] = body
            if len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        return body

    def _render_json(
        self, indexes: list[int], base: str, app_label: str, expand_scope: bool
    ) -> bytes:
        enc = _compact
        app_href = f"{base}/api/v1/apps/{self.app_id}"
        head = '{"id":"'
        app_link = enc({"href": app_href, "title": app_label})
        client = enc(self.client_id)
        client_link = enc(
            {"href": f"{base}/oauth2/v1/clients/{self.client_id}", "title": app_label}
        )
        self_prefix = enc(app_href + "/tokens/")[:-1]  # open string, id appended
        users = [
            (enc(u.id), enc({"href": f"{base}/api/v1/users/{u.id}", "title": u.title}))
            for u in self.users
        ]
        servers = [
            (
                enc(f"{base}/oauth2/{srv.id}"),
                enc({"href": f"{base}/api/v1/authorizationServers/{srv.id}", "title": srv.name}),
            )
            for srv in self.servers
        ]
        scope_cache: dict[tuple[int, tuple[str, ...]], str] = {}
        parts = []
        for index in indexes:
            user_idx, s_idx, names, created = self._attrs(index)
            tid = self.token_id(index)
            created_s = iso(created)
            issuer, aus_link = servers[s_idx]
            scopes = scope_cache.get((s_idx, names))
            if scopes is None:
                scopes = enc(list(names))
                if expand_scope:
                    srv = self.servers[s_idx]
                    embedded = [embedded_scope(srv, srv.scope(n), base) for n in names]
                    scopes += ',"_embedded":' + enc({"scopes": embedded})
                scope_cache[(s_idx, names)] = scopes
            if user_idx >= 0:
                user_id, user_link = users[user_idx]
                user_part = f'"user":{user_link},'
            else:
                user_id, user_part = "null", ""
            self_href = f'{self_prefix}{tid}"'
            parts.append(
                f'{head}{tid}","status":"ACTIVE","created":"{created_s}",'
                f'"lastUpdated":"{created_s}","expiresAt":"{iso(created + TOKEN_LIFETIME)}",'
                f'"issuer":{issuer},"clientId":{client},"userId":{user_id},"scopes":{scopes},'
                f'"_links":{{"app":{app_link},"self":{{"href":{self_href}}},'
                f'"revoke":{{"href":{self_href},"hints":{{"allow":["DELETE"]}}}},'
                f'"client":{client_link},{user_part}"authorizationServer":{aus_link}}}}}'
            )
        return ("[" + ",".join(parts) + "]").encode("utf-8")


def _compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def embedded_scope(server: AuthServer, scope: dict[str, Any] | None, base: str) -> dict[str, Any]:
    """A scope as embedded in a token with ``expand=scope`` (OAuth2RefreshTokenScope)."""
    assert scope is not None  # token scopes are always drawn from the server's scopes
    out: dict[str, Any] = {"id": scope["id"], "name": scope["name"]}
    if scope.get("displayName"):
        out["displayName"] = scope["displayName"]
    out["description"] = scope["description"]
    out["_links"] = {
        "scope": {
            "href": f"{base}/api/v1/authorizationServers/{server.id}/scopes/{scope['id']}",
            "title": scope.get("displayName") or scope["name"],
        }
    }
    return out


def render_scope(server_id: str, scope: dict[str, Any], base: str) -> dict[str, Any]:
    """A scope as returned by the authorization-server scopes API (OAuth2Scope)."""
    href = f"{base}/api/v1/authorizationServers/{server_id}/scopes/{scope['id']}"
    return {
        **scope,
        "_links": {"self": {"href": href, "hints": {"allow": ["GET", "PUT", "DELETE"]}}},
    }


def render_auth_server(server: AuthServer, base: str) -> dict[str, Any]:
    href = f"{base}/api/v1/authorizationServers/{server.id}"
    issuer = f"{base}/oauth2/{server.id}"

    def get(url: str) -> dict[str, Any]:
        return {"href": url, "hints": {"allow": ["GET"]}}

    return {
        "id": server.id,
        "name": server.name,
        "description": server.description,
        "audiences": list(server.audiences),
        "issuer": issuer,
        "issuerMode": "ORG_URL",
        "status": server.status,
        "created": server.created,
        "lastUpdated": server.last_updated or server.created,
        "credentials": {
            "signing": {
                "rotationMode": "AUTO",
                "lastRotated": server.created,
                "nextRotation": iso(BASE_EPOCH + 200 * DAY),
                "kid": server.kid,
                "use": "sig",
            }
        },
        "_links": {
            "scopes": get(f"{href}/scopes"),
            "claims": get(f"{href}/claims"),
            "policies": get(f"{href}/policies"),
            "self": {"href": href, "hints": {"allow": ["GET", "DELETE", "PUT"]}},
            "metadata": [
                {
                    "name": "oauth-authorization-server",
                    **get(f"{issuer}/.well-known/oauth-authorization-server"),
                },
                {
                    "name": "openid-configuration",
                    **get(f"{issuer}/.well-known/openid-configuration"),
                },
            ],
        },
    }
