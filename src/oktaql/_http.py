"""HTTP calls to Okta: auth, Link pagination, retries, Okta error bodies.

The transport is swappable (``httpx.BaseTransport``) so tests can point the engine at an
in-process app; the default is real HTTP with keep-alive.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from oktaql import __version__
from oktaql.errors import APIError, OperationalError

USER_AGENT = f"oktaql/{__version__}"
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS"}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # JSON-able, or None
    has_body: bool = False

    def describe(self) -> str:
        return f"{self.method} {self.url}"


@dataclass
class RetryPolicy:
    max_retries: int = 4
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    max_rate_limit_wait: float = 60.0


class HTTPClient:
    def __init__(
        self,
        auth_header: str | None,
        *,
        auth: httpx.Auth | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ):
        self._auth = auth_header
        self.retry = retry or RetryPolicy()
        self.requests_sent = 0
        self._client = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,  # a redirect must never carry the token to another host
            auth=auth,  # schemes that sign or refresh per request (OAuth 2.0, DPoP)
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def send(self, req: Request) -> httpx.Response:
        headers = dict(req.headers)
        if self._auth:
            headers["Authorization"] = self._auth
        content: bytes | None = None
        if req.has_body:
            content = json.dumps(req.body).encode()
            headers.setdefault("Content-Type", "application/json")
        attempt = 0
        first_request_id: str | None = None
        while True:
            try:
                resp = self._client.request(req.method, req.url, headers=headers, content=content)
                self.requests_sent += 1
            except httpx.ConnectError as exc:
                # nothing reached the server: safe to retry any request
                if attempt < self.retry.max_retries:
                    attempt = self._backoff(attempt, headers, first_request_id)
                    continue
                raise OperationalError(f"{req.describe()}: cannot connect ({exc})") from None
            except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if req.method in _IDEMPOTENT and attempt < self.retry.max_retries:
                    attempt = self._backoff(attempt, headers, first_request_id)
                    continue
                raise OperationalError(
                    f"{req.describe()}: connection failed ({type(exc).__name__}: {exc})"
                ) from None
            except httpx.HTTPError as exc:
                raise OperationalError(f"{req.describe()}: {type(exc).__name__}: {exc}") from None
            first_request_id = first_request_id or resp.headers.get("X-Okta-Request-Id")
            if resp.status_code == 429 and attempt < self.retry.max_retries:
                wait = _rate_limit_wait(resp)
                if wait <= self.retry.max_rate_limit_wait:
                    time.sleep(wait)
                    attempt += 1
                    _retry_headers(headers, attempt, first_request_id)
                    continue
            if (
                resp.status_code in (500, 502, 503, 504)
                and req.method in _IDEMPOTENT
                and attempt < self.retry.max_retries
            ):
                attempt = self._backoff(attempt, headers, first_request_id)
                continue
            if resp.status_code >= 400 or 300 <= resp.status_code < 400:
                raise api_error(req, resp)
            return resp

    def _backoff(self, attempt: int, headers: dict[str, str], request_id: str | None) -> int:
        delay = min(self.retry.backoff_max, self.retry.backoff_base * (2**attempt))
        time.sleep(delay * (0.5 + random.random() / 2))  # jitter
        attempt += 1
        _retry_headers(headers, attempt, request_id)
        return attempt

    def pages(self, req: Request) -> Iterator[tuple[Any, httpx.Response]]:
        """Yield (decoded body, response) for the first page and every ``rel="next"`` page."""
        origin = _origin(req.url)
        seen = {req.url}
        current = req
        while True:
            resp = self.send(current)
            yield decode_json(current, resp), resp
            nxt = resp.links.get("next", {}).get("url")
            if not nxt:
                return
            if _origin(nxt) != origin:
                raise OperationalError(
                    f"{current.describe()}: the next-page link points at another host "
                    f"({_origin(nxt)}); refusing to send the token there"
                )
            if nxt in seen:
                raise OperationalError(
                    f"{current.describe()}: the next-page link repeats a page already read "
                    f"({nxt}); stopping instead of looping"
                )
            seen.add(nxt)
            current = Request("GET", nxt, dict(req.headers))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _retry_headers(headers: dict[str, str], attempt: int, request_id: str | None) -> None:
    # what Okta's SDKs send, so Okta's logs tie the retries to the first request
    if request_id:
        headers["X-Okta-Retry-For"] = request_id
    headers["X-Okta-Retry-Count"] = str(attempt)


def _rate_limit_wait(resp: httpx.Response) -> float:
    reset = resp.headers.get("X-Rate-Limit-Reset")
    now = time.time()
    date = resp.headers.get("Date")
    if date:
        from email.utils import parsedate_to_datetime

        try:
            now = parsedate_to_datetime(date).timestamp()
        except (TypeError, ValueError):
            pass
    try:
        return max(0.0, float(reset) - now) + 0.05 if reset else 1.0
    except ValueError:
        return 1.0


def decode_json(req: Request, resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        ctype = resp.headers.get("Content-Type", "")
        if "json" in ctype:
            raise OperationalError(
                f"{req.describe()}: HTTP {resp.status_code} response is not valid JSON"
            ) from None
        return resp.text


def api_error(req: Request, resp: httpx.Response) -> APIError:
    body: Any = None
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    code = summary = None
    causes: list[str] = []
    if isinstance(body, dict):
        code = body.get("errorCode")
        summary = body.get("errorSummary") or body.get("error_description") or body.get("error")
        for c in body.get("errorCauses") or []:
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
