"""Org policies and their rules: ``/api/v1/policies[/{id}[/rules[/{id}]]]`` (+ lifecycle).

``GET /api/v1/policies`` requires ``type`` (400 ``E0000001`` without it, as Okta answers)
and lists that type's policies by priority. System (default) policies cannot be deleted
(403 ``E0000006``).
"""

from __future__ import annotations

from typing import Any

from .. import _events
from .._appdefs import BodyError
from .._http import Ctx, Handler, OktaError, Reply, not_found, paged, validation_failed
from .._render import render_policy, render_policy_rule
from .._route_helpers import validated

POLICY_TYPES = (
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "IDP_DISCOVERY",
    "ACCESS_POLICY",
    "PROFILE_ENROLLMENT",
    "POST_AUTH_SESSION",
    "ENTITY_RISK",
    "DEVICE_SIGNAL_COLLECTION",
)
RULE_TYPE = {"OKTA_SIGN_ON": "SIGN_ON"}


def _forbidden(what: str) -> OktaError:
    return OktaError(
        403, "E0000006", "You do not have permission to perform the requested action", [what]
    )


def _policy(ctx: Ctx, policy_id: str) -> dict[str, Any]:
    policy: dict[str, Any] | None = ctx.org._policies.get(policy_id)
    if policy is None:
        raise not_found(policy_id, "Policy")
    return policy


