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
scope its own path needs. A 403 for a missing scope becomes an error naming that scope.

Keys and tokens never appear in messages, reprs or logs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from oktaql._http import USER_AGENT
from oktaql.errors import APIError, ConfigError, OperationalError

if TYPE_CHECKING:
    from oktaql.provider import Method

__all__ = [
    "OAuthServiceApp",
    "PrivateKey",
    "from_env",
    "key_algorithm",
    "load_private_key",
    "parse_scopes",
    "scopes_for",
    "scopes_for_request",
]

PrivateKey = RSAKey | ECKey

TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # seconds; Okta accepts at most an hour
_EC_ALGS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_KEY_FILE_SUFFIXES = (".pem", ".key", ".p8", ".jwk", ".json")

# The Okta SDKs' environment variables (okta.client.* in their YAML config).
ENV_AUTH_MODE = "OKTA_CLIENT_AUTHORIZATIONMODE"  # "PrivateKey" selects OAuth 2.0
ENV_CLIENT_ID = "OKTA_CLIENT_CLIENTID"
ENV_PRIVATE_KEY = "OKTA_CLIENT_PRIVATEKEY"  # PEM or JWK text, or a file holding one
ENV_SCOPES = "OKTA_CLIENT_SCOPES"  # comma- or space-separated
ENV_KEY_ID = "OKTA_CLIENT_KID"
ENV_DPOP = "OKTA_CLIENT_DPOPENABLED"


# --- keys ------------------------------------------------------------------------------------


