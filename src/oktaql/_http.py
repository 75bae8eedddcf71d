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
connection refused, connect/pool timeout           backoff, retried (nothing was sent)
500/502/503/504, read/write timeout, connection    backoff, retried                no: Okta
dropped mid-request or mid-response                                                may have
                                                                                   acted
=================================================  ==============================  ==========

Backoff is exponential (``backoff_base * 2**n``, capped at ``backoff_max``) with jitter, for at
most ``max_retries`` retries. Every retry carries ``X-Okta-Retry-For`` (the first answer's
``X-Okta-Request-Id``, when there was an answer) and ``X-Okta-Retry-Count``, as Okta's SDKs
send them. A final failure names the request, the status, Okta's ``errorCode``/``errorSummary``
and ``X-Okta-Request-Id``, and "after N retries" when it was retried. Redirects are never
followed, so the ``Authorization`` header never goes anywhere but the URL asked for.

Origin binding: a client holds one credential and is bound to one origin (scheme, host, port),
given when it is built (or, when none is given, the origin of its first request). Its one send
path refuses any request for another origin before anything is sent, before an auth flow
(OAuth 2.0, DPoP) runs, and is the only place a credential is attached: an ``Authorization``
header in a request's own headers is dropped.

Pacing: when ``X-Rate-Limit-Remaining`` drops under ``pace_fraction`` of
``X-Rate-Limit-Limit`` (or under ``pace_reserve``, about the number of concurrent workers),
later requests of the same endpoint family (``/api/v1/apps/{id}/tokens``, ...) from any thread
wait so the rest of the budget is spread evenly until ``X-Rate-Limit-Reset``; requests already
in flight count against it. A fan-out then runs as fast as the limit allows without 429s.

