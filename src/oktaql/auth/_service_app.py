"""The ``httpx.Auth`` of an OAuth 2.0 service app: tokens fetched, cached, widened, refreshed,
sent to the org only, and every refusal turned into an error that names its cause."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from oktaql._http import USER_AGENT
from oktaql.auth._dpop import ENV_DPOP, DPoPProver
from oktaql.auth._keys import key_algorithm, load_private_key
from oktaql.auth._scopes import (
    ENV_SCOPES,
    covers,
    minimal_scopes,
    parse_scopes,
    scopes_for_request,
)
from oktaql.auth._tokens import (
    ASSERTION_TYPE,
    TOKEN_PATH,
    Token,
    client_assertion,
    oauth_body,
    origin,
    www_params,
)
from oktaql.errors import APIError, ConfigError, OperationalError


class OAuthServiceApp(httpx.Auth):
    """OAuth 2.0 client credentials with ``private_key_jwt`` (and optionally DPoP).

    org_url: the org (``https://acme.okta.com``); tokens come from its ``/oauth2/v1/token``
        and are sent to that origin only.
    client_id: the service app's client id.
    private_key: PEM/JWK text, a file holding one, or a loaded key (:func:`load_private_key`).
    scopes: the scopes to request, a list or a space/comma-separated string; None: follow the
        calls (:meth:`ensure_scopes`, plus each call's own path).
    dpop: bind tokens to a proof-of-possession key (RFC 9449); ``dpop_key`` is that key
        (default: a fresh EC P-256 key per instance; it never leaves the process).
    key_id: the ``kid`` of the registered public key (default: the JWK's ``kid``, if any);
        needed when the app has several keys.
    http: an ``httpx.Client`` for the token requests; default: they go through the client
        this auth is attached to (same transport, timeouts, proxies).
    """

    requires_response_body = True

    def __init__(
        self,
        org_url: str,
        client_id: str,
        private_key: Any,
        scopes: str | Iterable[str] | None = None,
        dpop: bool = False,
        key_id: str | None = None,
        http: httpx.Client | None = None,
        *,
        dpop_key: Any = None,
    ):
        if not client_id or not str(client_id).strip():
            raise ConfigError("OAuth 2.0 needs the service app's client id")
        base = str(org_url or "").rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"OAuth 2.0 needs the whole org URL (https://<org>.okta.com), not {org_url!r}"
            )
        self.org_url = base
        self.token_url = base + TOKEN_PATH
        self.client_id = str(client_id).strip()
        self._key = load_private_key(private_key)
        self._alg = key_algorithm(self._key)
        self.key_id = key_id or (str(self._key.kid) if self._key.kid else None)
        fixed = parse_scopes(scopes)
        self.auto_scopes = scopes is None
        if not self.auto_scopes and not fixed:
            raise ConfigError("OAuth 2.0 scopes are empty: name at least one, or leave them out")
        self._wanted: set[str] = set(fixed)
        self.dpop = bool(dpop)
        self._dpop = DPoPProver(dpop_key) if self.dpop else None
        self._http = http
        self._origin = origin(base)
        self._lock = threading.RLock()
        self._token: Token | None = None
        self._as_nonce: str | None = None  # DPoP nonce of the token endpoint
        self._rs_nonce: str | None = None  # DPoP nonce of the API (resource server)
        self._secrets: list[str] = []  # recent assertions and tokens, masked in messages
        self.token_requests = 0

    def __repr__(self) -> str:
        return (
            f"OAuthServiceApp(org_url={self.org_url!r}, client_id={self.client_id!r}, "
            f"scopes={self.scopes!r}, dpop={self.dpop})"
        )

    # --- settings -------------------------------------------------------------------------

    @property
    def scopes(self) -> list[str]:
        """The scopes currently asked for (fixed ones, or those gathered so far)."""
        return minimal_scopes(self._wanted)

    @property
    def scheme(self) -> str:
        """``Bearer`` or ``DPoP``: how calls carry the token (for EXPLAIN: ``<scheme> ***``)."""
        return "DPoP" if self.dpop else "Bearer"

    def ensure_scopes(self, scopes: Iterable[str]) -> None:
        """Ask for these scopes too (only when scopes were not given explicitly).

        Call it before a statement runs with :func:`scopes_for` of its methods, so one token
        covers the whole statement. A cached token that lacks one is replaced on next use.
        """
        if not self.auto_scopes:
            return
        with self._lock:
            self._wanted.update(scopes)

    def invalidate(self) -> None:
        """Forget the cached access token (the next call fetches a new one)."""
        with self._lock:
            self._token = None

    # --- the flow -------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin(request.url) != self._origin:
            raise OperationalError(
                f"{request.method} {request.url}: refusing to send the OAuth 2.0 access token "
                f"for {self.org_url} to another host"
            )
        if self.auto_scopes:
            self.ensure_scopes(scopes_for_request(request.method, request.url.path))
        refreshed = nonce_retried = False
        while True:
            token, failed = yield from self._current_token()
            if token is None:
                if self._http is not None:
                    raise self._token_error(failed, oauth_body(failed), self.scopes)
                # a transient answer of the token endpoint (429/5xx): handed back as this
                # call's response, so the caller's retry policy applies to it
                return
            self._sign(request, token)
            response = yield request
            self._note_nonce(response, api=True)
            www = www_params(response)
            if response.status_code in (400, 401) and www.get("error") == "use_dpop_nonce":
                if token.scheme == "DPoP" and self._rs_nonce and not nonce_retried:
                    nonce_retried = True
                    continue
            if response.status_code == 401 and not refreshed:
                refreshed = True  # expired or revoked early: one new token, one retry
                self._drop(token)
                continue
            if response.status_code == 401:
                raise self._refused(request, response, token, www)
            if response.status_code == 403 and (
                www.get("error") == "insufficient_scope"
                or oauth_body(response).get("errorCode") == "E0000006"
            ):
                raise self._scope_error(request, response, token, www)
            return

    def _current_token(self) -> Generator[httpx.Request, httpx.Response, tuple[Any, Any]]:
        with self._lock:
            tok = self._token
            if (
                tok is not None
                and tok.usable()
                and all(covers(tok.scopes, s) for s in self._wanted)
            ):
                return tok, None
            scopes = set(self._wanted)
            if tok is not None and tok.usable():
                scopes |= tok.scopes  # widening: keep what the old token already had
            scopes_list = minimal_scopes(scopes)
            if not scopes_list:
                raise ConfigError(
                    "no OAuth 2.0 scopes to request: pass scopes (e.g. okta.apps.read) or set "
                    f"{ENV_SCOPES}"
                )
            nonce_retried = False
            while True:
                req = self._token_request(scopes_list)
                resp = yield from self._send(req)
                self.token_requests += 1
                self._note_nonce(resp, api=False)
                if resp.status_code == 200:
                    self._token = self._parse_token(resp, scopes_list)
                    return self._token, None
                body = oauth_body(resp)
                if (
                    resp.status_code in (400, 401)
                    and body.get("error") == "use_dpop_nonce"
                    and self.dpop
                    and self._as_nonce
                    and not nonce_retried
                ):
                    nonce_retried = True  # the server wants its nonce in the proof: once more
                    continue
                if resp.status_code == 429 or resp.status_code >= 500:
                    return None, resp
                raise self._token_error(resp, body, scopes_list)

    def _send(self, req: httpx.Request) -> Generator[httpx.Request, httpx.Response, httpx.Response]:
        if self._http is not None:
            resp = self._http.send(req)
            resp.read()
            return resp
        resp = yield req
        return resp

    def _token_request(self, scopes: list[str]) -> httpx.Request:
        assertion = client_assertion(
            self._key, self._alg, self.key_id, self.client_id, self.token_url
        )
        self._remember(assertion)
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        url = httpx.URL(self.token_url)
        if self.dpop:
            headers["DPoP"] = self._proof("POST", url, None, self._as_nonce)
        return httpx.Request(
            "POST",
            url,
            headers=headers,
            data={
                "grant_type": "client_credentials",
                "scope": " ".join(scopes),
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
            },
        )

    def _proof(self, method: str, url: httpx.URL, token: str | None, nonce: str | None) -> str:
        assert self._dpop is not None
        return self._dpop.proof(method, url, token, nonce)

    def _sign(self, request: httpx.Request, token: Token) -> None:
        request.headers["Authorization"] = f"{token.scheme} {token.value}"
        if token.scheme == "DPoP":
            request.headers["DPoP"] = self._proof(
                request.method, request.url, token.value, self._rs_nonce
            )
        else:
            request.headers.pop("DPoP", None)

    def _note_nonce(self, resp: httpx.Response, *, api: bool) -> None:
        nonce = resp.headers.get("DPoP-Nonce")
        if nonce:
            if api:
                self._rs_nonce = nonce
            else:
                self._as_nonce = nonce

    def _parse_token(self, resp: httpx.Response, requested: list[str]) -> Token:
        body = oauth_body(resp)
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise OperationalError(
                f"POST {self.token_url}: HTTP 200 without an access_token in the answer"
            )
        self._remember(value)
        scheme = "DPoP" if str(body.get("token_type", "")).lower() == "dpop" else "Bearer"
        if self.dpop and scheme != "DPoP":
            raise OperationalError(
                f"POST {self.token_url}: asked for a DPoP-bound token but got token_type "
                f"{body.get('token_type')!r}"
            )
        try:
            lifetime = float(body.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        granted = parse_scopes(body.get("scope")) or requested
        # refresh a little early: a token must not expire on its way to the server
        margin = min(60.0, lifetime / 10)
        return Token(value, scheme, frozenset(granted), time.monotonic() + lifetime - margin)

    def _drop(self, token: Token) -> None:
        with self._lock:
            if self._token is token:  # another thread may have replaced it already
                self._token = None

    def _remember(self, secret: str) -> None:
        with self._lock:
            self._secrets.append(secret)
            del self._secrets[:-16]

    def _mask(self, text: str) -> str:
        for secret in self._secrets:
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text

    # --- errors ---------------------------------------------------------------------------

    def _token_error(
        self, resp: httpx.Response, body: dict[str, Any], scopes: list[str]
    ) -> APIError:
        error = str(body.get("error") or body.get("errorCode") or "")
        desc = str(body.get("error_description") or body.get("errorSummary") or "")
        msg = (
            f"OAuth 2.0 token request for client {self.client_id!r} failed: HTTP {resp.status_code}"
        )
        if error:
            msg += f" {error}"
        if desc:
            msg += f": {desc}"
        hint = {
            "invalid_client": (
                f"check the client id and that the private key ({self._alg}"
                + (f", kid {self.key_id!r}" if self.key_id else "")
                + ") is the one whose public key is registered on the service app"
            ),
            "invalid_scope": (
                f"requested {' '.join(scopes)}: grant these scopes to the service app "
                f"(Okta API Scopes) or request fewer ({ENV_SCOPES} / oauth_scopes)"
            ),
            "unauthorized_client": "allow the Client Credentials grant on the service app",
            "unsupported_grant_type": "allow the Client Credentials grant on the service app",
            "invalid_dpop_proof": (
                f"the service app requires DPoP: turn it on (dpop=True / {ENV_DPOP}=true)"
                if not self.dpop
                else "the DPoP proof was refused"
            ),
            "use_dpop_nonce": "the server kept asking for a new DPoP nonce",
        }.get(error)
        if hint:
            msg += f" — {hint}"
        rid = resp.headers.get("X-Okta-Request-Id")
        if rid:
            msg += f" [X-Okta-Request-Id: {rid}]"
        return APIError(
            self._mask(msg),
            status=resp.status_code,
            method="POST",
            url=self.token_url,
            error_code=error or None,
            error_summary=self._mask(desc) or None,
            request_id=rid,
            body=None,
        )

    def _api_error(
        self, request: httpx.Request, resp: httpx.Response, detail: str, www: dict[str, str]
    ) -> APIError:
        body = oauth_body(resp)
        code = body.get("errorCode")
        summary = body.get("errorSummary")
        msg = f"{request.method} {request.url} failed: HTTP {resp.status_code}"
        if code:
            msg += f" {code}"
        if summary:
            msg += f": {summary}"
        if www.get("error_description"):
            msg += f" ({www['error_description']})"
        msg += f" — {detail}"
        rid = resp.headers.get("X-Okta-Request-Id")
        if rid:
            msg += f" [X-Okta-Request-Id: {rid}]"
        return APIError(
            self._mask(msg),
            status=resp.status_code,
            method=request.method,
            url=str(request.url),
            error_code=code,
            error_summary=summary,
            request_id=rid,
            body=body or None,
        )

    def _scope_error(
        self, request: httpx.Request, resp: httpx.Response, token: Token, www: dict[str, str]
    ) -> APIError:
        needed = parse_scopes(www.get("scope")) or scopes_for_request(
            request.method, request.url.path
        )
        has = " ".join(sorted(token.scopes)) or "none"
        if needed:
            missing = [s for s in needed if not covers(token.scopes, s)] or needed
            need = " ".join(missing)
            detail = (
                f"the statement needs OAuth 2.0 scope {need} (the access token has {has}): "
                f"grant {need} to the service app and request it ({ENV_SCOPES} / oauth_scopes)"
            )
        else:
            detail = f"the service app's access token (scopes {has}) is not allowed this call"
        if www.get("error") != "insufficient_scope":
            detail += "; the service app also needs an admin role that allows it"
        return self._api_error(request, resp, detail, www)

    def _refused(
        self, request: httpx.Request, resp: httpx.Response, token: Token, www: dict[str, str]
    ) -> APIError:
        return self._api_error(
            request,
            resp,
            f"the OAuth 2.0 {token.scheme} access token of client {self.client_id!r} was "
            "refused even after fetching a new one",
            www,
        )
