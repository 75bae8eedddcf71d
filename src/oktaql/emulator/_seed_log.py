"""The System Log's seeded history: what the seeded org went through, in ascending order.

User creations and activations, logins, status changes, group and app memberships,
refresh-token grants of each app's first tokens (``TOKEN_EVENTS``), role and consent grants:
the seeders add events to a :class:`SeedLog` and it writes them sorted by ``published``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from . import _events
from ._util import iso, parse_iso

if TYPE_CHECKING:
    from ._org import Org


TOKEN_EVENTS = 20  # refresh-token grant events seeded per app (its first tokens)


class SeedLog:
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


def active_users(org: Org) -> list[dict[str, Any]]:
    return [u for u in org.user_docs() if u["status"] == "ACTIVE"]


def admin_actor(org: Org) -> dict[str, Any]:
    return org.actor()


def seed_history(org: Org, log: SeedLog) -> None:
    """Events for what the seeded org went through."""
    admin_ref = admin_actor(org) if org.admin_id else dict(_events.SYSTEM_ACTOR)
    admin_doc = org.user_doc(org.admin_id) if org.admin_id else None
    admin_since = parse_iso(admin_doc["created"]) if admin_doc else 0

    def by_admin(when: int) -> dict[str, Any]:
        """The admin acted once they existed; before that, Okta itself did."""
        return admin_ref if when >= admin_since else dict(_events.SYSTEM_ACTOR)

    users = org.user_docs()
    for n, user in enumerate(users):
        ref = _events.user_ref(user)
        actor = (
            _events.SYSTEM_ACTOR
            if user["id"] == org.admin_id
            else by_admin(parse_iso(user["created"]))
        )
        uri = "/api/v1/users"
        created = parse_iso(user["created"])
        log.add(created, "user.lifecycle.create", actor, [ref], uri)
        if user["activated"]:
            log.add(parse_iso(user["activated"]), "user.lifecycle.activate", actor, [ref],
                    f"/api/v1/users/{user['id']}/lifecycle/activate")  # fmt: skip
        if user["lastLogin"]:
            log.add(parse_iso(user["lastLogin"]), "user.session.start", ref, [ref],
                    "/idp/idx/identify", browser=True, geo=n)  # fmt: skip
        changed = parse_iso(user["statusChanged"]) if user["statusChanged"] else None
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
        created = parse_iso(group["created"])
        log.add(created, "group.lifecycle.create", by_admin(created), [gref], "/api/v1/groups")
        for uid in org.member_ids(group["id"]):
            member = org.user_doc(uid)
            assert member is not None
            when = max(created, parse_iso(member["created"])) + 120
            log.add(when, "group.user_membership.add", by_admin(when), [_events.user_ref(member), gref],
                    f"/api/v1/groups/{group['id']}/users/{uid}")  # fmt: skip
    for app in org.app_docs():
        aref = _events.app_ref(app)
        log.add(
            parse_iso(app["created"]),
            "application.lifecycle.create",
            by_admin(parse_iso(app["created"])),
            [aref],
            "/api/v1/apps",
        )
        if app["status"] == "INACTIVE":
            log.add(parse_iso(app["lastUpdated"]), "application.lifecycle.deactivate", by_admin(parse_iso(app["lastUpdated"])), [aref],
                    f"/api/v1/apps/{app['id']}/lifecycle/deactivate")  # fmt: skip
        for au in org.app_user_docs(app["id"]):
            assignee = org.user_doc(au["id"])
            assert assignee is not None
            log.add(parse_iso(au["created"]), "application.user_membership.add", by_admin(parse_iso(au["created"])),
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
