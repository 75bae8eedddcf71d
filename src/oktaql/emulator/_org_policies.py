"""Authorization servers' policies, rules, claims and keys; org policies and their rules.

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._render import (
    render_claim,
    render_policy,
    render_policy_rule,
    render_server_key,
    render_server_policy,
    render_server_rule,
)

if TYPE_CHECKING:
    from ._org import Org


def server_key_docs(self: Org, server_id: str) -> list[dict[str, Any]]:
    return self._as_keys.get(server_id, [])


def server_keys(self: Org, server_id: str) -> list[dict[str, Any]]:
    base = self._base(None)
    return [render_server_key(server_id, k, base) for k in server_key_docs(self, server_id)]


def server_policy_docs(self: Org, server_id: str) -> list[dict[str, Any]]:
    return sorted(self._as_policies.get(server_id, {}).values(), key=lambda p: p["priority"])


def server_policies(self: Org, server_id: str) -> list[dict[str, Any]]:
    """An authorization server's access policies, by priority."""
    base = self._base(None)
    return [render_server_policy(server_id, p, base) for p in server_policy_docs(self, server_id)]


def server_rule_docs(self: Org, policy_id: str) -> list[dict[str, Any]]:
    return sorted(self._as_rules.get(policy_id, {}).values(), key=lambda r: r["priority"])


def server_policy_rules(self: Org, server_id: str, policy_id: str) -> list[dict[str, Any]]:
    base = self._base(None)
    return [
        render_server_rule(server_id, policy_id, r, base) for r in server_rule_docs(self, policy_id)
    ]


def claim_docs(self: Org, server_id: str) -> list[dict[str, Any]]:
    return list(self._claims.get(server_id, {}).values())


def claims(self: Org, server_id: str) -> list[dict[str, Any]]:
    base = self._base(None)
    return [render_claim(server_id, c, base) for c in claim_docs(self, server_id)]


def policy_docs(self: Org, policy_type: str | None = None) -> list[dict[str, Any]]:
    docs = [p for p in self._policies.values() if policy_type in (None, p["type"])]
    return sorted(docs, key=lambda p: (p["type"], p["priority"]))


def policies(self: Org, policy_type: str) -> list[dict[str, Any]]:
    """``/api/v1/policies?type=...``: the policies of a type, by priority."""
    base = self._base(None)
    return [render_policy(p, base) for p in policy_docs(self, policy_type)]


def policy_rule_docs(self: Org, policy_id: str) -> list[dict[str, Any]]:
    return sorted(self._policy_rules.get(policy_id, {}).values(), key=lambda r: r["priority"])


def policy_rules(self: Org, policy_id: str) -> list[dict[str, Any]]:
    base = self._base(None)
    return [render_policy_rule(policy_id, r, base) for r in policy_rule_docs(self, policy_id)]
