"""Users' factors, admin role assignments and writes (create, update, lifecycle, delete).

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from . import _events, _org_grants, _org_groups
from ._appdefs import BodyError
from ._http import OktaError
from ._render import (
    render_factor,
    render_role,
    render_role_assignee,
)
from ._route_helpers import obj

if TYPE_CHECKING:
    from ._org import Org

# Okta's standard admin roles: type → label.
STANDARD_ROLES = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organization Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "Group Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read Only Administrator",
    "MOBILE_ADMIN": "Mobile Administrator",
    "API_ACCESS_MANAGEMENT_ADMIN": "API Access Management Administrator",
    "REPORT_ADMIN": "Report Administrator",
    "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
}

# Users' profile attributes Okta's default user schema requires.
REQUIRED_PROFILE = ("firstName", "lastName", "email", "login")


def _status_error(op: str, status: str) -> OktaError:
    return OktaError(
        403,
        "E0000038",
        "This operation is not allowed in the user's current status.",
        [f"{op}: not allowed for a user whose status is {status}."],
    )


def factor_docs(self: Org, user_id: str) -> list[dict[str, Any]]:
    return list(self._factors.get(user_id, {}).values())


def factors(self: Org, user_id: str) -> list[dict[str, Any]]:
    """A user's enrolled factors (``/api/v1/users/{id}/factors``)."""
    base = self._base(None)
    return [render_factor(user_id, f, base) for f in factor_docs(self, user_id)]


def add_factor(self: Org, user_id: str, factor: dict[str, Any]) -> None:
    self._factors.setdefault(user_id, {})[factor["id"]] = factor
    self.register(factor["id"])


def unenroll_factor(self: Org, user_id: str, factor_id: str, uri: str) -> None:
    factor = self._factors.get(user_id, {}).pop(factor_id)
    user = self._users[user_id]
    self.tick()
    self.log(
        "user.mfa.factor.deactivate",
        [_events.user_ref(user), _events.ref(factor_id, "Factor", factor["factorType"])],
        uri,
    )


