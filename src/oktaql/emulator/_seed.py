"""Deterministic generation of the emulated org from ``EmulatorConfig``.

All randomness comes from the ``random.Random(seed)`` passed in, consumed in
a fixed order, so the same config always yields the same org (ids, names,
memberships, timestamps) and a different seed yields a different one.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ._appdefs import default_app
from ._seed_access import seed_admin_roles, seed_api_tokens, seed_factors, seed_grants, seed_iam
from ._seed_log import SeedLog, seed_history
from ._seed_policies import seed_group_rules, seed_policies, seed_server_extras
from ._simple_kinds import seed_simple
from ._tokens import AuthServer, TokenSet
from ._util import BASE_EPOCH, DAY, iso, okta_id

if TYPE_CHECKING:
    from ._org import Org

DEFAULT_USERS = 25
DEFAULT_GROUPS = 6

# The default org: a realistic mix of OIDC (several with more than one page
# of refresh tokens), SAML and bookmark apps, some of them INACTIVE.
# (label, signOnMode, status, OIDC application_type, refresh tokens)
DEFAULT_APPS: list[tuple[str, str, str, str, int]] = [
    ("Customer Portal", "OPENID_CONNECT", "ACTIVE", "web", 23),
    ("Salesforce", "SAML_2_0", "ACTIVE", "", 0),
    ("Mobile Banking", "OPENID_CONNECT", "ACTIVE", "native", 45),
    ("Company Intranet", "BOOKMARK", "ACTIVE", "", 0),
    ("Analytics Dashboard", "OPENID_CONNECT", "ACTIVE", "browser", 61),
    ("Expense Tracker", "OPENID_CONNECT", "ACTIVE", "web", 5),
    ("Slack", "SAML_2_0", "ACTIVE", "", 0),
    ("Inventory Service", "OPENID_CONNECT", "INACTIVE", "web", 8),
    ("Partner API Console", "OPENID_CONNECT", "ACTIVE", "web", 0),
    ("Benefits Site", "BOOKMARK", "INACTIVE", "", 0),
    ("HR Self Service", "OPENID_CONNECT", "ACTIVE", "web", 12),
    ("GitHub Enterprise", "SAML_2_0", "INACTIVE", "", 0),
    ("Support Desk", "OPENID_CONNECT", "ACTIVE", "native", 3),
]
# Token counts cycled over the apps when ``apps=N`` is given without ``tokens_per_app``.
DEFAULT_TOKEN_CYCLE = [23, 45, 61, 5, 0, 12, 3, 8]

_FIRST = (
    "Ada Alan Barbara Claude Dennis Donald Edsger Frances Grace Guido Hedy Ivan Joan John "
    "Ken Linus Margaret Niklaus Radia Rasmus Shafi Sophie Tim Vint Whitfield Yukihiro "
    "Barbara Katherine"
).split()
_LAST = (
    "Lovelace Turing Liskov Shannon Ritchie Knuth Dijkstra Allen Hopper Rossum Lamarr "
    "Sutherland Clarke McCarthy Thompson Torvalds Hamilton Wirth Perlman Lerdorf Goldwasser "
    "Wilson Berners-Lee Cerf Diffie Matsumoto Johnson Kay"
).split()
_DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Support", "Legal", "People"]
_TITLES = ["Engineer", "Senior Engineer", "Manager", "Director", "Analyst", "Specialist"]
_CITIES = [
    ("San Francisco", "US"),
    ("New York", "US"),
    ("London", "GB"),
    ("Berlin", "DE"),
    ("Toronto", "CA"),
    ("Sydney", "AU"),
]
_GROUP_NAMES = [
    ("Engineering", "Product and platform engineers"),
    ("Sales", "Account executives and sales engineers"),
    ("Finance", "Finance and accounting"),
    ("Support", "Customer support agents"),
    ("Admins", "Okta administrators"),
    ("Marketing", "Marketing team"),
    ("Contractors", "External contractors"),
    ("Leadership", "Directors and above"),
]
# Statuses other than ACTIVE that a large enough org gets one user each of.
_ODD_STATUSES = ["STAGED", "PROVISIONED", "SUSPENDED", "LOCKED_OUT", "DEPROVISIONED"]


def populate(org: Org, rng: random.Random) -> None:
    cfg = org.config
    org.org_id = okta_id("00o", rng)
    org.user_type_id = okta_id("oty", rng)
    for server in _auth_servers(rng):
        org.add_server(server)
    _users(org, rng, DEFAULT_USERS if cfg.users is None else max(0, cfg.users))
    _groups(org, rng, DEFAULT_GROUPS if cfg.groups is None else max(0, cfg.groups))
    _apps(org, rng)


def _scope(
    rng: random.Random, name: str, display: str, description: str, system: bool
) -> dict[str, Any]:
    scope: dict[str, Any] = {"id": okta_id("scp", rng), "name": name}
    if display:  # Okta's system scopes carry no displayName
        scope["displayName"] = display
    scope.update(
        {
            "description": description,
            "system": system,
            "default": False,
            "optional": False,
            "consent": "IMPLICIT" if system else "REQUIRED",
            "metadataPublish": "ALL_CLIENTS" if system else "NO_CLIENTS",
        }
    )
    return scope


_SYSTEM_SCOPES = [
    ("offline_access", "", "Requests a refresh token that can obtain more access tokens."),
    ("openid", "", "Signals that a request is an OpenID request."),
    ("profile", "", "Allows access to the end user's default profile claims."),
    ("email", "", "Allows access to the end user's email address."),
    ("address", "", "Allows access to the end user's address."),
    ("phone", "", "Allows access to the end user's phone number."),
]


def system_scopes(rng: random.Random) -> list[dict[str, Any]]:
    """The scopes every authorization server starts with (a new one through the API too)."""
    return [_scope(rng, n, d, desc, True) for n, d, desc in _SYSTEM_SCOPES]


def _auth_servers(rng: random.Random) -> list[AuthServer]:
    specs = [
        ("default", "Default Authorization Server", ["api://default"], []),
        (
            "Orders API",
            "Authorization server for the orders service",
            ["api://orders"],
            [
                ("orders:read", "Read orders", "Read access to orders"),
                ("orders:write", "Manage orders", "Create and update orders"),
            ],
        ),
    ]
    servers = []
    for k, (name, description, audiences, custom) in enumerate(specs):
        server = AuthServer(
            id=okta_id("aus", rng),
            name=name,
            description=description,
            audiences=audiences,
            created=iso(BASE_EPOCH + k * 3600),
            kid=okta_id("", rng) + okta_id("", rng)[:23],
        )
        server.scopes = system_scopes(rng)
        server.scopes += [_scope(rng, n, d, desc, False) for n, d, desc in custom]
        servers.append(server)
    return servers


def _users(org: Org, rng: random.Random, count: int) -> None:
    statuses = ["ACTIVE"] * count
    if count >= 8:
        for status, pos in zip(
            _ODD_STATUSES, rng.sample(range(1, count), len(_ODD_STATUSES)), strict=True
        ):
            statuses[pos] = status
    seen: set[str] = set()
    for i in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        login = f"{first}.{last}".lower().replace(" ", "")
        n = 1
        while login in seen:
            n += 1
            login = f"{first}.{last}{n}".lower()
        seen.add(login)
        email = f"{login}@example.com"
        status = statuses[i]
        created = BASE_EPOCH + i * 7200 + rng.randrange(3600)
        activated = None if status in ("STAGED", "PROVISIONED") else created + 60
        last_login = (
            created + rng.randrange(DAY, 150 * DAY)
            if status == "ACTIVE" and rng.random() < 0.8
            else None
        )
        changed = created + 120 if activated else None
        status_changed = activated
        if status in ("SUSPENDED", "LOCKED_OUT", "DEPROVISIONED"):
            status_changed = created + 160 * DAY + rng.randrange(DAY)
        last_updated = max(
            t for t in (created, activated, changed, status_changed, last_login) if t
        )
        city, country = rng.choice(_CITIES)
        user = {
            "id": okta_id("00u", rng),
            "status": status,
            "created": iso(created),
            "activated": iso(activated) if activated else None,
            "statusChanged": iso(status_changed) if status_changed else None,
            "lastLogin": iso(last_login) if last_login else None,
            "lastUpdated": iso(last_updated),
            "passwordChanged": iso(changed) if changed else None,
            "type": {"id": org.user_type_id},
            "profile": {
                "firstName": first,
                "lastName": last,
                "mobilePhone": f"+1-555-{rng.randrange(1000, 10000)}"
                if rng.random() < 0.6
                else None,
                "secondEmail": None,
                "login": email,
                "email": email,
                "title": rng.choice(_TITLES),
                "department": rng.choice(_DEPARTMENTS),
                "city": city,
                "countryCode": country,
                "employeeNumber": str(1000 + i),
            },
            "credentials": {
                "password": {},
                "provider": {"type": "OKTA", "name": "OKTA"},
            },
        }
        org.add_user(user)


def _groups(org: Org, rng: random.Random, count: int) -> None:
    users = [u for u in org.user_docs() if u["status"] != "DEPROVISIONED"]
    for k in range(count):
        created = BASE_EPOCH + k * 1800
        if k == 0:
            # Every Okta org has the built-in Everyone group with all users.
            gtype, name, desc, members = (
                "BUILT_IN",
                "Everyone",
                "All users in your organization",
                users,
            )
        else:
            name, desc = _GROUP_NAMES[(k - 1) % len(_GROUP_NAMES)]
            if k - 1 >= len(_GROUP_NAMES):
                name = f"{name} {(k - 1) // len(_GROUP_NAMES) + 1}"
            gtype = "OKTA_GROUP"
            size = rng.randint(min(2, len(users)), min(10, len(users))) if users else 0
            members = rng.sample(users, size)
        updated = created + 30 * DAY + rng.randrange(DAY)
        group = {
            "id": okta_id("00g", rng),
            "created": iso(created),
            "lastUpdated": iso(updated),
            "lastMembershipUpdated": iso(updated + rng.randrange(DAY)),
            "objectClass": ["okta:user_group"],
            "type": gtype,
            "profile": {"name": name, "description": desc},
        }
        org.add_group(group, [u["id"] for u in members])


def _app_plan(org: Org) -> list[tuple[str, str, str, str, int]]:
    cfg = org.config
    if cfg.apps is None:
        plan = list(DEFAULT_APPS)
    else:
        oidc = [p for p in DEFAULT_APPS if p[1] == "OPENID_CONNECT"]
        plan = []
        for k in range(max(0, cfg.apps)):
            label, _, _, app_type, _ = oidc[k % len(oidc)]
            if k >= len(oidc):
                label = f"{label} {k // len(oidc) + 1}"
            tokens = DEFAULT_TOKEN_CYCLE[k % len(DEFAULT_TOKEN_CYCLE)]
            plan.append((label, "OPENID_CONNECT", "ACTIVE", app_type, tokens))
    if cfg.tokens_per_app is not None:
        plan = [(lb, m, st, t, max(0, cfg.tokens_per_app)) for lb, m, st, t, _ in plan]
    return plan


def _apps(org: Org, rng: random.Random) -> None:
    users = org.user_docs()
    assignable = [u for u in users if u["status"] != "DEPROVISIONED"]
    groups = org.group_docs()
    custom_groups = [g for g in groups if g["type"] == "OKTA_GROUP"]
    servers = org.server_list()
    for k, (label, mode, status, app_type, n_tokens) in enumerate(_app_plan(org)):
        app_id = okta_id("0oa", rng)
        created = BASE_EPOCH + 2 * DAY + k * 3 * 3600 + rng.randrange(3600)
        app = default_app(
            org_id=org.org_id,
            app_id=app_id,
            label=label,
            sign_on_mode=mode,
            status=status,
            timestamp=iso(created),
            kid=okta_id("", rng) + okta_id("", rng)[:23],
            oidc_type=app_type or "web",
        )
        if status == "INACTIVE" or k % 3 == 0:
            app["lastUpdated"] = iso(created + 20 * DAY + rng.randrange(DAY))
        org.add_app(app, app_link_id=okta_id("aln", rng))

        # Assignments: the intranet bookmark goes to Everyone, other apps get
        # up to two custom groups and a few direct users.
        chosen_groups = (
            [groups[0]]
            if mode == "BOOKMARK" and groups
            else rng.sample(custom_groups, rng.randint(0, min(2, len(custom_groups))))
        )
        direct = rng.sample(
            assignable, rng.randint(min(1, len(assignable)), min(4, len(assignable)))
        )
        app_groups: dict[str, dict[str, Any]] = {}
        for priority, group in enumerate(chosen_groups):
            app_groups[group["id"]] = {
                "id": group["id"],
                "priority": priority,
                "lastUpdated": iso(created + 3600 + priority),
                "profile": {},
            }
        app_users: dict[str, dict[str, Any]] = {}
        via_group = {uid for g in chosen_groups for uid in org.member_ids(g["id"])}
        direct_ids = {u["id"] for u in direct}
        for user in assignable:
            uid = user["id"]
            if uid not in direct_ids and uid not in via_group:
                continue
            assigned = iso(created + 7200 + org.seq_of(uid))  # type: ignore[operator]
            app_users[uid] = {
                "id": uid,
                "created": assigned,
                "lastUpdated": assigned,
                "scope": "USER" if uid in direct_ids else "GROUP",
                "status": "ACTIVE",
                "statusChanged": assigned,
                "passwordChanged": None,
                "syncState": "DISABLED",
                "credentials": {"userName": user["profile"]["login"]},
                "profile": {},
            }
        org.assign(app_id, app_users, app_groups)

        if mode == "OPENID_CONNECT":
            tokens = TokenSet(
                app_id,
                app["credentials"]["oauthClient"]["client_id"],
                rng.getrandbits(64),
                n_tokens,
                org.token_users(app_id),
                servers,
                created,
            )
            org.set_tokens(app_id, tokens)


def populate_families(org: Org) -> None:
    """Seed every family beyond apps/users/groups/tokens, each on its own stream."""
    rng = random.Random(f"oktaql-emulator-more-{org.config.seed}")
    log = SeedLog(random.Random(f"oktaql-emulator-log-{org.config.seed}"))
    seed_iam(org, rng)
    seed_admin_roles(org, rng, log)
    seed_api_tokens(org, rng)
    seed_factors(org, rng)
    seed_server_extras(org, rng)
    seed_grants(org, rng, log)
    seed_policies(org, rng)
    seed_group_rules(org, rng)
    seed_simple(org, rng)  # IdPs, zones, trusted origins, hooks
    seed_history(org, log)
    log.flush(org)