Pagination (:meth:`HTTPClient.pages`) follows ``Link: <...>; rel="next"``; a failed page is
retried on its own (never from the first page); a next link that repeats a page, points at
another origin or carries credentials is an error, not a loop or a leak.
"""

from __future__ import annotations

import functools
import json
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from oktaql import __version__
from oktaql._json import loads
from oktaql.errors import APIError, ConfigError, Error, OperationalError

if TYPE_CHECKING:  # httpx loads with the first client: EXPLAIN never needs it
    import ssl

    import httpx

USER_AGENT = f"oktaql/{__version__}"
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
_RETRY_STATUS = {500, 502, 503, 504}
_MAX_EMPTY_PAGES = 3  # empty pages in a row that still link to a next page

# indirections so tests can run the clock and the waits without sleeping
_sleep = time.sleep
_now = time.time


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
    """How hard a client tries; see the module docstring for what is retried when."""

    max_retries: int = 4
    backoff_base: float = 0.25  # seconds before the first retry (then doubled, with jitter)
    backoff_max: float = 8.0
    max_rate_limit_wait: float = 60.0  # longest wait for a rate limit to reset
    pace: bool = True  # spread a low rate-limit budget instead of running into 429s
    pace_fraction: float = 0.1  # pace once fewer than this share of the limit remains...
    pace_reserve: int = 8  # ...or fewer than this many calls (about the concurrent workers)


class HTTPClient:
    def __init__(
        self,
        auth_header: str | None,
        *,
        origin: str | None = None,
        auth: httpx.Auth | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        connections: int = 16,
    ):
        self._auth = _checked_auth_header(auth_header)
        # the one origin this client's credential may go to (None: its first request's)
        self._origin = _binding_origin(origin) if origin is not None else None
        secret = (self._auth or "").partition(" ")[2].strip() or (self._auth or "")
        self._secret = secret if len(secret) >= 6 else None
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0
        self.pacer = RatePacer()
        self._lock = threading.Lock()
        import httpx

        # keep a connection alive for every worker a fan-out runs, so no call pays a new
        # handshake; HTTP/1.1 only: httpx's HTTP/2 connection is not safe to share between
        # threads (encode/httpx#3002), and the workers share this client
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            verify=_ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")),
            limits=httpx.Limits(
                max_connections=max(100, connections),
                max_keepalive_connections=max(20, connections),
            ),
            follow_redirects=False,  # a redirect must never carry the token to another host
            auth=auth,  # schemes that sign or refresh per request (OAuth 2.0, DPoP)
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def __repr__(self) -> str:
        scheme = (self._auth or "").partition(" ")[0]
        return (
            f"HTTPClient(auth={scheme + ' ***' if self._auth else None!r}, origin={self.origin!r})"
        )

    @property
    def origin(self) -> str | None:
        """``scheme://host:port`` this client is bound to, or None before its first request."""
        return _show(self._origin) if self._origin is not None else None

    def close(self) -> None:
        self._client.close()

    # --- one request, retried ---------------------------------------------------------------

    def send(self, req: Request) -> httpx.Response:
        """Send ``req`` (retrying what is safe to retry); an error status raises APIError.

        A request for another origin than the client's is refused: nothing is sent."""
        try:
            self._check_origin(req)
            return self._send(req)
        except Error as exc:
            raise self._scrubbed(exc) from None

    def _check_origin(self, req: Request) -> None:
        target = origin(req.url)
        with self._lock:
            if self._origin is None:
                self._origin = _binding_origin(req.url)
                return
            bound = self._origin
        if target != bound:
            raise OperationalError(
                f"{req.method} {show_origin(req.url)}: refusing to send the request: this "
                f"client's credential is bound to {_show(bound)}, and the URL points at another "
                "origin; nothing was sent"
            )

    def _send(self, req: Request) -> httpx.Response:
        import httpx

        never_sent = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
        policy = self.retry
        # a credential comes from this client only, never from a request's own headers
        headers = {k: v for k, v in req.headers.items() if k.lower() not in _CREDENTIAL_HEADERS}
        if self._auth:
            headers["Authorization"] = self._auth
        content: bytes | None = None
        if req.has_body:
            try:
                content = json.dumps(req.body, default=_json_default).encode()
            except (TypeError, ValueError) as exc:
                raise OperationalError(f"{req.describe()}: the body is not JSON ({exc})") from None
            headers.setdefault("Content-Type", "application/json")
        idempotent = req.method.upper() in _IDEMPOTENT
        bucket = _family(req.url)
        retries = 0
        first_id: str | None = None
        maybe_acted = False  # an earlier attempt failed in a way that may have acted
        while True:
            ticket = self.pacer.acquire(bucket, policy)
            try:
                resp = self._client.request(req.method, req.url, headers=headers, content=content)
            except Error:
                self.pacer.release(ticket)
                raise  # an auth flow's own error (OAuth 2.0): already says what is wrong
            except never_sent as exc:
                self.pacer.release(ticket)
                # nothing reached the server: safe to retry any method
                if retries < policy.max_retries:
                    retries = self._backoff(retries, headers, first_id)
                    continue
                raise OperationalError(
                    f"{req.describe()}: cannot connect ({_exc_text(exc)})" + _after(retries)
                ) from None
            except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
                self.pacer.release(ticket)
                raise OperationalError(f"{req.describe()}: {_exc_text(exc)}") from None
            except httpx.TransportError as exc:
                self.pacer.release(ticket)
                # read/write timeouts, dropped connections: the request may have been acted on
                if idempotent and retries < policy.max_retries:
                    maybe_acted = True
                    retries = self._backoff(retries, headers, first_id)
                    continue
                msg = f"{req.describe()}: connection failed ({_exc_text(exc)})" + _after(retries)
                if not idempotent:
                    msg += (
                        f"; not retried: {req.method} is not idempotent and Okta may have acted "
                        "on it, so check the result before running it again"
                    )
                raise OperationalError(msg) from None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict) as exc:
                self.pacer.release(ticket)
                raise OperationalError(f"{req.describe()}: {_exc_text(exc)}") from None
            except (UnicodeError, ValueError, TypeError) as exc:  # a header or URL httpx refuses
                self.pacer.release(ticket)
                raise OperationalError(
                    f"{req.describe()}: cannot send ({type(exc).__name__}: {exc})"
                ) from None
            with self._lock:
                self.requests_sent += 1
            self.pacer.record(bucket, resp, ticket)
            first_id = first_id or resp.headers.get("X-Okta-Request-Id")
            status = resp.status_code
            if status == 429:
                wait = _rate_limit_wait(resp)
                if wait is None:
                    wait = _backoff_delay(policy, retries)
                if wait > policy.max_rate_limit_wait:
                    raise _noted(
                        api_error(req, resp),
                        f"; the rate limit resets in {wait:.0f} s, longer than the "
                        f"{policy.max_rate_limit_wait:g} s this client waits "
                        "(RetryPolicy.max_rate_limit_wait)" + _after(retries),
                    )
                if retries >= policy.max_retries:
                    raise _noted(api_error(req, resp), _after(retries))
                _sleep(wait)
                retries += 1
                _retry_headers(headers, retries, first_id)
                continue
            if status in _RETRY_STATUS:
                if idempotent and retries < policy.max_retries:
                    maybe_acted = True
                    retries = self._backoff(retries, headers, first_id)
                    continue
                note = _after(retries)
                if not idempotent:
                    note += (
                        f"; not retried: {req.method} is not idempotent and Okta may have acted "
                        "on it before failing"
                    )
                raise _noted(api_error(req, resp), note)
            if status >= 300:
                err = api_error(req, resp)
                if maybe_acted and status == 404 and req.method.upper() == "DELETE":
                    err = _noted(
                        err,
                        "; an earlier attempt failed midway and may already have deleted it"
                        + _after(retries),
                    )
                elif retries:
                    err = _noted(err, _after(retries))
                raise err
            return resp

    def _backoff(self, retries: int, headers: dict[str, str], request_id: str | None) -> int:
        _sleep(_backoff_delay(self.retry, retries))
        retries += 1
        _retry_headers(headers, retries, request_id)
        return retries

    def _scrubbed(self, exc: Error) -> Error:
        """``exc`` with the credential masked wherever a server or library echoed it."""
        secret = self._secret
        if not secret:
            return exc
        body = exc.body if isinstance(exc, APIError) else None
        body_text = json.dumps(body, default=str) if body is not None else ""
        if secret not in str(exc) and secret not in body_text:
            return exc
        text = str(exc).replace(secret, "***")
        if isinstance(exc, APIError):
            if secret in body_text:
                body = json.loads(body_text.replace(secret, "***"))
            return APIError(
                text,
                status=exc.status,
                method=exc.method,
                url=exc.url,
                error_code=exc.error_code,
                error_summary=(exc.error_summary or "").replace(secret, "***") or None,
                request_id=exc.request_id,
                body=body,
            )
        try:
            return type(exc)(text)
        except TypeError:
            return OperationalError(text)

    # --- pages ------------------------------------------------------------------------------

    def pages(self, req: Request) -> Iterator[tuple[Any, httpx.Response]]:
        """Yield (decoded body, response) for the first page and every ``rel="next"`` page."""
        start = origin(req.url)
        seen = {req.url}
        current = req
        empty = 0
        while True:
            resp = self.send(current)
            body = decode_json(current, resp)
            is_empty = body in (None, [], {})
            yield body, resp
            # a page is let go before the next is fetched: one page alive at a time, not two
            del body
            nxt = _next_link(current, resp)
            del resp
            if not nxt:
                return
            if origin(nxt) != start:
                raise OperationalError(
                    f"{current.describe()}: the next-page link points at another origin "
                    f"({show_origin(nxt)}); refusing to send the credentials there"
                )
            if nxt in seen:
                if is_empty:
                    return  # an empty page pointing back at itself: caught up (System Log polling)
                raise OperationalError(
                    f"{current.describe()}: the next-page link repeats a page already read "
                    f"({nxt}); stopping instead of looping"
                )
            empty = empty + 1 if is_empty else 0
            if empty >= _MAX_EMPTY_PAGES:
                raise OperationalError(
                    f"{current.describe()}: {empty} empty pages in a row still link to a next "
                    "page; stopping instead of paging forever"
                )
            seen.add(nxt)
            current = Request("GET", nxt, dict(req.headers))


