"""The HTTP client: one credential bound to one origin, retries, pages (see :mod:`oktaql._http`
for what is retried when)."""

from __future__ import annotations

import functools
import json
import os
import random
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin

from oktaql._http import _clock
from oktaql._http._concurrency import ConcurrencyLimiter, Slot
from oktaql._http._models import (
    USER_AGENT,
    Request,
    RetryPolicy,
    binding_origin,
    origin,
    show,
    show_origin,
)
from oktaql._http._pacing import (
    Estimate,
    RatePacer,
    Stopped,
    concurrency_refusal,
    family,
    rate_limit_wait,
)
from oktaql._http._responses import api_error, decode_json
from oktaql.errors import APIError, ConfigError, Error, OperationalError

if TYPE_CHECKING:  # httpx loads with the first client: EXPLAIN never needs it
    import ssl

    import httpx

_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}
_RETRY_STATUS = {500, 502, 503, 504}
_MAX_EMPTY_PAGES = 3  # empty pages in a row that still link to a next page
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}

_E = TypeVar("_E", bound=Error)


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
        self._origin = binding_origin(origin) if origin is not None else None
        secret = (self._auth or "").partition(" ")[2].strip() or (self._auth or "")
        self._secret = secret if len(secret) >= 6 else None
        self.retry = retry or RetryPolicy()
        self.pacer = RatePacer()
        # Okta's per-org concurrency limit: at most this many in flight, adapted (AIMD)
        self.limiter = ConcurrencyLimiter(connections)
        # a session's gate (oktaql._cancel) says when it was cancelled: waits for the budget
        # end then, instead of sending when they are over
        cancellation = getattr(getattr(transport, "guard", None), "cancellation", None)
        self._stop = getattr(cancellation, "is_set", None)
        self._warm = getattr(transport, "warm", None)  # oktaql's own transport can open ahead
        self._timeout = timeout
        self._lock = threading.Lock()
        import httpx

        # keep a connection alive for every worker a fan-out runs, so no call pays a new
        # handshake; HTTP/1.1 only: httpx's HTTP/2 connection is not safe to share between
        # threads (encode/httpx#3002), and the workers share this client
        self._client = _client_class()(
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
        return show(self._origin) if self._origin is not None else None

    def close(self) -> None:
        self._client.close()

    def warm(self, url: str, want: int) -> bool:
        """Open a connection for requests to ``url`` that are coming (a fan-out's, while its
        listing is read), unless ``want`` are open and idle already. Only to the origin this
        client's credential is bound to, and nothing is sent on it."""
        with self._lock:
            bound = self._origin
        if self._warm is None or bound is None or origin(url) != bound:
            return False
        return bool(self._warm(url, want, self._timeout))

    def estimate(self, url: str, calls: int) -> Estimate | None:
        """How long ``calls`` requests like ``url`` take at the rate-limit share, once an
        answer of its endpoint family has told the budget (else None)."""
        return self.pacer.estimate(family(url), calls, self.retry)

    # --- one request, retried ---------------------------------------------------------------

    def send(self, req: Request) -> httpx.Response:
        """Send ``req`` (retrying what is safe to retry); an error status raises APIError.

        A request for another origin than the client's is refused: nothing is sent. A failure
        after which Okta may have acted on the request says so (``may_have_acted``)."""
        try:
            self._check_origin(req)
            return self._send(req)
        except Error as exc:
            raise self._scrubbed(exc) from None

    def _check_origin(self, req: Request) -> None:
        target = origin(req.url)
        with self._lock:
            if self._origin is None:
                self._origin = binding_origin(req.url)
                return
            bound = self._origin
        if target != bound:
            raise OperationalError(
                f"{req.method} {show_origin(req.url)}: refusing to send the request: this "
                f"client's credential is bound to {show(bound)}, and the URL points at another "
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
        bucket = family(req.url)
        retries = 0
        first_id: str | None = None
        maybe_acted = False  # an attempt failed in a way Okta may have acted on

        def failed(err: _E, acted: bool = False) -> _E:
            if (acted or maybe_acted) and isinstance(err, OperationalError):
                err.may_have_acted = True
            return err

        while True:
            slot = self.limiter.acquire()
            try:
                ticket = self.pacer.acquire(bucket, policy, self._stop)
            except BaseException as exc:
                self.limiter.release(slot, answered=False)
                if isinstance(exc, Stopped):
                    from oktaql._cancel import interrupted

                    raise failed(interrupted(req.method, req.url, in_flight=False)) from None
                if isinstance(exc, Error):
                    raise failed(exc) from None
                raise
            try:
                resp = self._request(req, headers, content, slot)
            except Error as exc:
                self.pacer.release(ticket)
                raise failed(exc) from None  # an auth flow's own error: says what is wrong
            except never_sent as exc:
                self.pacer.release(ticket)
                # nothing reached the server: safe to retry any method
                if retries < policy.max_retries:
                    retries = self._backoff(retries, headers, first_id)
                    continue
                raise failed(
                    OperationalError(
                        f"{req.describe()}: cannot connect ({_exc_text(exc)})" + _after(retries)
                    )
                ) from None
            except (httpx.LocalProtocolError, httpx.UnsupportedProtocol) as exc:
                self.pacer.release(ticket)
                raise failed(OperationalError(f"{req.describe()}: {_exc_text(exc)}")) from None
            except httpx.TransportError as exc:
                self.pacer.release(ticket)
                # read/write timeouts, dropped connections: the request may have been acted on
                maybe_acted = True
                if idempotent and retries < policy.max_retries:
                    retries = self._backoff(retries, headers, first_id)
                    continue
                msg = f"{req.describe()}: connection failed ({_exc_text(exc)})" + _after(retries)
                if not idempotent:
                    msg += (
                        f"; not retried: {req.method} is not idempotent and Okta may have acted "
                        "on it, so check the result before running it again"
                    )
                raise failed(OperationalError(msg)) from None
            except (httpx.HTTPError, httpx.InvalidURL, httpx.CookieConflict) as exc:
                self.pacer.release(ticket)
                raise failed(OperationalError(f"{req.describe()}: {_exc_text(exc)}")) from None
            except (UnicodeError, ValueError, TypeError) as exc:  # a header or URL httpx refuses
                self.pacer.release(ticket)
                raise failed(
                    OperationalError(f"{req.describe()}: cannot send ({type(exc).__name__}: {exc})")
                ) from None
            self.pacer.record(bucket, resp, ticket)
            first_id = first_id or resp.headers.get("X-Okta-Request-Id")
            status = resp.status_code
            refused = concurrency_refusal(resp)
            self.limiter.release(slot, refused=refused, answered=status < 500 and status != 429)
            if refused:  # too many in flight for the org: the limiter has halved; send again
                if retries >= policy.max_retries:
                    raise failed(
                        _noted(
                            api_error(req, resp),
                            "; too many requests in flight for the org (Okta's concurrency "
                            "limit), even after halving them: retry later or lower "
                            "concurrency=N" + _after(retries),
                        )
                    )
                retries = self._backoff(retries, headers, first_id)
                continue
            if status == 429:  # answered before Okta touched anything
                wait = rate_limit_wait(resp)
                if wait is None:
                    wait = _backoff_delay(policy, retries)
                if wait > policy.max_rate_limit_wait:
                    raise failed(
                        _noted(
                            api_error(req, resp),
                            f"; the rate limit resets in {wait:.0f} s, longer than the "
                            f"{policy.max_rate_limit_wait:g} s this client waits "
                            "(retry=RetryPolicy(max_rate_limit_wait=SECONDS))" + _after(retries),
                        )
                    )
                if retries >= policy.max_retries:
                    raise failed(_noted(api_error(req, resp), _after(retries)))
                _clock.sleep(wait)
                retries += 1
                _retry_headers(headers, retries, first_id)
                continue
            if status in _RETRY_STATUS:
                maybe_acted = True  # a 5xx may come after Okta acted
                if idempotent and retries < policy.max_retries:
                    retries = self._backoff(retries, headers, first_id)
                    continue
                note = _after(retries)
                if not idempotent:
                    note += (
                        f"; not retried: {req.method} is not idempotent and Okta may have acted "
                        "on it before failing"
                    )
                raise failed(_noted(api_error(req, resp), note))
            if status >= 300:
                err = api_error(req, resp)
                if maybe_acted and status == 404 and req.method.upper() == "DELETE":
                    # the write runner counts any DELETE's 404 as done: already absent
                    err = _noted(
                        err,
                        "; an earlier attempt failed midway and may already have deleted it"
                        + _after(retries),
                    )
                else:
                    err = _noted(err, _after(retries))
                raise failed(err)
            return resp

    def _request(
        self, req: Request, headers: dict[str, str], content: bytes | None, slot: Slot
    ) -> httpx.Response:
        """One attempt; a failure gives the concurrency slot back (an answer's caller does)."""
        try:
            return self._client.request(req.method, req.url, headers=headers, content=content)
        except BaseException:
            self.limiter.release(slot, answered=False)
            raise

    def _backoff(self, retries: int, headers: dict[str, str], request_id: str | None) -> int:
        _clock.sleep(_backoff_delay(self.retry, retries))
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
        out: Error
        if isinstance(exc, APIError):
            if secret in body_text:
                body = json.loads(body_text.replace(secret, "***"))
            out = APIError(
                text,
                status=exc.status,
                method=exc.method,
                url=exc.url,
                error_code=exc.error_code,
                error_summary=(exc.error_summary or "").replace(secret, "***") or None,
                request_id=exc.request_id,
                body=body,
            )
        else:
            try:
                out = type(exc)(text)
            except TypeError:
                out = OperationalError(text)
        if isinstance(exc, OperationalError) and isinstance(out, OperationalError):
            out.may_have_acted = exc.may_have_acted
        return out

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


# --- helpers --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _ssl_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One TLS context per process (per CA setting): loading the CA bundle takes ~25 ms, which
    every new connection would otherwise pay again. The arguments only key the cache: httpx
    reads SSL_CERT_FILE/SSL_CERT_DIR itself."""
    import httpx

    return httpx.create_ssl_context()


@functools.cache
def _client_class() -> type[httpx.Client]:
    import httpx

    class NoCookies(httpx.Cookies):
        """A jar that keeps nothing: an API credential travels in a header, and a Set-Cookie
        from one answer must never ride along on later requests (nor cost the per-answer
        parse httpx runs: ~65 us a response)."""

        def extract_cookies(self, response: httpx.Response) -> None:
            pass

        def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
            pass

    class Client(httpx.Client):
        @property  # type: ignore[override]
        def cookies(self) -> httpx.Cookies:
            return _NO_COOKIES

        @cookies.setter
        def cookies(self, cookies: Any) -> None:
            pass  # httpx's __init__ does not use the setter; nothing else may fill the jar

    _NO_COOKIES = NoCookies()
    return Client


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


def _retry_headers(headers: dict[str, str], attempt: int, request_id: str | None) -> None:
    # what Okta's SDKs send, so Okta's logs tie the retries to the first request
    if request_id:
        headers["X-Okta-Retry-For"] = request_id
    headers["X-Okta-Retry-Count"] = str(attempt)
