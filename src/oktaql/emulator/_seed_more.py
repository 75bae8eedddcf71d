"""Deterministic seeding of the org beyond apps/users/groups/tokens (see the ``_org_<family>`` modules).

Runs after ``_seed.populate`` on its own ``random.Random`` stream (so the base org is
unchanged by it) and only ever refers to resources that exist: role assignments and factors
of real users, consent grants derived from the refresh tokens actually issued (user, client,
authorization server, scope), policies that name real groups, and a System Log telling what
the seeded org went through (user creations and activations, logins, status changes, group
and app memberships, refresh-token grants, role and consent grants), in ascending order.

Everything scales with ``--users`` / ``--groups`` / ``--apps`` and is a pure function of
the config. Where an app has many tokens, grants and token-grant events are derived from
its first tokens only (``GRANT_SCAN`` / ``TOKEN_EVENTS``), to keep startup O(apps).
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
from typing import TYPE_CHECKING, Any

from . import _events
from ._org_grants import GRANT_SCAN
from ._org_users import STANDARD_ROLES
from ._util import BASE_EPOCH, DAY, iso, okta_id

if TYPE_CHECKING:
    from ._org import Org

TOKEN_EVENTS = 20  # refresh-token grant events seeded per app (its first tokens)
TEN_YEARS = 3650 * DAY


def _parse(ts: str) -> int:
    import calendar
    import time

    return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))


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
        "expiresAt": iso(_parse(created) + TEN_YEARS),
        "x5c": [x5c],
        "e": "AQAB",
        "n": n,
        "kid": kid,
        "kty": "RSA",
        "use": "sig",
        "x5t#S256": x5t,
    }


_CLAUSE = re.compile(r'^\s*user\.(?:profile\.)?(\w+)\s*==\s*"((?:[^"\\]|\\.)*)"\s*$')


def rule_matches(expression: str, user: dict[str, Any]) -> bool:
    """Evaluate the subset of Okta's expression language group rules use most:
    ``user.attr=="value"`` clauses joined with ``&&`` / ``||`` (``&&`` binds tighter).
    Anything else matches nobody."""
    profile = user.get("profile") or {}
    for alternative in expression.split("||"):
        ok = True
        for clause in alternative.split("&&"):
            m = _CLAUSE.match(clause)
            if not m or str(profile.get(m.group(1))) != m.group(2).replace('\\"', '"'):
                ok = False
                break
        if ok:
            return True
    return False


class _Log:
    """Seeded events, sorted by ``published`` (then creation order) at the end."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.items: list[tuple[int, int, dict[str, Any]]] = []

    def add(
        self,
        epoch: int,
        event_type: str,
        actor: dict[str, Any],
        targets: list[dict[str, Any]],
        uri: str,
        *,
        browser: bool = False,
        geo: int = 0,
        result: str = "SUCCESS",
        reason: str | None = None,
        severity: str = "INFO",
    ) -> None:
        event = _events.build_event(
            self.rng,
            event_type=event_type,
            published=iso(epoch),
            actor=actor,
            targets=targets,
            request_uri=uri,
            browser=browser,
            geo_index=geo,
            result=result,
            reason=reason,
            severity=severity,
        )
        self.items.append((epoch, len(self.items), event))

    def flush(self, org: Org) -> None:
        for _, _, event in sorted(self.items, key=lambda t: (t[0], t[1])):
            org.add_event(event)


def populate_more(org: Org) -> None:
    rng = random.Random(f"oktaql-emulator-more-{org.config.seed}")
    log = _Log(random.Random(f"oktaql-emulator-log-{org.config.seed}"))
    _iam(org, rng)
    _admin_roles(org, rng, log)
    _api_tokens(org, rng)
    _factors(org, rng)
    _server_extras(org, rng)
    _grants(org, rng, log)
    _policies(org, rng)
    _group_rules(org, rng)
    _simple(org, rng)
    _history(org, log)
    log.flush(org)


def _active_users(org: Org) -> list[dict[str, Any]]:
    return [u for u in org.user_docs() if u["status"] == "ACTIVE"]


def _admin_actor(org: Org) -> dict[str, Any]:
    return org.actor()


# ------------------------------------------------------------ IAM and roles


