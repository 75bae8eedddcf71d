"""What a session connects with and how its engine behaves: one frozen :class:`Settings`.

``oktaql.connect(...)``, ``oktaql exec``, ``oktaql shell`` and the ``%%oktaql`` magic all build
one of these (the CLI and the magic through :mod:`oktaql._options`), and
:class:`oktaql.session.Session` takes it: a new option is added here once, with its default.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from oktaql._http import RetryPolicy
from oktaql.errors import ProgrammingError

if TYPE_CHECKING:
    import httpx

    from oktaql.session import NamedOrg


@dataclass(frozen=True)
class Settings:
    """A session's options (see :func:`oktaql.connect` for what each one means)."""

    registry: str | os.PathLike[str] | None = None
    org_url: str | None = None
    token: str | None = field(default=None, repr=False)  # a secret: never in a repr
    variables: Mapping[str, Any] = field(default_factory=dict, repr=False)
    transport: httpx.BaseTransport | None = None
    timeout: float = 30.0
    # Okta lets an org run 35 (Integrator Free) to 75 requests at once; 32 stays inside the
    # smallest, and the adaptive limiter (_http/_concurrency) halves it if an org allows fewer
    concurrency: int = 32
    db: str | os.PathLike[str] | None = None  # None: in memory
    # GET responses kept on disk between processes, revalidated (True: the cache dir's
    # responses folder; a path: that folder); see oktaql._persistent_cache
    persistent_cache: bool | str | os.PathLike[str] = False
    # its bounds (0: none): past max_mb the least recently used pages go, and those unused
    # for max_days
    persistent_cache_max_mb: float = 256.0
    persistent_cache_max_days: float = 30.0
    orgs: Mapping[str, NamedOrg] = field(default_factory=dict)
    pushdown: bool = True
    stream: bool = True
    cache_ttl: float = 0.0
    progress: bool = False
    oauth: Mapping[str, Any] | None = field(default=None, repr=False)  # holds a private key
    auth: httpx.Auth | None = field(default=None, repr=False)  # instead of token/oauth
    retry: RetryPolicy | None = None
    # the most of each endpoint family's rate limit a window may take (None: the retry
    # policy's, 0.5 by default); see RetryPolicy.rate_share
    rate_share: float | None = None
    # where notes for the user go, e.g. how long a fan-out paced by the rate limit will take
    # (None: stderr when progress is on, else nowhere)
    notice: Callable[[str], None] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, base: Settings | None = None, /, **options: Any) -> Settings:
        """``base`` (the defaults when None) with ``options`` replaced; an unknown option is a
        :class:`ProgrammingError` naming the known ones. ``orgs`` may map a name to
        ``(org_url, token)`` as well as to a ``NamedOrg``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ProgrammingError(
                f"unknown connection option{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; the options are: {', '.join(sorted(known))}"
            )
        if options.get("orgs") is not None:
            options["orgs"] = _named_orgs(options["orgs"])
        for name in ("orgs", "variables"):  # None means "none", as it always has
            if name in options and options[name] is None:
                options[name] = {}
        return dataclasses.replace(base if base is not None else cls(), **options)


def _named_orgs(orgs: Mapping[str, Any]) -> dict[str, NamedOrg]:
    from oktaql.session import NamedOrg

    out: dict[str, NamedOrg] = {}
    for name, org in orgs.items():
        if isinstance(org, NamedOrg):
            out[name] = org
        else:
            url, token = org
            out[name] = NamedOrg(name, url, _constant(token), "pass its token in orgs=")
    return out


def _constant(value: str | None) -> Any:
    return lambda: value


__all__ = ["Settings"]
