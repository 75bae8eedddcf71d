"""System Log events (``LogEvent``) of the emulated org: building, ordering, querying.

Every event names real actors and targets of the org (users, apps, groups, tokens...).
Seeded events are stamped with the seeded resources' own timestamps (2024); events written
for API mutations are stamped with the org's logical clock (from 2025-01-01), so the log is
always in ascending ``published`` order and a pure function of (seed, requests).

Fields the spec declares non-nullable are omitted rather than sent as ``null``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

# eventType → (displayMessage, legacyEventType or "")
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "user.lifecycle.create": ("Create Okta user", "core.user.config.user_creation.success"),
    "user.lifecycle.activate": ("Activate Okta user", "core.user.config.user_activated"),
    "user.lifecycle.deactivate": ("Deactivate Okta user", "core.user.config.user_deactivated"),
    "user.lifecycle.suspend": ("Suspend Okta user", "core.user.config.user_status.suspended"),
    "user.lifecycle.unsuspend": ("Unsuspend Okta user", "core.user.config.user_status.unsuspended"),
    "user.lifecycle.reactivate": ("Reactivate Okta user", "core.user.config.user_reactivated"),
    "user.lifecycle.delete.initiated": ("Delete Okta user", "core.user.config.user_deleted"),
    "user.lifecycle.delete.completed": ("Delete Okta user completed", ""),
    "user.account.lock": ("Max sign in attempts exceeded", "core.user_auth.account_locked"),
    "user.account.unlock": ("Unlock user account", "core.user.config.user_status.account_unlock"),
    "user.account.expire_password": ("Expire user password", ""),
    "user.account.reset_password": ("Reset user password", ""),
    "user.mfa.factor.reset_all": ("Reset all factors for user", ""),
    "user.account.update_profile": ("Update user profile for Okta", ""),
    "user.account.privilege.grant": ("Grant user privilege", "core.user.admin_privilege.granted"),
    "user.account.privilege.revoke": ("Revoke user privilege", "core.user.admin_privilege.revoked"),
    "user.session.start": ("User login to Okta", "core.user_auth.login_success"),
    "user.mfa.factor.activate": ("Activate factor or authenticator", ""),
    "user.mfa.factor.deactivate": ("Reset factor or authenticator", ""),
    "group.lifecycle.create": ("Create Okta group", "core.user_group.created"),
    "group.lifecycle.delete": ("Delete Okta group", "core.user_group.deleted"),
    "group.profile.update": ("Update group profile", ""),
    "group.user_membership.add": (
        "Add user to group membership",
        "core.user_group_member.user_add",
    ),
    "group.user_membership.remove": (
        "Remove user from group membership",
        "core.user_group_member.user_remove",
    ),
    "application.lifecycle.create": ("Create application", "app.generic.config.app_created"),
    "application.lifecycle.update": ("Update application", "app.generic.config.app_updated"),
    "application.lifecycle.activate": ("Activate application", "app.generic.config.app_activated"),
    "application.lifecycle.deactivate": (
        "Deactivate application",
        "app.generic.config.app_deactivated",
    ),
    "application.lifecycle.delete": ("Delete application", "app.generic.config.app_deleted"),
    "application.user_membership.add": (
        "Add user to application membership",
        "app.generic.provision.assign_user_to_app",
    ),
    "application.user_membership.remove": (
        "Remove user from application membership",
        "app.generic.unprovision.unassign_user_from_app",
    ),
    "app.oauth2.as.token.grant.refresh_token": ("OAuth2 refresh token is granted", ""),
    "app.oauth2.token.revoke": ("OAuth2 token revocation request", ""),
    "app.oauth2.as.consent.grant": ("User granted consent to app", ""),
    "app.oauth2.as.consent.revoke": ("User consent for app revoked", ""),
    "app.oauth2.admin.consent.grant": ("Admin consent granted to app", ""),
    "app.oauth2.admin.consent.revoke": ("Admin consent for app revoked", ""),
    "policy.lifecycle.create": ("Create policy", ""),
    "policy.lifecycle.update": ("Update policy", ""),
    "policy.lifecycle.activate": ("Activate policy", ""),
    "policy.lifecycle.deactivate": ("Deactivate policy", ""),
    "policy.lifecycle.delete": ("Delete policy", ""),
    "policy.rule.add": ("Add policy rule", ""),
    "policy.rule.update": ("Update policy rule", ""),
    "policy.rule.activate": ("Activate policy rule", ""),
    "policy.rule.deactivate": ("Deactivate policy rule", ""),
    "policy.rule.delete": ("Delete policy rule", ""),
    "group.user_membership.rule.deactivated": ("Group membership rule deactivated", ""),
    "zone.create": ("Create network zone", ""),
    "zone.update": ("Update network zone", ""),
    "zone.activate": ("Activate network zone", ""),
    "zone.deactivate": ("Deactivate network zone", ""),
    "zone.delete": ("Delete network zone", ""),
    "system.idp.lifecycle.create": ("Create identity provider", ""),
    "system.idp.lifecycle.update": ("Update identity provider", ""),
    "system.idp.lifecycle.activate": ("Activate identity provider", ""),
    "system.idp.lifecycle.deactivate": ("Deactivate identity provider", ""),
    "system.idp.lifecycle.delete": ("Delete identity provider", ""),
    "event_hook.created": ("Event hook created", ""),
    "event_hook.updated": ("Event hook updated", ""),
    "event_hook.activated": ("Event hook activated", ""),
    "event_hook.deactivated": ("Event hook deactivated", ""),
    "event_hook.deleted": ("Event hook deleted", ""),
    "inline_hook.created": ("Inline hook created", ""),
    "inline_hook.updated": ("Inline hook updated", ""),
    "inline_hook.activated": ("Inline hook activated", ""),
    "inline_hook.deactivated": ("Inline hook deactivated", ""),
    "inline_hook.deleted": ("Inline hook deleted", ""),
    "system.api_token.create": ("Create API token", ""),
    "system.api_token.update": ("Update API token", ""),
    "system.api_token.revoke": ("Revoke API token", ""),
    "iam.role.create": ("Create a custom role", ""),
    "iam.role.update": ("Update a custom role", ""),
    "iam.role.delete": ("Delete a custom role", ""),
    "oauth2.as.created": ("Create authorization server", ""),
    "oauth2.as.updated": ("Update authorization server", ""),
    "oauth2.as.activated": ("Activate authorization server", ""),
    "oauth2.as.deactivated": ("Deactivate authorization server", ""),
    "oauth2.as.deleted": ("Delete authorization server", ""),
    "oauth2.scope.created": ("Create OAuth 2.0 scope", ""),
    "oauth2.scope.updated": ("Update OAuth 2.0 scope", ""),
    "oauth2.scope.deleted": ("Delete OAuth 2.0 scope", ""),
    "oauth2.claim.created": ("Create OAuth 2.0 claim", ""),
    "oauth2.claim.updated": ("Update OAuth 2.0 claim", ""),
    "oauth2.claim.deleted": ("Delete OAuth 2.0 claim", ""),
    "oauth2.policy.created": ("Create authorization server policy", ""),
    "oauth2.policy.updated": ("Update authorization server policy", ""),
    "oauth2.policy.activated": ("Activate authorization server policy", ""),
    "oauth2.policy.deactivated": ("Deactivate authorization server policy", ""),
    "oauth2.policy.deleted": ("Delete authorization server policy", ""),
    "oauth2.policy.rule.created": ("Create authorization server policy rule", ""),
    "oauth2.policy.rule.updated": ("Update authorization server policy rule", ""),
    "oauth2.policy.rule.activated": ("Activate authorization server policy rule", ""),
    "oauth2.policy.rule.deactivated": ("Deactivate authorization server policy rule", ""),
    "oauth2.policy.rule.deleted": ("Delete authorization server policy rule", ""),
}

# Where seeded "browser" events come from, and the API client used for admin API calls.
_BROWSER_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/127.0.0.0 Safari/537.36"
)
_GEO: list[dict[str, Any]] = [
    {"city": "San Francisco", "state": "California", "country": "United States",
     "postalCode": "94105", "geolocation": {"lat": 37.7898, "lon": -122.3942}},
    {"city": "New York", "state": "New York", "country": "United States",
     "postalCode": "10013", "geolocation": {"lat": 40.7209, "lon": -74.0048}},
    {"city": "London", "state": "England", "country": "United Kingdom",
     "postalCode": "EC2A", "geolocation": {"lat": 51.5226, "lon": -0.0845}},
    {"city": "Berlin", "state": "Land Berlin", "country": "Germany",
     "postalCode": "10117", "geolocation": {"lat": 52.5170, "lon": 13.3889}},
]  # fmt: skip


def uuid_from(rng: random.Random) -> str:
    """A version-1-looking UUID (Okta's System Log uses time-based UUIDs) drawn from ``rng``."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-1{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def user_ref(user: Mapping[str, Any]) -> dict[str, Any]:
    """A user as a log actor or target."""
    profile = user["profile"]
    return {
        "id": user["id"],
        "type": "User",
        "alternateId": profile.get("login") or user["id"],
        "displayName": f"{profile.get('firstName') or ''} {profile.get('lastName') or ''}".strip()
        or profile.get("login")
        or user["id"],
    }


def app_ref(app: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": app["id"],
        "type": "AppInstance",
        "alternateId": app["label"],
        "displayName": app["label"],
    }


def group_ref(group: Mapping[str, Any]) -> dict[str, Any]:
    name = group["profile"]["name"]
    return {"id": group["id"], "type": "UserGroup", "alternateId": name, "displayName": name}


def ref(rid: str, rtype: str, name: str, alternate: str | None = None) -> dict[str, Any]:
    return {"id": rid, "type": rtype, "alternateId": alternate or name, "displayName": name}


SYSTEM_ACTOR = {
    "id": "system",
    "type": "SystemPrincipal",
    "alternateId": "system@okta.com",
    "displayName": "Okta System",
}


def build_event(
    rng: random.Random,
    *,
    event_type: str,
    published: str,
    actor: Mapping[str, Any],
    targets: Sequence[Mapping[str, Any]],
    request_uri: str,
    browser: bool,
    geo_index: int = 0,
    user_agent: str | None = None,
    result: str = "SUCCESS",
    reason: str | None = None,
    severity: str = "INFO",
) -> dict[str, Any]:
    """One ``LogEvent``; ids drawn from ``rng`` (seeded stream or the org's runtime stream)."""
    message, legacy = EVENT_TYPES.get(event_type, (event_type, ""))
    geo = _GEO[geo_index % len(_GEO)]
    ip = f"198.51.100.{10 + geo_index % 200}" if browser else "127.0.0.1"
    request_id = f"{rng.getrandbits(128):032x}"[:27]
    ua = user_agent or (_BROWSER_UA if browser else "okta-emulator-client/1.0")
    client: dict[str, Any] = {
        "userAgent": {
            "rawUserAgent": ua,
            "os": "Mac OS X" if browser else "Unknown",
            "browser": "CHROME" if browser else "UNKNOWN",
        },
        "device": "Computer" if browser else "Unknown",
        "ipAddress": ip,
        "geographicalContext": dict(geo),
    }
    outcome: dict[str, Any] = {"result": result}
    if reason:
        outcome["reason"] = reason
    event: dict[str, Any] = {
        "actor": dict(actor),
        "client": client,
        "authenticationContext": {
            "authenticationStep": 0,
            "externalSessionId": "trs" + request_id[:22],
        },
        "displayMessage": message,
        "eventType": event_type,
        "outcome": outcome,
        "published": published,
        "securityContext": {"isProxy": False},
        "severity": severity,
        "debugContext": {
            "debugData": {"requestId": request_id, "requestUri": request_uri, "url": request_uri}
        },
        "transaction": {"type": "WEB", "id": request_id},
        "uuid": uuid_from(rng),
        "version": "0",
        "request": {"ipChain": [{"ip": ip, "geographicalContext": dict(geo), "version": "V4"}]},
        "target": [dict(t) for t in targets],
    }
    if legacy:
        event["legacyEventType"] = legacy
    return event


def event_text(event: Mapping[str, Any]) -> str:
    """Every string value of an event, lower-cased and joined (what ``q`` keywords search)."""
    parts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            parts.append(value.lower())
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(event)
    return "\n".join(parts)


def resolve_event_path(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """``filter`` attribute lookup that also walks lists (``target.id`` → every target's id)."""
    from ._filters import MISSING

    values: list[Any] = [event]
    for part in path:
        nxt: list[Any] = []
        for v in values:
            if isinstance(v, Mapping) and part in v:
                item = v[part]
                if isinstance(item, list):
                    nxt.extend(item)
                else:
                    nxt.append(item)
        if not nxt:
            return MISSING
        values = nxt
    if len(values) == 1 and not (path and path[0] == "target"):
        return values[0]
    return values
