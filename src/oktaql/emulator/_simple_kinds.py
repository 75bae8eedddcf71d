"""Identity providers, network zones, trusted origins, event hooks and inline hooks.

All five are flat org-level collections with the same verbs (list, get, create, replace,
delete, activate, deactivate); a :class:`SimpleKind` says how one validates and builds a
document from a request body and which System Log events its changes write.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from . import _org_admin
from ._appdefs import BodyError
from ._util import BASE_EPOCH, DAY, iso, okta_id

if TYPE_CHECKING:
    from ._org import Org

IDP_TYPES = (
    "AMAZON APPLE DISCORD FACEBOOK GITHUB GITLAB GOOGLE IDV_CLEAR IDV_INCODE IDV_PERSONA "
    "LINKEDIN LOGINGOV LOGINGOV_SANDBOX MICROSOFT OIDC OKTA_INTEGRATION PAYPAL PAYPAL_SANDBOX "
    "SALESFORCE SAML2 SPOTIFY X509 XERO YAHOO YAHOOJP"
).split()
INLINE_HOOK_TYPES = (
    "com.okta.import.transform",
    "com.okta.oauth2.tokens.transform",
    "com.okta.saml.tokens.transform",
    "com.okta.telephony.provider",
    "com.okta.user.credential.password.import",
    "com.okta.user.pre-registration",
)


def _require_str(body: dict[str, Any], key: str, max_len: int = 255) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BodyError(key, "The field cannot be left blank.")
    if len(value) > max_len:
        raise BodyError(key, f"The field must be at most {max_len} characters long.")
    return value


def _require_obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if not isinstance(value, dict):
        raise BodyError(key, "The field cannot be left blank.")
    return value


def _url(value: Any, key: str, schemes: tuple[str, ...] = ("https", "http")) -> str:
    if (
        not isinstance(value, str)
        or urlsplit(value).scheme not in schemes
        or not urlsplit(value).netloc
    ):
        raise BodyError(key, f"'{value}' is not a valid {'/'.join(schemes)} URL.")
    return value


def _idp(
    org: Org, body: dict[str, Any], now: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    itype = body.get("type") or (current or {}).get("type")
    if itype not in IDP_TYPES:
        raise BodyError("type", f"Invalid value {itype!r}.")
    if current and itype != current["type"]:
        raise BodyError("type", "The type of an identity provider cannot be changed.")
    name = _require_str(body, "name", 100)
    protocol = _require_obj(body, "protocol")
    if not isinstance(protocol.get("type"), str):
        raise BodyError("protocol.type", "The field cannot be left blank.")
    doc: dict[str, Any] = {
        "id": current["id"] if current else org.new_id("0oa"),
        "type": itype,
        "issuerMode": body.get("issuerMode") or "ORG_URL",
        "name": name,
        "status": current["status"] if current else "ACTIVE",
        "created": current["created"] if current else now,
        "lastUpdated": now,
        "protocol": protocol,
        "policy": body.get("policy") if isinstance(body.get("policy"), dict) else _idp_policy(),
    }
    if isinstance(body.get("properties"), dict):
        doc["properties"] = body["properties"]
    return doc


def _zone(
    org: Org, body: dict[str, Any], now: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    ztype = body.get("type")
    if ztype not in ("IP", "DYNAMIC", "DYNAMIC_V2"):
        raise BodyError("type", f"Invalid value {ztype!r}.")
    if current and ztype != current["type"]:
        raise BodyError("type", "The type of a network zone cannot be changed.")
    name = _require_str(body, "name", 128)
    usage = body.get("usage") or "POLICY"
    if usage not in ("POLICY", "BLOCKLIST"):
        raise BodyError("usage", f"Invalid value {usage!r}.")
    doc: dict[str, Any] = {
        "type": ztype,
        "id": current["id"] if current else org.new_id("nzo"),
        "name": name,
        "status": current["status"] if current else "ACTIVE",
        "usage": usage,
        "created": current["created"] if current else now,
        "lastUpdated": now,
        "system": bool(current and current["system"]),
    }
    if ztype == "IP":
        for key in ("gateways", "proxies"):
            items = body.get(key) or []
            if not isinstance(items, list) or not all(
                isinstance(i, dict)
                and i.get("type") in ("CIDR", "RANGE")
                and isinstance(i.get("value"), str)
                for i in items
            ):
                raise BodyError(key, "Each entry needs a type (CIDR or RANGE) and a value.")
            doc[key] = items
    else:
        for key in ("locations", "asns", "proxyType", "ipServiceCategories"):
            if key in body:
                doc[key] = body[key]
    return doc


def _origin(
    org: Org, body: dict[str, Any], now: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    name = _require_str(body, "name", 255)
    origin = _url(body.get("origin"), "origin")
    scopes = body.get("scopes")
    if (
        not isinstance(scopes, list)
        or not scopes
        or not all(
            isinstance(s, dict) and s.get("type") in ("CORS", "REDIRECT", "IFRAME_EMBED")
            for s in scopes
        )
    ):
        raise BodyError("scopes", "At least one scope of type CORS, REDIRECT or IFRAME_EMBED.")
    for oid, other in _org_admin.simple_store(org, "origins").items():
        if other["origin"] == origin and (current is None or oid != current["id"]):
            raise BodyError(
                "origin", "An object with this field already exists in the current organization"
            )
    who = org.admin_id or "system"
    return {
        "id": current["id"] if current else org.new_id("tos"),
        "name": name,
        "origin": origin,
        "status": current["status"] if current else "ACTIVE",
        "scopes": scopes,
        "created": current["created"] if current else now,
        "createdBy": current["createdBy"] if current else who,
        "lastUpdated": now,
        "lastUpdatedBy": who,
    }


def _event_hook(
    org: Org, body: dict[str, Any], now: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    name = _require_str(body, "name", 255)
    events = _require_obj(body, "events")
    items = events.get("items")
    if events.get("type") != "EVENT_TYPE" or not isinstance(items, list) or not items:
        raise BodyError("events", "The event hook must subscribe to at least one event type.")
    channel = _channel(body)
    return {
        "id": current["id"] if current else org.new_id("who"),
        "status": current["status"] if current else "ACTIVE",
        "verificationStatus": current["verificationStatus"] if current else "UNVERIFIED",
        "name": name,
        "description": body.get("description")
        if isinstance(body.get("description"), str)
        else None,
        "created": current["created"] if current else now,
        "createdBy": current["createdBy"] if current else (org.admin_id or "system"),
        "lastUpdated": now,
        "events": {
            "type": "EVENT_TYPE",
            "items": list(items),
            **({"filter": events["filter"]} if events.get("filter") else {}),
        },
        "channel": channel,
    }


def _inline_hook(
    org: Org, body: dict[str, Any], now: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    name = _require_str(body, "name", 255)
    htype = body.get("type") or (current or {}).get("type")
    if htype not in INLINE_HOOK_TYPES:
        raise BodyError("type", f"Invalid value {htype!r}.")
    return {
        "id": current["id"] if current else org.new_id("cal"),
        "status": current["status"] if current else "ACTIVE",
        "name": name,
        "type": htype,
        "version": "1.0.0",
        "channel": _channel(body),
        "created": current["created"] if current else now,
        "lastUpdated": now,
    }


def _channel(body: dict[str, Any]) -> dict[str, Any]:
    channel = _require_obj(body, "channel")
    if channel.get("type") not in ("HTTP", "OAUTH"):
        raise BodyError("channel.type", f"Invalid value {channel.get('type')!r}.")
    config = channel.get("config")
    if not isinstance(config, dict):
        raise BodyError("channel.config", "The field cannot be left blank.")
    _url(config.get("uri"), "channel.config.uri", ("https",))
    out = {
        "type": channel["type"],
        "version": str(channel.get("version") or "1.0.0"),
        "config": dict(config),
    }
    out["config"].pop("authScheme", None)
    auth = config.get("authScheme")
    if isinstance(auth, dict):
        out["config"]["authScheme"] = {k: v for k, v in auth.items() if k != "value"}  # write-only
    out["config"].setdefault("headers", [])
    return out


Events = tuple[str | None, str | None, str | None, str | None, str | None]
_NO_EVENTS: Events = (None, None, None, None, None)


@dataclass(frozen=True)
class SimpleKind:
    kind: str  # the Org's store: ``<kind>_store``
    segment: str  # /api/v1/<segment>
    type_name: str  # in 404 errors
    build: Callable[[Org, dict[str, Any], str, dict[str, Any] | None], dict[str, Any]]
    # System Log eventTypes of create, update, activate, deactivate, delete (None: none)
    events: Events
    default_limit: int = 200
    max_limit: int = 200
    # Okta deletes only INACTIVE ones (zones in Identity Engine orgs, event and inline hooks)
    delete_needs_inactive: bool = False


def _events(prefix: str, past: bool = False) -> Events:
    """``<prefix>.create`` ... ``<prefix>.delete`` (or ``.created`` ... ``.deleted``)."""
    ed = "d" if past else ""
    return (
        f"{prefix}.create{ed}",
        f"{prefix}.update{ed}",
        f"{prefix}.activate{ed}",
        f"{prefix}.deactivate{ed}",
        f"{prefix}.delete{ed}",
    )


KINDS: dict[str, SimpleKind] = {
    "idps": SimpleKind(
        "idps", "idps", "IdentityProvider", _idp, _events("system.idp.lifecycle"), 20, 200
    ),
    "zones": SimpleKind("zones", "zones", "NetworkZone", _zone, _events("zone"), 1000, 1000, True),
    # Okta's event-type catalogue has no trusted-origin events we could name
    "origins": SimpleKind(
        "origins", "trustedOrigins", "TrustedOrigin", _origin, _NO_EVENTS, 20, 200
    ),
    "event_hooks": SimpleKind(
        "event_hooks",
        "eventHooks",
        "EventHook",
        _event_hook,
        _events("event_hook", past=True),
        delete_needs_inactive=True,
    ),
    "inline_hooks": SimpleKind(
        "inline_hooks",
        "inlineHooks",
        "InlineHook",
        _inline_hook,
        _events("inline_hook", True),
        delete_needs_inactive=True,
    ),
}


def _idp_policy() -> dict[str, Any]:
    return {
        "provisioning": {
            "action": "AUTO",
            "profileMaster": False,
            "groups": {"action": "NONE"},
            "conditions": {"deprovisioned": {"action": "NONE"}, "suspended": {"action": "NONE"}},
        },
        "accountLink": {"action": "AUTO"},
        "subject": {
            "userNameTemplate": {"template": "idpuser.email"},
            "matchType": "USERNAME",
        },
        "maxClockSkew": 120000,
    }


def seed_simple(org: Org, rng: random.Random) -> None:
    """Seeded IdPs, zones, trusted origins and hooks (timestamps in the org's first weeks)."""
    admin = org.admin_id or "system"

    def add(kind: str, doc: dict[str, Any]) -> None:
        _org_admin.simple_store(org, kind)[doc["id"]] = doc
        org.register(doc["id"])

    def stamp(days: float) -> str:
        return iso(BASE_EPOCH + int(days * DAY))

    client_id = okta_id("", rng) + ".apps.googleusercontent.com"
    add("idps", {
        "id": okta_id("0oa", rng), "type": "GOOGLE", "issuerMode": "ORG_URL", "name": "Google",
        "status": "ACTIVE", "created": stamp(5), "lastUpdated": stamp(5),
        "protocol": {
            "type": "OIDC",
            "endpoints": {
                "authorization": {"url": "https://accounts.google.com/o/oauth2/auth", "binding": "HTTP-REDIRECT"},
                "token": {"url": "https://www.googleapis.com/oauth2/v3/token", "binding": "HTTP-POST"},
            },
            "scopes": ["email", "openid", "profile"],
            "credentials": {"client": {"client_id": client_id}},
        },
        "policy": _idp_policy(),
    })  # fmt: skip
    add("idps", {
        "id": okta_id("0oa", rng), "type": "SAML2", "issuerMode": "ORG_URL", "name": "Partner SAML",
        "status": "ACTIVE", "created": stamp(6), "lastUpdated": stamp(8),
        "protocol": {
            "type": "SAML2",
            "endpoints": {
                "sso": {"url": "https://idp.partner.example.com/sso", "binding": "HTTP-POST",
                        "destination": "https://idp.partner.example.com/sso"},
                "acs": {"binding": "HTTP-POST", "type": "INSTANCE"},
            },
            "algorithms": {
                "request": {"signature": {"algorithm": "SHA-256", "scope": "REQUEST"}},
                "response": {"signature": {"algorithm": "SHA-256", "scope": "ANY"}},
            },
            "settings": {"nameFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"},
            "credentials": {"trust": {"issuer": "https://idp.partner.example.com",
                                      "audience": "https://www.okta.com/saml2/service-provider",
                                      "kid": okta_id("", rng)}},
        },
        "policy": _idp_policy(),
    })  # fmt: skip
    add("idps", {
        "id": okta_id("0oa", rng), "type": "MICROSOFT", "issuerMode": "ORG_URL", "name": "Legacy Microsoft",
        "status": "INACTIVE", "created": stamp(7), "lastUpdated": stamp(30),
        "protocol": {
            "type": "OIDC",
            "endpoints": {
                "authorization": {"url": "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
                                  "binding": "HTTP-REDIRECT"},
                "token": {"url": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
                          "binding": "HTTP-POST"},
            },
            "scopes": ["openid", "email", "profile"],
            "credentials": {"client": {"client_id": okta_id("", rng)}},
        },
        "policy": _idp_policy(),
    })  # fmt: skip

    add("zones", {
        "type": "IP", "id": okta_id("nzo", rng), "name": "LegacyIpZone", "status": "ACTIVE",
        "usage": "POLICY", "created": stamp(0), "lastUpdated": stamp(0), "system": True,
        "gateways": [], "proxies": [],
    })  # fmt: skip
    add("zones", {
        "type": "IP", "id": okta_id("nzo", rng), "name": "BlockedIpZone", "status": "ACTIVE",
        "usage": "BLOCKLIST", "created": stamp(0), "lastUpdated": stamp(0), "system": True,
        "gateways": [{"type": "RANGE", "value": "203.0.113.10-203.0.113.20"}], "proxies": [],
    })  # fmt: skip
    add("zones", {
        "type": "IP", "id": okta_id("nzo", rng), "name": "Office networks", "status": "ACTIVE",
        "usage": "POLICY", "created": stamp(4), "lastUpdated": stamp(9), "system": False,
        "gateways": [{"type": "CIDR", "value": "198.51.100.0/24"}, {"type": "CIDR", "value": "192.0.2.0/24"}],
        "proxies": [{"type": "RANGE", "value": "192.0.2.200-192.0.2.210"}],
    })  # fmt: skip
    add(
        "zones",
        {
            "type": "DYNAMIC_V2",
            "id": okta_id("nzo", rng),
            "name": "DefaultEnhancedDynamicZone",
            "status": "ACTIVE",
            "usage": "BLOCKLIST",
            "created": stamp(0),
            "lastUpdated": stamp(0),
            "system": True,
            "locations": {"include": [], "exclude": []},
            "asns": {"include": [], "exclude": []},
            "ipServiceCategories": {"include": ["ALL_ANONYMIZERS"], "exclude": []},
        },
    )
    add("zones", {
        "type": "DYNAMIC_V2", "id": okta_id("nzo", rng), "name": "Blocked countries",
        "status": "ACTIVE", "usage": "BLOCKLIST", "created": stamp(4.5), "lastUpdated": stamp(4.5),
        "system": False, "locations": {"include": [{"country": "KP"}, {"country": "IR"}], "exclude": []},
        "asns": {"include": [], "exclude": []},
    })  # fmt: skip

    for k, (name, origin, scopes, status) in enumerate(
        (
            (
                "Customer Portal",
                "https://customerportal.example.com",
                ["CORS", "REDIRECT"],
                "ACTIVE",
            ),
            ("Intranet embedding", "https://intranet.example.com", ["IFRAME_EMBED"], "ACTIVE"),
            ("Old marketing site", "http://www.example.com", ["CORS"], "INACTIVE"),
        )
    ):
        add("origins", {
            "id": okta_id("tos", rng), "name": name, "origin": origin, "status": status,
            "scopes": [{"type": s, **({"allowedOktaApps": []} if s == "IFRAME_EMBED" else {})} for s in scopes],
            "created": stamp(11 + k), "createdBy": admin, "lastUpdated": stamp(11 + k), "lastUpdatedBy": admin,
        })  # fmt: skip

    for k, (name, desc, items, status, verified, uri) in enumerate(
        (
            ("SIEM export", "Sends identity events to the SIEM",
             ["user.lifecycle.create", "user.lifecycle.deactivate", "user.account.privilege.grant",
              "group.user_membership.add", "app.oauth2.token.revoke"],
             "ACTIVE", "VERIFIED", "https://siem.example.com/okta/events"),
            ("Deprovisioning webhook", None, ["user.lifecycle.deactivate"], "INACTIVE", "UNVERIFIED",
             "https://hr.example.com/hooks/okta"),
        )
    ):  # fmt: skip
        add("event_hooks", {
            "id": okta_id("who", rng), "status": status, "verificationStatus": verified, "name": name,
            "description": desc, "created": stamp(20 + k), "createdBy": admin, "lastUpdated": stamp(21 + k),
            "events": {"type": "EVENT_TYPE", "items": items},
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                "uri": uri, "headers": [{"key": "X-Source", "value": "okta"}], "method": "POST",
                "authScheme": {"type": "HEADER", "key": "Authorization"}}},
        })  # fmt: skip

    for k, (name, htype, status, uri) in enumerate(
        (
            ("Token enrichment", "com.okta.oauth2.tokens.transform", "ACTIVE", "https://hooks.example.com/tokens"),
            ("HR import transform", "com.okta.import.transform", "INACTIVE", "https://hooks.example.com/import"),
        )
    ):  # fmt: skip
        add("inline_hooks", {
            "id": okta_id("cal", rng), "status": status, "name": name, "type": htype, "version": "1.0.0",
            "channel": {"type": "HTTP", "version": "1.0.0", "config": {
                "uri": uri, "headers": [], "method": "POST",
                "authScheme": {"type": "HEADER", "key": "Authorization"}}},
            "created": stamp(25 + k), "lastUpdated": stamp(25 + k),
        })  # fmt: skip
