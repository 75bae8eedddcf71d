"""Seeded policies: authorization servers' policies, rules, claims and keys; org policies and
their rules (naming real groups); group rules."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from . import _org_groups
from ._org_grants import rsa_public_parts
from ._util import BASE_EPOCH, DAY, iso, okta_id, parse_iso

if TYPE_CHECKING:
    from ._org import Org


def seed_server_extras(org: Org, rng: random.Random) -> None:
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
        created = parse_iso(server.created) + 600
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


def seed_policies(org: Org, rng: random.Random) -> None:
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


def seed_group_rules(org: Org, rng: random.Random) -> None:
    by_name = {g["profile"]["name"]: g for g in org.group_docs() if g["type"] == "OKTA_GROUP"}
    for k, dept in enumerate(("Engineering", "Sales")):
        group = by_name.get(dept)
        if group is None:
            continue
        stamp = iso(BASE_EPOCH + 40 * DAY + k * 3600)
        _org_groups.add_group_rule(
            org,
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
            },
        )
