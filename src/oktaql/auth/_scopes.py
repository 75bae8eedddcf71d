"""Which OAuth 2.0 scopes a statement's calls need.

A method's scopes are facts of Okta's API (``Method.scopes``: the provider's ``security``, or
Okta's spec where a provider carries none). A read takes the ``.read`` scope of each family the
method lists, a write the ``.manage`` one, and ``manage`` includes ``read``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from oktaql.provider import request_scopes

if TYPE_CHECKING:
    from oktaql.provider import Method

ENV_SCOPES = "OKTA_CLIENT_SCOPES"  # the SDKs' variable: comma- or space-separated


def parse_scopes(value: str | Iterable[str] | None) -> list[str]:
    """``"okta.apps.read, okta.users.read"`` / ``"a b"`` / a list → deduplicated list."""
    if value is None:
        return []
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        s = str(item).strip()
        if s and s not in out:
            out.append(s)
    return out


def _family(scope: str) -> tuple[str, str]:
    head, dot, tail = scope.rpartition(".")
    return (head, tail) if dot else (scope, "")


def narrowest_scopes(http_method: str, listed: Iterable[str]) -> set[str]:
    """Of the scopes an operation lists, the narrowest per family: ``.read`` for reads,
    ``.manage`` for writes (a family that has neither keeps what it lists)."""
    want = "read" if http_method.upper() in ("GET", "HEAD") else "manage"
    by_family: dict[str, list[str]] = {}
    for s in listed:
        by_family.setdefault(_family(s)[0], []).append(s)
    out: set[str] = set()
    for scopes in by_family.values():
        preferred = [s for s in scopes if _family(s)[1] == want]
        out.update(preferred or scopes)
    return out


def minimal_scopes(scopes: Iterable[str]) -> list[str]:
    """Sorted, with ``F.read`` dropped where ``F.manage`` is present (manage includes read)."""
    have = set(scopes)
    return sorted(
        s for s in have if not (_family(s)[1] == "read" and f"{_family(s)[0]}.manage" in have)
    )


def covers(granted: Iterable[str], scope: str) -> bool:
    """Whether the granted scopes allow ``scope`` (``F.manage`` allows ``F.read``)."""
    have = set(granted)
    fam, level = _family(scope)
    return scope in have or (level == "read" and f"{fam}.manage" in have)


def scopes_for_request(http_method: str, path: str) -> list[str]:
    """The scopes a concrete call needs (``/api/v1/apps/0oa1/tokens``, or a whole URL), from
    the operation of Okta's spec whose path it matches; ``[]`` where no scope applies or the
    path is not one of Okta's operations."""
    listed = request_scopes(http_method, path) or ()
    return sorted(narrowest_scopes(http_method, listed))


def scopes_for(methods: Iterable[Method]) -> list[str]:
    """The scopes a statement's methods need (its default ``scope`` request), from each
    method's scopes; reads take the ``.read`` scope, writes the ``.manage`` one."""
    wanted: set[str] = set()
    for m in methods:
        wanted |= narrowest_scopes(m.http_method, m.scopes)
    return minimal_scopes(wanted)