def list_policies(ctx: Ctx) -> Reply:
    ptype = ctx.param("type")
    if not ptype:
        raise validation_failed("type", "The field cannot be left blank.")
    if ptype not in POLICY_TYPES:
        raise validation_failed("type", f"Invalid value {ptype!r}.")
    docs = ctx.org.policy_docs(ptype)
    status = ctx.param("status")
    if status:
        docs = [p for p in docs if p["status"] == status]
    q = ctx.param("q")
    if q:
        docs = [p for p in docs if q.lower() in p["name"].lower()]
    base = ctx.base
    return paged(
        ctx,
        docs,
        lambda p: render_policy(p, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_policy(ctx: Ctx, policy_id: str) -> Reply:
    return Reply(200, render_policy(_policy(ctx, policy_id), ctx.base))


def _renumber(docs: list[dict[str, Any]], moved: dict[str, Any], priority: Any) -> None:
    others = sorted((d for d in docs if d["id"] != moved["id"]), key=lambda d: d["priority"])
    n = len(others) + 1
    want = priority if isinstance(priority, int) and 1 <= priority <= n else n
    others.insert(want - 1, moved)
    for k, doc in enumerate(others, start=1):
        doc["priority"] = k


def _write_policy(
    ctx: Ctx, body: Any, current: dict[str, Any] | None, activate: bool
) -> dict[str, Any]:
    org = ctx.org
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    ptype = body.get("type") or (current or {}).get("type")
    if ptype not in POLICY_TYPES:
        raise BodyError("type", f"Invalid value {ptype!r}.")
    if current and ptype != current["type"]:
        raise BodyError("type", "The type of a policy cannot be changed.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    for key in ("conditions", "settings"):
        if body.get(key) is not None and not isinstance(body[key], dict):
            raise BodyError(key, "The field must be a JSON object.")
    now = org.tick()
    doc: dict[str, Any] = {
        "type": ptype,
        "id": current["id"] if current else org.new_id("00p"),
        "status": (current or {}).get("status") or ("ACTIVE" if activate else "INACTIVE"),
        "name": name,
        "description": body.get("description") if isinstance(body.get("description"), str) else "",
        "priority": 0,
        "system": bool(current and current["system"]),
        "created": current["created"] if current else now,
        "lastUpdated": now,
    }
    for key in ("conditions", "settings"):
        if isinstance(body.get(key), dict):
            doc[key] = body[key]
    if current is None:
        org.register(doc["id"])
    org._policies[doc["id"]] = doc
    _renumber(org.policy_docs(ptype), doc, body.get("priority"))
    event = "policy.lifecycle.update" if current else "policy.lifecycle.create"
    org.log(event, [_events.ref(doc["id"], "Policy", name)], ctx.path)
    return doc


def create_policy(ctx: Ctx) -> Reply:
    doc = validated(_write_policy, ctx, ctx.json_body(), None, ctx.flag("activate", True))
    return Reply(200, render_policy(doc, ctx.base))


def replace_policy(ctx: Ctx, policy_id: str) -> Reply:
    current = _policy(ctx, policy_id)
    doc = validated(_write_policy, ctx, ctx.json_body(), current, True)
    return Reply(200, render_policy(doc, ctx.base))


def delete_policy(ctx: Ctx, policy_id: str) -> Reply:
    policy = _policy(ctx, policy_id)
    if policy["system"]:
        raise _forbidden("A default (system) policy cannot be deleted.")
    org = ctx.org
    org.tick()
    del org._policies[policy_id]
    org._policy_rules.pop(policy_id, None)
    org.log("policy.lifecycle.delete", [_events.ref(policy_id, "Policy", policy["name"])], ctx.path)
    return Reply(204)


def _set_status(
    ctx: Ctx, doc: dict[str, Any], status: str, event: str, policy_id: str = ""
) -> None:
    if doc["status"] == status:
        return
    doc["status"], doc["lastUpdated"] = status, ctx.org.tick()
    if policy_id:  # a rule
        targets = _rule_targets(ctx.org._policies[policy_id], doc)
    else:
        targets = [_events.ref(doc["id"], "Policy", doc["name"])]
    ctx.org.log(event, targets, ctx.path)


def _rule_targets(policy: dict[str, Any], rule: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        _events.ref(policy["id"], "Policy", policy["name"]),
        _events.ref(rule["id"], "PolicyRule", rule["name"]),
    ]


def activate_policy(ctx: Ctx, policy_id: str) -> Reply:
    _set_status(ctx, _policy(ctx, policy_id), "ACTIVE", "policy.lifecycle.activate")
    return Reply(204)


def deactivate_policy(ctx: Ctx, policy_id: str) -> Reply:
    policy = _policy(ctx, policy_id)
    if policy["system"]:
        raise _forbidden("A default (system) policy cannot be deactivated.")
    _set_status(ctx, policy, "INACTIVE", "policy.lifecycle.deactivate")
    return Reply(204)


# ------------------------------------------------------------ rules


def _rule(ctx: Ctx, policy_id: str, rule_id: str) -> dict[str, Any]:
    _policy(ctx, policy_id)
    rule: dict[str, Any] | None = ctx.org._policy_rules.get(policy_id, {}).get(rule_id)
    if rule is None:
        raise not_found(rule_id, "PolicyRule")
    return rule


def list_policy_rules(ctx: Ctx, policy_id: str) -> Reply:
    _policy(ctx, policy_id)
    base = ctx.base
    return paged(
        ctx,
        ctx.org.policy_rule_docs(policy_id),
        lambda r: render_policy_rule(policy_id, r, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_policy_rule(ctx: Ctx, policy_id: str, rule_id: str) -> Reply:
    return Reply(200, render_policy_rule(policy_id, _rule(ctx, policy_id, rule_id), ctx.base))


def _write_rule(
    ctx: Ctx, policy_id: str, body: Any, current: dict[str, Any] | None, activate: bool
) -> dict[str, Any]:
    org = ctx.org
    policy = _policy(ctx, policy_id)
    want = RULE_TYPE.get(policy["type"], policy["type"])
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    rtype = body.get("type") or want
    if rtype != want:
        raise BodyError("type", f"A {policy['type']} policy takes rules of type {want}.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    now = org.tick()
    doc: dict[str, Any] = {
        "id": current["id"] if current else org.new_id("0pr"),
        "status": (current or {}).get("status") or ("ACTIVE" if activate else "INACTIVE"),
        "name": name,
        "priority": 0,
        "created": current["created"] if current else now,
        "lastUpdated": now,
        "system": bool(current and current["system"]),
        "type": rtype,
    }
    for key in ("conditions", "actions"):
        if body.get(key) is not None:
            if not isinstance(body[key], dict):
                raise BodyError(key, "The field must be a JSON object.")
            doc[key] = body[key]
    if current is None:
        org.register(doc["id"])
    store = org._policy_rules.setdefault(policy_id, {})
    store[doc["id"]] = doc
    _renumber(list(store.values()), doc, body.get("priority"))
    event = "policy.rule.update" if current else "policy.rule.add"
    org.log(event, _rule_targets(policy, doc), ctx.path)
    return doc


def create_policy_rule(ctx: Ctx, policy_id: str) -> Reply:
    _policy(ctx, policy_id)
    doc = validated(_write_rule, ctx, policy_id, ctx.json_body(), None, ctx.flag("activate", True))
    return Reply(200, render_policy_rule(policy_id, doc, ctx.base))


def replace_policy_rule(ctx: Ctx, policy_id: str, rule_id: str) -> Reply:
    current = _rule(ctx, policy_id, rule_id)
    doc = validated(_write_rule, ctx, policy_id, ctx.json_body(), current, True)
    return Reply(200, render_policy_rule(policy_id, doc, ctx.base))


def delete_policy_rule(ctx: Ctx, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, policy_id, rule_id)
    if rule["system"]:
        raise _forbidden("A default rule cannot be deleted.")
    org = ctx.org
    org.tick()
    del org._policy_rules[policy_id][rule_id]
    org.log("policy.rule.delete", _rule_targets(org._policies[policy_id], rule), ctx.path)
    return Reply(204)


def activate_policy_rule(ctx: Ctx, policy_id: str, rule_id: str) -> Reply:
    _set_status(ctx, _rule(ctx, policy_id, rule_id), "ACTIVE", "policy.rule.activate", policy_id)
    return Reply(204)


def deactivate_policy_rule(ctx: Ctx, policy_id: str, rule_id: str) -> Reply:
    rule = _rule(ctx, policy_id, rule_id)
    if rule["system"]:
        raise _forbidden("A default rule cannot be deactivated.")
    _set_status(ctx, rule, "INACTIVE", "policy.rule.deactivate", policy_id)
    return Reply(204)


# ------------------------------------------------------------------ routes

P = "/api/v1/policies/{policy_id}"

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/api/v1/policies", {"GET": list_policies, "POST": create_policy}),
    (P, {"GET": get_policy, "PUT": replace_policy, "DELETE": delete_policy}),
    (f"{P}/lifecycle/activate", {"POST": activate_policy}),
    (f"{P}/lifecycle/deactivate", {"POST": deactivate_policy}),
    (f"{P}/rules", {"GET": list_policy_rules, "POST": create_policy_rule}),
    (
        f"{P}/rules/{{rule_id}}",
        {"GET": get_policy_rule, "PUT": replace_policy_rule, "DELETE": delete_policy_rule},
    ),
    (f"{P}/rules/{{rule_id}}/lifecycle/activate", {"POST": activate_policy_rule}),
    (f"{P}/rules/{{rule_id}}/lifecycle/deactivate", {"POST": deactivate_policy_rule}),
]