def load_private_key(value: Any) -> PrivateKey:
    """A private key from PEM text, JWK JSON text, a JWK dict, or a file holding PEM or JWK.

    RSA and EC (P-256/384/521) keys are accepted. Errors describe what is wrong without
    repeating the key material (a file is named by its path).
    """
    if isinstance(value, RSAKey | ECKey):
        return _require_private(value, "the key")
    if isinstance(value, Mapping):
        return _from_jwk(dict(value), "the JWK")
    if isinstance(value, os.PathLike):
        return _from_file(Path(value))
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                "the OAuth 2.0 private key is not text: give PEM or JWK (DER is not supported)"
            ) from None
    if not isinstance(value, str):
        raise ConfigError(
            f"the OAuth 2.0 private key must be PEM or JWK text or a file path, "
            f"not {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise ConfigError("the OAuth 2.0 private key is empty")
    if text.startswith("-----BEGIN"):
        return _from_pem(text.encode(), "the PEM text")
    if text.startswith("{"):
        return _from_jwk(_json_object(text, "the JWK text"), "the JWK text")
    if "\n" not in text and len(text) < 4096:
        path = Path(text).expanduser()
        if path.is_file():
            return _from_file(path)
        if text.lower().endswith(_KEY_FILE_SUFFIXES):  # clearly meant as a path: name it
            raise ConfigError(f"the OAuth 2.0 private key file {text!r} does not exist")
    raise ConfigError(
        f"the OAuth 2.0 private key (a value of {len(text)} characters) is neither PEM text "
        "('-----BEGIN PRIVATE KEY-----...'), JWK JSON, nor the path of a file holding one"
    )


def _from_file(path: Path) -> PrivateKey:
    where = f"the OAuth 2.0 private key file {str(path)!r}"
    try:
        data = path.read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise ConfigError(f"{where} cannot be read ({reason})") from None
    if data.startswith("-----BEGIN"):
        return _from_pem(data.encode(), where)
    if data.startswith("{"):
        return _from_jwk(_json_object(data, where), where)
    raise ConfigError(f"{where} holds neither a PEM key nor a JWK")


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except ValueError:
        raise ConfigError(f"{where} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ConfigError(f"{where} is not a JWK (a JSON object)")
    if isinstance(obj.get("keys"), list):  # a JWK set: take its only private key
        keys = [k for k in obj["keys"] if isinstance(k, dict) and "d" in k]
        if len(keys) != 1:
            raise ConfigError(f"{where} is a JWK set with {len(keys)} private keys: give one")
        obj = keys[0]
    return obj


def _from_pem(data: bytes, where: str) -> PrivateKey:
    if b"ENCRYPTED" in data.split(b"\n", 1)[0]:
        raise ConfigError(f"{where} is an encrypted PEM key: give it unencrypted")
    for cls in (RSAKey, ECKey):
        try:
            key = cls.import_key(data)
        except TypeError:  # cryptography: password missing
            raise ConfigError(f"{where} is an encrypted PEM key: give it unencrypted") from None
        except (JoseError, ValueError):
            continue
        return _require_private(key, where)
    raise ConfigError(f"{where} is not an RSA or EC key in PEM form")


def _from_jwk(obj: dict[str, Any], where: str) -> PrivateKey:
    kty = obj.get("kty")
    if kty not in ("RSA", "EC"):
        raise ConfigError(f"{where} has kty {kty!r}: OAuth 2.0 service apps use RSA or EC keys")
    try:
        key: PrivateKey = RSAKey.import_key(obj) if kty == "RSA" else ECKey.import_key(obj)
    except (JoseError, ValueError, TypeError, KeyError):
        raise ConfigError(f"{where} is not a valid {kty} JWK") from None
    return _require_private(key, where)


def _require_private(key: PrivateKey, where: str) -> PrivateKey:
    if not key.is_private:
        raise ConfigError(
            f"{where} is a public key: the service app signs with its private key (the public "
            "half is what is registered in Okta)"
        )
    key_algorithm(key)  # unsupported curves fail here
    return key


def key_algorithm(key: PrivateKey) -> str:
    """The JWS algorithm a key signs with: RS256 for RSA, ES256/384/512 by EC curve."""
    if isinstance(key, RSAKey):
        return "RS256"
    alg = _EC_ALGS.get(str(key.get("crv")))
    if alg is None:
        raise ConfigError(
            f"EC curve {key.get('crv')!r} is not supported: use P-256, P-384 or P-521"
        )
    return alg


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- scopes ----------------------------------------------------------------------------------


def parse_scopes(value: str | Iterable[str] | None) -> list[str]:
    """``"okta.apps.read, okta.users.read"`` / ``"a b"`` / a list → deduplicated list."""
    if value is None:
        return []
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        s = str(item).strip()
        if s and s not in out:
            out.append(s)
    return out


_SEG = r"[^/]+"
# Where a method carries no OpenAPI ``security`` (the built-in provider), the scope family
# follows Okta's API reference from the path; first match wins (for the listed verbs, if
# any); a full scope is taken as is; ``()``: no scope applies.
_PATH_FAMILIES: list[tuple[frozenset[str] | None, re.Pattern[str], tuple[str, ...]]] = [
    (frozenset(verbs.split()) if verbs else None, re.compile(p), fams)
    for verbs, p, fams in [
        ("", r"^/api/v1/api-tokens/current(/|$)", ()),
        ("", r"^/api/v1/users/me(/|$)", ()),
        ("", r"^/api/v1/sessions/me(/|$)", ()),
        ("", r"^/api/v1/sessions/?$", ()),
        ("", rf"^/api/v1/users/{_SEG}/factors/questions$", ()),
        ("", r"^/api/v1/policies/simulate$", ("okta.policies.read",)),
        ("POST", rf"^/api/v1/idps/{_SEG}/users/{_SEG}$", ("okta.users.manage",)),
        ("", rf"^/api/v1/apps/{_SEG}/grants(/|$)", ("okta.appGrants",)),
        ("", rf"^/api/v1/apps/{_SEG}/group-push(/|$)", ("okta.apps", "okta.groups")),
        ("", rf"^/api/v1/(users|groups)/{_SEG}/roles(/|$)", ("okta.roles",)),
        ("", rf"^/oauth2/v1/clients/{_SEG}/roles(/|$)", ("okta.roles",)),
        ("", rf"^/api/v1/users/{_SEG}/risk(/|$)", ("okta.userRisk",)),
        ("", r"^/api/v1/(iam|roles)(/|$)", ("okta.roles",)),
        ("", r"^/oauth2/v1/clients(/|$)", ("okta.clients",)),
        ("", r"^/api/v1/hook-keys(/|$)", ("okta.inlineHooks",)),
        ("", r"^/api/v1/zones(/|$)", ("okta.networkZones",)),
        ("", r"^/api/v1/meta/schemas/user/linkedObjects(/|$)", ("okta.linkedObjects",)),
        ("", r"^/api/v1/meta/schemas(/|$)", ("okta.schemas",)),
        ("", r"^/api/v1/meta/types/user(/|$)", ("okta.userTypes",)),
        ("", r"^/api/v1/meta/uischemas(/|$)", ("okta.uischemas",)),
        ("", r"^/api/v1/mappings(/|$)", ("okta.profileMappings",)),
        ("", r"^/api/v1/(?P<seg>[A-Za-z][A-Za-z-]*)(/|$)", ("*",)),
    ]
]
_ODD_SEGMENTS = {"device-assurances": "deviceAssurance", "api-tokens": "apiTokens"}


def scopes_for_request(http_method: str, path: str) -> list[str]:
    """The scope a call needs, from its path (``/api/v1/apps/{appId}`` or a concrete one).

    Read scopes for GET/HEAD, manage scopes otherwise; ``[]`` where no scope applies or the
    path is not one of Okta's management APIs.
    """
    path = urlsplit(path).path if "://" in path else path.split("?", 1)[0]
    read = http_method.upper() in ("GET", "HEAD")
    for verbs, regex, families in _PATH_FAMILIES:
        m = regex.match(path)
        if not m or (verbs is not None and http_method.upper() not in verbs):
            continue
        out = []
        for fam in families:
            if fam.endswith((".read", ".manage")):  # the API reference names this one
                out.append(fam)
                continue
            if fam == "*":
                seg = m.group("seg")
                fam = "okta." + _ODD_SEGMENTS.get(
                    seg, re.sub(r"-([a-z])", lambda x: x.group(1).upper(), seg)
                )
            out.append(fam + (".read" if read else ".manage"))
        return out
    return []


def _family(scope: str) -> tuple[str, str]:
    head, dot, tail = scope.rpartition(".")
    return (head, tail) if dot else (scope, "")


def _pick(http_method: str, listed: Iterable[str]) -> set[str]:
    """Of a method's listed scopes, the narrowest per family: .read for reads, .manage else."""
    want = "read" if http_method.upper() in ("GET", "HEAD") else "manage"
    by_family: dict[str, list[str]] = {}
    for s in listed:
        by_family.setdefault(_family(s)[0], []).append(s)
    out: set[str] = set()
    for scopes in by_family.values():
        preferred = [s for s in scopes if _family(s)[1] == want]
        out.update(preferred or scopes)
    return out


def _minimal(scopes: Iterable[str]) -> list[str]:
    """Sorted, with ``F.read`` dropped where ``F.manage`` is present (manage includes read)."""
    have = set(scopes)
    return sorted(
        s for s in have if not (_family(s)[1] == "read" and f"{_family(s)[0]}.manage" in have)
    )


def scopes_for(methods: Iterable[Method]) -> list[str]:
    """The scopes a statement's methods need (its default ``scope`` request).

    From each method's OpenAPI security scopes (``Method.scopes``) or, where a provider
    carries none, from its path; reads take the ``.read`` scope, writes the ``.manage`` one.
    """
    wanted: set[str] = set()
    for m in methods:
        listed = tuple(m.scopes) or tuple(scopes_for_request(m.http_method, m.path))
        wanted |= _pick(m.http_method, listed)
    return _minimal(wanted)


def _covers(granted: Iterable[str], scope: str) -> bool:
    have = set(granted)
    fam, level = _family(scope)
    return scope in have or (level == "read" and f"{fam}.manage" in have)


# --- the httpx.Auth --------------------------------------------------------------------------


@dataclass
class _Token:
    value: str = field(repr=False)
    scheme: str  # "Bearer" or "DPoP"
    scopes: frozenset[str]
    refresh_at: float  # time.monotonic(): stop using it from here on

    def usable(self) -> bool:
        return time.monotonic() < self.refresh_at


def _www_params(resp: httpx.Response) -> dict[str, str]:
    """``WWW-Authenticate: Bearer a="b", error="c"`` → ``{"a": "b", "error": "c"}``."""
    header = resp.headers.get("WWW-Authenticate", "")
    return {k.lower(): v for k, v in re.findall(r'([A-Za-z_]+)="([^"]*)"', header)}


def _oauth_body(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def _origin(url: str | httpx.URL) -> tuple[str, str]:
    u = httpx.URL(str(url))
    port = u.port or {"https": 443, "http": 80}.get(u.scheme)
    return u.scheme, f"{u.host}:{port}"


def _htu(url: httpx.URL) -> str:
    return str(url.copy_with(query=None, fragment=None))


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
        self._dpop_key: PrivateKey | None = None
        if self.dpop:
            self._dpop_key = (
                load_private_key(dpop_key)
                if dpop_key is not None
                else ECKey.generate_key("P-256", private=True)
            )
            self._dpop_alg = key_algorithm(self._dpop_key)
            self._dpop_jwk = {
                k: v
                for k, v in self._dpop_key.as_dict(private=False).items()
                if k in ("kty", "crv", "x", "y", "n", "e")
            }
        self._http = http
        self._origin = _origin(base)
        self._lock = threading.RLock()
        self._token: _Token | None = None
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
        return _minimal(self._wanted)

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
        if _origin(request.url) != self._origin:
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
                    raise self._token_error(failed, _oauth_body(failed), self.scopes)
                # a transient answer of the token endpoint (429/5xx): handed back as this
                # call's response, so the caller's retry policy applies to it
                return
            self._sign(request, token)
            response = yield request
            self._note_nonce(response, api=True)
            www = _www_params(response)
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
                or _oauth_body(response).get("errorCode") == "E0000006"
            ):
                raise self._scope_error(request, response, token, www)
            return

    def _current_token(self) -> Generator[httpx.Request, httpx.Response, tuple[Any, Any]]:
        with self._lock:
            tok = self._token
            if (
                tok is not None
                and tok.usable()
                and all(_covers(tok.scopes, s) for s in self._wanted)
            ):
                return tok, None
            scopes = set(self._wanted)
            if tok is not None and tok.usable():
                scopes |= tok.scopes  # widening: keep what the old token already had
            scopes_list = _minimal(scopes)
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
                body = _oauth_body(resp)
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
        now = int(time.time())
        header: dict[str, Any] = {"alg": self._alg}
        if self.key_id:
            header["kid"] = self.key_id
        assertion = jwt.encode(
            header,
            {
                "iss": self.client_id,
                "sub": self.client_id,
                "aud": self.token_url,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME,
                "jti": secrets.token_urlsafe(24),
            },
            self._key,
            algorithms=[self._alg],
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
        assert self._dpop_key is not None
        claims: dict[str, Any] = {
            "htm": method.upper(),
            "htu": _htu(url),
            "iat": int(time.time()),
            "jti": secrets.token_urlsafe(24),
        }
        if token is not None:
            claims["ath"] = _b64url(hashlib.sha256(token.encode("ascii")).digest())
        if nonce:
            claims["nonce"] = nonce
        return jwt.encode(
            {"typ": "dpop+jwt", "alg": self._dpop_alg, "jwk": self._dpop_jwk},
            claims,
            self._dpop_key,
            algorithms=[self._dpop_alg],
            default_type=None,
        )

    def _sign(self, request: httpx.Request, token: _Token) -> None:
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

    def _parse_token(self, resp: httpx.Response, requested: list[str]) -> _Token:
        body = _oauth_body(resp)
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
        return _Token(value, scheme, frozenset(granted), time.monotonic() + lifetime - margin)

    def _drop(self, token: _Token) -> None:
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
        body = _oauth_body(resp)
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
        self, request: httpx.Request, resp: httpx.Response, token: _Token, www: dict[str, str]
    ) -> APIError:
        needed = parse_scopes(www.get("scope")) or scopes_for_request(
            request.method, request.url.path
        )
        has = " ".join(sorted(token.scopes)) or "none"
        if needed:
            missing = [s for s in needed if not _covers(token.scopes, s)] or needed
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
        self, request: httpx.Request, resp: httpx.Response, token: _Token, www: dict[str, str]
    ) -> APIError:
        return self._api_error(
            request,
            resp,
            f"the OAuth 2.0 {token.scheme} access token of client {self.client_id!r} was "
            "refused even after fetching a new one",
            www,
        )


# --- configuration from the environment ------------------------------------------------------


def from_env(
    org_url: str | None, environ: Mapping[str, str] | None = None
) -> OAuthServiceApp | None:
    """The Okta SDKs' settings: ``OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey`` with
    ``OKTA_CLIENT_CLIENTID``, ``OKTA_CLIENT_PRIVATEKEY`` (PEM/JWK text or a file),
    ``OKTA_CLIENT_SCOPES`` (optional), ``OKTA_CLIENT_KID`` (optional) and
    ``OKTA_CLIENT_DPOPENABLED`` (optional). None when the mode is not ``PrivateKey``."""
    env = os.environ if environ is None else environ
    mode = (env.get(ENV_AUTH_MODE) or "").strip()
    if mode.lower() != "privatekey":
        if mode and mode.lower() != "ssws":
            raise ConfigError(
                f"{ENV_AUTH_MODE}={mode!r} is not supported: use PrivateKey (OAuth 2.0 service "
                "app) or SSWS (API token)"
            )
        return None
    missing = [n for n in (ENV_CLIENT_ID, ENV_PRIVATE_KEY) if not (env.get(n) or "").strip()]
    if missing:
        raise ConfigError(f"{ENV_AUTH_MODE}=PrivateKey needs {' and '.join(missing)}")
    if not org_url:
        raise ConfigError("OAuth 2.0 needs the org URL: set OKTA_CLIENT_ORGURL or --org-url")
    scopes = env.get(ENV_SCOPES)
    return OAuthServiceApp(
        org_url,
        env[ENV_CLIENT_ID],
        env[ENV_PRIVATE_KEY],
        scopes=scopes if scopes and scopes.strip() else None,
        dpop=(env.get(ENV_DPOP) or "").strip().lower() in ("1", "true", "yes"),
        key_id=(env.get(ENV_KEY_ID) or "").strip() or None,
    )
