"""What a planned call is, before any client exists: the request, the retry policy, origins.

Planning builds :class:`Request` objects and checks their origins; nothing here imports httpx
or the client, so EXPLAIN never loads them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from oktaql import __version__
from oktaql.errors import ConfigError

USER_AGENT = f"oktaql/{__version__}"

Origin = tuple[str, str, int | None, bool]  # scheme, host, port, has credentials

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-able, or None
    has_body: bool = False
    # whose credential the call was planned with: a named org (profile), or None for the
    # session's own; the session picks the client by this, never by matching the URL
    org: str | None = None

    def describe(self) -> str:
        return f"{self.method} {self.url}"


@dataclass
class RetryPolicy:
    """How hard a client tries; see :mod:`oktaql._http` for what is retried when."""

    max_retries: int = 4
    backoff_base: float = 0.25  # seconds before the first retry (then doubled, with jitter)
    backoff_max: float = 8.0
    max_rate_limit_wait: float = 60.0  # longest wait for a rate limit to reset
    pace: bool = True  # spread a low rate-limit budget instead of running into 429s
    pace_fraction: float = 0.1  # pace once fewer than this share of the limit remains...
    pace_reserve: int = 8  # ...or fewer than this many calls (about the concurrent workers)
    # the most of an endpoint family's X-Rate-Limit-Limit one window may take (1: all of it);
    # the rest is left to the org's other traffic
    rate_share: float = 0.5

    def __post_init__(self) -> None:
        share = self.rate_share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise ConfigError(
                f"rate_share {share!r} is not a share of the rate limit: give a number greater "
                "than 0 and at most 1 (0.5: half of each window's budget; 1: all of it)"
            )


def origin(url: str) -> Origin:
    """(scheme, host, port, has credentials); unparseable URLs get an origin nothing matches."""
    # asked about ten times a request: the part before the query decides it, and repeats
    return _origin(url.partition("?")[0].partition("#")[0])


@functools.lru_cache(maxsize=1024)
def _origin(url: str) -> Origin:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("invalid", url, None, True)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    return scheme, host, port or _DEFAULT_PORTS.get(scheme), bool(parts.username)


def show_origin(url: str) -> str:
    return show(origin(url))


def show(o: Origin) -> str:
    """``scheme://host[:port]`` of an origin, the port only when it is not the default."""
    scheme, host, port, _ = o
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}" + (
        f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else ""
    )


def binding_origin(url: str) -> Origin:
    """The origin a credential may be bound to: an http(s) URL without credentials."""
    o = origin(url)
    if o[0] not in _DEFAULT_PORTS or not o[1] or o[3]:
        raise ConfigError(
            f"cannot bind a credential to {show(o) if o[0] != 'invalid' else 'an invalid URL'}: "
            "it needs an http(s) URL without user name or password"
        )
    return o