def _iam(org: Org, rng: random.Random) -> None:
    created = iso(BASE_EPOCH + 10 * DAY)
    for label, desc, perms in (
        ("UserCreator", "Create and read users", ["okta.users.create", "okta.users.read"]),
        (
            "GroupMembershipManager",
            "Manage the members of groups",
            ["okta.groups.members.manage", "okta.groups.read"],
        ),
    ):
        role: dict[str, Any] = {
            "id": okta_id("cr0", rng),
            "label": label,
            "description": desc,
            "created": created,
            "lastUpdated": created,
            "_permissions": perms,
        }
        org._iam_roles[role["id"]] = role
        org.register(role["id"])
    rs = {
        "id": okta_id("iam", rng),
        "label": "Directory",
        "description": "Every user and group",
        "created": created,
        "lastUpdated": created,
    }
    org._resource_sets[rs["id"]] = rs


def _admin_roles(org: Org, rng: random.Random, log: _Log) -> None:
    active = _active_users(org)
    if not active:
        return
    admin = active[0]
    org.admin_id = admin["id"]
    org.actor()  # remember the admin's name for the log
    others = rng.sample(active[1:], min(4, len(active) - 1))
    plan: list[tuple[dict[str, Any], list[str]]] = [(admin, ["SUPER_ADMIN"])]
    for user, types in zip(
        others, (["ORG_ADMIN"], ["APP_ADMIN", "HELP_DESK_ADMIN"], ["READ_ONLY_ADMIN"], ["CUSTOM"])
    ):
        plan.append((user, types))
    custom = next(iter(org._iam_roles.values()))
    rs_id = next(iter(org._resource_sets))
    for user, types in plan:
        when = _parse(user["activated"] or user["created"]) + DAY
        for rtype in types:
            stamp = iso(when)
            role: dict[str, Any] = {
                "id": okta_id("irb" if rtype == "CUSTOM" else "ra1", rng),
                "label": custom["label"] if rtype == "CUSTOM" else STANDARD_ROLES[rtype],
                "type": rtype,
                "status": "ACTIVE",
                "created": stamp,
                "lastUpdated": stamp,
                "assignmentType": "USER",
            }
            if rtype == "CUSTOM":
                role.update(
                    {"role": custom["id"], "resource-set": rs_id, "_member": okta_id("irb", rng)}
                )
            org.add_role(user["id"], role)
            actor = _events.SYSTEM_ACTOR if user is admin else _admin_actor(org)
            log.add(
                when,
                "user.account.privilege.grant",
                actor,
                [_events.user_ref(user), _events.ref(role["id"], "ROLE", role["label"])],
                f"/api/v1/users/{user['id']}/roles",
            )
            when += 60


def _api_tokens(org: Org, rng: random.Random) -> None:
    owners = [u for u in org.role_assignee_ids() if u in org._users][:2]
    names = ["Emulator automation", "Terraform"]
    windows = ["P30D", "PT12H"]
    for k, (uid, name) in enumerate(zip(owners, names)):
        created = BASE_EPOCH + 3 * DAY + k * 3600
        token: dict[str, Any] = {
            "name": name,
            "userId": uid,
            "tokenWindow": windows[k],
            "network": {"connection": "ANYWHERE"},
            "id": okta_id("00T", rng),
            "clientName": "Okta API",
            "expiresAt": iso(BASE_EPOCH + 366 * DAY + 30 * DAY),
            "created": iso(created),
            "lastUpdated": iso(created),
        }
        org._api_tokens[token["id"]] = token
        org.register(token["id"])


# ------------------------------------------------------------ factors


_QUESTION = ("disliked_food", "What is the food you least liked as a child?")


