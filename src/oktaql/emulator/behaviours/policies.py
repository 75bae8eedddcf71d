"""Org policies and their rules: ``/api/v1/policies[/{id}[/rules[/{id}]]]`` (+ lifecycle).

``GET /api/v1/policies`` requires ``type`` (400 ``E0000001`` without it, as Okta answers)
and lists that type's policies by priority. System (default) policies and rules cannot be
deleted or deactivated (403 ``E0000006``).
"""

from __future__ import annotations

from typing import Any

from .. import _org_policies
from .._appdefs import BodyError
from .._http import Ctx, Handler, OktaError, validation_failed
from .._render import render_policy, render_policy_rule
from ._family import Doc, Family, Parents, ref, renumber, stamp, status_change

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


def _fields(body: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The body's name and JSON-object fields, checked."""
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    out: dict[str, Any] = {"name": name}
    for key in keys:
        if body.get(key) is not None:
            if not isinstance(body[key], dict):
                raise BodyError(key, "The field must be a JSON object.")
            out[key] = body[key]
    return out


def _stamp(ctx: Ctx, current: Doc | None, prefix: str) -> Doc:
    """A policy's or rule's id, status, times and ``system``; a create honours ``activate``."""
    status = None if current else ("ACTIVE" if ctx.flag("activate", True) else "INACTIVE")
    return {**stamp(ctx, current, prefix, status), "system": bool(current and current["system"])}


# ------------------------------------------------------------ policies


def _policy_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    store: dict[str, Doc] = ctx.org._policies
    return store


def _list_policies(ctx: Ctx, parents: Parents) -> list[Doc]:
    ptype = ctx.param("type")
    if not ptype:
        raise validation_failed("type", "The field cannot be left blank.")
    if ptype not in POLICY_TYPES:
        raise validation_failed("type", f"Invalid value {ptype!r}.")
    docs = _org_policies.policy_docs(ctx.org, ptype)
    status = ctx.param("status")
    if status:
        docs = [p for p in docs if p["status"] == status]
    q = ctx.param("q")
    if q:
        docs = [p for p in docs if q.lower() in p["name"].lower()]
    return docs


def _write_policy(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    org = ctx.org
    fields = _fields(body, ("conditions", "settings"))
    ptype = body.get("type") or (current or {}).get("type")
    if ptype not in POLICY_TYPES:
        raise BodyError("type", f"Invalid value {ptype!r}.")
    if current and ptype != current["type"]:
        raise BodyError("type", "The type of a policy cannot be changed.")
    description = body.get("description")
    doc: Doc = {
        "type": ptype,
        **_stamp(ctx, current, "00p"),
        "description": description if isinstance(description, str) else "",
        "priority": 0,
        **fields,
    }
    same_type = {p["id"]: p for p in _org_policies.policy_docs(org, ptype)}
    renumber(same_type, doc, body.get("priority"))
    org._policies[doc["id"]] = doc
    event = "policy.lifecycle.update" if current else "policy.lifecycle.create"
    org.log(event, [ref(doc, "Policy")], ctx.path)
    return doc


def _remove_policy(ctx: Ctx, parents: Parents, policy: Doc) -> None:
    if policy["system"]:
        raise _forbidden("A default (system) policy cannot be deleted.")
    org = ctx.org
    org.tick()
    del org._policies[policy["id"]]
    org._policy_rules.pop(policy["id"], None)  # its rules go with it
    org.log("policy.lifecycle.delete", [ref(policy, "Policy")], ctx.path)


def _policy_status(ctx: Ctx, parents: Parents, policy: Doc, status: str) -> None:
    if status == "INACTIVE" and policy["system"]:
        raise _forbidden("A default (system) policy cannot be deactivated.")
    verb = "activate" if status == "ACTIVE" else "deactivate"
    status_change(ctx, policy, status, f"policy.lifecycle.{verb}", [ref(policy, "Policy")])


POLICIES = Family(
    "/api/v1/policies",
    "policy_id",
    "Policy",
    _policy_store,
    render_policy,
    write=_write_policy,
    remove=_remove_policy,
    set_status=_policy_status,
    docs=_list_policies,
    created=200,
)

# ------------------------------------------------------------ rules


def _rule_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    POLICIES.item(ctx, (), parents[0])
    store: dict[str, Doc] = ctx.org._policy_rules.setdefault(parents[0], {})
    return store


def _rule_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    _rule_store(ctx, parents)
    return _org_policies.policy_rule_docs(ctx.org, parents[0])


def _targets(ctx: Ctx, policy_id: str, rule: Doc) -> list[dict[str, Any]]:
    return [ref(ctx.org._policies[policy_id], "Policy"), ref(rule, "PolicyRule")]


def _write_rule(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    policy = POLICIES.item(ctx, (), parents[0])
    want = RULE_TYPE.get(policy["type"], policy["type"])
    fields = _fields(body, ("conditions", "actions"))
    rtype = body.get("type") or want
    if rtype != want:
        raise BodyError("type", f"A {policy['type']} policy takes rules of type {want}.")
    doc: Doc = {**_stamp(ctx, current, "0pr"), "priority": 0, "type": rtype, **fields}
    renumber(_rule_store(ctx, parents), doc, body.get("priority"))
    event = "policy.rule.update" if current else "policy.rule.add"
    ctx.org.log(event, _targets(ctx, parents[0], doc), ctx.path)
    return doc


def _remove_rule(ctx: Ctx, parents: Parents, rule: Doc) -> None:
    if rule["system"]:
        raise _forbidden("A default rule cannot be deleted.")
    ctx.org.tick()
    del ctx.org._policy_rules[parents[0]][rule["id"]]
    ctx.org.log("policy.rule.delete", _targets(ctx, parents[0], rule), ctx.path)


def _rule_status(ctx: Ctx, parents: Parents, rule: Doc, status: str) -> None:
    if status == "INACTIVE" and rule["system"]:
        raise _forbidden("A default rule cannot be deactivated.")
    verb = "activate" if status == "ACTIVE" else "deactivate"
    status_change(ctx, rule, status, f"policy.rule.{verb}", _targets(ctx, parents[0], rule))


RULES = Family(
    "/api/v1/policies/{policy_id}/rules",
    "rule_id",
    "PolicyRule",
    _rule_store,
    render_policy_rule,
    write=_write_rule,
    remove=_remove_rule,
    set_status=_rule_status,
    docs=_rule_docs,
    created=200,
)

ROUTES: list[tuple[str, dict[str, Handler]]] = [*POLICIES.routes(), *RULES.routes()]
