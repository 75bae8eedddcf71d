"""The org beyond apps/users/groups/tokens: state, ground truth and mutations.

:class:`OrgMore` is a mixin of :class:`~oktaql.emulator._org.Org`; ``_seed_more`` fills it.
It holds the users' factors and admin role assignments, consent grants (users' and apps'),
the authorization servers' policies/rules/claims/keys, org policies and their rules, group
rules, identity providers, network zones, trusted origins, event and inline hooks, API
tokens, custom admin roles and the System Log.

Mutations made through the API are stamped with the org's logical clock (``tick``) and
write System Log events whose actor is the owner of the emulator's API token (the seeded
super administrator), so the log always tells what the org went through.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import _events
from ._appdefs import BodyError
from ._http import OktaError
from ._render_more import (
    render_api_token,
    render_app_grant,
    render_claim,
    render_factor,
    render_group_rule,
    render_iam_role,
    render_policy,
    render_policy_rule,
    render_role,
    render_role_assignee,
    render_server_client,
    render_server_key,
    render_server_policy,
    render_server_rule,
    render_simple,
    render_user_client,
    render_user_grant,
)
from ._route_helpers import obj
from ._tokens import TokenUser
from ._util import iso

if TYPE_CHECKING:
    from . import EmulatorConfig
    from ._tokens import AuthServer, TokenSet

# The simple org-level collections: attribute of OrgMore → (URL segment, Okta type name).
SIMPLE_KINDS = {
    "idps": ("idps", "IdentityProvider"),
    "zones": ("zones", "NetworkZone"),
    "origins": ("trustedOrigins", "TrustedOrigin"),
    "event_hooks": ("eventHooks", "EventHook"),
    "inline_hooks": ("inlineHooks", "InlineHook"),
}

# Okta's standard admin roles: type → label.
STANDARD_ROLES = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organization Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "Group Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read Only Administrator",
    "MOBILE_ADMIN": "Mobile Administrator",
    "API_ACCESS_MANAGEMENT_ADMIN": "API Access Management Administrator",
    "REPORT_ADMIN": "Report Administrator",
    "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
}

# Users' profile attributes Okta's default user schema requires.
REQUIRED_PROFILE = ("firstName", "lastName", "email", "login")

# Token indexes looked at per app when deriving consent grants from refresh tokens (an app
# may have a million lazily generated tokens).
GRANT_SCAN = 400


def _status_error(op: str, status: str) -> OktaError:
    return OktaError(
        403,
        "E0000038",
        "This operation is not allowed in the user's current status.",
        [f"{op}: not allowed for a user whose status is {status}."],
    )


class OrgMore:
    """Mixin of ``Org`` (see module docstring)."""

    if TYPE_CHECKING:  # provided by Org
        config: EmulatorConfig
        org_id: str
        _rng: random.Random
        _clock: int
        _apps: dict[str, dict[str, Any]]
        _users: dict[str, dict[str, Any]]
        _logins: dict[str, str]
        _groups: dict[str, dict[str, Any]]
        _members: dict[str, list[str]]
        _app_users: dict[str, dict[str, dict[str, Any]]]
        _app_groups: dict[str, dict[str, dict[str, Any]]]
        _tokens: dict[str, TokenSet]
        _servers: dict[str, AuthServer]

        def register(self, resource_id: str) -> None: ...
        def seq_of(self, resource_id: str) -> int | None: ...
        def tick(self) -> str: ...
        def new_id(self, prefix: str) -> str: ...
        def _base(self, base_url: str | None) -> str: ...
        def user_doc(self, id_or_login: str) -> dict[str, Any] | None: ...
        def server(self, server_id: str) -> AuthServer | None: ...
        def render_app(self, app: dict[str, Any], base: str) -> dict[str, Any]: ...

    def _init_more(self) -> None:
        self._factors: dict[str, dict[str, dict[str, Any]]] = {}  # user → factor id → doc
        self._roles: dict[str, dict[str, dict[str, Any]]] = {}  # user → assignment id → doc
        self._user_grants: dict[str, dict[str, Any]] = {}  # grant id → doc
        self._app_grants: dict[str, dict[str, Any]] = {}  # grant id → doc
        self._as_policies: dict[str, dict[str, dict[str, Any]]] = {}  # server → id → doc
        self._as_rules: dict[str, dict[str, dict[str, Any]]] = {}  # policy id → id → doc
        self._claims: dict[str, dict[str, dict[str, Any]]] = {}  # server → id → doc
        self._as_keys: dict[str, list[dict[str, Any]]] = {}  # server → keys
        self._policies: dict[str, dict[str, Any]] = {}
        self._policy_rules: dict[str, dict[str, dict[str, Any]]] = {}  # policy → id → doc
        self._group_rules: dict[str, dict[str, Any]] = {}
        self._rule_added: dict[str, set[tuple[str, str]]] = {}  # rule → {(group, user)}
        self.idps_store: dict[str, dict[str, Any]] = {}
        self.zones_store: dict[str, dict[str, Any]] = {}
        self.origins_store: dict[str, dict[str, Any]] = {}
        self.event_hooks_store: dict[str, dict[str, Any]] = {}
        self.inline_hooks_store: dict[str, dict[str, Any]] = {}
        self._api_tokens: dict[str, dict[str, Any]] = {}
        self._iam_roles: dict[str, dict[str, Any]] = {}
        self._resource_sets: dict[str, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._event_pos: dict[str, int] = {}
        self.admin_id: str | None = None  # owner of the emulator's API token
        self._admin_ref: dict[str, Any] = dict(_events.SYSTEM_ACTOR)

    # ============================================================ helpers

    def now(self) -> str:
        """The logical clock's current time (``tick`` advances it)."""
        return iso(self._clock)

    def simple_store(self, kind: str) -> dict[str, dict[str, Any]]:
        store: dict[str, dict[str, Any]] = getattr(self, f"{kind}_store")
        return store

    def actor(self) -> dict[str, Any]:
        """Who the API acts as in the System Log: the API token's owner."""
        if self.admin_id and self.admin_id in self._users:
            self._admin_ref = _events.user_ref(self._users[self.admin_id])
        return dict(self._admin_ref)

    def log(
        self,
        event_type: str,
        targets: Iterable[dict[str, Any]],
        uri: str,
        *,
        published: str | None = None,
        actor: dict[str, Any] | None = None,
        result: str = "SUCCESS",
        reason: str | None = None,
    ) -> dict[str, Any]:
        """Append an event written by an API mutation (runtime id stream, logical clock)."""
        event = _events.build_event(
            self._rng,
            event_type=event_type,
            published=published or self.now(),
            actor=actor or self.actor(),
            targets=list(targets),
            request_uri=uri,
            browser=False,
            result=result,
            reason=reason,
        )
        self.add_event(event)
        return event

    def add_event(self, event: dict[str, Any]) -> None:
        self._event_pos[event["uuid"]] = len(self._events)
        self._events.append(event)

    # ============================================================ log

    def event_docs(self) -> list[dict[str, Any]]:
        return self._events

    def event_position(self, uuid: str) -> int | None:
        return self._event_pos.get(uuid)

    @property
    def log_events(self) -> list[dict[str, Any]]:
        """Every System Log event, in ascending ``published`` order (as ``/api/v1/logs``)."""
        return [dict(e) for e in self._events]

    def log_events_between(
        self, since: str | None = None, until: str | None = None
    ) -> list[dict[str, Any]]:
        """Events with ``since <= published < until`` (ISO strings in Okta's format)."""
        return [
            dict(e)
            for e in self._events
            if (since is None or e["published"] >= since)
            and (until is None or e["published"] < until)
        ]

    # ============================================================ factors

    def factor_docs(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._factors.get(user_id, {}).values())

    def factors(self, user_id: str) -> list[dict[str, Any]]:
        """A user's enrolled factors (``/api/v1/users/{id}/factors``)."""
        base = self._base(None)
        return [render_factor(user_id, f, base) for f in self.factor_docs(user_id)]

    def add_factor(self, user_id: str, factor: dict[str, Any]) -> None:
        self._factors.setdefault(user_id, {})[factor["id"]] = factor
        self.register(factor["id"])

    def unenroll_factor(self, user_id: str, factor_id: str, uri: str) -> None:
        factor = self._factors.get(user_id, {}).pop(factor_id)
        user = self._users[user_id]
        self.tick()
        self.log(
            "user.mfa.factor.deactivate",
            [_events.user_ref(user), _events.ref(factor_id, "Factor", factor["factorType"])],
            uri,
        )

    def enroll_factor(self, user_id: str, body: Any, activate: bool, uri: str) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BodyError("factorType", "The field cannot be left blank.")
        ftype, provider = body.get("factorType"), body.get("provider") or "OKTA"
        profiles = {"sms": "phoneNumber", "call": "phoneNumber", "email": "email"}
        if ftype not in ("sms", "call", "email", "token:software:totp", "push", "question"):
            raise BodyError("factorType", f"Invalid value {ftype!r}.")
        profile = obj(body.get("profile"))
        need = profiles.get(ftype)
        if need and not isinstance(profile.get(need), str):
            raise BodyError(f"profile.{need}", "The field cannot be left blank.")
        if need == "phoneNumber" and not re.fullmatch(r"\+[1-9]\d{1,14}", profile[need]):
            raise BodyError("profile.phoneNumber", "Use the E.164 format, e.g. +15554151337.")
        if any(f["factorType"] == ftype for f in self.factor_docs(user_id)):
            raise BodyError("factorType", "A factor of this type is already set up.")
        now = self.tick()
        prefix = {"sms": "mbl", "call": "clf", "email": "emf", "push": "opf", "question": "ufs"}
        factor = {
            "id": self.new_id(prefix.get(ftype, "ost")),
            "factorType": ftype,
            "provider": provider,
            "vendorName": provider,
            "status": "ACTIVE" if activate or ftype == "question" else "PENDING_ACTIVATION",
            "created": now,
            "lastUpdated": now,
            "profile": {k: v for k, v in profile.items() if k != "answer"},
        }
        self.add_factor(user_id, factor)
        if factor["status"] == "ACTIVE":
            self.log(
                "user.mfa.factor.activate",
                [
                    _events.user_ref(self._users[user_id]),
                    _events.ref(factor["id"], "Factor", ftype),
                ],
                uri,
            )
        return factor

    # ============================================================ admin roles

    def role_docs(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._roles.get(user_id, {}).values())

    def user_roles(self, user_id: str) -> list[dict[str, Any]]:
        """A user's admin role assignments (``/api/v1/users/{id}/roles``)."""
        base = self._base(None)
        return [render_role(user_id, r, base) for r in self.role_docs(user_id)]

    def role_assignee_ids(self) -> list[str]:
        """Users with at least one admin role, in list order."""
        return [u for u in self._users if self._roles.get(u)]

    @property
    def role_assignees(self) -> list[dict[str, Any]]:
        """``/api/v1/iam/assignees/users`` entries (``value``), in list order."""
        base = self._base(None)
        return [render_role_assignee(u, self.user_orn(u), base) for u in self.role_assignee_ids()]

    def user_orn(self, user_id: str) -> str:
        return f"orn:okta:directory:{self.org_id}:users:{user_id}"

    def add_role(self, user_id: str, role: dict[str, Any]) -> None:
        self._roles.setdefault(user_id, {})[role["id"]] = role
        self.register(role["id"])

    def assign_role(self, user_id: str, body: Any, uri: str) -> dict[str, Any]:
        if not isinstance(body, dict) or not body.get("type"):
            raise BodyError("type", "The field cannot be left blank.")
        rtype = body["type"]
        extra: dict[str, Any] = {}
        if rtype == "CUSTOM":
            role_id, rs_id = body.get("role"), body.get("resource-set")
            if not isinstance(role_id, str) or role_id not in self._iam_roles:
                raise BodyError("role", f"Invalid value {role_id!r}.")
            if not isinstance(rs_id, str) or rs_id not in self._resource_sets:
                raise BodyError("resource-set", f"Invalid value {rs_id!r}.")
            label = self._iam_roles[role_id]["label"]
            extra = {"role": role_id, "resource-set": rs_id, "_member": self.new_id("irb")}
        elif rtype in STANDARD_ROLES:
            label = STANDARD_ROLES[rtype]
        else:
            raise BodyError("type", f"Invalid value {rtype!r}.")
        for existing in self.role_docs(user_id):
            if existing["type"] == rtype and existing.get("role") == extra.get("role"):
                raise OktaError(
                    409,
                    "E0000090",
                    "Duplicate role assignment exception.",
                    ["The role specified is already assigned to the user."],
                )
        now = self.tick()
        role = {
            "id": self.new_id("irb" if rtype == "CUSTOM" else "ra1"),
            "label": label,
            "type": rtype,
            "status": "ACTIVE",
            "created": now,
            "lastUpdated": now,
            "assignmentType": "USER",
            **extra,
        }
        self.add_role(user_id, role)
        self.log(
            "user.account.privilege.grant",
            [_events.user_ref(self._users[user_id]), _events.ref(role["id"], "ROLE", label)],
            uri,
        )
        return role

    def unassign_role(self, user_id: str, assignment_id: str, uri: str) -> None:
        role = self._roles[user_id].pop(assignment_id)
        self.tick()
        self.log(
            "user.account.privilege.revoke",
            [
                _events.user_ref(self._users[user_id]),
                _events.ref(role["id"], "ROLE", role["label"]),
            ],
            uri,
        )

    # ============================================================ grants

    def user_grant_docs(self, user_id: str, client_id: str | None = None) -> list[dict[str, Any]]:
        return [
            g
            for g in self._user_grants.values()
            if g["userId"] == user_id and (client_id is None or g["clientId"] == client_id)
        ]

    def render_user_grant(self, grant: dict[str, Any], base: str, expand: bool) -> dict[str, Any]:
        server = self._servers[grant["_server"]]
        scope = next((s for s in server.scopes if s["id"] == grant["scopeId"]), None)
        user = self._users.get(grant["userId"])
        title = (
            f"{user['profile'].get('firstName')} {user['profile'].get('lastName')}" if user else ""
        )
        return render_user_grant(
            grant,
            base,
            app_label=self._apps[grant["_app"]]["label"] if grant["_app"] in self._apps else "",
            server_name=server.name,
            scope=scope,
            user_title=title,
            expand_scope=expand,
        )

    def user_grants(
        self, user_id: str, *, client_id: str | None = None, expand_scope: bool = False
    ) -> list[dict[str, Any]]:
        """A user's consent grants (``/api/v1/users/{id}/grants``), oldest first."""
        base = self._base(None)
        return [
            self.render_user_grant(g, base, expand_scope)
            for g in self.user_grant_docs(user_id, client_id)
        ]

    def add_user_grant(self, grant: dict[str, Any]) -> None:
        self._user_grants[grant["id"]] = grant
        self.register(grant["id"])

    def revoke_user_grants(self, grant_ids: list[str], uri: str) -> None:
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

    def app_grant_docs(self, app_id: str) -> list[dict[str, Any]]:
        return [g for g in self._app_grants.values() if g["_app"] == app_id]

    def app_grants(self, app_id: str, *, expand_scope: bool = False) -> list[dict[str, Any]]:
        """Admin consent grants of Okta API scopes to an app (``/api/v1/apps/{id}/grants``)."""
        base = self._base(None)
        label = self._apps[app_id]["label"] if app_id in self._apps else ""
        return [
            render_app_grant(g, base, app_label=label, expand_scope=expand_scope)
            for g in self.app_grant_docs(app_id)
        ]

    def add_app_grant(self, grant: dict[str, Any]) -> None:
        self._app_grants[grant["id"]] = grant
        self.register(grant["id"])

    def grant_app_consent(self, app_id: str, body: Any, uri: str) -> dict[str, Any]:
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
        for g in self.app_grant_docs(app_id):
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
        self.add_app_grant(grant)
        self.log(
            "app.oauth2.admin.consent.grant",
            [_events.app_ref(app), _events.ref(grant["id"], "OAuth2ScopeConsentGrant", scope_id)],
            uri,
        )
        return grant

    def revoke_app_grant(self, app_id: str, grant_id: str, uri: str) -> None:
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

    def forget_app_grants(self, app_id: str) -> None:
        """A deleted app's consent grants (its users' and its admin ones) go with it."""
        for store in (self._user_grants, self._app_grants):
            for gid in [g for g, doc in store.items() if doc["_app"] == app_id]:
                del store[gid]

    # ============================================================ token views

    def token_attrs(self, app_id: str, index: int) -> tuple[str | None, str]:
        """(user id, authorization server id) of token ``index`` of an app."""
        tokens = self._tokens[app_id]
        user_idx, s_idx, _names, _created = tokens._attrs(index)
        user = tokens.users[user_idx].id if user_idx >= 0 else None
        return user, tokens.servers[s_idx].id

    def active_token_indexes(
        self, app_id: str, pred: Callable[[str | None, str], bool], stop_at_first: bool = False
    ) -> list[int]:
        """Indexes of the app's active tokens whose (user id, server id) satisfy ``pred``."""
        tokens = self._tokens.get(app_id)
        if tokens is None or tokens.all_revoked:
            return []
        out = []
        for i in range(tokens.count):
            if i in tokens.revoked:
                continue
            user, server = self.token_attrs(app_id, i)
            if pred(user, server):
                out.append(i)
                if stop_at_first:
                    break
        return out

    def oidc_app_docs(self) -> list[dict[str, Any]]:
        return [a for a in self._apps.values() if a["id"] in self._tokens]

    def user_client_app_docs(self, user_id: str) -> list[dict[str, Any]]:
        """OAuth clients the user holds active refresh tokens or consent grants for."""
        granted = {g["_app"] for g in self.user_grant_docs(user_id)}
        out = []
        for app in self.oidc_app_docs():
            tokens = self._tokens[app["id"]]
            holds = any(u.id == user_id for u in tokens.users) and bool(
                self.active_token_indexes(app["id"], lambda u, _s: u == user_id, True)
            )
            if holds or app["id"] in granted:
                out.append(app)
        return out

    def user_clients(self, user_id: str) -> list[dict[str, Any]]:
        """``/api/v1/users/{id}/clients``: the OAuth clients of a user's tokens and grants."""
        base = self._base(None)
        return [render_user_client(user_id, a, base) for a in self.user_client_app_docs(user_id)]

    def user_client_tokens(self, user_id: str, client_id: str) -> list[dict[str, Any]]:
        """A user's active refresh tokens for one client, in creation order."""
        app = self.app_for_client_id(client_id)
        if app is None:
            return []
        base = self._base(None)
        tokens = self._tokens[app["id"]]
        return [
            tokens.render(i, base, app["label"], False)
            for i in self.active_token_indexes(app["id"], lambda u, _s: u == user_id)
        ]

    def app_for_client_id(self, client_id: str) -> dict[str, Any] | None:
        for app in self.oidc_app_docs():
            if app["credentials"]["oauthClient"]["client_id"] == client_id:
                return app
        return None

    def server_client_app_docs(self, server_id: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.oidc_app_docs()
            if self.active_token_indexes(a["id"], lambda _u, s: s == server_id, True)
        ]

    def server_clients(self, server_id: str) -> list[dict[str, Any]]:
        """``/api/v1/authorizationServers/{id}/clients``: clients holding its refresh tokens."""
        base = self._base(None)
        return [
            render_server_client(server_id, a, base) for a in self.server_client_app_docs(server_id)
        ]

    def server_client_tokens(self, server_id: str, client_id: str) -> list[dict[str, Any]]:
        """Active refresh tokens one server issued to one client, in creation order."""
        app = self.app_for_client_id(client_id)
        if app is None:
            return []
        base = self._base(None)
        tokens = self._tokens[app["id"]]
        return [
            tokens.render(i, base, app["label"], False)
            for i in self.active_token_indexes(app["id"], lambda _u, s: s == server_id)
        ]

    def revoke_token_indexes(self, app_id: str, indexes: list[int], uri: str) -> None:
        """Revoke tokens and log one ``app.oauth2.token.revoke`` per token."""
        if not indexes:
            return
        tokens = self._tokens[app_id]
        app = self._apps[app_id]
        self.tick()
        for i in indexes:
            user_id, _server = self.token_attrs(app_id, i)
            tokens.revoke(i)
            self.log_token_revoke(app, tokens.token_id(i), user_id, uri)

    def log_token_revoke(
        self, app: dict[str, Any], token_id: str | None, user_id: str | None, uri: str
    ) -> None:
        targets = []
        if token_id:
            targets.append(_events.ref(token_id, "RefreshToken", "Refresh Token"))
        targets.append(_events.app_ref(app))
        if user_id and user_id in self._users:
            targets.append(_events.user_ref(self._users[user_id]))
        self.log("app.oauth2.token.revoke", targets, uri)

    def refresh_token_titles(self, user_id: str) -> None:
        """Keep tokens' ``_links.user.title`` in step with a renamed user."""
        user = self._users[user_id]
        title = f"{user['profile'].get('firstName') or ''} {user['profile'].get('lastName') or ''}"
        for tokens in self._tokens.values():
            if any(u.id == user_id for u in tokens.users):
                tokens.users = tuple(
                    TokenUser(u.id, title.strip()) if u.id == user_id else u for u in tokens.users
                )

    # ============================================================ app keys

    def app_key_docs(self, app_id: str) -> list[dict[str, Any]]:
        from ._seed_more import app_key

        app = self._apps[app_id]
        kid = ((app.get("credentials") or {}).get("signing") or {}).get("kid")
        return [app_key(app, kid)] if kid else []

    def app_keys(self, app_id: str) -> list[dict[str, Any]]:
        """An app's signing keys (``/api/v1/apps/{id}/credentials/keys``)."""
        return [dict(k) for k in self.app_key_docs(app_id)]

    # ================================================= authorization servers

    def server_key_docs(self, server_id: str) -> list[dict[str, Any]]:
        return self._as_keys.get(server_id, [])

    def server_keys(self, server_id: str) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_server_key(server_id, k, base) for k in self.server_key_docs(server_id)]

    def server_policy_docs(self, server_id: str) -> list[dict[str, Any]]:
        return sorted(self._as_policies.get(server_id, {}).values(), key=lambda p: p["priority"])

    def server_policies(self, server_id: str) -> list[dict[str, Any]]:
        """An authorization server's access policies, by priority."""
        base = self._base(None)
        return [
            render_server_policy(server_id, p, base) for p in self.server_policy_docs(server_id)
        ]

    def server_rule_docs(self, policy_id: str) -> list[dict[str, Any]]:
        return sorted(self._as_rules.get(policy_id, {}).values(), key=lambda r: r["priority"])

    def server_policy_rules(self, server_id: str, policy_id: str) -> list[dict[str, Any]]:
        base = self._base(None)
        return [
            render_server_rule(server_id, policy_id, r, base)
            for r in self.server_rule_docs(policy_id)
        ]

    def claim_docs(self, server_id: str) -> list[dict[str, Any]]:
        return list(self._claims.get(server_id, {}).values())

    def claims(self, server_id: str) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_claim(server_id, c, base) for c in self.claim_docs(server_id)]

    # ============================================================ policies

    def policy_docs(self, policy_type: str | None = None) -> list[dict[str, Any]]:
        docs = [p for p in self._policies.values() if policy_type in (None, p["type"])]
        return sorted(docs, key=lambda p: (p["type"], p["priority"]))

    def policies(self, policy_type: str) -> list[dict[str, Any]]:
        """``/api/v1/policies?type=...``: the policies of a type, by priority."""
        base = self._base(None)
        return [render_policy(p, base) for p in self.policy_docs(policy_type)]

    def policy_rule_docs(self, policy_id: str) -> list[dict[str, Any]]:
        return sorted(self._policy_rules.get(policy_id, {}).values(), key=lambda r: r["priority"])

    def policy_rules(self, policy_id: str) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_policy_rule(policy_id, r, base) for r in self.policy_rule_docs(policy_id)]

    # ============================================================ group rules

    def group_rule_docs(self) -> list[dict[str, Any]]:
        return list(self._group_rules.values())

    @property
    def group_rules(self) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_group_rule(r, base) for r in self._group_rules.values()]

    # ================================================= simple collections

    def simple(self, kind: str) -> list[dict[str, Any]]:
        segment, _ = SIMPLE_KINDS[kind]
        base = self._base(None)
        return [render_simple(segment, d, base) for d in self.simple_store(kind).values()]

    @property
    def idps(self) -> list[dict[str, Any]]:
        """Identity providers (``/api/v1/idps``), in list order."""
        return self.simple("idps")

    @property
    def zones(self) -> list[dict[str, Any]]:
        """Network zones (``/api/v1/zones``), in list order."""
        return self.simple("zones")

    @property
    def trusted_origins(self) -> list[dict[str, Any]]:
        return self.simple("origins")

    @property
    def event_hooks(self) -> list[dict[str, Any]]:
        return self.simple("event_hooks")

    @property
    def inline_hooks(self) -> list[dict[str, Any]]:
        return self.simple("inline_hooks")

    def api_token_docs(self) -> list[dict[str, Any]]:
        return list(self._api_tokens.values())

    @property
    def api_tokens(self) -> list[dict[str, Any]]:
        """API token metadata (``/api/v1/api-tokens``); never the secret."""
        base = self._base(None)
        return [render_api_token(t, base) for t in self._api_tokens.values()]

    def iam_role_docs(self) -> list[dict[str, Any]]:
        return list(self._iam_roles.values())

    @property
    def iam_roles(self) -> list[dict[str, Any]]:
        """Custom admin roles (``roles`` of ``/api/v1/iam/roles``)."""
        base = self._base(None)
        return [render_iam_role(r, base) for r in self._iam_roles.values()]

    # ============================================================ users: writes

    def _validate_profile(
        self, profile: Any, *, partial: bool, user_id: str | None = None
    ) -> dict[str, Any]:
        if not isinstance(profile, dict):
            raise BodyError("profile", "The field must be a JSON object.")
        for key in REQUIRED_PROFILE:
            if key in profile or not partial:
                value = profile.get(key)
                if not isinstance(value, str) or not value.strip():
                    raise BodyError(key, "The field cannot be left blank.")
        for key in ("email", "login"):
            value = profile.get(key)
            if isinstance(value, str) and ("@" not in value or value.startswith("@")):
                what = "Username" if key == "login" else "Email"
                raise BodyError(key, f"{what} must be in the form of an email address.")
        for key in ("firstName", "lastName"):
            value = profile.get(key)
            if isinstance(value, str) and len(value) > 50:
                raise BodyError(key, "The field must be at most 50 characters long.")
        login = profile.get("login")
        if isinstance(login, str):
            owner = self._logins.get(login.lower())
            if owner is not None and owner != user_id:
                raise BodyError(
                    "login", "An object with this field already exists in the current organization"
                )
        return profile

    def _validate_password(self, credentials: Any) -> str | None:
        if credentials is None:
            return None
        if not isinstance(credentials, dict):
            raise BodyError("credentials", "The field must be a JSON object.")
        password = credentials.get("password")
        if password is None:
            return None
        value = password.get("value") if isinstance(password, dict) else None
        if not isinstance(value, str) or len(value) < 8:
            raise BodyError(
                "password", "Password requirements were not met: at least 8 characters."
            )
        return value

    def create_user(self, body: Any, activate: bool, uri: str) -> dict[str, Any]:
        """``POST /api/v1/users``: STAGED, or PROVISIONED/ACTIVE when activated (with a password)."""
        if not isinstance(body, dict):
            raise BodyError("profile", "The field cannot be left blank.")
        profile = self._validate_profile(body.get("profile"), partial=False)
        password = self._validate_password(body.get("credentials"))
        group_ids = body.get("groupIds") or []
        if not isinstance(group_ids, list) or not all(
            isinstance(g, str) and g in self._groups for g in group_ids
        ):
            raise BodyError("groupIds", "Every group id must name an existing group.")
        now = self.tick()
        status = "STAGED"
        if activate:
            status = "ACTIVE" if password else "PROVISIONED"
        credentials: dict[str, Any] = {}
        if password:
            credentials["password"] = {}
        credentials["provider"] = {"type": "OKTA", "name": "OKTA"}
        full_profile = {"mobilePhone": None, "secondEmail": None, **profile}
        user: dict[str, Any] = {
            "id": self.new_id("00u"),
            "status": status,
            "created": now,
            "activated": now if status == "ACTIVE" else None,
            "statusChanged": now if status != "STAGED" else None,
            "lastLogin": None,
            "lastUpdated": now,
            "passwordChanged": now if password else None,
            "type": {"id": getattr(self, "user_type_id", "")},
            "profile": full_profile,
            "credentials": credentials,
        }
        self._users[user["id"]] = user
        self._logins[profile["login"].lower()] = user["id"]
        self.register(user["id"])
        self.log("user.lifecycle.create", [_events.user_ref(user)], uri)
        if status == "ACTIVE":
            self.log("user.lifecycle.activate", [_events.user_ref(user)], uri)
        everyone = [g for g, d in self._groups.items() if d["type"] == "BUILT_IN"]
        for gid in dict.fromkeys(everyone + group_ids):
            self._add_member(gid, user["id"], uri, now)
        return user

    def update_user(self, user_id: str, body: Any, *, replace: bool, uri: str) -> dict[str, Any]:
        """``POST`` (partial) or ``PUT`` (whole profile) ``/api/v1/users/{id}``."""
        if not isinstance(body, dict):
            raise BodyError("profile", "The field cannot be left blank.")
        user = self._users[user_id]
        profile_in = body.get("profile")
        if profile_in is None and replace:
            raise BodyError("profile", "The field cannot be left blank.")
        if profile_in is not None:
            self._validate_profile(profile_in, partial=not replace, user_id=user_id)
        password = self._validate_password(body.get("credentials"))
        now = self.tick()
        updated = dict(user)
        if profile_in is not None:
            if replace:
                profile = {"mobilePhone": None, "secondEmail": None, **profile_in}
            else:
                profile = {**user["profile"], **profile_in}
            old_login = user["profile"]["login"].lower()
            if profile["login"].lower() != old_login:
                self._logins.pop(old_login, None)
                self._logins[profile["login"].lower()] = user_id
            updated["profile"] = profile
        if password:
            updated["credentials"] = {**user["credentials"], "password": {}}
            updated["passwordChanged"] = now
        updated["lastUpdated"] = now
        self._users[user_id] = updated
        self.refresh_token_titles(user_id)
        self.log("user.account.update_profile", [_events.user_ref(updated)], uri)
        return updated

    def _set_user_status(self, user_id: str, status: str, now: str, **extra: Any) -> dict[str, Any]:
        user = {**self._users[user_id], "status": status, "statusChanged": now, "lastUpdated": now}
        user.update(extra)
        self._users[user_id] = user
        return user

    def user_lifecycle(
        self, user_id: str, op: str, uri: str, *, send_email: bool = True
    ) -> dict[str, Any]:
        """Apply a lifecycle operation with Okta's status rules; returns the response body."""
        user = self._users[user_id]
        status = user["status"]
        has_password = "password" in (user.get("credentials") or {})
        body: dict[str, Any] = {}
        if op == "activate":
            if status not in ("STAGED", "DEPROVISIONED"):
                if status == "ACTIVE":
                    raise OktaError(
                        403,
                        "E0000016",
                        "Activation failed because the user is already active",
                    )
                raise _status_error(op, status)
            now = self.tick()
            new = "ACTIVE" if has_password else "PROVISIONED"
            extra = {"activated": now} if new == "ACTIVE" else {}
            user = self._set_user_status(user_id, new, now, **extra)
            self.log("user.lifecycle.activate", [_events.user_ref(user)], uri)
            if not send_email:
                body = self._activation_token()
        elif op == "reactivate":
            if status != "PROVISIONED":
                raise _status_error(op, status)
            self.tick()
            self.log("user.lifecycle.reactivate", [_events.user_ref(user)], uri)
            if not send_email:
                body = self._activation_token()
        elif op == "deactivate":
            if status == "DEPROVISIONED":
                raise _status_error(op, status)
            self._deactivate(user_id, uri)
        elif op == "suspend":
            if status != "ACTIVE":
                raise OktaError(
                    400,
                    "E0000001",
                    "Api validation failed: suspend",
                    [f"suspend: only an ACTIVE user can be suspended; the user is {status}."],
                )
            now = self.tick()
            user = self._set_user_status(user_id, "SUSPENDED", now)
            self.log("user.lifecycle.suspend", [_events.user_ref(user)], uri)
        elif op == "unsuspend":
            if status != "SUSPENDED":
                raise OktaError(
                    400,
                    "E0000001",
                    "Api validation failed: unsuspend",
                    [f"unsuspend: only a SUSPENDED user can be unsuspended; the user is {status}."],
                )
            now = self.tick()
            user = self._set_user_status(user_id, "ACTIVE", now)
            self.log("user.lifecycle.unsuspend", [_events.user_ref(user)], uri)
        elif op == "unlock":
            if status != "LOCKED_OUT":
                raise _status_error(op, status)
            now = self.tick()
            user = self._set_user_status(user_id, "ACTIVE", now)
            self.log("user.account.unlock", [_events.user_ref(user)], uri)
        else:  # pragma: no cover - the route table only sends the ops above
            raise ValueError(op)
        return body

    def _activation_token(self) -> dict[str, Any]:
        token = self.new_id("")
        return {
            "activationUrl": f"{self._base(None)}/welcome/{token}",
            "activationToken": token,
        }

    def _deactivate(self, user_id: str, uri: str) -> None:
        """DEPROVISIONED; the user's refresh tokens are revoked, as Okta does."""
        now = self.tick()
        user = self._set_user_status(user_id, "DEPROVISIONED", now)
        for app_id, tokens in self._tokens.items():
            if any(u.id == user_id for u in tokens.users):
                for i in self.active_token_indexes(app_id, lambda u, _s: u == user_id):
                    tokens.revoke(i)
        self.log("user.lifecycle.deactivate", [_events.user_ref(user)], uri)

    def delete_user(self, user_id: str, uri: str) -> None:
        """``DELETE``: deactivates a user that is not DEPROVISIONED yet, else deletes it."""
        user = self._users[user_id]
        if user["status"] != "DEPROVISIONED":
            self._deactivate(user_id, uri)
            return
        self.tick()
        ref = _events.user_ref(user)
        self.log("user.lifecycle.delete.initiated", [ref], uri)
        for members in self._members.values():
            if user_id in members:
                members.remove(user_id)
        for assigned in self._app_users.values():
            assigned.pop(user_id, None)
        self._roles.pop(user_id, None)
        self._factors.pop(user_id, None)
        for gid in [g["id"] for g in self.user_grant_docs(user_id)]:
            self._user_grants.pop(gid)
        self._logins.pop(user["profile"]["login"].lower(), None)
        del self._users[user_id]
        self.log("user.lifecycle.delete.completed", [ref], uri)

    # ============================================================ groups: writes

    def _validate_group_body(self, body: Any, group_id: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("profile"), dict):
            raise BodyError("profile", "The field cannot be left blank.")
        profile = body["profile"]
        name = profile.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BodyError("name", "The field cannot be left blank.")
        if len(name) > 255:
            raise BodyError("name", "The field must be at most 255 characters long.")
        desc = profile.get("description")
        if desc is not None and not isinstance(desc, str):
            raise BodyError("description", "The field must be a string.")
        for gid, g in self._groups.items():
            if gid != group_id and g["profile"]["name"].lower() == name.lower():
                raise BodyError(
                    "name", "An object with this field already exists in the current organization"
                )
        out = {"name": name}
        if desc is not None:  # the spec declares description non-nullable: absent, not null
            out["description"] = desc
        return {**out, **{k: v for k, v in profile.items() if k not in ("name", "description")}}

    def create_group(self, body: Any, uri: str) -> dict[str, Any]:
        profile = self._validate_group_body(body)
        now = self.tick()
        group: dict[str, Any] = {
            "id": self.new_id("00g"),
            "created": now,
            "lastUpdated": now,
            "lastMembershipUpdated": now,
            "objectClass": ["okta:user_group"],
            "type": "OKTA_GROUP",
            "profile": profile,
        }
        self._groups[group["id"]] = group
        self._members[group["id"]] = []
        self.register(group["id"])
        self.log("group.lifecycle.create", [_events.group_ref(group)], uri)
        return group

    def _builtin_forbidden(self) -> OktaError:
        return OktaError(
            403,
            "E0000006",
            "You do not have permission to perform the requested action",
            ["The built-in Everyone group cannot be changed."],
        )

    def replace_group(self, group_id: str, body: Any, uri: str) -> dict[str, Any]:
        if self._groups[group_id]["type"] == "BUILT_IN":
            raise self._builtin_forbidden()
        profile = self._validate_group_body(body, group_id)
        now = self.tick()
        group = {**self._groups[group_id], "profile": profile, "lastUpdated": now}
        self._groups[group_id] = group
        self.log("group.profile.update", [_events.group_ref(group)], uri)
        return group

    def delete_group(self, group_id: str, uri: str) -> None:
        group = self._groups[group_id]
        if group["type"] == "BUILT_IN":
            raise self._builtin_forbidden()
        now = self.tick()
        members = self._members.pop(group_id, [])
        del self._groups[group_id]
        for app_id, groups in self._app_groups.items():
            if groups.pop(group_id, None) is not None:
                for uid in members:
                    self._sync_app_user(app_id, uid, uri, now)
        for rule in self._group_rules.values():
            if group_id in rule["actions"]["assignUserToGroups"]["groupIds"]:
                rule["status"], rule["lastUpdated"] = "INVALID", now
        self.log("group.lifecycle.delete", [_events.group_ref(group)], uri)

    def add_member(self, group_id: str, user_id: str, uri: str) -> None:
        if self._groups[group_id]["type"] == "BUILT_IN":
            raise self._builtin_forbidden()
        if user_id in self._members.get(group_id, []):
            return
        self._add_member(group_id, user_id, uri, self.tick())

    def _add_member(self, group_id: str, user_id: str, uri: str, now: str) -> None:
        members = self._members.setdefault(group_id, [])
        if user_id in members:
            return
        members.append(user_id)
        members.sort(key=lambda u: self.seq_of(u) or 0)
        self._groups[group_id] = {**self._groups[group_id], "lastMembershipUpdated": now}
        self.log(
            "group.user_membership.add",
            [_events.user_ref(self._users[user_id]), _events.group_ref(self._groups[group_id])],
            uri,
        )
        for app_id, groups in self._app_groups.items():
            if group_id in groups:
                self._sync_app_user(app_id, user_id, uri, now)

    def remove_member(self, group_id: str, user_id: str, uri: str) -> None:
        if self._groups[group_id]["type"] == "BUILT_IN":
            raise self._builtin_forbidden()
        members = self._members.get(group_id, [])
        if user_id not in members:
            return
        now = self.tick()
        members.remove(user_id)
        self._groups[group_id] = {**self._groups[group_id], "lastMembershipUpdated": now}
        self.log(
            "group.user_membership.remove",
            [_events.user_ref(self._users[user_id]), _events.group_ref(self._groups[group_id])],
            uri,
        )
        for app_id, groups in self._app_groups.items():
            if group_id in groups:
                self._sync_app_user(app_id, user_id, uri, now)

    def assign_app_user(
        self, app_id: str, user_id: str, body: dict[str, Any], uri: str, *, update: bool
    ) -> dict[str, Any]:
        """Assign a user to an app directly (scope USER), or update the assignment's profile."""
        credentials = body.get("credentials", {})
        profile = body.get("profile", {})
        if not isinstance(credentials, dict):
            raise BodyError("credentials", "The value must be an object.")
        if not isinstance(profile, dict):
            raise BodyError("profile", "The value must be an object.")
        assigned = self._app_users.setdefault(app_id, {})
        user = self._users[user_id]
        current = assigned.get(user_id)
        now = self.tick()
        if current is not None:
            doc = {
                **current,
                "lastUpdated": now,
                "profile": {**current.get("profile", {}), **profile},
                "credentials": {**current.get("credentials", {}), **credentials},
            }
            if not update:
                doc["scope"] = "USER"
        else:
            doc = {
                "id": user_id,
                "created": now,
                "lastUpdated": now,
                "scope": "USER",
                "status": "ACTIVE",
                "statusChanged": now,
                "passwordChanged": None,
                "syncState": "DISABLED",
                "credentials": {"userName": user["profile"]["login"], **credentials},
                "profile": profile,
            }
            refs = [_events.user_ref(user), _events.app_ref(self._apps[app_id])]
            self.log("application.user_membership.add", refs, uri)
        assigned[user_id] = doc
        ordered = sorted(assigned.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
        self._app_users[app_id] = dict(ordered)
        return doc

    def unassign_app_user(self, app_id: str, user_id: str, uri: str) -> None:
        if self._app_users.get(app_id, {}).pop(user_id, None) is None:
            return
        self.tick()
        refs = [_events.user_ref(self._users[user_id]), _events.app_ref(self._apps[app_id])]
        self.log("application.user_membership.remove", refs, uri)

    def assign_app_group(
        self, app_id: str, group_id: str, body: dict[str, Any], uri: str
    ) -> dict[str, Any]:
        """Assign a group to an app (or update its assignment); members follow via GROUP scope."""
        priority = body.get("priority")
        if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
            raise BodyError("priority", "The value must be an integer.")
        profile = body.get("profile", {})
        if not isinstance(profile, dict):
            raise BodyError("profile", "The value must be an object.")
        groups = self._app_groups.setdefault(app_id, {})
        now = self.tick()
        current = groups.get(group_id)
        if priority is None:
            priority = (
                current["priority"]
                if current
                else max((g["priority"] for g in groups.values()), default=-1) + 1
            )
        doc = {"id": group_id, "priority": priority, "lastUpdated": now, "profile": profile}
        groups[group_id] = doc
        ordered = sorted(groups.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
        self._app_groups[app_id] = dict(ordered)
        if current is None:
            refs = [_events.group_ref(self._groups[group_id]), _events.app_ref(self._apps[app_id])]
            self.log("group.application_assignment.add", refs, uri)
            for uid in self._members.get(group_id, []):
                self._sync_app_user(app_id, uid, uri, now)
        return doc

    def unassign_app_group(self, app_id: str, group_id: str, uri: str) -> None:
        """Remove a group's assignment; members assigned only through groups lose the app."""
        groups = self._app_groups.get(app_id, {})
        if groups.pop(group_id, None) is None:
            return
        now = self.tick()
        refs = [_events.group_ref(self._groups[group_id]), _events.app_ref(self._apps[app_id])]
        self.log("group.application_assignment.remove", refs, uri)
        for uid in self._members.get(group_id, []):
            self._sync_app_user(app_id, uid, uri, now)

    def _sync_app_user(self, app_id: str, user_id: str, uri: str, now: str) -> None:
        """Keep a user's group-based assignment to an app in step with their groups."""
        assigned = self._app_users.setdefault(app_id, {})
        via_group = any(
            user_id in self._members.get(g, ()) for g in self._app_groups.get(app_id, {})
        )
        current = assigned.get(user_id)
        app, user = self._apps[app_id], self._users.get(user_id)
        if user is None:
            return
        if via_group and current is None:
            assigned[user_id] = {
                "id": user_id,
                "created": now,
                "lastUpdated": now,
                "scope": "GROUP",
                "status": "ACTIVE",
                "statusChanged": now,
                "passwordChanged": None,
                "syncState": "DISABLED",
                "credentials": {"userName": user["profile"]["login"]},
                "profile": {},
            }
            ordered = sorted(assigned.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
            self._app_users[app_id] = dict(ordered)
            self.log(
                "application.user_membership.add",
                [_events.user_ref(user), _events.app_ref(app)],
                uri,
            )
        elif not via_group and current is not None and current["scope"] == "GROUP":
            del assigned[user_id]
            self.log(
                "application.user_membership.remove",
                [_events.user_ref(user), _events.app_ref(app)],
                uri,
            )

    # ============================================================ group rules: writes

    def _validate_group_rule(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BodyError("name", "The field cannot be left blank.")
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BodyError("name", "The field cannot be left blank.")
        if len(name) > 50:
            raise BodyError("name", "The field must be at most 50 characters long.")
        conditions = obj(body.get("conditions"))
        expression = conditions.get("expression") if isinstance(conditions, dict) else None
        value = expression.get("value") if isinstance(expression, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise BodyError("conditions.expression.value", "The field cannot be left blank.")
        actions = obj(body.get("actions"))
        assign = (actions or {}).get("assignUserToGroups") or {}
        group_ids = assign.get("groupIds") if isinstance(assign, dict) else None
        if not isinstance(group_ids, list) or not group_ids:
            raise BodyError(
                "actions.assignUserToGroups.groupIds", "The field cannot be left blank."
            )
        for gid in group_ids:
            if not isinstance(gid, str) or gid not in self._groups:
                raise BodyError("actions.assignUserToGroups.groupIds", f"Invalid group id {gid!r}.")
            if self._groups[gid]["type"] == "BUILT_IN":
                raise BodyError(
                    "actions.assignUserToGroups.groupIds", "A rule cannot assign to Everyone."
                )
        people = obj(conditions.get("people"))
        excluded_users = ((people or {}).get("users") or {}).get("exclude") or []
        excluded_groups = ((people or {}).get("groups") or {}).get("exclude") or []
        return {
            "type": "group_rule",
            "name": name,
            "conditions": {
                "people": {
                    "users": {"exclude": list(excluded_users)},
                    "groups": {"exclude": list(excluded_groups)},
                },
                "expression": {"value": value, "type": "urn:okta:expression:1.0"},
            },
            "actions": {"assignUserToGroups": {"groupIds": list(group_ids)}},
        }

    def create_group_rule(self, body: Any, uri: str) -> dict[str, Any]:
        fields = self._validate_group_rule(body)
        now = self.tick()
        rule = {
            "type": "group_rule",
            "id": self.new_id("0pr"),
            "status": "INACTIVE",
            "name": fields["name"],
            "created": now,
            "lastUpdated": now,
            "conditions": fields["conditions"],
            "actions": fields["actions"],
        }
        self.add_group_rule(rule)
        return rule

    def add_group_rule(self, rule: dict[str, Any]) -> None:
        self._group_rules[rule["id"]] = rule
        self.register(rule["id"])

    def replace_group_rule(self, rule_id: str, body: Any, uri: str) -> dict[str, Any]:
        rule = self._group_rules[rule_id]
        if rule["status"] == "ACTIVE":
            raise BodyError("status", "An ACTIVE rule cannot be updated; deactivate it first.")
        fields = self._validate_group_rule(body)
        now = self.tick()
        rule = {**rule, **fields, "lastUpdated": now, "status": "INACTIVE"}
        self._group_rules[rule_id] = rule
        return rule

    def set_group_rule_status(self, rule_id: str, status: str, uri: str) -> None:
        rule = self._group_rules[rule_id]
        if rule["status"] == status:
            return
        if rule["status"] == "INVALID":
            raise OktaError(
                403,
                "E0000038",
                "This operation is not allowed in the rule's current status.",
                ["An INVALID rule (its group was deleted) cannot change status."],
            )
        now = self.tick()
        rule = {**rule, "status": status, "lastUpdated": now}
        self._group_rules[rule_id] = rule
        if status == "INACTIVE":
            ref = _events.ref(rule_id, "GroupRule", rule["name"])
            self.log("group.user_membership.rule.deactivated", [ref], uri)
        if status == "ACTIVE":  # its effect is logged: group.user_membership.add per user
            self._apply_group_rule(rule, uri, now)

    def _apply_group_rule(self, rule: dict[str, Any], uri: str, now: str) -> None:
        from ._seed_more import rule_matches

        excluded = set(rule["conditions"]["people"]["users"]["exclude"])
        excluded_groups = rule["conditions"]["people"]["groups"]["exclude"]
        added = self._rule_added.setdefault(rule["id"], set())
        for uid, user in list(self._users.items()):
            if user["status"] == "DEPROVISIONED" or uid in excluded:
                continue
            if any(uid in self._members.get(g, ()) for g in excluded_groups):
                continue
            if not rule_matches(rule["conditions"]["expression"]["value"], user):
                continue
            for gid in rule["actions"]["assignUserToGroups"]["groupIds"]:
                if gid in self._groups and uid not in self._members.get(gid, []):
                    self._add_member(gid, uid, uri, now)
                    added.add((gid, uid))

    def delete_group_rule(self, rule_id: str, remove_users: bool, uri: str) -> None:
        now = self.tick()
        del self._group_rules[rule_id]
        for gid, uid in sorted(self._rule_added.pop(rule_id, set())) if remove_users else ():
            if gid in self._groups and uid in self._members.get(gid, []):
                self._members[gid].remove(uid)
                self.log(
                    "group.user_membership.remove",
                    [_events.user_ref(self._users[uid]), _events.group_ref(self._groups[gid])],
                    uri,
                )
                for app_id, groups in self._app_groups.items():
                    if gid in groups:
                        self._sync_app_user(app_id, uid, uri, now)
