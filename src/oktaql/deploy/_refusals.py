"""Okta's refusals by state, as what an ``.iql`` stack should write instead: an ACTIVE app
can't be deleted, an ACTIVE group rule can't be replaced (deactivate first, with the
resource's own method, named)."""

from __future__ import annotations

import re
from typing import Any

from oktaql.deploy._model import Anchor, Resource
from oktaql.errors import APIError, DeployError, Error

DELETE = re.compile(r"(?i)\bDELETE\s+FROM\s+([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)")
REPLACE = re.compile(r"(?i)\b(?:REPLACE|UPDATE)\s+([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)")


def explained(exc: Error, r: Resource, anchor: Anchor, session: Any) -> Error:
    """Okta's refusals by state (an ACTIVE app cannot be deleted, an ACTIVE rule cannot be
    replaced) as what to write instead; every other error names the resource and anchor."""
    if isinstance(exc, APIError) and exc.status in (400, 403, 409):
        said = f"{exc.error_summary or ''} {exc}".lower()
        m = DELETE.search(anchor.sql) or REPLACE.search(anchor.sql)
        if m and ("deactivat" in said or "active" in said):
            rid = m.group(1)
            verb = "delete" if m.re is DELETE else "replace"
            method, param = _deactivate(session, rid)
            fix = (
                f"put `EXEC {rid}.{method} @{param} = '...';` before it in the {anchor.name} "
                "anchor" + ("" if verb == "delete" else ", and activate it again after")
                if method
                else "deactivate it first"
            )
            return DeployError(
                f"resource '{r.name}': Okta refuses to {verb} an ACTIVE {rid.split('.')[-1]} "
                f"object ({exc.error_code or exc.status}): {fix}",
                anchor.where,
            )
    if isinstance(exc, DeployError):
        return exc
    return DeployError(f"resource '{r.name}': {exc}", anchor.where)


def _deactivate(session: Any, rid: str) -> tuple[str | None, str]:
    try:
        res = session.catalog.resource(rid)
    except Error:
        return None, "id"
    for name, method in res.methods.items():
        if name.startswith("deactivate"):
            params = re.findall(r"\{(\w+)\}", method.path)
            return name, params[-1] if params else "id"
    return None, "id"


__all__ = ["DELETE", "REPLACE", "explained"]
