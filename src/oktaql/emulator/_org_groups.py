"""Group writes and membership, app assignments (users and groups), group rules.

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import _events
from ._appdefs import BodyError
from ._http import OktaError
from ._render import (
    render_group_rule,
)
from ._route_helpers import obj

if TYPE_CHECKING:
    from ._org import Org


def group_rule_docs(self: Org) -> list[dict[str, Any]]:
    return list(self._group_rules.values())


def group_rules(self: Org) -> list[dict[str, Any]]:
    base = self._base(None)
    return [render_group_rule(r, base) for r in self._group_rules.values()]


def _validate_group_body(self: Org, body: Any, group_id: str | None = None) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("profile"), dict):
        raise BodyError("profile", "The field cannot be left blank.")
    profile = body["profile"]
    name = profile.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    if len(name) > 255:
        raise BodyError("name", "The field must be at most 255 characters long.")
    desc = profile.get("description")
    if desc is not None and not isinstance(desc, str):
        raise BodyError("description", "The field must be a string.")
    for gid, g in self._groups.items():
        if gid != group_id and g["profile"]["name"].lower() == name.lower():
            raise BodyError(
                "name", "An object with this field already exists in the current organization"
            )
    out = {"name": name}
    if desc is not None:  # the spec declares description non-nullable: absent, not null
        out["description"] = desc
    return {**out, **{k: v for k, v in profile.items() if k not in ("name", "description")}}


def create_group(self: Org, body: Any, uri: str) -> dict[str, Any]:
    profile = _validate_group_body(self, body)
    now = self.tick()
    group: dict[str, Any] = {
        "id": self.new_id("00g"),
        "created": now,
        "lastUpdated": now,
        "lastMembershipUpdated": now,
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": profile,
    }
    self._groups[group["id"]] = group
    self._members[group["id"]] = []
    self.register(group["id"])
    self.log("group.lifecycle.create", [_events.group_ref(group)], uri)
    return group


def _builtin_forbidden(self: Org) -> OktaError:
    return OktaError(
        403,
        "E0000006",
        "You do not have permission to perform the requested action",
        ["The built-in Everyone group cannot be changed."],
    )


def replace_group(self: Org, group_id: str, body: Any, uri: str) -> dict[str, Any]:
    if self._groups[group_id]["type"] == "BUILT_IN":
        raise _builtin_forbidden(self)
    profile = _validate_group_body(self, body, group_id)
    now = self.tick()
    group = {**self._groups[group_id], "profile": profile, "lastUpdated": now}
    self._groups[group_id] = group
    self.log("group.profile.update", [_events.group_ref(group)], uri)
    return group


def delete_group(self: Org, group_id: str, uri: str) -> None:
    group = self._groups[group_id]
    if group["type"] == "BUILT_IN":
        raise _builtin_forbidden(self)
    now = self.tick()
    members = self._members.pop(group_id, [])
    del self._groups[group_id]
    for app_id, groups in self._app_groups.items():
        if groups.pop(group_id, None) is not None:
            for uid in members:
                _sync_app_user(self, app_id, uid, uri, now)
    for rule in self._group_rules.values():
        if group_id in rule["actions"]["assignUserToGroups"]["groupIds"]:
            rule["status"], rule["lastUpdated"] = "INVALID", now
    self.log("group.lifecycle.delete", [_events.group_ref(group)], uri)


def add_member(self: Org, group_id: str, user_id: str, uri: str) -> None:
    if self._groups[group_id]["type"] == "BUILT_IN":
        raise _builtin_forbidden(self)
    if user_id in self._members.get(group_id, []):
        return
    _add_member(self, group_id, user_id, uri, self.tick())


def _add_member(self: Org, group_id: str, user_id: str, uri: str, now: str) -> None:
    members = self._members.setdefault(group_id, [])
    if user_id in members:
        return
    members.append(user_id)
    members.sort(key=lambda u: self.seq_of(u) or 0)
    self._groups[group_id] = {**self._groups[group_id], "lastMembershipUpdated": now}
    self.log(
        "group.user_membership.add",
        [_events.user_ref(self._users[user_id]), _events.group_ref(self._groups[group_id])],
        uri,
    )
    for app_id, groups in self._app_groups.items():
        if group_id in groups:
            _sync_app_user(self, app_id, user_id, uri, now)


def remove_member(self: Org, group_id: str, user_id: str, uri: str) -> None:
    if self._groups[group_id]["type"] == "BUILT_IN":
        raise _builtin_forbidden(self)
    members = self._members.get(group_id, [])
    if user_id not in members:
        return
    now = self.tick()
    members.remove(user_id)
    self._groups[group_id] = {**self._groups[group_id], "lastMembershipUpdated": now}
    self.log(
        "group.user_membership.remove",
        [_events.user_ref(self._users[user_id]), _events.group_ref(self._groups[group_id])],
        uri,
    )
    for app_id, groups in self._app_groups.items():
        if group_id in groups:
            _sync_app_user(self, app_id, user_id, uri, now)


def assign_app_user(
    self: Org, app_id: str, user_id: str, body: dict[str, Any], uri: str, *, update: bool
) -> dict[str, Any]:
    """Assign a user to an app directly (scope USER), or update the assignment's profile."""
    credentials = body.get("credentials", {})
    profile = body.get("profile", {})
    if not isinstance(credentials, dict):
        raise BodyError("credentials", "The value must be an object.")
    if not isinstance(profile, dict):
        raise BodyError("profile", "The value must be an object.")
    assigned = self._app_users.setdefault(app_id, {})
    user = self._users[user_id]
    current = assigned.get(user_id)
    now = self.tick()
    if current is not None:
        doc = {
            **current,
            "lastUpdated": now,
            "profile": {**current.get("profile", {}), **profile},
            "credentials": {**current.get("credentials", {}), **credentials},
        }
        if not update:
            doc["scope"] = "USER"
    else:
        doc = {
            "id": user_id,
            "created": now,
            "lastUpdated": now,
            "scope": "USER",
            "status": "ACTIVE",
            "statusChanged": now,
            "passwordChanged": None,
            "syncState": "DISABLED",
            "credentials": {"userName": user["profile"]["login"], **credentials},
            "profile": profile,
        }
        refs = [_events.user_ref(user), _events.app_ref(self._apps[app_id])]
        self.log("application.user_membership.add", refs, uri)
    assigned[user_id] = doc
    ordered = sorted(assigned.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
    self._app_users[app_id] = dict(ordered)
    return doc


def unassign_app_user(self: Org, app_id: str, user_id: str, uri: str) -> None:
    if self._app_users.get(app_id, {}).pop(user_id, None) is None:
        return
    self.tick()
    refs = [_events.user_ref(self._users[user_id]), _events.app_ref(self._apps[app_id])]
    self.log("application.user_membership.remove", refs, uri)


def assign_app_group(
    self: Org, app_id: str, group_id: str, body: dict[str, Any], uri: str
) -> dict[str, Any]:
    """Assign a group to an app (or update its assignment); members follow via GROUP scope."""
    priority = body.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise BodyError("priority", "The value must be an integer.")
    profile = body.get("profile", {})
    if not isinstance(profile, dict):
        raise BodyError("profile", "The value must be an object.")
    groups = self._app_groups.setdefault(app_id, {})
    now = self.tick()
    current = groups.get(group_id)
    if priority is None:
        priority = (
            current["priority"]
            if current
            else max((g["priority"] for g in groups.values()), default=-1) + 1
        )
    doc = {"id": group_id, "priority": priority, "lastUpdated": now, "profile": profile}
    groups[group_id] = doc
    ordered = sorted(groups.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
    self._app_groups[app_id] = dict(ordered)
    if current is None:
        refs = [_events.group_ref(self._groups[group_id]), _events.app_ref(self._apps[app_id])]
        self.log("group.application_assignment.add", refs, uri)
        for uid in self._members.get(group_id, []):
            _sync_app_user(self, app_id, uid, uri, now)
    return doc


def unassign_app_group(self: Org, app_id: str, group_id: str, uri: str) -> None:
    """Remove a group's assignment; members assigned only through groups lose the app."""
    groups = self._app_groups.get(app_id, {})
    if groups.pop(group_id, None) is None:
        return
    now = self.tick()
    refs = [_events.group_ref(self._groups[group_id]), _events.app_ref(self._apps[app_id])]
    self.log("group.application_assignment.remove", refs, uri)
    for uid in self._members.get(group_id, []):
        _sync_app_user(self, app_id, uid, uri, now)


def _sync_app_user(self: Org, app_id: str, user_id: str, uri: str, now: str) -> None:
    """Keep a user's group-based assignment to an app in step with their groups."""
    assigned = self._app_users.setdefault(app_id, {})
    via_group = any(user_id in self._members.get(g, ()) for g in self._app_groups.get(app_id, {}))
    current = assigned.get(user_id)
    app, user = self._apps[app_id], self._users.get(user_id)
    if user is None:
        return
    if via_group and current is None:
        assigned[user_id] = {
            "id": user_id,
            "created": now,
            "lastUpdated": now,
            "scope": "GROUP",
            "status": "ACTIVE",
            "statusChanged": now,
            "passwordChanged": None,
            "syncState": "DISABLED",
            "credentials": {"userName": user["profile"]["login"]},
            "profile": {},
        }
        ordered = sorted(assigned.items(), key=lambda kv: self.seq_of(kv[0]) or 0)
        self._app_users[app_id] = dict(ordered)
        self.log(
            "application.user_membership.add",
            [_events.user_ref(user), _events.app_ref(app)],
            uri,
        )
    elif not via_group and current is not None and current["scope"] == "GROUP":
        del assigned[user_id]
        self.log(
            "application.user_membership.remove",
            [_events.user_ref(user), _events.app_ref(app)],
            uri,
        )


def _validate_group_rule(self: Org, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError("name", "The field cannot be left blank.")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BodyError("name", "The field cannot be left blank.")
    if len(name) > 50:
        raise BodyError("name", "The field must be at most 50 characters long.")
    conditions = obj(body.get("conditions"))
    expression = conditions.get("expression") if isinstance(conditions, dict) else None
    value = expression.get("value") if isinstance(expression, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise BodyError("conditions.expression.value", "The field cannot be left blank.")
    actions = obj(body.get("actions"))
    assign = (actions or {}).get("assignUserToGroups") or {}
    group_ids = assign.get("groupIds") if isinstance(assign, dict) else None
    if not isinstance(group_ids, list) or not group_ids:
        raise BodyError("actions.assignUserToGroups.groupIds", "The field cannot be left blank.")
    for gid in group_ids:
        if not isinstance(gid, str) or gid not in self._groups:
            raise BodyError("actions.assignUserToGroups.groupIds", f"Invalid group id {gid!r}.")
        if self._groups[gid]["type"] == "BUILT_IN":
            raise BodyError(
                "actions.assignUserToGroups.groupIds", "A rule cannot assign to Everyone."
            )
    people = obj(conditions.get("people"))
    excluded_users = ((people or {}).get("users") or {}).get("exclude") or []
    excluded_groups = ((people or {}).get("groups") or {}).get("exclude") or []
    return {
        "type": "group_rule",
        "name": name,
        "conditions": {
            "people": {
                "users": {"exclude": list(excluded_users)},
                "groups": {"exclude": list(excluded_groups)},
            },
            "expression": {"value": value, "type": "urn:okta:expression:1.0"},
        },
        "actions": {"assignUserToGroups": {"groupIds": list(group_ids)}},
    }


def create_group_rule(self: Org, body: Any, uri: str) -> dict[str, Any]:
    fields = _validate_group_rule(self, body)
    now = self.tick()
    rule = {
        "type": "group_rule",
        "id": self.new_id("0pr"),
        "status": "INACTIVE",
        "name": fields["name"],
        "created": now,
        "lastUpdated": now,
        "conditions": fields["conditions"],
        "actions": fields["actions"],
    }
    add_group_rule(self, rule)
    return rule


def add_group_rule(self: Org, rule: dict[str, Any]) -> None:
    self._group_rules[rule["id"]] = rule
    self.register(rule["id"])


def replace_group_rule(self: Org, rule_id: str, body: Any, uri: str) -> dict[str, Any]:
    rule = self._group_rules[rule_id]
    if rule["status"] == "ACTIVE":
        raise BodyError("status", "An ACTIVE rule cannot be updated; deactivate it first.")
    fields = _validate_group_rule(self, body)
    if (
        fields["actions"] != rule["actions"]
    ):  # Okta: "You currently can't update the action section"
        raise BodyError(
            "actions",
            "The actions of a group rule cannot be updated; delete the rule and create it again.",
        )
    now = self.tick()
    rule = {**rule, **fields, "lastUpdated": now, "status": "INACTIVE"}
    self._group_rules[rule_id] = rule
    return rule


def set_group_rule_status(self: Org, rule_id: str, status: str, uri: str) -> None:
    rule = self._group_rules[rule_id]
    if rule["status"] == status:
        return
    if rule["status"] == "INVALID":
        raise OktaError(
            403,
            "E0000038",
            "This operation is not allowed in the rule's current status.",
            ["An INVALID rule (its group was deleted) cannot change status."],
        )
    now = self.tick()
    rule = {**rule, "status": status, "lastUpdated": now}
    self._group_rules[rule_id] = rule
    if status == "INACTIVE":
        ref = _events.ref(rule_id, "GroupRule", rule["name"])
        self.log("group.user_membership.rule.deactivated", [ref], uri)
    if status == "ACTIVE":  # its effect is logged: group.user_membership.add per user
        _apply_group_rule(self, rule, uri, now)


def _apply_group_rule(self: Org, rule: dict[str, Any], uri: str, now: str) -> None:

    excluded = set(rule["conditions"]["people"]["users"]["exclude"])
    excluded_groups = rule["conditions"]["people"]["groups"]["exclude"]
    added = self._rule_added.setdefault(rule["id"], set())
    for uid, user in list(self._users.items()):
        if user["status"] == "DEPROVISIONED" or uid in excluded:
            continue
        if any(uid in self._members.get(g, ()) for g in excluded_groups):
            continue
        if not rule_matches(rule["conditions"]["expression"]["value"], user):
            continue
        for gid in rule["actions"]["assignUserToGroups"]["groupIds"]:
            if gid in self._groups and uid not in self._members.get(gid, []):
                _add_member(self, gid, uid, uri, now)
                added.add((gid, uid))


def delete_group_rule(self: Org, rule_id: str, remove_users: bool, uri: str) -> None:
    now = self.tick()
    del self._group_rules[rule_id]
    for gid, uid in sorted(self._rule_added.pop(rule_id, set())) if remove_users else ():
        if gid in self._groups and uid in self._members.get(gid, []):
            self._members[gid].remove(uid)
            self.log(
                "group.user_membership.remove",
                [_events.user_ref(self._users[uid]), _events.group_ref(self._groups[gid])],
                uri,
            )
            for app_id, groups in self._app_groups.items():
                if gid in groups:
                    _sync_app_user(self, app_id, uid, uri, now)


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
