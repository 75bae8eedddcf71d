"""Seeded access: custom admin roles, role assignments, API tokens, factors, consent grants.

Only real users hold roles and factors; consent grants are derived from the refresh tokens
actually issued (user, client, authorization server, scope), from each app's first
``GRANT_SCAN`` tokens so that startup stays O(apps).
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from . import _events, _org_grants, _org_users
from ._org_grants import GRANT_SCAN
from ._org_users import STANDARD_ROLES
from ._seed_log import SeedLog, active_users, admin_actor
from ._util import BASE_EPOCH, DAY, iso, okta_id, parse_iso

if TYPE_CHECKING:
    from ._org import Org


def seed_iam(org: Org, rng: random.Random) -> None:
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


def seed_admin_roles(org: Org, rng: random.Random, log: SeedLog) -> None:
    active = active_users(org)
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
        when = parse_iso(user["activated"] or user["created"]) + DAY
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
            _org_users.add_role(org, user["id"], role)
            actor = _events.SYSTEM_ACTOR if user is admin else admin_actor(org)
            log.add(
                when,
                "user.account.privilege.grant",
                actor,
                [_events.user_ref(user), _events.ref(role["id"], "ROLE", role["label"])],
                f"/api/v1/users/{user['id']}/roles",
            )
            when += 60


def seed_api_tokens(org: Org, rng: random.Random) -> None:
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


_QUESTION = ("disliked_food", "What is the food you least liked as a child?")


def seed_factors(org: Org, rng: random.Random) -> None:
    for user in org.user_docs():
        if user["status"] not in ("ACTIVE", "SUSPENDED", "LOCKED_OUT", "PASSWORD_EXPIRED"):
            continue
        when = parse_iso(user["activated"] or user["created"]) + 300
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
            _org_users.add_factor(
                org,
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


_ADMIN_SCOPES = ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"]


def seed_grants(org: Org, rng: random.Random, log: SeedLog) -> None:
    """Users' consent grants from the tokens issued; admin grants of Okta scopes to apps."""
    servers = {s.id: s for s in org.server_list()}
    for k, app in enumerate(_org_grants.oidc_app_docs(org)):
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
            _org_grants.add_user_grant(org, grant)
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
            when = parse_iso(app["created"]) + DAY
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
                _org_grants.add_app_grant(org, grant)
                log.add(
                    when,
                    "app.oauth2.admin.consent.grant",
                    admin_actor(org),
                    [
                        _events.app_ref(app),
                        _events.ref(grant["id"], "OAuth2ScopeConsentGrant", scope_id),
                    ],
                    f"/api/v1/apps/{app['id']}/grants",
                )
                when += 30
