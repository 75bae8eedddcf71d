"""The client credentials grant's pieces: the signed client assertion, the cached access
token, and reading the token endpoint's and the API's OAuth answers."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from joserfc import jwt

from oktaql.auth._keys import PrivateKey

TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; Okta accepts at most an hour


def client_assertion(
    key: PrivateKey, alg: str, key_id: str | None, client_id: str, token_url: str
) -> str:
    """A ``private_key_jwt`` assertion: ``iss`` = ``sub`` = the client id, ``aud`` = the token
    endpoint, a fresh ``jti``, a five-minute ``exp``."""
    now = int(time.time())
    header: dict[str, Any] = {"alg": alg}
    if key_id:
        header["kid"] = key_id
    return jwt.encode(
        header,
        {
            "iss": client_id,
            "sub": client_id,
            "aud": token_url,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(24),
        },
        key,
        algorithms=[alg],
    )


@dataclass
class Token:
    """An access token, how calls carry it, what it was granted, and until when it is used."""

    value: str = field(repr=False)
    scheme: str  # "Bearer" or "DPoP"
    scopes: frozenset[str]
    refresh_at: float  # time.monotonic(): stop using it from here on

    def usable(self) -> bool:
        return time.monotonic() < self.refresh_at


def www_params(resp: httpx.Response) -> dict[str, str]:
    """``WWW-Authenticate: Bearer a="b", error="c"`` → ``{"a": "b", "error": "c"}``."""
    header = resp.headers.get("WWW-Authenticate", "")
    return {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', header)}


def oauth_body(resp: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, ``{}`` when it is none."""
    try:
        body = resp.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def origin(url: str | httpx.URL) -> tuple[str, str]:
    """(scheme, host:port) with the default port filled in: what tokens are bound to."""
    u = httpx.URL(str(url))
    port = u.port or {"https": 443, "http": 80}.get(u.scheme)
    return u.scheme, f"{u.host}:{port}"
