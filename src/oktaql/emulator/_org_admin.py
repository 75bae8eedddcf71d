"""The flat org-level collections (IdPs, zones, origins, hooks), API tokens, custom roles.

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._render import (
    render_api_token,
    render_iam_role,
    render_simple,
)

if TYPE_CHECKING:
    from ._org import Org

# The simple org-level collections: store attribute of the Org → (URL segment, Okta type name).
SIMPLE_KINDS = {
    "idps": ("idps", "IdentityProvider"),
    "zones": ("zones", "NetworkZone"),
    "origins": ("trustedOrigins", "TrustedOrigin"),
    "event_hooks": ("eventHooks", "EventHook"),
    "inline_hooks": ("inlineHooks", "InlineHook"),
}


def simple_store(self: Org, kind: str) -> dict[str, dict[str, Any]]:
    store: dict[str, dict[str, Any]] = getattr(self, f"{kind}_store")
    return store


def simple(self: Org, kind: str) -> list[dict[str, Any]]:
    segment, _ = SIMPLE_KINDS[kind]
    base = self._base(None)
    return [render_simple(segment, d, base) for d in simple_store(self, kind).values()]


def idps(self: Org) -> list[dict[str, Any]]:
    """Identity providers (``/api/v1/idps``), in list order."""
    return simple(self, "idps")


def zones(self: Org) -> list[dict[str, Any]]:
    """Network zones (``/api/v1/zones``), in list order."""
    return simple(self, "zones")


def trusted_origins(self: Org) -> list[dict[str, Any]]:
    return simple(self, "origins")


def event_hooks(self: Org) -> list[dict[str, Any]]:
    return simple(self, "event_hooks")


def inline_hooks(self: Org) -> list[dict[str, Any]]:
    return simple(self, "inline_hooks")


def api_token_docs(self: Org) -> list[dict[str, Any]]:
    return list(self._api_tokens.values())


def api_tokens(self: Org) -> list[dict[str, Any]]:
    """API token metadata (``/api/v1/api-tokens``); never the secret."""
    base = self._base(None)
    return [render_api_token(t, base) for t in self._api_tokens.values()]


def iam_role_docs(self: Org) -> list[dict[str, Any]]:
    return list(self._iam_roles.values())


def iam_roles(self: Org) -> list[dict[str, Any]]:
    """Custom admin roles (``roles`` of ``/api/v1/iam/roles``)."""
    base = self._base(None)
    return [render_iam_role(r, base) for r in self._iam_roles.values()]