def _factors(org: Org, rng: random.Random) -> None:
    for user in org.user_docs():
        if user["status"] not in ("ACTIVE", "SUSPENDED", "LOCKED_OUT", "PASSWORD_EXPIRED"):
            continue
        when = _parse(user["activated"] or user["created"]) + 300
        profile = user["profile"]
        plan: list[tuple[str, str, str, dict[str, Any], str]] = [
            ("emf", "email", "OKTA", {"email": profile["email"]}, "ACTIVE")
        ]
        if profile.get("mobilePhone") and rng.random() < 0.8:
            # factor phone numbers are E.164 ("+15558624"), profile phones are free text
            e164 = re.sub(r"[^\d+]", "", profile["mobilePhone"])
            plan.append(("mbl", "sms", "OKTA", {"phoneNumber": e164}, "ACTIVE"))
        if rng.random() < 0.5:
            provider = rng.choice(["GOOGLE", "OKTA"])
            status = "PENDING_ACTIVATION" if rng.random() < 0.15 else "ACTIVE"
            plan.append(
                ("ost", "token:software:totp", provider, {"credentialId": profile["login"]}, status)
            )
        if rng.random() < 0.4:
            plan.append(
                (
                    "opf",
                    "push",
                    "OKTA",
                    {
                        "credentialId": profile["login"],
                        "deviceType": "SmartPhone_IPhone",
                        "name": f"{profile['firstName']}'s iPhone",
                        "platform": "IOS",
                        "version": "17.4",
                    },
                    "ACTIVE",
                )
            )
        if rng.random() < 0.2:
            plan.append(
                (
                    "ufs",
                    "question",
                    "OKTA",
                    {"question": _QUESTION[0], "questionText": _QUESTION[1]},
                    "ACTIVE",
                )
            )
        for prefix, ftype, provider, fprofile, status in plan:
            stamp = iso(when)
            org.add_factor(
                user["id"],
                {
                    "id": okta_id(prefix, rng),
                    "factorType": ftype,
                    "provider": provider,
                    "vendorName": provider,
                    "status": status,
                    "created": stamp,
                    "lastUpdated": stamp,
                    "profile": fprofile,
                },
            )
            when += 45


# ------------------------------------------------- authorization servers


def _server_extras(org: Org, rng: random.Random) -> None:
    everyone = next((g["id"] for g in org.group_docs() if g["type"] == "BUILT_IN"), None)
    for k, server in enumerate(org.server_list()):
        keys = []
        for status, kid in (("ACTIVE", server.kid), ("NEXT", okta_id("", rng) + okta_id("", rng))):
            n, _x5c, _t = rsa_public_parts(kid)
            keys.append(
                {
                    "status": status,
                    "alg": "RS256",
                    "e": "AQAB",
                    "n": n,
                    "kid": kid,
                    "kty": "RSA",
                    "use": "sig",
                }
            )
        org._as_keys[server.id] = keys
        created = _parse(server.created) + 600
        custom = [s["name"] for s in server.scopes if not s["system"]]
        policies = [("Default Policy", "Applies to every client of this server", ["*"])]
        if custom:
            policies = [
                (f"{server.name} access", f"Who may use the {server.name} scopes", ["*"]),
            ]
        for p_index, (name, desc, scopes) in enumerate(policies):
            stamp = iso(created + p_index * 60)
            policy: dict[str, Any] = {
                "type": "OAUTH_AUTHORIZATION_POLICY",
                "id": okta_id("00p", rng),
                "status": "ACTIVE",
                "name": name,
                "description": desc,
                "priority": p_index + 1,
                "system": False,
                "conditions": {"clients": {"include": ["ALL_CLIENTS"]}},
                "created": stamp,
                "lastUpdated": stamp,
            }
            org._as_policies.setdefault(server.id, {})[policy["id"]] = policy
            org.register(policy["id"])
            rules = [("Default Policy Rule", scopes, everyone)]
            if custom:
                rules = [
                    (
                        "Read access",
                        ["openid", "offline_access", "profile", "email", custom[0]],
                        everyone,
                    ),
                    ("Write access", custom, everyone),
                ]
            for r_index, (rname, rscopes, group) in enumerate(rules):
                rule: dict[str, Any] = {
                    "type": "RESOURCE_ACCESS",
                    "id": okta_id("0pr", rng),
                    "status": "ACTIVE",
                    "name": rname,
                    "priority": r_index + 1,
                    "created": stamp,
                    "lastUpdated": stamp,
                    "system": False,
                    "conditions": {
                        "people": {
                            "users": {"include": [], "exclude": []},
                            "groups": {"include": [group or "EVERYONE"], "exclude": []},
                        },
                        "grantTypes": {"include": ["authorization_code", "refresh_token"]},
                        "scopes": {"include": rscopes},
                    },
                    "actions": {
                        "token": {
                            "accessTokenLifetimeMinutes": 60,
                            # refresh tokens live 90 days (see _tokens.TOKEN_LIFETIME)
                            "refreshTokenLifetimeMinutes": 90 * 24 * 60,
                            "refreshTokenWindowMinutes": 7 * 24 * 60,
                        }
                    },
                }
                org._as_rules.setdefault(policy["id"], {})[rule["id"]] = rule
                org.register(rule["id"])
        claims = (
            [
                ("groups", "IDENTITY", "GROUPS", ".*", ["profile"], "REGEX"),
                ("department", "RESOURCE", "EXPRESSION", "user.department", ["profile"], None),
            ]
            if k == 0
            else [("orders_tier", "RESOURCE", "EXPRESSION", '"standard"', custom[:1], None)]
        )
        for name, ctype, vtype, value, scopes, gft in claims:
            claim: dict[str, Any] = {
                "id": okta_id("ocl", rng),
                "name": name,
                "status": "ACTIVE",
                "claimType": ctype,
                "valueType": vtype,
                "value": value,
                "conditions": {"scopes": list(scopes)},
                "system": False,
                "alwaysIncludeInToken": ctype == "IDENTITY",
            }
            if gft:
                claim["group_filter_type"] = gft
            org._claims.setdefault(server.id, {})[claim["id"]] = claim
            org.register(claim["id"])


