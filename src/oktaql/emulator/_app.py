"""The Starlette application: routing, auth, common headers, request log.

Routing is one table built from Okta's spec (``_routing``) instead of Starlette routes, so
that unknown paths and wrong methods produce Okta-shaped error bodies (404 ``E0000007`` /
405 ``E0000022``) rather than Starlette's plain-text defaults. The behaviour modules
(``behaviours/``) serve their families' paths; every other path of the spec is a generic
resource (``_resources``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import _oauth as oauth
from ._chaos import install as install_chaos
from ._http import (
    JSON,
    Ctx,
    OktaError,
    dumps,
    internal_error,
    method_not_allowed,
    not_found,
)
from ._org import Org
from ._routing import Router
from ._util import random_looking
from .behaviours import ROUTES

if TYPE_CHECKING:
    from . import EmulatorConfig

log = logging.getLogger("oktaql.emulator")


# Reported when rate limiting is off: Okta's common per-minute endpoint budget.
_NOMINAL_LIMIT = 600


@dataclass
class _State:
    """Per-app mutable server state (kept off ``Org``: it is not org data)."""

    config: EmulatorConfig
    org: Org
    router: Router
    request_log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)

    def rate(self) -> tuple[int, int, int]:
        """(limit, remaining, reset epoch) of the current one-minute window: nominal figures,
        since config.rate_limit is enforced per endpoint family by _chaos."""
        now = int(time.time())
        return _NOMINAL_LIMIT, _NOMINAL_LIMIT - 1, now - now % 60 + 60


def _authorized(request: Request, token: str) -> bool:
    # "SSWS <token>"; Okta's Python SDK (v3) sends "SSWS<token>" with no space, which Okta
    # accepts too, so the space is optional.
    header = (request.headers.get("authorization") or "").strip()
    return header[:4].upper() == "SSWS" and header[4:].strip() == token


async def _dispatch(request: Request) -> Response:
    state: _State = request.app.state.emulator
    scope = request.scope
    raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    query_string = scope.get("query_string", b"").decode("latin-1")
    state.request_log.append(
        (
            request.method,
            raw_path + ("?" + query_string if query_string else ""),
            dict(request.headers),
        )
    )
    n = next(state.counter)
    request_id = random_looking(n ^ (state.config.seed << 32), 24)
    if state.config.latency_ms > 0:
        await asyncio.sleep(state.config.latency_ms / 1000.0)

    limit, remaining, reset = state.rate()
    links: list[str] = []
    try:
        if not _authorized(request, state.config.token):
            await oauth.authorize(request, state.config)  # OAuth 2.0, else 401 as before
        found = state.router.match(scope["path"])
        if found is None:
            raise not_found(scope["path"], "URI")
        endpoint, values = found
        route = endpoint.methods.get(request.method)
        if route is None:
            raise method_not_allowed(sorted(endpoint.methods))
        handler, names = route
        params = dict(zip(names, values))
        ctx = Ctx(
            org=state.org,
            base=str(request.base_url).rstrip("/"),
            path=raw_path.rstrip("/") or "/",
            query=parse_qsl(query_string, keep_blank_values=True),
            raw_query=query_string,
            body=await request.body() if request.method in ("POST", "PUT", "PATCH") else b"",
        )
        reply = handler(ctx, **params)
        status, body, links = reply.status, reply.body, reply.links
        extra: dict[str, str] = {}
    except OktaError as err:
        status, body, extra = err.status, err.body(_error_id(n)), err.headers
    except Exception:  # a bug: answer like Okta's 500 rather than dropping the connection
        log.exception("emulator handler failed for %s %s", request.method, raw_path)
        bug = internal_error()
        status, body, extra = bug.status, bug.body(_error_id(n)), {}

    headers = {
        "Content-Type": JSON,
        "Date": formatdate(usegmt=True),
        "X-Okta-Request-Id": request_id,
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(reset),
        **extra,
    }
    if body is None:
        content = b""
        # no body, no media type: Okta's 204s have none, and its SDKs parse any body they
        # are told is JSON (an empty one fails)
        del headers["Content-Type"]
    elif isinstance(body, bytes):  # already-encoded JSON (the token fast path)
        content = body
    else:
        content = dumps(body)
    if request.method == "GET" and status == 200 and content[:1] == b"[":
        # a listing's validator, as HTTP caches use it: the page and its links; a client
        # holding this page asks with If-None-Match and gets 304 with no body. CRC-32 and the
        # length (~0.05 ms a 200 KB page; SHA-256 took a quarter of the page's whole cost)
        mark = zlib.crc32("\n".join(links).encode(), zlib.crc32(content))
        tag = f'"{mark:08x}-{len(content):x}"'
        headers["ETag"] = tag
        asked = request.headers.get("if-none-match", "")
        if tag in (t.strip() for t in asked.split(",")) or asked.strip() == "*":
            del headers["Content-Type"]
            return Response(status_code=304, headers=headers)
    response = Response(content=content, status_code=status, headers=headers)
    for link in links:  # one header line per relation, as Okta sends them
        response.raw_headers.append((b"link", link.encode("latin-1")))
    return response


def _error_id(n: int) -> str:
    return "oae" + random_looking(n * 7919 + 17, 22)


_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]


async def _dispatch_any(scope: Any, receive: Any, send: Any) -> None:
    response = await _dispatch(Request(scope, receive))
    await response(scope, receive, send)


def build_app(config: EmulatorConfig) -> Starlette:
    org = Org(config)
    app = Starlette(routes=[Route("/{path:path}", endpoint=_dispatch, methods=_ALL_METHODS)])
    # paths the route's pattern cannot match (an encoded line break) still get Okta's answers
    app.router.default = _dispatch_any
    state = _State(config=config, org=org, router=Router(ROUTES, org.resources))
    app.state.emulator = state
    app.state.org = org
    app.state.config = config
    app.state.request_log = state.request_log
    install_chaos(app, state)  # faults and rate limits (config.fault_rate, .rate_limit)
    return app


def app_state(app: Any) -> _State:
    return app.state.emulator
