"""A local emulated Okta org that speaks Okta's Management API wire format.

Used by tests, demos and benchmarks over real loopback HTTP::

    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(seed=1)) as emu:
        # emu.url = "http://127.0.0.1:PORT", token "emulator-token"
        expected = emu.org.tokens_for_app(emu.org.oidc_apps[0]["id"])

Behaviour (what callers may rely on)
------------------------------------
* **Auth**: ``Authorization: SSWS <config.token>``; anything else is 401
  ``E0000011`` "Invalid token provided". Auth is checked before routing.
* **Errors** use Okta's ``Error`` body (``errorCode``, ``errorSummary``,
  ``errorLink`` = code, ``errorId`` = ``oae...``, ``errorCauses``):
  unknown id or path → 404 ``E0000007`` ("Not found: Resource not found: <id>
  (<Type>)"); wrong method → 405 ``E0000022`` with ``Allow``; malformed JSON →
  400 ``E0000003``; invalid body or non-integer ``limit`` → 400 ``E0000001``
  ("Api validation failed: <field>", one cause); bad ``filter``/``search``
  expression → 400 ``E0000031`` ("Invalid search criteria.", cause says
  where); an ``after`` cursor that no list ever returned → 400 ``E0000029``;
  deleting an ACTIVE app → 403 ``E0000056`` ("Delete application
  forbidden."); over ``config.rate_limit`` → 429 ``E0000047``.
* **Headers** on every response, errors included: ``Content-Type:
  application/json``, ``Date``, ``X-Okta-Request-Id``, ``X-Rate-Limit-Limit``,
  ``X-Rate-Limit-Remaining``, ``X-Rate-Limit-Reset`` (epoch seconds, end of the
  current minute). Without ``rate_limit`` nothing is enforced and the headers
  report a constant 600/599 so clients never throttle themselves.
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

Ground truth for tests lives on :class:`Org` (``app.state.org`` /
``RunningEmulator.org``): ``apps``, ``oidc_apps``, ``app(id)``,
``tokens_for_app(id, expand_scope=False)``, ``token_ids(id)``,
``token_count(id)``, ``token(app_id, token_id)``, ``token_at(app_id, index)``,
``users``, ``user(id)``, ``groups``, ``group(id)``, ``group_members(id)``,
``app_users(id)``, ``app_groups(id)``, ``auth_servers``, ``scopes(id)``,
``client(client_id)``. They render links with ``org.base_url``, which the
server helpers set to the listening URL.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from ._app import build_app
from ._org import Org
from ._server import RunningEmulator, serve, start_in_thread

__all__ = ["EmulatorConfig", "Org", "RunningEmulator", "create_app", "serve", "start_in_thread"]


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
    rate_limit: int | None = None  # requests per minute before 429; None: unlimited


def create_app(config: EmulatorConfig | None = None) -> Starlette:
    """The emulator as an ASGI app; ``app.state.org`` is its :class:`Org`."""
    return build_app(config or EmulatorConfig())