def enroll_factor(self: Org, user_id: str, body: Any, activate: bool, uri: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BodyError("factorType", "The field cannot be left blank.")
    ftype, provider = body.get("factorType"), body.get("provider") or "OKTA"
    profiles = {"sms": "phoneNumber", "call": "phoneNumber", "email": "email"}
    if ftype not in ("sms", "call", "email", "token:software:totp", "push", "question"):
        raise BodyError("factorType", f"Invalid value {ftype!r}.")
    profile = obj(body.get("profile"))
    need = profiles.get(ftype)
    if need and not isinstance(profile.get(need), str):
        raise BodyError(f"profile.{need}", "The field cannot be left blank.")
    if need == "phoneNumber" and not re.fullmatch(r"\+[1-9]\d{1,14}", profile[need]):
        raise BodyError("profile.phoneNumber", "Use the E.164 format, e.g. +15554151337.")
    if any(f["factorType"] == ftype for f in factor_docs(self, user_id)):
        raise BodyError("factorType", "A factor of this type is already set up.")
    now = self.tick()
    prefix = {"sms": "mbl", "call": "clf", "email": "emf", "push": "opf", "question": "ufs"}
    factor = {
        "id": self.new_id(prefix.get(ftype, "ost")),
        "factorType": ftype,
        "provider": provider,
        "vendorName": provider,
        "status": "ACTIVE" if activate or ftype == "question" else "PENDING_ACTIVATION",
        "created": now,
        "lastUpdated": now,
        "profile": {k: v for k, v in profile.items() if k != "answer"},
    }
    add_factor(self, user_id, factor)
    if factor["status"] == "ACTIVE":
        self.log(
            "user.mfa.factor.activate",
            [
                _events.user_ref(self._users[user_id]),
                _events.ref(factor["id"], "Factor", ftype),
            ],
            uri,
        )
    return factor


def activate_factor(self: Org, user_id: str, factor_id: str, body: Any, uri: str) -> dict[str, Any]:
    """PENDING_ACTIVATION → ACTIVE with a passCode (any 6 digits; a push needs none)."""
    factor = self._factors[user_id][factor_id]
    if factor["status"] != "PENDING_ACTIVATION":
        raise BodyError("factorId", f"The factor is {factor['status']}, not PENDING_ACTIVATION.")
    code = obj(body).get("passCode")
    if factor["factorType"] != "push" and not (
        isinstance(code, str) and re.fullmatch(r"\d{6}", code)
    ):
        raise BodyError("passCode", "The field must be the 6-digit code the factor shows.")
    now = self.tick()
    factor = self._factors[user_id][factor_id] = {**factor, "status": "ACTIVE", "lastUpdated": now}
    self.log(
        "user.mfa.factor.activate",
        [
            _events.user_ref(self._users[user_id]),
            _events.ref(factor_id, "Factor", factor["factorType"]),
        ],
        uri,
    )
    return factor


def role_docs(self: Org, user_id: str) -> list[dict[str, Any]]:
    return list(self._roles.get(user_id, {}).values())


def user_roles(self: Org, user_id: str) -> list[dict[str, Any]]:
    """A user's admin role assignments (``/api/v1/users/{id}/roles``)."""
    base = self._base(None)
    return [render_role(user_id, r, base) for r in role_docs(self, user_id)]


def role_assignee_ids(self: Org) -> list[str]:
    """Users with at least one admin role, in list order."""
    return [u for u in self._users if self._roles.get(u)]


def role_assignees(self: Org) -> list[dict[str, Any]]:
    """``/api/v1/iam/assignees/users`` entries (``value``), in list order."""
    base = self._base(None)
    return [render_role_assignee(u, user_orn(self, u), base) for u in self.role_assignee_ids()]


def user_orn(self: Org, user_id: str) -> str:
    return f"orn:okta:directory:{self.org_id}:users:{user_id}"


def add_role(self: Org, user_id: str, role: dict[str, Any]) -> None:
    self._roles.setdefault(user_id, {})[role["id"]] = role
    self.register(role["id"])


def assign_role(self: Org, user_id: str, body: Any, uri: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("type"):
        raise BodyError("type", "The field cannot be left blank.")
    rtype = body["type"]
    extra: dict[str, Any] = {}
    if rtype == "CUSTOM":
        role_id, rs_id = body.get("role"), body.get("resource-set")
        if not isinstance(role_id, str) or role_id not in self._iam_roles:
            raise BodyError("role", f"Invalid value {role_id!r}.")
        if not isinstance(rs_id, str) or rs_id not in self._resource_sets:
            raise BodyError("resource-set", f"Invalid value {rs_id!r}.")
        label = self._iam_roles[role_id]["label"]
        extra = {"role": role_id, "resource-set": rs_id, "_member": self.new_id("irb")}
    elif rtype in STANDARD_ROLES:
        label = STANDARD_ROLES[rtype]
    else:
        raise BodyError("type", f"Invalid value {rtype!r}.")
    for existing in role_docs(self, user_id):
        if existing["type"] == rtype and existing.get("role") == extra.get("role"):
            raise OktaError(
                409,
                "E0000090",
                "Duplicate role assignment exception.",
                ["The role specified is already assigned to the user."],
            )
    now = self.tick()
    role = {
        "id": self.new_id("irb" if rtype == "CUSTOM" else "ra1"),
        "label": label,
        "type": rtype,
        "status": "ACTIVE",
        "created": now,
        "lastUpdated": now,
        "assignmentType": "USER",
        **extra,
    }
    add_role(self, user_id, role)
    self.log(
        "user.account.privilege.grant",
        [_events.user_ref(self._users[user_id]), _events.ref(role["id"], "ROLE", label)],
        uri,
    )
    return role


def unassign_role(self: Org, user_id: str, assignment_id: str, uri: str) -> None:
    role = self._roles[user_id].pop(assignment_id)
    self.tick()
    self.log(
        "user.account.privilege.revoke",
        [
            _events.user_ref(self._users[user_id]),
            _events.ref(role["id"], "ROLE", role["label"]),
        ],
        uri,
    )


def _validate_profile(
    self: Org, profile: Any, *, partial: bool, user_id: str | None = None
) -> dict[str, Any]:
    if not isinstance(profile, dict):
        raise BodyError("profile", "The field must be a JSON object.")
    for key in REQUIRED_PROFILE:
        if key in profile or not partial:
            value = profile.get(key)
            if not isinstance(value, str) or not value.strip():
                raise BodyError(key, "The field cannot be left blank.")
    for key in ("email", "login"):
        value = profile.get(key)
        if isinstance(value, str) and ("@" not in value or value.startswith("@")):
            what = "Username" if key == "login" else "Email"
            raise BodyError(key, f"{what} must be in the form of an email address.")
    for key in ("firstName", "lastName"):
        value = profile.get(key)
        if isinstance(value, str) and len(value) > 50:
            raise BodyError(key, "The field must be at most 50 characters long.")
    login = profile.get("login")
    if isinstance(login, str):
        owner = self._logins.get(login.lower())
        if owner is not None and owner != user_id:
            raise BodyError(
                "login", "An object with this field already exists in the current organization"
            )
    return profile


def _validate_password(self: Org, credentials: Any) -> str | None:
    if credentials is None:
        return None
    if not isinstance(credentials, dict):
        raise BodyError("credentials", "The field must be a JSON object.")
    password = credentials.get("password")
    if password is None:
        return None
    value = password.get("value") if isinstance(password, dict) else None
    if not isinstance(value, str) or len(value) < 8:
        raise BodyError("password", "Password requirements were not met: at least 8 characters.")
    return value


def create_user(self: Org, body: Any, activate: bool, uri: str) -> dict[str, Any]:
    """``POST /api/v1/users``: STAGED, or PROVISIONED/ACTIVE when activated (with a password)."""
    if not isinstance(body, dict):
        raise BodyError("profile", "The field cannot be left blank.")
    profile = _validate_profile(self, body.get("profile"), partial=False)
    password = _validate_password(self, body.get("credentials"))
    group_ids = body.get("groupIds") or []
    if not isinstance(group_ids, list) or not all(
        isinstance(g, str) and g in self._groups for g in group_ids
    ):
        raise BodyError("groupIds", "Every group id must name an existing group.")
    now = self.tick()
    status = "STAGED"
    if activate:
        status = "ACTIVE" if password else "PROVISIONED"
    credentials: dict[str, Any] = {}
    if password:
        credentials["password"] = {}
    credentials["provider"] = {"type": "OKTA", "name": "OKTA"}
    full_profile = {"mobilePhone": None, "secondEmail": None, **profile}
    user: dict[str, Any] = {
        "id": self.new_id("00u"),
        "status": status,
        "created": now,
        "activated": now if status == "ACTIVE" else None,
        "statusChanged": now if status != "STAGED" else None,
        "lastLogin": None,
        "lastUpdated": now,
        "passwordChanged": now if password else None,
        "type": {"id": getattr(self, "user_type_id", "")},
        "profile": full_profile,
        "credentials": credentials,
    }
    self._users[user["id"]] = user
    self._logins[profile["login"].lower()] = user["id"]
    self.register(user["id"])
    self.log("user.lifecycle.create", [_events.user_ref(user)], uri)
    if status == "ACTIVE":
        self.log("user.lifecycle.activate", [_events.user_ref(user)], uri)
    everyone = [g for g, d in self._groups.items() if d["type"] == "BUILT_IN"]
    for gid in dict.fromkeys(everyone + group_ids):
        _org_groups._add_member(self, gid, user["id"], uri, now)
    return user


def update_user(self: Org, user_id: str, body: Any, *, replace: bool, uri: str) -> dict[str, Any]:
    """``POST`` (partial) or ``PUT`` (whole profile) ``/api/v1/users/{id}``."""
    if not isinstance(body, dict):
        raise BodyError("profile", "The field cannot be left blank.")
    user = self._users[user_id]
    profile_in = body.get("profile")
    if profile_in is None and replace:
        raise BodyError("profile", "The field cannot be left blank.")
    if profile_in is not None:
        _validate_profile(self, profile_in, partial=not replace, user_id=user_id)
    password = _validate_password(self, body.get("credentials"))
    now = self.tick()
    updated = dict(user)
    if profile_in is not None:
        if replace:
            profile = {"mobilePhone": None, "secondEmail": None, **profile_in}
        else:
            profile = {**user["profile"], **profile_in}
        old_login = user["profile"]["login"].lower()
        if profile["login"].lower() != old_login:
            self._logins.pop(old_login, None)
            self._logins[profile["login"].lower()] = user_id
        updated["profile"] = profile
    if password:
        updated["credentials"] = {**user["credentials"], "password": {}}
        updated["passwordChanged"] = now
    updated["lastUpdated"] = now
    self._users[user_id] = updated
    _org_grants.refresh_token_titles(self, user_id)
    self.log("user.account.update_profile", [_events.user_ref(updated)], uri)
    return updated


def _set_user_status(
    self: Org, user_id: str, status: str, now: str, **extra: Any
) -> dict[str, Any]:
    user = {**self._users[user_id], "status": status, "statusChanged": now, "lastUpdated": now}
    user.update(extra)
    self._users[user_id] = user
    return user


# The password operations: the statuses they apply to, the status after, the event logged.
_SIGNS_IN = ("ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT")
_PASSWORD_OPS = {
    "expire_password": ("PASSWORD_EXPIRED", "user.account.expire_password"),
    "expire_password_with_temp_password": ("PASSWORD_EXPIRED", "user.account.expire_password"),
    "reset_password": ("RECOVERY", "user.account.reset_password"),
}


def user_lifecycle(
    self: Org, user_id: str, op: str, uri: str, *, send_email: bool = True
) -> dict[str, Any]:
    """Apply a lifecycle operation with Okta's status rules; returns the response body
    (the user itself for the password expiries, a reset URL for a reset without email)."""
    user = self._users[user_id]
    status = user["status"]
    if op in _PASSWORD_OPS:
        if status not in _SIGNS_IN:
            raise _status_error(op, status)
        new, event = _PASSWORD_OPS[op]
        now = self.tick()
        user = _set_user_status(self, user_id, new, now)
        self.log(event, [_events.user_ref(user)], uri)
        if op == "reset_password":
            token = self.new_id("")
            return (
                {}
                if send_email
                else {"resetPasswordUrl": f"{self._base(None)}/reset_password/{token}"}
            )
        return user
    if op == "reset_factors":
        if not self._factors.get(user_id):
            return {}
        self.tick()
        self._factors.pop(user_id)
        self.log("user.mfa.factor.reset_all", [_events.user_ref(user)], uri)
        return {}
    has_password = "password" in (user.get("credentials") or {})
    body: dict[str, Any] = {}
    if op == "activate":
        if status not in ("STAGED", "DEPROVISIONED"):
            if status == "ACTIVE":
                raise OktaError(
                    403,
                    "E0000016",
                    "Activation failed because the user is already active",
                )
            raise _status_error(op, status)
        now = self.tick()
        new = "ACTIVE" if has_password else "PROVISIONED"
        extra = {"activated": now} if new == "ACTIVE" else {}
        user = _set_user_status(self, user_id, new, now, **extra)
        self.log("user.lifecycle.activate", [_events.user_ref(user)], uri)
        if not send_email:
            body = _activation_token(self)
    elif op == "reactivate":
        if status != "PROVISIONED":
            raise _status_error(op, status)
        self.tick()
        self.log("user.lifecycle.reactivate", [_events.user_ref(user)], uri)
        if not send_email:
            body = _activation_token(self)
    elif op == "deactivate":
        if status == "DEPROVISIONED":
            raise _status_error(op, status)
        _deactivate(self, user_id, uri)
    elif op == "suspend":
        if status != "ACTIVE":
            raise OktaError(
                400,
                "E0000001",
                "Api validation failed: suspend",
                [f"suspend: only an ACTIVE user can be suspended; the user is {status}."],
            )
        now = self.tick()
        user = _set_user_status(self, user_id, "SUSPENDED", now)
        self.log("user.lifecycle.suspend", [_events.user_ref(user)], uri)
    elif op == "unsuspend":
        if status != "SUSPENDED":
            raise OktaError(
                400,
                "E0000001",
                "Api validation failed: unsuspend",
                [f"unsuspend: only a SUSPENDED user can be unsuspended; the user is {status}."],
            )
        now = self.tick()
        user = _set_user_status(self, user_id, "ACTIVE", now)
        self.log("user.lifecycle.unsuspend", [_events.user_ref(user)], uri)
    elif op == "unlock":
        if status != "LOCKED_OUT":
            raise _status_error(op, status)
        now = self.tick()
        user = _set_user_status(self, user_id, "ACTIVE", now)
        self.log("user.account.unlock", [_events.user_ref(user)], uri)
    else:  # pragma: no cover - the route table only sends the ops above
        raise ValueError(op)
    return body


def _activation_token(self: Org) -> dict[str, Any]:
    token = self.new_id("")
    return {
        "activationUrl": f"{self._base(None)}/welcome/{token}",
        "activationToken": token,
    }


def _deactivate(self: Org, user_id: str, uri: str) -> None:
    """DEPROVISIONED; the user's refresh tokens are revoked, as Okta does."""
    now = self.tick()
    user = _set_user_status(self, user_id, "DEPROVISIONED", now)
    for app_id, tokens in self._tokens.items():
        if any(u.id == user_id for u in tokens.users):
            for i in _org_grants.active_token_indexes(self, app_id, lambda u, _s: u == user_id):
                tokens.revoke(i)
    self.log("user.lifecycle.deactivate", [_events.user_ref(user)], uri)


def delete_user(self: Org, user_id: str, uri: str) -> None:
    """``DELETE``: deactivates a user that is not DEPROVISIONED yet, else deletes it."""
    user = self._users[user_id]
    if user["status"] != "DEPROVISIONED":
        _deactivate(self, user_id, uri)
        return
    self.tick()
    ref = _events.user_ref(user)
    self.log("user.lifecycle.delete.initiated", [ref], uri)
    for members in self._members.values():
        if user_id in members:
            members.remove(user_id)
    for assigned in self._app_users.values():
        assigned.pop(user_id, None)
    self._roles.pop(user_id, None)
    self._factors.pop(user_id, None)
    for gid in [g["id"] for g in _org_grants.user_grant_docs(self, user_id)]:
        self._user_grants.pop(gid)
    self._logins.pop(user["profile"]["login"].lower(), None)
    del self._users[user_id]
    self.log("user.lifecycle.delete.completed", [ref], uri)
