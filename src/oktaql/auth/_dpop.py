"""DPoP (RFC 9449): proofs that the sender of a token holds the key it is bound to."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from oktaql.auth._keys import PrivateKey, b64url, key_algorithm, load_private_key

ENV_DPOP = "OKTA_CLIENT_DPOPENABLED"  # the SDKs' variable that turns DPoP on
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e")


def htu(url: httpx.URL) -> str:
    """The ``htu`` claim: the URL without query and fragment."""
    return str(url.copy_with(query=None, fragment=None))


class DPoPProver:
    """Signs ``typ: dpop+jwt`` proofs with one key (default: a fresh EC P-256 key, which never
    leaves the process): ``htm``/``htu``/``iat``/``jti``, ``ath`` with a token, ``nonce`` when
    the server asked for one."""

    def __init__(self, key: Any = None):
        self.key: PrivateKey = (
            load_private_key(key) if key is not None else ECKey.generate_key("P-256", private=True)
        )
        self.alg = key_algorithm(self.key)
        self.jwk = {
            k: v for k, v in self.key.as_dict(private=False).items() if k in _PUBLIC_MEMBERS
        }

    def __repr__(self) -> str:
        return f"DPoPProver(alg={self.alg!r})"

    def proof(self, method: str, url: httpx.URL, token: str | None, nonce: str | None) -> str:
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(24),
        }
        if token is not None:
            claims["ath"] = b64url(hashlib.sha256(token.encode("ascii")).digest())
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(
            {"typ": "dpop+jwt", "alg": self.alg, "jwk": self.jwk},
            claims,
            self.key,
            algorithms=[self.alg],
            default_type=None,
        )
