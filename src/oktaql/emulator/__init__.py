"""A local emulated Okta org that speaks Okta's Management API wire format.

Used by tests, demos and benchmarks over real loopback HTTP::

    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(seed=1)) as emu:
        # emu.url = "http://127.0.0.1:PORT", token "emulator-token"
        expected = emu.org.tokens_for_app(emu.org.oidc_apps[0]["id"])

Behaviour (what callers may rely on)
------------------------------------
* **Auth**: ``Authorization: SSWS <config.token>`` (the space may be missing, as
  Okta's Python SDK v3 sends it); anything else is 401
  ``E0000011`` "Invalid token provided". Auth is checked before routing.
  With ``oauth_clients`` registered, OAuth 2.0 service apps also work:
  ``POST /oauth2/v1/token`` (``private_key_jwt`` client credentials, optional
  DPoP), then ``Bearer``/``DPoP`` access tokens checked for expiry and for the
  endpoint's scope (403 ``E0000006``, ``insufficient_scope``); see ``_oauth``.
* **Errors** use Okta's ``Error`` body (``errorCode``, ``errorSummary``,
  ``errorLink`` = code, ``errorId`` = ``oae...``, ``errorCauses``):
  unknown id or path → 404 ``E0000007`` ("Not found: Resource not found: <id>
  (<Type>)"); wrong method → 405 ``E0000022`` with ``Allow``; malformed JSON →
  400 ``E0000003``; invalid body or non-integer ``limit`` → 400 ``E0000001``
  ("Api validation failed: <field>", one cause); bad ``filter``/``search``
  expression → 400 ``E0000031`` ("Invalid search criteria.", cause says
  where); an ``after`` cursor that no list ever returned → 400 ``E0000029``;
  deleting an ACTIVE app → 403 ``E0000056`` ("Delete application
  forbidden."); over ``config.rate_limit`` → 429 ``E0000047`` (see ``_chaos``
  for rate windows per endpoint family and injected faults: ``fault_rate``); more than
  ``config.concurrency_limit`` requests in flight → 429 ``E0000047`` with Okta's
  concurrency headers (``X-Rate-Limit-Limit: 0``, ``-Remaining: 0``).
* **Headers** on every response, errors included: ``Content-Type:
  application/json`` (except on a response without a body, e.g. a 204), ``Date``, ``X-Okta-Request-Id``, ``X-Rate-Limit-Limit``,
  ``X-Rate-Limit-Remaining``, ``X-Rate-Limit-Reset`` (epoch seconds, end of the
  endpoint family's current window). Without ``rate_limit`` nothing is enforced and
  the headers report a constant 600/599 so clients never throttle themselves.
* **Pagination** on every list: ``limit`` (non-positive → default, above the
  maximum → clamped) and an opaque ``after`` cursor (the last item's id).
  ``Link: <...>; rel="self"`` always, and a separate ``Link: <...>;
  rel="next"`` header only when another non-empty page exists. Link URLs are
  absolute, built from the request's base URL, keeping the other query
  parameters. Defaults/maxima: apps 20/200, tokens 20/200, app users 50/500,
  app groups 20/200, users 200/200 (10 with ``q``), groups 10000/10000
  (300 with ``q``), group members 1000/10000.
* **Refresh tokens**: listed in creation order; ``expand=scope`` adds
  ``_embedded.scopes`` (``OAuth2RefreshTokenScope`` objects), without it there
  is no ``_embedded``. Revoking (one, or all with ``DELETE .../tokens``) is
  final: a revoked token is no longer listed and GET/DELETE of it is 404
  ``E0000007`` — the emulator never shows a ``REVOKED`` status, as real Okta
  stops returning revoked refresh tokens. Tokens are generated lazily from
  their index, so an app may have 1,000,000 of them and a page still costs
  O(page size).
* **Apps**: ``POST`` (``activate`` defaults to true) and ``PUT`` require
  ``signOnMode`` and ``label``; PUT resets writable properties to defaults
  before applying the body and cannot change ``signOnMode``; the OIDC
  ``client_id`` equals the app id and is immutable; ``client_secret`` appears
  only in POST/PUT responses. Only INACTIVE apps can be deleted (204).
  ``GET /api/v1/apps`` supports ``q`` (name/label prefix) and ``filter`` (incl.
  Okta's ``user.id eq``/``group.id eq`` assignment filters).
* **Filter/search expressions** (``_filters``): ``eq ne sw co ew gt ge lt le
  pr``, ``and``/``or``/``not(...)``, parentheses, dotted paths; string
  comparisons are case-insensitive. Users/groups accept every operator in both
  ``filter`` and ``search`` (Okta restricts ``filter`` to a subset).
  A plain user listing (and ``q``) omits DEPROVISIONED users; ``filter`` and
  ``search`` include them.
* **Data** is a pure function of the config: ``random.Random(seed)``, fixed
  timestamps from 2024-01-01T00:00:00.000Z plus seeded offsets; API mutations
  are stamped from a logical clock starting 2025-01-01T00:00:00.000Z.
* ``latency_ms`` delays every response (asyncio sleep, so concurrent requests
  overlap, as against a real remote API).
* **Beyond apps/users/groups** (``behaviours/`` lists every hand-served route): user writes
  (``POST /api/v1/users?activate=``: STAGED, or ACTIVE with a password, else
  PROVISIONED; ``POST /users/{id}`` merges the profile, ``PUT`` replaces it;
  ``DELETE`` deactivates a user that is not DEPROVISIONED, else deletes it) and
  lifecycle with Okta's status rules (suspend: ACTIVE only, else 400 ``E0000001``;
  unsuspend: SUSPENDED only, 400; activate an ACTIVE user: 403 ``E0000016``;
  reactivate/unlock/deactivate in the wrong status: 403 ``E0000038``; deactivation
  revokes the user's refresh tokens); users' factors, admin roles, consent grants,
  clients and per-client tokens; group create/replace/delete, membership
  (``PUT``/``DELETE /groups/{id}/users/{userId}``, keeping group-based app
  assignments in step; the BUILT_IN Everyone group is 403 ``E0000006``) and group
  rules (created INACTIVE; only an INACTIVE rule can be replaced, and never its
  ``actions``: 400 ``E0000001``; activation adds the users matching
  ``user.attr=="value"`` clauses joined by ``&&``/``||``); apps' consent grants and
  signing keys; authorization servers' policies, rules, claims, keys, clients and
  client tokens; org policies (``type`` required) and rules; identity providers,
  network zones, trusted origins, event and inline hooks (an ACTIVE zone or hook can't be
  deleted: 403 ``E0000006``, deactivate first), API tokens, custom admin
  roles (``{"roles": [...]}``) and role assignees (``{"value": [...]}``). Every
  list pages with ``Link`` headers; invalid bodies are 400 ``E0000001``.
* **Every other path of Okta's spec** (authenticators, brands, devices, domains... 400-odd
  templates, see ``_resources``): a generic resource driven by the spec's facts
  (``provider._spec_table``, derived by ``tools/build_emulator_spec.py``): list with the spec's
  ``limit`` default/maximum, ``after`` and ``Link`` headers; get, create (required fields,
  enums and types checked: 400 ``E0000001``), replace, update, delete (children go too),
  ``lifecycle/activate|deactivate``; objects generated per seed from the response schemas.
* **Apps' assignments**: ``PUT``/``DELETE /apps/{id}/groups/{groupId}`` (members follow with
  GROUP scope), ``POST /apps/{id}/users`` and ``POST``/``DELETE /apps/{id}/users/{userId}``.
* **System Log** (``GET /api/v1/logs``, see ``behaviours/logs``): events in ascending
  ``published`` order for what the seeded org went through (user creations,
  activations, logins, status changes, group/app memberships, refresh-token grants
  of each app's first tokens, consent and role grants) and for every mutation made
  through the API (``user.lifecycle.*``, ``group.user_membership.*``,
  ``application.lifecycle.*``, ``app.oauth2.token.revoke``...), acted by the owner
  of the API token (the seeded super administrator). ``since``/``until``/``filter``/
  ``q``/``limit``/``after``; without ``until`` it is a polling query: pages always
  link onwards, and once caught up an empty page links back to itself.

Ground truth for tests lives on :class:`Org` (``app.state.org`` /
``RunningEmulator.org``): ``apps``, ``oidc_apps``, ``app(id)``,
``tokens_for_app(id, expand_scope=False)``, ``token_ids(id)``,
``token_count(id)``, ``token(app_id, token_id)``, ``token_at(app_id, index)``,
``users``, ``user(id)``, ``groups``, ``group(id)``, ``group_members(id)``,
``app_users(id)``, ``app_groups(id)``, ``auth_servers``, ``scopes(id)``,
``client(client_id)``; ``factors(user_id)``,
``user_roles(user_id)``, ``role_assignees``, ``user_grants(user_id, client_id=None,
expand_scope=False)``, ``user_clients(user_id)``, ``client_tokens(client_id, user_id=None,
server_id=None)``, ``app_grants(app_id)``, ``app_keys(app_id)``, ``server_policies(id)``,
``server_policy_rules(id, policy_id)``, ``claims(id)``, ``server_keys(id)``,
``server_clients(id)``,
``policies(type)``, ``policy_rules(policy_id)``, ``group_rules``, ``idps``,
``zones``, ``trusted_origins``, ``event_hooks``, ``inline_hooks``, ``api_tokens``,
``iam_roles``, ``log_events``, ``log_events_between(since, until)`` and
``admin_id`` (the API token's owner); ``resources`` holds the generic resources' objects.
They render links with ``org.base_url``, which the
server helpers set to the listening URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from ._app import build_app
from ._oauth import generate_client, public_key
from ._org import Org
from ._server import RunningEmulator, serve, start_in_thread

__all__ = [
    "EmulatorConfig",
    "Org",
    "RunningEmulator",
    "create_app",
    "generate_client",
    "public_key",
    "serve",
    "start_in_thread",
]


@dataclass
class EmulatorConfig:
    """How the emulated org is built and served."""

    token: str = "emulator-token"  # the SSWS API token accepted
    seed: int = 0
    apps: int | None = None  # None: the default mixed org; N: exactly N OIDC apps
    tokens_per_app: int | None = None  # None: default counts; M: exactly M per OIDC app
    users: int | None = None  # None: 25
    groups: int | None = None  # None: 6 (including the built-in Everyone group)
    latency_ms: float = 0.0  # added delay per request
    rate_limit: int | None = None  # requests per window per endpoint family; None: unlimited
    # requests in flight at once (Okta's per-org concurrency limit); None: unlimited
    concurrency_limit: int | None = None
    # faults and rate windows (``_chaos``): an outage and a throttled org on demand
    rate_window: float = 60.0  # seconds of a rate-limit window (60: Okta's per-minute limits)
    fault_rate: float = 0.0  # share of requests answered 5xx or cut off mid-response
    fault_kinds: tuple[str, ...] = ("500", "502", "503", "504", "drop")  # or "stall"
    fault_drop_after_action: bool = False  # "drop" of a write: act first, then cut off
    fault_stall_s: float = 5.0  # how long a "stall" fault waits
    # OAuth 2.0 service apps (``_oauth``); none registered: SSWS only, as before.
    oauth_clients: dict[str, Any] = field(default_factory=dict)  # client id → public key
    oauth_scopes: dict[str, list[str]] = field(default_factory=dict)  # granted; default: all
    oauth_dpop_clients: set[str] = field(default_factory=set)  # must use DPoP
    oauth_token_ttl: int = 3600  # expires_in of issued access tokens, seconds


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app; ``app.state.org`` is its :class:`Org`."""
    return build_app(config or EmulatorConfig())