# --- rate-limit pacing ----------------------------------------------------------------------


@dataclass
class _Bucket:
    limit: int
    remaining: int
    reset_raw: int  # X-Rate-Limit-Reset as sent (server epoch seconds): the window's identity
    reset: float  # the same instant on this machine's clock
    next_slot: float


Key = tuple[str, str, str]


class RatePacer:
    """Shared by every thread of a client: keeps each endpoint family inside its budget.

    The budget left is the last reported ``X-Rate-Limit-Remaining`` less every request of the
    family still in flight (conservative: the server may already have counted some of them).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[Key, _Bucket] = {}
        self._inflight: dict[Key, int] = {}

    def acquire(self, key: Key, policy: RetryPolicy) -> Key | None:
        """Wait until a request of ``key``'s family may go; the ticket for record/release."""
        if not policy.pace:
            return None
        while True:
            with self._lock:
                delay, reserved = self._plan(key, policy)
                if reserved:
                    self._inflight[key] = self._inflight.get(key, 0) + 1
            if delay > 0:
                _sleep(delay)
            if reserved:
                return key

    def _plan(self, key: Key, policy: RetryPolicy) -> tuple[float, bool]:
        """(seconds to wait, whether a slot was taken); a wait without a slot re-plans after."""
        b = self._buckets.get(key)
        now = _now()
        if b is None:
            return 0.0, True
        if now >= b.reset:  # a new window: the next answer tells its budget
            del self._buckets[key]
            return 0.0, True
        until_reset = b.reset - now
        left = b.remaining - self._inflight.get(key, 0)
        low = max(b.limit * policy.pace_fraction, policy.pace_reserve)
        if left > low or until_reset > policy.max_rate_limit_wait:
            return 0.0, True
        if left <= 0:
            return until_reset + 0.02, False  # nothing left: wait for the window to reset
        slot = max(now, b.next_slot)
        b.next_slot = slot + (b.reset - slot) / left  # the rest spread evenly until the reset
        return slot - now, True

    def release(self, ticket: Key | None) -> None:
        """A request that got no answer: it no longer counts as in flight."""
        if ticket is not None:
            with self._lock:
                self._inflight[ticket] = max(0, self._inflight.get(ticket, 0) - 1)

    def record(self, key: Key, resp: httpx.Response, ticket: Key | None) -> None:
        """Note the budget an answer reports (a 429 means none is left)."""
        info = _rate_headers(resp)
        with self._lock:
            if ticket is not None:
                self._inflight[ticket] = max(0, self._inflight.get(ticket, 0) - 1)
            if info is None:
                return
            limit, remaining, reset_raw, reset = info
            if resp.status_code == 429:
                remaining = 0
            b = self._buckets.get(key)
            if b is None or reset_raw > b.reset_raw:
                self._buckets[key] = _Bucket(limit, remaining, reset_raw, reset, _now())
            elif reset_raw == b.reset_raw:
                b.limit = limit
                b.remaining = min(b.remaining, remaining)
                b.reset = min(b.reset, reset)
            # an answer from an earlier window, arriving late: nothing to learn