# ------------------------------------------------------------ grants


_ADMIN_SCOPES = ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"]


def _grants(org: Org, rng: random.Random, log: _Log) -> None:
    """Users' consent grants from the tokens issued; admin grants of Okta scopes to apps."""
    servers = {s.id: s for s in org.server_list()}
    for k, app in enumerate(org.oidc_app_docs()):
        tokens = org.token_set(app["id"])
        assert tokens is not None
        client_id = app["credentials"]["oauthClient"]["client_id"]
        seen: dict[tuple[str, str, str], int] = {}
        for i in range(min(tokens.count, GRANT_SCAN)):
            user_idx, s_idx, names, created = tokens._attrs(i)
            if user_idx < 0:
                continue
            uid = tokens.users[user_idx].id
            server = tokens.servers[s_idx]
            for name in names:
                scope = server.scope(name)
                if scope is None or scope["system"]:
                    continue  # only scopes that need consent get a grant
                seen.setdefault((uid, server.id, scope["id"]), created)
        for (uid, server_id, scope_id), created in sorted(
            seen.items(), key=lambda kv: (kv[1], kv[0])
        ):
            stamp = iso(created - 5)
            grant = {
                "id": okta_id("oag", rng),
                "status": "ACTIVE",
                "created": stamp,
                "createdBy": {"id": uid, "type": "User"},
                "lastUpdated": stamp,
                "clientId": client_id,
                "userId": uid,
                "scopeId": scope_id,
                "source": "END_USER",
                "_server": server_id,
                "_app": app["id"],
            }
            org.add_user_grant(grant)
            user = org.user_doc(uid)
            assert user is not None
            scope = next(s for s in servers[server_id].scopes if s["id"] == scope_id)
            log.add(
                created - 5,
                "app.oauth2.as.consent.grant",
                _events.user_ref(user),
                [
                    _events.user_ref(user),
                    _events.app_ref(app),
                    _events.ref(grant["id"], "OAuth2ScopeConsentGrant", scope["name"]),
                ],
                f"/oauth2/{server_id}/v1/authorize",
                browser=True,
                geo=org.seq_of(uid) or 0,
            )
        if k % 3 == 0 and org.admin_id:
            when = _parse(app["created"]) + DAY
            for scope_id in _ADMIN_SCOPES[: 1 + rng.randrange(len(_ADMIN_SCOPES))]:
                stamp = iso(when)
                grant = {
                    "id": okta_id("oag", rng),
                    "status": "ACTIVE",
                    "created": stamp,
                    "createdBy": {"id": org.admin_id, "type": "User"},
                    "lastUpdated": stamp,
                    "clientId": client_id,
                    "scopeId": scope_id,
                    "source": "ADMIN",
                    "_app": app["id"],
                }
                org.add_app_grant(grant)
                log.add(
                    when,
                    "app.oauth2.admin.consent.grant",
                    _admin_actor(org),
                    [
                        _events.app_ref(app),
                        _events.ref(grant["id"], "OAuth2ScopeConsentGrant", scope_id),
                    ],
                    f"/api/v1/apps/{app['id']}/grants",
                )
                when += 30


# ------------------------------------------------------------ policies


