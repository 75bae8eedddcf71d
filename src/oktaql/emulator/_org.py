"""The emulated org: its state, its mutations and the ground-truth accessors.

Stored documents have no ``_links`` (see ``_render``); the public accessors
render them with :attr:`Org.base_url`, which the server helpers set to the
URL the emulator listens on, so that a test can compare API output with
``org.apps`` / ``org.tokens_for_app(...)`` verbatim.

Time: seeded data uses fixed timestamps from 2024-01-01T00:00:00.000Z plus
seeded offsets. Mutations made through the API stamp ``lastUpdated`` from a
logical clock that starts at 2025-01-01T00:00:00.000Z and advances one second
per mutation, so even a mutated org is a pure function of (seed, requests).

Apps, users, groups and tokens are this module's; every other family's state is initialised
here and is changed by functions of the org in ``_org_<family>`` (users' factors, roles and
writes; grants and token views; groups, assignments and group rules; policies; the flat admin
collections; the System Log), which the behaviours call; of those, the System Log's and the
ground-truth accessors tests compare the API with are bound below as methods (no mixins).
Mutations write System Log events acted by the API token's owner (the seeded super admin).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import (
    _appdefs,
    _events,
    _org_admin,
    _org_grants,
    _org_groups,
    _org_log,
    _org_policies,
    _org_users,
)
from ._render import (
    render_app,
    render_app_group,
    render_app_user,
    render_client,
    render_group,
    render_user,
)
from ._resources import Resources
from ._tokens import AuthServer, TokenSet, TokenUser, render_auth_server, render_scope
from ._util import BASE_EPOCH, DAY, iso, okta_id

if TYPE_CHECKING:
    from . import EmulatorConfig

CLOCK_BASE = BASE_EPOCH + 366 * DAY  # 2025-01-01T00:00:00Z


class Org:
    """Ground truth of the emulated org (see module docstring)."""

    def __init__(self, config: EmulatorConfig):
        from ._seed import populate, populate_families  # _seed builds on this class

        self.config = config
        self.base_url = "http://127.0.0.1:8080"
        self.org_id = ""
        self.user_type_id = ""
        # Ids minted at runtime (POST) come from their own seeded stream so
        # they do not disturb, and are not disturbed by, the seeded data.
        self._rng = random.Random(f"oktaql-emulator-runtime-{config.seed}")
        self._clock = CLOCK_BASE
        self._seq: dict[str, int] = {}
        self._apps: dict[str, dict[str, Any]] = {}
        self._app_link_ids: dict[str, str] = {}
        self._tokens: dict[str, TokenSet] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._logins: dict[str, str] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._members: dict[str, list[str]] = {}
        self._app_users: dict[str, dict[str, dict[str, Any]]] = {}
        self._app_groups: dict[str, dict[str, dict[str, Any]]] = {}
        self._servers: dict[str, AuthServer] = {}
        # every spec path no handler serves (``_resources``), seeded lazily
        self.resources = Resources(self)
        # the families' state beyond apps/users/groups/tokens (``_org_<family>``)
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
        populate(self, random.Random(config.seed))
        populate_families(self)  # factors, roles, grants, policies, logs...

    # ------------------------------------------------------------ internals

    def register(self, resource_id: str) -> None:
        """Give an id its permanent list position (kept after deletion for cursors)."""
        self._seq[resource_id] = len(self._seq)

    def seq_of(self, resource_id: str) -> int | None:
        return self._seq.get(resource_id)

    def tick(self) -> str:
        self._clock += 1
        return iso(self._clock)

    def _base(self, base_url: str | None) -> str:
        return (base_url or self.base_url).rstrip("/")

    # Core documents (no _links) for the HTTP layer.
    def app_docs(self) -> list[dict[str, Any]]:
        return list(self._apps.values())

    def app_doc(self, app_id: str) -> dict[str, Any] | None:
        return self._apps.get(app_id)

    def user_docs(self) -> list[dict[str, Any]]:
        return list(self._users.values())

    def user_doc(self, id_or_login: str) -> dict[str, Any] | None:
        user = self._users.get(id_or_login)
        if user is None:
            uid = self._logins.get(id_or_login.lower())
            user = self._users.get(uid) if uid else None
        return user

    def group_docs(self) -> list[dict[str, Any]]:
        return list(self._groups.values())

    def group_doc(self, group_id: str) -> dict[str, Any] | None:
        return self._groups.get(group_id)

    def member_ids(self, group_id: str) -> list[str]:
        return list(self._members.get(group_id, ()))

    def groups_of_user(self, user_id: str) -> list[dict[str, Any]]:
        return [g for gid, g in self._groups.items() if user_id in self._members.get(gid, ())]

    def app_user_docs(self, app_id: str) -> list[dict[str, Any]]:
        return list(self._app_users.get(app_id, {}).values())

    def app_group_docs(self, app_id: str) -> list[dict[str, Any]]:
        return list(self._app_groups.get(app_id, {}).values())

    def apps_of_group(self, group_id: str) -> list[dict[str, Any]]:
        return [self._apps[a] for a, gs in self._app_groups.items() if group_id in gs]

    def token_set(self, app_id: str) -> TokenSet | None:
        return self._tokens.get(app_id)

    def server(self, server_id: str) -> AuthServer | None:
        return self._servers.get(server_id)

    def server_list(self) -> list[AuthServer]:
        return list(self._servers.values())

    def app_for_client(self, client_id: str) -> dict[str, Any] | None:
        for app in self._apps.values():
            oauth = (app.get("credentials") or {}).get("oauthClient")
            if oauth and oauth.get("client_id") == client_id:
                return app
        return None

    def render_app(self, app: dict[str, Any], base: str) -> dict[str, Any]:
        return render_app(app, base, self._app_link_ids.get(app["id"], ""))

    # ------------------------------------------------------- ground truth API

    @property
    def apps(self) -> list[dict[str, Any]]:
        """Every app (any status) in API list order, as ``GET /api/v1/apps`` returns it."""
        return [self.render_app(a, self._base(None)) for a in self._apps.values()]

    def app(self, app_id: str, base_url: str | None = None) -> dict[str, Any] | None:
        doc = self._apps.get(app_id)
        return self.render_app(doc, self._base(base_url)) if doc else None

    @property
    def oidc_apps(self) -> list[dict[str, Any]]:
        return [a for a in self.apps if a["signOnMode"] == "OPENID_CONNECT"]

    def tokens_for_app(
        self, app_id: str, *, expand_scope: bool = False, base_url: str | None = None
    ) -> list[dict[str, Any]]:
        """Active refresh tokens of an app, in list order, exactly as the API renders them.

        O(number of tokens): meant for tests, not for million-token orgs.
        """
        tokens = self._tokens.get(app_id)
        if tokens is None:
            return []
        base = self._base(base_url)
        label = self._apps[app_id]["label"]
        return [
            tokens.render(i, base, label, expand_scope)
            for i in range(tokens.count)
            if tokens.is_active(i)
        ]

    def token_ids(self, app_id: str) -> list[str]:
        tokens = self._tokens.get(app_id)
        if tokens is None:
            return []
        return [tokens.token_id(i) for i in range(tokens.count) if tokens.is_active(i)]

    def token_count(self, app_id: str) -> int:
        """Number of active refresh tokens (O(1), fine for million-token apps)."""
        tokens = self._tokens.get(app_id)
        return tokens.active_count() if tokens else 0

    def token(
        self,
        app_id: str,
        token_id: str,
        *,
        expand_scope: bool = False,
        base_url: str | None = None,
    ) -> dict[str, Any] | None:
        tokens = self._tokens.get(app_id)
        index = tokens.index_of(token_id) if tokens else None
        if tokens is None or index is None or not tokens.is_active(index):
            return None
        return tokens.render(index, self._base(base_url), self._apps[app_id]["label"], expand_scope)

    def token_at(self, app_id: str, index: int, **kwargs: Any) -> dict[str, Any] | None:
        """The token generated at ``index`` (0-based creation order), None if revoked (O(1)).

        Indexes do not shift when tokens are revoked, so this is the list
        position only while nothing before ``index`` has been revoked.
        """
        tokens = self._tokens.get(app_id)
        if tokens is None or not 0 <= index < tokens.count:
            return None
        return self.token(app_id, tokens.token_id(index), **kwargs)

    @property
    def users(self) -> list[dict[str, Any]]:
        """Every user, including DEPROVISIONED ones, in creation order."""
        base = self._base(None)
        return [render_user(u, base) for u in self._users.values()]

    def user(self, user_id: str, base_url: str | None = None) -> dict[str, Any] | None:
        doc = self.user_doc(user_id)
        return render_user(doc, self._base(base_url)) if doc else None

    @property
    def groups(self) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_group(g, base) for g in self._groups.values()]

    def group(self, group_id: str, base_url: str | None = None) -> dict[str, Any] | None:
        doc = self._groups.get(group_id)
        return render_group(doc, self._base(base_url)) if doc else None

    def group_members(self, group_id: str) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_user(self._users[u], base) for u in self._members.get(group_id, ())]

    def app_users(self, app_id: str, *, expand_user: bool = False) -> list[dict[str, Any]]:
        base = self._base(None)
        return [
            render_app_user(app_id, au, base, self._users[au["id"]] if expand_user else None)
            for au in self._app_users.get(app_id, {}).values()
        ]

    def app_groups(self, app_id: str, *, expand_group: bool = False) -> list[dict[str, Any]]:
        base = self._base(None)
        return [
            render_app_group(app_id, ag, base, self._groups[ag["id"]] if expand_group else None)
            for ag in self._app_groups.get(app_id, {}).values()
        ]

    @property
    def auth_servers(self) -> list[dict[str, Any]]:
        base = self._base(None)
        return [render_auth_server(s, base) for s in self._servers.values()]

    def scopes(self, server_id: str) -> list[dict[str, Any]]:
        server = self._servers.get(server_id)
        base = self._base(None)
        return [render_scope(server.id, s, base) for s in server.scopes] if server else []

    def client(self, client_id: str) -> dict[str, Any] | None:
        app = self.app_for_client(client_id)
        return render_client(app, self._base(None)) if app else None

    # ------------------------------------------------------------- mutations

    def new_id(self, prefix: str) -> str:
        return okta_id(prefix, self._rng)

    def add_app(
        self,
        app: dict[str, Any],
        *,
        app_link_id: str,
        tokens: TokenSet | None = None,
    ) -> None:
        self._apps[app["id"]] = app
        self._app_link_ids[app["id"]] = app_link_id
        self._app_users.setdefault(app["id"], {})
        self._app_groups.setdefault(app["id"], {})
        if tokens is not None:
            self._tokens[app["id"]] = tokens
        self.register(app["id"])

    def create_app(self, body: dict[str, Any], activate: bool) -> tuple[dict[str, Any], str | None]:
        """Create an app from a validated body; returns (document, client secret or None)."""
        mode, label = _appdefs.validate_body(body)
        app_id = self.new_id("0oa")
        now = self.tick()
        oauth_body = ((body.get("credentials") or {}).get("oauthClient")) or {}
        app_type = ((body.get("settings") or {}).get("oauthClient") or {}).get(
            "application_type", "web"
        )
        name = body.get("name") if isinstance(body.get("name"), str) else None
        app = _appdefs.default_app(
            org_id=self.org_id,
            app_id=app_id,
            label=label,
            sign_on_mode=mode,
            status="ACTIVE" if activate else "INACTIVE",
            timestamp=now,
            kid=self.new_id("") + "_" + self.new_id(""),
            name=name,
            oidc_type=app_type if isinstance(app_type, str) else "web",
        )
        if mode == "OPENID_CONNECT" and isinstance(oauth_body.get("client_id"), str):
            app["credentials"]["oauthClient"]["client_id"] = oauth_body["client_id"]
        app = _appdefs.apply_body(app, body)
        tokens = None
        if mode == "OPENID_CONNECT":
            client_id = app["credentials"]["oauthClient"]["client_id"]
            tokens = TokenSet(
                app_id, client_id, self._rng.getrandbits(64), 0, [], self.server_list(), 0
            )
        self.add_app(app, app_link_id=self.new_id("aln"), tokens=tokens)
        secret = None
        if _appdefs.needs_secret(app):
            secret = oauth_body.get("client_secret") or _appdefs.new_secret(self._rng)
        return app, secret

    def replace_app(self, app_id: str, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """``PUT``: reset writable properties to defaults, then apply ``body``."""
        current = self._apps[app_id]
        mode, label = _appdefs.validate_body(body, current)
        oauth = (current.get("credentials") or {}).get("oauthClient")
        app_type = ((current.get("settings") or {}).get("oauthClient") or {}).get(
            "application_type", "web"
        )
        fresh = _appdefs.default_app(
            org_id=self.org_id,
            app_id=app_id,
            label=label,
            sign_on_mode=mode,
            status=current["status"],
            timestamp=current["created"],
            kid=(current.get("credentials") or {}).get("signing", {}).get("kid", ""),
            name=current["name"],
            oidc_type=app_type,
        )
        if oauth is not None:
            fresh["credentials"]["oauthClient"]["client_id"] = oauth["client_id"]
        app = _appdefs.apply_body(fresh, body)
        app["lastUpdated"] = self.tick()
        self._apps[app_id] = app
        secret = None
        if _appdefs.needs_secret(app):
            oauth_body = ((body.get("credentials") or {}).get("oauthClient")) or {}
            secret = oauth_body.get("client_secret") or _appdefs.new_secret(self._rng)
        return app, secret

    def set_app_status(self, app_id: str, status: str) -> None:
        app = self._apps[app_id]
        if app["status"] != status:
            self._apps[app_id] = {**app, "status": status, "lastUpdated": self.tick()}

    def delete_app(self, app_id: str) -> None:
        # The id keeps its list position in ``_seq`` so open cursors still resolve.
        self._apps.pop(app_id, None)
        self._app_link_ids.pop(app_id, None)
        self._tokens.pop(app_id, None)
        self._app_users.pop(app_id, None)
        self._app_groups.pop(app_id, None)

    # ---------------------------------------------------------- seeding API

    def set_tokens(self, app_id: str, tokens: TokenSet) -> None:
        self._tokens[app_id] = tokens

    def add_user(self, user: dict[str, Any]) -> None:
        self._users[user["id"]] = user
        self._logins[user["profile"]["login"].lower()] = user["id"]
        self.register(user["id"])

    def add_group(self, group: dict[str, Any], members: Iterable[str]) -> None:
        self._groups[group["id"]] = group
        self._members[group["id"]] = sorted(members, key=lambda u: self._seq[u])
        self.register(group["id"])

    def add_server(self, server: AuthServer) -> None:
        self._servers[server.id] = server

    def assign(
        self,
        app_id: str,
        users: dict[str, dict[str, Any]],
        groups: dict[str, dict[str, Any]],
    ) -> None:
        """Record an app's user and group assignments (users ordered by list position)."""
        self._app_users[app_id] = dict(sorted(users.items(), key=lambda kv: self._seq[kv[0]]))
        self._app_groups[app_id] = dict(sorted(groups.items(), key=lambda kv: self._seq[kv[0]]))

    def token_users(self, app_id: str) -> list[TokenUser]:
        """Who holds the app's refresh tokens: its ACTIVE app users (else any ACTIVE user)."""
        active = [
            self._users[u]
            for u in self._app_users.get(app_id, {})
            if self._users[u]["status"] == "ACTIVE"
        ]
        if not active:
            active = [u for u in self._users.values() if u["status"] == "ACTIVE"]
        return [
            TokenUser(u["id"], f"{u['profile']['firstName']} {u['profile']['lastName']}")
            for u in active
        ]

    # ------------------------- the System Log and the ground-truth accessors (in _org_<family>)

    # the System Log's state: events written by the seeded history and by API mutations (_org_log)
    now = _org_log.now
    actor = _org_log.actor
    log = _org_log.log
    add_event = _org_log.add_event
    event_docs = _org_log.event_docs
    event_position = _org_log.event_position
    log_events = property(_org_log.log_events)
    log_events_between = _org_log.log_events_between
    # users' factors and admin role assignments (_org_users)
    factors = _org_users.factors
    user_roles = _org_users.user_roles
    role_assignee_ids = _org_users.role_assignee_ids
    role_assignees = property(_org_users.role_assignees)
    # consent grants, the OAuth clients holding refresh tokens and their tokens, app keys (_org_grants)
    user_grants = _org_grants.user_grants
    app_grants = _org_grants.app_grants
    user_clients = _org_grants.user_clients
    server_clients = _org_grants.server_clients
    client_tokens = _org_grants.client_tokens
    app_keys = _org_grants.app_keys
    # group rules (_org_groups)
    group_rules = property(_org_groups.group_rules)
    # authorization servers' policies, rules, claims and keys; org policies and their rules (_org_policies)
    server_keys = _org_policies.server_keys
    server_policies = _org_policies.server_policies
    server_policy_rules = _org_policies.server_policy_rules
    claims = _org_policies.claims
    policies = _org_policies.policies
    policy_rules = _org_policies.policy_rules
    # the flat org-level collections (IdPs, zones, origins, hooks), API tokens, custom roles (_org_admin)
    idps = property(_org_admin.idps)
    zones = property(_org_admin.zones)
    trusted_origins = property(_org_admin.trusted_origins)
    event_hooks = property(_org_admin.event_hooks)
    inline_hooks = property(_org_admin.inline_hooks)
    api_tokens = property(_org_admin.api_tokens)
    iam_roles = property(_org_admin.iam_roles)