def _rate_headers(resp: httpx.Response) -> tuple[int, int, int, float] | None:
    try:
        limit = int(resp.headers["X-Rate-Limit-Limit"])
        remaining = int(resp.headers["X-Rate-Limit-Remaining"])
        reset_raw = int(resp.headers["X-Rate-Limit-Reset"])
    except (KeyError, ValueError):
        return None
    if limit <= 0 or remaining < 0:
        return None
    now = _now()
    reset = reset_raw - _server_now(resp, now) + now
    if not now - 1 < reset < now + 86400:  # garbage, or a window long gone
        return None
    return limit, remaining, reset_raw, reset


def _family(url: str) -> Key:
    """(scheme, host, path with ids collapsed): ``/api/v1/apps/{id}/tokens``, Okta's buckets."""
    # every page of a read has the same path: work it out once
    return _path_family(url.partition("?")[0].partition("#")[0])


@functools.lru_cache(maxsize=1024)
def _path_family(url: str) -> Key:
    parts = urlsplit(url)
    segs = [s for s in parts.path.split("/") if s]
    out: list[str] = []
    i = 0
    while i < len(segs) and not re.fullmatch(r"v\d+", segs[i]):
        out.append(segs[i])
        i += 1
    if i < len(segs):
        out.append(segs[i])
        i += 1
    out += [s if j % 2 == 0 else "{id}" for j, s in enumerate(segs[i:])]
    return parts.scheme, parts.netloc.lower(), "/" + "/".join(out)


# --- helpers --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One TLS context per process (per CA setting): loading the CA bundle takes ~25 ms, which
    every new connection would otherwise pay again. The arguments only key the cache: httpx
    reads SSL_CERT_FILE/SSL_CERT_DIR itself."""
    import httpx

    return httpx.create_ssl_context()


def _checked_auth_header(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()  # a token read from a file often ends with a newline
    if any(ord(c) < 0x20 or ord(c) == 0x7F or ord(c) > 0x7E for c in value):
        # never echo the value: it is the credential
        raise ConfigError(
            "the API token contains a line break, control or non-ASCII character, which cannot "
            "go into an HTTP header: check how it was copied"
        )
    return value or None


def _json_default(value: Any) -> Any:
    import datetime
    import decimal
    import uuid

    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID | bytes):
        return value.hex() if isinstance(value, bytes) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def _backoff_delay(policy: RetryPolicy, retries: int) -> float:
    delay = min(policy.backoff_max, policy.backoff_base * (2**retries))
    return delay * (0.5 + random.random() / 2)  # jitter


def _after(retries: int) -> str:
    if not retries:
        return ""
    return f" (after {retries} {'retry' if retries == 1 else 'retries'})"


def _noted(err: APIError, note: str) -> APIError:
    if not note:
        return err
    return APIError(
        str(err) + note,
        status=err.status,
        method=err.method,
        url=err.url,
        error_code=err.error_code,
        error_summary=err.error_summary,
        request_id=err.request_id,
        body=err.body,
    )


def _exc_text(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _next_link(current: Request, resp: httpx.Response) -> str | None:
    try:
        nxt = resp.links.get("next", {}).get("url")
    except Exception:  # a Link header httpx cannot parse
        raise OperationalError(
            f"{current.describe()}: the Link header cannot be parsed: "
            f"{resp.headers.get('Link', '')[:200]!r}"
        ) from None
    if not nxt:
        return None
    try:
        return urljoin(current.url, nxt.strip())  # a relative link is relative to the page
    except ValueError:
        raise OperationalError(
            f"{current.describe()}: the next-page link is not a URL: {nxt[:200]!r}"
        ) from None


_DEFAULT_PORTS = {"http": 80, "https": 443}
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}


def origin(url: str) -> tuple[str, str, int | None, bool]:
    """(scheme, host, port, has credentials); unparseable URLs get an origin nothing matches."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ("invalid", url, None, True)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    return scheme, host, port or _DEFAULT_PORTS.get(scheme), bool(parts.username)


