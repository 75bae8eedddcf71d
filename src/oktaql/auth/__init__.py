"""OAuth 2.0 service apps for Okta's management API, as Okta's own SDKs do it.

Many orgs no longer allow SSWS API tokens for automation; Okta recommends an OAuth 2.0
*service app* with scoped access instead. :class:`OAuthServiceApp` is an ``httpx.Auth`` that

* signs a client assertion (``private_key_jwt``: RS256/ES256/..., ``iss`` = ``sub`` = the
  client id, ``aud`` = ``<org>/oauth2/v1/token``, a fresh ``jti``, a five-minute ``exp``),
* POSTs it to ``<org>/oauth2/v1/token`` (``grant_type=client_credentials``, ``scope``),
* caches the access token until shortly before it expires, reuses it across calls and
  threads, fetches a new one on a 401 (once per call), and
* with ``dpop=True`` proves possession of a key on the token request and on every call
  (RFC 9449: ``typ: dpop+jwt`` proofs with ``htm``/``htu``/``iat``/``jti``, ``ath`` on API calls,
  ``nonce`` when the server asks for one with ``use_dpop_nonce``), sending
  ``Authorization: DPoP <token>``.

Scopes: pass them (``scopes=["okta.apps.read", ...]``, as ``OKTA_CLIENT_SCOPES`` does for the
SDKs) and exactly those are requested; leave them out and the scopes follow what is called:
:meth:`OAuthServiceApp.ensure_scopes` widens the set before a statement runs
(:func:`scopes_for` derives it from the statement's methods), and each call also adds the
scopes Okta's spec names for its own path. A 403 for a missing scope becomes an error naming that scope.

Keys and tokens never appear in messages, reprs or logs.
"""

from __future__ import annotations

from oktaql.auth._dpop import ENV_DPOP, DPoPProver
from oktaql.auth._env import (
    ENV_AUTH_MODE,
    ENV_CLIENT_ID,
    ENV_KEY_ID,
    ENV_PRIVATE_KEY,
    from_env,
)
from oktaql.auth._keys import PrivateKey, key_algorithm, load_private_key
from oktaql.auth._scopes import (
    ENV_SCOPES,
    covers,
    minimal_scopes,
    narrowest_scopes,
    parse_scopes,
    scopes_for,
    scopes_for_request,
)
from oktaql.auth._service_app import OAuthServiceApp
from oktaql.auth._tokens import ASSERTION_LIFETIME, ASSERTION_TYPE, TOKEN_PATH

__all__ = [
    "ASSERTION_LIFETIME",
    "ASSERTION_TYPE",
    "ENV_AUTH_MODE",
    "ENV_CLIENT_ID",
    "ENV_DPOP",
    "ENV_KEY_ID",
    "ENV_PRIVATE_KEY",
    "ENV_SCOPES",
    "TOKEN_PATH",
    "DPoPProver",
    "OAuthServiceApp",
    "PrivateKey",
    "covers",
    "from_env",
    "key_algorithm",
    "load_private_key",
    "minimal_scopes",
    "narrowest_scopes",
    "parse_scopes",
    "scopes_for",
    "scopes_for_request",
]
