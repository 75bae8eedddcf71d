"""HTTP calls to Okta: auth, Link pagination, retries, rate-limit pacing, Okta error bodies.

The transport is swappable (``httpx.BaseTransport``) so tests can point the engine at an
in-process app; the default is real HTTP with keep-alive.

What is retried (:class:`RetryPolicy`)
--------------------------------------
=================================================  ==============================  ==========
failure                                            GET/HEAD/PUT/DELETE/OPTIONS     POST/PATCH
=================================================  ==============================  ==========
429 (``E0000047``)                                 wait until ``X-Rate-Limit-Reset`` (read
                                                   against the response's ``Date``), at most
                                                   ``max_rate_limit_wait``; longer is an error
                                                   that says how long the wait would be
429 with ``X-Rate-Limit-Limit: 0`` (too many       backoff, then sent again once the halved
requests in flight for the org)                    concurrency limit has a free slot
connection refused, connect/pool timeout           backoff, retried (nothing was sent)
500/502/503/504, read/write timeout, connection    backoff, retried                no: Okta
dropped mid-request or mid-response                                                may have
                                                                                   acted
=================================================  ==============================  ==========

Backoff is exponential (``backoff_base * 2**n``, capped at ``backoff_max``) with jitter, for at
most ``max_retries`` retries. Every retry carries ``X-Okta-Retry-For`` (the first answer's
``X-Okta-Request-Id``, when there was an answer) and ``X-Okta-Retry-Count``, as Okta's SDKs
send them. A final failure names the request, the status, Okta's ``errorCode``/``errorSummary``
and ``X-Okta-Request-Id``, and "after N retries" when it was retried; it says
``may_have_acted`` (:class:`oktaql.OperationalError`) when Okta may have acted on the request
(a cut answer, a 5xx, an earlier attempt that failed midway), so a write can report what is
unknown. Redirects are never followed, so the ``Authorization`` header never goes anywhere but
the URL asked for.

Origin binding: a client holds one credential and is bound to one origin (scheme, host, port),
given when it is built (or, when none is given, the origin of its first request). Its one send
path refuses any request for another origin before anything is sent, before an auth flow
(OAuth 2.0, DPoP) runs, and is the only place a credential is attached: an ``Authorization``
header in a request's own headers is dropped.

Pacing (``_pacing``): a window of an endpoint family (``/api/v1/apps/{id}/tokens``, ...) takes
at most ``RetryPolicy.rate_share`` of its ``X-Rate-Limit-Limit`` (half by default); work that
outgrows it is spread evenly over the next windows; a window not yet answered assumes the last
known budget (the org's first request goes alone); when ``X-Rate-Limit-Remaining`` drops under ``pace_fraction`` of the limit (or under
``pace_reserve``, about the number of concurrent workers) the rest is spread until the reset.
A fan-out then runs as fast as its share allows without 429s.

Concurrency (``_concurrency``): every send holds a slot of an AIMD limiter that starts at the
client's worker count, halves on Okta's concurrency refusal and grows back after runs of
successes.

Pagination (:meth:`HTTPClient.pages`) follows ``Link: <...>; rel="next"``; a failed page is
retried on its own (never from the first page); a next link that repeats a page, points at
another origin or carries credentials is an error, not a loop or a leak.

The modules: ``_models`` (:class:`Request`, :class:`RetryPolicy`, origins: all that planning
needs, so planning never loads the client), ``_client`` (:class:`HTTPClient`: send, retry,
pages), ``_pacing`` (:class:`RatePacer`, rate-limit headers, endpoint families),
``_concurrency`` (:class:`ConcurrencyLimiter`), ``_responses`` (Okta's answers: JSON bodies,
error bodies) and ``_clock`` (the one clock and
sleep every wait reads; tests replace it). The client's names load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oktaql._http._models import USER_AGENT, Request, RetryPolicy, origin, show_origin

if TYPE_CHECKING:
    from oktaql._http._client import HTTPClient
    from oktaql._http._pacing import RatePacer
    from oktaql._http._responses import api_error, decode_json

# name -> the module defining it, imported when first asked for
_LAZY = {
    "HTTPClient": "_client",
    "RatePacer": "_pacing",
    "api_error": "_responses",
    "decode_json": "_responses",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'oktaql._http' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"oktaql._http.{module}"), name)
    globals()[name] = value  # looked up once
    return value


__all__ = [
    "USER_AGENT",
    "HTTPClient",
    "RatePacer",
    "Request",
    "RetryPolicy",
    "api_error",
    "decode_json",
    "origin",
    "show_origin",
]