def show_origin(url: str) -> str:
    return _show(origin(url))


def _show(o: tuple[str, str, int | None, bool]) -> str:
    scheme, host, port, _ = o
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    return f"{scheme}://{host}" + (
        f":{port}" if port and port != _DEFAULT_PORTS.get(scheme) else ""
    )


def _binding_origin(url: str) -> tuple[str, str, int | None, bool]:
    """The origin a credential may be bound to: an http(s) URL without credentials."""
    o = origin(url)
    if o[0] not in _DEFAULT_PORTS or not o[1] or o[3]:
        raise ConfigError(
            f"cannot bind a credential to {_show(o) if o[0] != 'invalid' else 'an invalid URL'}: "
            "it needs an http(s) URL without user name or password"
        )
    return o


def _retry_headers(headers: dict[str, str], attempt: int, request_id: str | None) -> None:
    # what Okta's SDKs send, so Okta's logs tie the retries to the first request
    if request_id:
        headers["X-Okta-Retry-For"] = request_id
    headers["X-Okta-Retry-Count"] = str(attempt)


def _server_now(resp: httpx.Response, default: float) -> float:
    date = resp.headers.get("Date")
    when = _http_date(date) if date else None
    return default if when is None else when


@functools.lru_cache(maxsize=64)  # a Date header changes once a second: most answers repeat it
def _http_date(date: str) -> float | None:
    from email.utils import parsedate_to_datetime  # 10 ms to import: only when pacing

    try:
        return parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _rate_limit_wait(resp: httpx.Response) -> float | None:
    """Seconds until the rate limit resets (the server's clock via ``Date``), or None."""
    reset = resp.headers.get("X-Rate-Limit-Reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            value = None
        if value is not None and value == value and abs(value) != float("inf"):
            return max(0.0, value - _server_now(resp, _now())) + 0.05
    retry_after = resp.headers.get("Retry-After")
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            return None
        if seconds == seconds and seconds != float("inf"):
            return max(0.0, seconds)
    return None


def decode_json(req: Request, resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return loads(resp.content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        ctype = resp.headers.get("Content-Type", "")
        if "json" in ctype:
            raise OperationalError(
                f"{req.describe()}: HTTP {resp.status_code} response is not valid JSON"
            ) from None
        try:
            return resp.text
        except (UnicodeDecodeError, LookupError):
            raise OperationalError(
                f"{req.describe()}: HTTP {resp.status_code} response is neither JSON nor text"
            ) from None


def api_error(req: Request, resp: httpx.Response) -> APIError:
    body: Any = None
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, LookupError):
        body = None
    code = summary = None
    causes: list[str] = []
    if isinstance(body, dict):
        code = _text(body.get("errorCode"))
        summary = (
            _text(body.get("errorSummary"))
            or _text(body.get("error_description"))
            or _text(body.get("error"))
        )
        raw_causes = body.get("errorCauses")
        for c in raw_causes if isinstance(raw_causes, list) else []:
            if isinstance(c, dict) and c.get("errorSummary"):
                causes.append(str(c["errorSummary"]))
    rid = resp.headers.get("X-Okta-Request-Id")
    status = resp.status_code
    if 300 <= status < 400:
        summary = f"redirect to {resp.headers.get('Location', '?')} not followed"
    msg = f"{req.describe()} failed: HTTP {status}"
    if code:
        msg += f" {code}"
    if summary:
        msg += f": {summary}"
    if causes:
        msg += " (" + "; ".join(causes) + ")"
    if rid:
        msg += f" [X-Okta-Request-Id: {rid}]"
    return APIError(
        msg,
        status=status,
        method=req.method,
        url=req.url,
        error_code=code,
        error_summary=summary,
        request_id=rid,
        body=body,
    )


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)