def _policies(org: Org, rng: random.Random) -> None:
    groups = org.group_docs()
    everyone = [g["id"] for g in groups if g["type"] == "BUILT_IN"][:1]
    contractors = [g["id"] for g in groups if g["profile"]["name"] == "Contractors"][:1]
    people = {"people": {"groups": {"include": list(everyone)}}}
    created = BASE_EPOCH + DAY

    def add(ptype: str, name: str, desc: str, priority: int, system: bool, body: dict[str, Any],
            rules: list[tuple[str, str, dict[str, Any]]]) -> None:  # fmt: skip
        stamp = iso(created + priority * 60 + len(org._policies))
        policy = {
            "type": ptype,
            "id": okta_id("00p", rng),
            "status": "ACTIVE",
            "name": name,
            "description": desc,
            "priority": priority,
            "system": system,
            "created": stamp,
            "lastUpdated": stamp,
            **body,
        }
        org._policies[policy["id"]] = policy
        org.register(policy["id"])
        for r_index, (rname, rtype, rbody) in enumerate(rules):
            rule = {
                "id": okta_id("0pr", rng),
                "status": "ACTIVE",
                "name": rname,
                "priority": r_index + 1,
                "created": stamp,
                "lastUpdated": stamp,
                "system": rname in ("Default Rule", "Catch-all Rule"),
                "type": rtype,
                **rbody,
            }
            org._policy_rules.setdefault(policy["id"], {})[rule["id"]] = rule
            org.register(rule["id"])

    sign_on_rule = {
        "conditions": {"network": {"connection": "ANYWHERE"}, "authContext": {"authType": "ANY"}},
        "actions": {
            "signon": {
                "access": "ALLOW",
                "requireFactor": False,
                "session": {
                    "usePersistentCookie": False,
                    "maxSessionIdleMinutes": 120,
                    "maxSessionLifetimeMinutes": 0,
                },
            }
        },
    }
    priority = 1
    if contractors:
        mfa_rule = {
            "conditions": {
                "network": {"connection": "ANYWHERE"},
                "authContext": {"authType": "ANY"},
            },
            "actions": {
                "signon": {
                    "access": "ALLOW",
                    "requireFactor": True,
                    "factorPromptMode": "ALWAYS",
                    "session": {
                        "usePersistentCookie": False,
                        "maxSessionIdleMinutes": 30,
                        "maxSessionLifetimeMinutes": 480,
                    },
                }
            },
        }
        add(
            "OKTA_SIGN_ON",
            "Contractors sign-on",
            "Contractors answer a second factor at every sign-in",
            priority,
            False,
            {"conditions": {"people": {"groups": {"include": contractors}}}},
            [("Always MFA", "SIGN_ON", mfa_rule)],
        )
        priority += 1
    add(
        "OKTA_SIGN_ON",
        "Default Policy",
        "The default sign-on policy of the org",
        priority,
        True,
        {"conditions": people},
        [("Default Rule", "SIGN_ON", sign_on_rule)],
    )
    add(
        "PASSWORD",
        "Default Policy",
        "The default password policy of the org",
        1,
        True,
        {
            "conditions": {**people, "authProvider": {"provider": "OKTA"}},
            "settings": {
                "password": {
                    "complexity": {
                        "minLength": 8,
                        "minLowerCase": 1,
                        "minUpperCase": 1,
                        "minNumber": 1,
                        "minSymbol": 0,
                        "excludeUsername": True,
                        "dictionary": {"common": {"exclude": False}},
                        "excludeAttributes": [],
                    },
                    "age": {
                        "maxAgeDays": 0,
                        "expireWarnDays": 0,
                        "minAgeMinutes": 0,
                        "historyCount": 4,
                    },
                    "lockout": {
                        "maxAttempts": 10,
                        "autoUnlockMinutes": 0,
                        "userLockoutNotificationChannels": [],
                        "showLockoutFailures": False,
                    },
                },
                "recovery": {
                    "factors": {
                        "recovery_question": {
                            "status": "ACTIVE",
                            "properties": {"complexity": {"minLength": 4}},
                        },
                        "okta_email": {
                            "status": "ACTIVE",
                            "properties": {"recoveryToken": {"tokenLifetimeMinutes": 60}},
                        },
                        "okta_sms": {"status": "INACTIVE"},
                        "okta_call": {"status": "INACTIVE"},
                    }
                },
                "delegation": {"options": {"skipUnlock": False}},
            },
        },
        [
            (
                "Default Rule",
                "PASSWORD",
                {
                    "conditions": {
                        "people": {"users": {"exclude": []}},
                        "network": {"connection": "ANYWHERE"},
                    },
                    "actions": {
                        "passwordChange": {"access": "ALLOW"},
                        "selfServicePasswordReset": {"access": "ALLOW"},
                        "selfServiceUnlock": {"access": "DENY"},
                    },
                },
            )
        ],
    )
    add(
        "MFA_ENROLL",
        "Default Policy",
        "Which authenticators users enroll",
        1,
        True,
        {
            "conditions": people,
            "settings": {
                "type": "AUTHENTICATORS",
                "authenticators": [
                    {"key": "okta_email", "enroll": {"self": "REQUIRED"}},
                    {"key": "okta_password", "enroll": {"self": "REQUIRED"}},
                    {"key": "okta_verify", "enroll": {"self": "OPTIONAL"}},
                    {"key": "phone_number", "enroll": {"self": "OPTIONAL"}},
                ],
            },
        },
        [
            (
                "Default Rule",
                "MFA_ENROLL",
                {
                    "conditions": {
                        "people": {"users": {"exclude": []}},
                        "network": {"connection": "ANYWHERE"},
                    },
                    "actions": {"enroll": {"self": "CHALLENGE"}},
                },
            )
        ],
    )
    access_rule = {
        "conditions": None,
        "actions": {
            "appSignOn": {
                "access": "ALLOW",
                "verificationMethod": {
                    "factorMode": "2FA",
                    "type": "ASSURANCE",
                    "reauthenticateIn": "PT12H",
                    "constraints": [],
                },
            }
        },
    }
    add(
        "ACCESS_POLICY",
        "Default Policy",
        "Applies to apps without a policy of their own",
        1,
        True,
        {},
        [
            (
                "Catch-all Rule",
                "ACCESS_POLICY",
                {k: v for k, v in access_rule.items() if v is not None},
            )
        ],
    )
    add(
        "IDP_DISCOVERY",
        "Idp Discovery Policy",
        "Where users sign in",
        1,
        True,
        {},
        [
            (
                "Default Rule",
                "IDP_DISCOVERY",
                {"actions": {"idp": {"providers": [{"type": "OKTA"}]}}},
            )
        ],
    )
    add(
        "PROFILE_ENROLLMENT",
        "Default Policy",
        "Self-service registration",
        1,
        True,
        {},
        [
            (
                "Catch-all Rule",
                "PROFILE_ENROLLMENT",
                {
                    "actions": {
                        "profileEnrollment": {
                            "access": "DENY",
                            "profileAttributes": [
                                {"name": "email", "label": "Email", "required": True}
                            ],
                            "unknownUserAction": "DENY",
                            "activationRequirements": {"emailVerification": True},
                        }
                    }
                },
            )
        ],
    )


def _group_rules(org: Org, rng: random.Random) -> None:
    by_name = {g["profile"]["name"]: g for g in org.group_docs() if g["type"] == "OKTA_GROUP"}
    for k, dept in enumerate(("Engineering", "Sales")):
        group = by_name.get(dept)
        if group is None:
            continue
        stamp = iso(BASE_EPOCH + 40 * DAY + k * 3600)
        org.add_group_rule(
            {
                "type": "group_rule",
                "id": okta_id("0pr", rng),
                "status": "INACTIVE",
                "name": f"{dept} department",
                "created": stamp,
                "lastUpdated": stamp,
                "conditions": {
                    "people": {"users": {"exclude": []}, "groups": {"exclude": []}},
                    "expression": {
                        "value": f'user.department=="{dept}"',
                        "type": "urn:okta:expression:1.0",
                    },
                },
                "actions": {"assignUserToGroups": {"groupIds": [group["id"]]}},
            }
        )


# ------------------------------------------------- IdPs, zones, origins, hooks


def _simple(org: Org, rng: random.Random) -> None:
    from ._simple_kinds import seed_simple

    seed_simple(org, rng)


# ------------------------------------------------------------ history


def _history(org: Org, log: _Log) -> None:
    """Events for what the seeded org went through."""
    admin_ref = _admin_actor(org) if org.admin_id else dict(_events.SYSTEM_ACTOR)
    admin_doc = org.user_doc(org.admin_id) if org.admin_id else None
    admin_since = _parse(admin_doc["created"]) if admin_doc else 0

    def by_admin(when: int) -> dict[str, Any]:
        """The admin acted once they existed; before that, Okta itself did."""
        return admin_ref if when >= admin_since else dict(_events.SYSTEM_ACTOR)

    users = org.user_docs()
    for n, user in enumerate(users):
        ref = _events.user_ref(user)
        actor = (
            _events.SYSTEM_ACTOR
            if user["id"] == org.admin_id
            else by_admin(_parse(user["created"]))
        )
        uri = "/api/v1/users"
        created = _parse(user["created"])
        log.add(created, "user.lifecycle.create", actor, [ref], uri)
        if user["activated"]:
            log.add(_parse(user["activated"]), "user.lifecycle.activate", actor, [ref],
                    f"/api/v1/users/{user['id']}/lifecycle/activate")  # fmt: skip
        if user["lastLogin"]:
            log.add(_parse(user["lastLogin"]), "user.session.start", ref, [ref],
                    "/idp/idx/identify", browser=True, geo=n)  # fmt: skip
        changed = _parse(user["statusChanged"]) if user["statusChanged"] else None
        if changed and user["status"] == "SUSPENDED":
            log.add(changed, "user.lifecycle.suspend", by_admin(changed), [ref],
                    f"/api/v1/users/{user['id']}/lifecycle/suspend")  # fmt: skip
        elif changed and user["status"] == "DEPROVISIONED":
            log.add(changed, "user.lifecycle.deactivate", by_admin(changed), [ref],
                    f"/api/v1/users/{user['id']}/lifecycle/deactivate")  # fmt: skip
        elif changed and user["status"] == "LOCKED_OUT":
            log.add(changed, "user.account.lock", ref, [ref], "/idp/idx/identify",
                    browser=True, geo=n, result="FAILURE", reason="LOCKED_OUT", severity="WARN")  # fmt: skip
    for group in org.group_docs():
        if group["type"] == "BUILT_IN":
            continue
        gref = _events.group_ref(group)
        created = _parse(group["created"])
        log.add(created, "group.lifecycle.create", by_admin(created), [gref], "/api/v1/groups")
        for uid in org.member_ids(group["id"]):
            member = org.user_doc(uid)
            assert member is not None
            when = max(created, _parse(member["created"])) + 120
            log.add(when, "group.user_membership.add", by_admin(when), [_events.user_ref(member), gref],
                    f"/api/v1/groups/{group['id']}/users/{uid}")  # fmt: skip
    for app in org.app_docs():
        aref = _events.app_ref(app)
        log.add(
            _parse(app["created"]),
            "application.lifecycle.create",
            by_admin(_parse(app["created"])),
            [aref],
            "/api/v1/apps",
        )
        if app["status"] == "INACTIVE":
            log.add(_parse(app["lastUpdated"]), "application.lifecycle.deactivate", by_admin(_parse(app["lastUpdated"])), [aref],
                    f"/api/v1/apps/{app['id']}/lifecycle/deactivate")  # fmt: skip
        for au in org.app_user_docs(app["id"]):
            assignee = org.user_doc(au["id"])
            assert assignee is not None
            log.add(_parse(au["created"]), "application.user_membership.add", by_admin(_parse(au["created"])),
                    [_events.user_ref(assignee), aref], f"/api/v1/apps/{app['id']}/users")  # fmt: skip
        tokens = org.token_set(app["id"])
        if tokens is None:
            continue
        for i in range(min(tokens.count, TOKEN_EVENTS)):
            user_idx, s_idx, _names, created = tokens._attrs(i)
            if user_idx < 0:
                continue
            holder = org.user_doc(tokens.users[user_idx].id)
            assert holder is not None
            server = tokens.servers[s_idx]
            log.add(
                created,
                "app.oauth2.as.token.grant.refresh_token",
                _events.user_ref(holder),
                [_events.ref(tokens.token_id(i), "RefreshToken", "Refresh Token"), aref,
                 _events.ref(server.id, "AuthorizationServer", server.name)],
                f"/oauth2/{server.id}/v1/token",
                browser=True,
                geo=org.seq_of(holder["id"]) or 0,
            )  # fmt: skip
