"""OAuth 2.0 service apps in the emulated org: the token endpoint, scoped tokens, DPoP.

Active only when ``EmulatorConfig.oauth_clients`` registers at least one client; without
one the org accepts SSWS tokens exactly as before. The dispatcher calls :func:`authorize`
for every request that SSWS did not authenticate:

* ``POST /oauth2/v1/token`` (form-encoded): ``grant_type=client_credentials``, ``scope``
  (required), ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
  and a ``client_assertion`` signed with the key registered for the client (RS256/384/512,
  ES256/384/512; ``iss`` = ``sub`` = client id, ``aud`` = this endpoint's URL, ``exp`` at most
  an hour ahead, ``jti`` never seen before). Answers ``{"token_type", "expires_in",
  "access_token", "scope"}`` with an opaque token living ``oauth_token_ttl`` seconds, or
  RFC 6749 errors (``{"error", "error_description"}``): 401 ``invalid_client`` (unknown
  client, bad signature or claims, replayed assertion), 400 ``invalid_scope`` (no scope, or
  one not granted: ``oauth_scopes[client]``, default every ``okta.<x>.read|manage``),
  ``unsupported_grant_type``, ``invalid_request``.
* **DPoP** (RFC 9449): a token request with a ``DPoP`` proof gets a ``DPoP`` token bound to
  the proof key's thumbprint; clients in ``oauth_dpop_clients`` must send one (else 400
  ``invalid_dpop_proof``). As Okta does, the token endpoint demands its nonce: a proof
  without the current one gets 400 ``use_dpop_nonce`` with a ``DPoP-Nonce`` header. Proofs
  are checked for signature (``jwk`` header, no private parts), ``typ: dpop+jwt``, ``htm``,
  ``htu``, ``iat`` (five minutes either way), a fresh ``jti``, and on API calls ``ath``.
* **API calls** with ``Authorization: Bearer <token>`` (or ``DPoP <token>`` plus a proof):
  unknown or expired token → 401 ``E0000011`` with ``WWW-Authenticate: Bearer ...
  error="invalid_token"``; a token without the scope the endpoint needs → 403 ``E0000006``
  with ``WWW-Authenticate: Bearer ..., scope="<needed>", error="insufficient_scope", ...``.
  Scopes per endpoint follow Okta's API reference: ``okta.apps.*`` for ``/api/v1/apps...``,
  ``okta.users.*``, ``okta.groups.*``, ``okta.authorizationServers.*``, ``okta.clients.*`` for
  ``/oauth2/v1/clients``; ``.read`` for GET/HEAD (``.manage`` also grants it), ``.manage``
  otherwise.

Test helpers: :func:`oauth_server` (``revoke_tokens()``, ``rotate_nonce()``, ``issued``) and
:func:`generate_client` (a throwaway client id and key pair, for ``--oauth-client auto``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

from ._http import OktaError, invalid_token, method_not_allowed
from ._util import ALNUM

if TYPE_CHECKING:
    from starlette.requests import Request

    from . import EmulatorConfig

PublicKey = RSAKey | ECKey

TOKEN_PATH = "/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
PROOF_WINDOW = 300  # seconds either way for a DPoP proof's iat
_RSA_ALGS = ("RS256", "RS384", "RS512")
_EC_ALGS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_DEFAULT_GRANT = re.compile(r"^okta\.[A-Za-z]+\.(read|manage)$")
_SCOPE_FAMILIES = [
    (re.compile(r"^/api/v1/apps(/|$)"), "okta.apps"),
    (re.compile(r"^/api/v1/users(/|$)"), "okta.users"),
    (re.compile(r"^/api/v1/groups(/|$)"), "okta.groups"),
    (re.compile(r"^/api/v1/authorizationServers(/|$)"), "okta.authorizationServers"),
    (re.compile(r"^/oauth2/v1/clients(/|$)"), "okta.clients"),
    # the rest of the org, by the families Okta's spec names in each operation's security
    (re.compile(r"^/api/v1/logs(/|$)"), "okta.logs"),
    (re.compile(r"^/api/v1/policies(/|$)"), "okta.policies"),
    (re.compile(r"^/api/v1/idps(/|$)"), "okta.idps"),
    (re.compile(r"^/api/v1/zones(/|$)"), "okta.networkZones"),
    (re.compile(r"^/api/v1/trustedOrigins(/|$)"), "okta.trustedOrigins"),
    (re.compile(r"^/api/v1/eventHooks(/|$)"), "okta.eventHooks"),
    (re.compile(r"^/api/v1/inlineHooks(/|$)"), "okta.inlineHooks"),
    (re.compile(r"^/api/v1/api-tokens(/|$)"), "okta.apiTokens"),
    (re.compile(r"^/api/v1/iam(/|$)"), "okta.roles"),
]


class _Registry(JWSRegistry):
    # a DPoP proof carries its public key in the header: an RSA one exceeds joserfc's
    # default 512-byte header limit (Okta's SDKs use RSA 2048 proof keys)
    max_header_length = 4096


def _registry(algorithms: tuple[str, ...] | None = None) -> JWSRegistry:
    return _Registry(algorithms=list(algorithms) if algorithms else None)


class OAuthAnswer(OktaError):
    """An answer of the token endpoint in RFC 6749's shape (a token, or ``error``).

    Raised like an :class:`OktaError` so the dispatcher renders it with the common headers;
    unlike one, its body is ``payload`` as is.
    """

    def __init__(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(
            status,
            str(payload.get("error", "")),
            str(payload.get("error_description", "")),
            headers={"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})},
        )
        self.payload = payload

    def body(self, error_id: str) -> dict[str, Any]:
        return self.payload


def _oauth_error(status: int, error: str, description: str, **headers: str) -> OAuthAnswer:
    return OAuthAnswer(status, {"error": error, "error_description": description}, headers)


def _invalid_client(description: str) -> OAuthAnswer:
    return _oauth_error(401, "invalid_client", description)


# --- keys --------------------------------------------------------------------------------


def public_key(value: Any) -> PublicKey:
    """A registered client key: PEM text (public, or private: its public half), JWK JSON
    text or dict, or the path of a file holding one. Raises ``ValueError`` saying why."""
    if isinstance(value, RSAKey | ECKey):
        key: PublicKey = value
    elif isinstance(value, dict):
        key = _jwk(value)
    else:
        text = value.decode() if isinstance(value, bytes) else str(value)
        text = text.strip()
        if not text.startswith(("-----BEGIN", "{")) and "\n" not in text and len(text) < 4096:
            path = Path(text).expanduser()
            if not path.is_file():
                raise ValueError(f"no key file {text!r}")
            text = path.read_text("utf-8").strip()
        if text.startswith("{"):
            try:
                obj = json.loads(text)
            except ValueError:
                raise ValueError("the JWK is not valid JSON") from None
            if not isinstance(obj, dict):
                raise ValueError("the JWK is not a JSON object")
            key = _jwk(obj)
        elif text.startswith("-----BEGIN"):
            key = _pem(text.encode())
        else:
            raise ValueError("not a PEM key, a JWK, or a key file")
    _algorithms(key)
    return _public_half(key)


def _jwk(obj: dict[str, Any]) -> PublicKey:
    if isinstance(obj.get("keys"), list) and len(obj["keys"]) == 1:
        obj = obj["keys"][0]
    kty = obj.get("kty")
    try:
        if kty == "RSA":
            return RSAKey.import_key(obj)
        if kty == "EC":
            return ECKey.import_key(obj)
    except (JoseError, ValueError, TypeError, KeyError):
        raise ValueError(f"not a valid {kty} JWK") from None
    raise ValueError(f"kty {kty!r} is not supported (RSA or EC)")


def _pem(data: bytes) -> PublicKey:
    for cls in (RSAKey, ECKey):
        try:
            return cls.import_key(data)
        except TypeError:
            raise ValueError("encrypted PEM keys are not supported") from None
        except (JoseError, ValueError):
            continue
    raise ValueError("not an RSA or EC key in PEM form")


def _public_half(key: PublicKey) -> PublicKey:
    pub = {
        k: v
        for k, v in key.as_dict(private=False).items()
        if k in ("kty", "crv", "x", "y", "n", "e")
    }
    return _jwk(pub)


def _algorithms(key: PublicKey) -> tuple[str, ...]:
    if isinstance(key, RSAKey):
        return _RSA_ALGS
    alg = _EC_ALGS.get(str(key.get("crv")))
    if alg is None:
        raise ValueError(f"EC curve {key.get('crv')!r} is not supported")
    return (alg,)


def generate_client() -> tuple[str, str, dict[str, Any]]:
    """A throwaway service app: (client id, private key PEM, public JWK)."""
    key = RSAKey.generate_key(2048, private=True)
    client_id = "0oa" + "".join(secrets.choice(ALNUM) for _ in range(17))
    pem = key.as_pem(private=True).decode("ascii")
    return client_id, pem, _public_half(key).as_dict(private=False)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _norm_url(url: str) -> str:
    """scheme://host[:port]/path, lower-cased origin, default port and query dropped."""
    p = urlsplit(url)
    host = (p.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    port = p.port
    if port and not (p.scheme == "http" and port == 80 or p.scheme == "https" and port == 443):
        host = f"{host}:{port}"
    return f"{p.scheme.lower()}://{host}{p.path or '/'}"


def required_scope(http_method: str, path: str) -> str | None:
    """The scope an emulated endpoint needs, or None (no scope applies)."""
    for regex, family in _SCOPE_FAMILIES:
        if regex.match(path):
            return family + (".read" if http_method.upper() in ("GET", "HEAD") else ".manage")
    return None


def _grants(scopes: frozenset[str], needed: str) -> bool:
    family, _, level = needed.rpartition(".")
    return needed in scopes or (level == "read" and f"{family}.manage" in scopes)


# --- the server --------------------------------------------------------------------------


@dataclass
class _Grant:
    client_id: str
    scopes: frozenset[str]
    expires_at: float  # time.time()
    jkt: str | None  # DPoP key thumbprint the token is bound to


class OAuthServer:
    """The org authorization server's state: registered clients, issued tokens, replays."""

    def __init__(self, config: EmulatorConfig):
        self.clients: dict[str, PublicKey] = {}
        for client_id, value in (config.oauth_clients or {}).items():
            try:
                self.clients[client_id] = public_key(value)
            except (ValueError, OSError) as exc:
                raise ValueError(f"oauth_clients[{client_id!r}]: {exc}") from None
        self.granted = {c: frozenset(s) for c, s in (config.oauth_scopes or {}).items()}
        self.dpop_required = set(config.oauth_dpop_clients or ())
        self.ttl = int(config.oauth_token_ttl)
        self.tokens: dict[str, _Grant] = {}
        self._seen: dict[str, float] = {}  # jti → when it may be forgotten
        self.nonce = secrets.token_urlsafe(16)
        self.issued = 0

    # test helpers -----------------------------------------------------------------------

    def revoke_tokens(self) -> None:
        """Revoke every issued access token (as an admin revoking the app's tokens)."""
        self.tokens.clear()

    def rotate_nonce(self) -> str:
        """A new DPoP nonce; proofs carrying the old one get ``use_dpop_nonce``."""
        self.nonce = secrets.token_urlsafe(16)
        return self.nonce

    # replay -----------------------------------------------------------------------------

    def _once(self, key: str, until: float) -> bool:
        now = time.time()
        if len(self._seen) > 10_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        if key in self._seen and self._seen[key] > now:
            return False
        self._seen[key] = until
        return True

    # the token endpoint -----------------------------------------------------------------

    def token(self, request: Request, body: bytes, base: str) -> OAuthAnswer:
        if request.method != "POST":
            raise method_not_allowed(["POST"])
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return _oauth_error(
                400, "invalid_request", "The request must be application/x-www-form-urlencoded."
            )
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(
                400,
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server. "
                "Configured grant types: [client_credentials].",
            )
        url = base + TOKEN_PATH
        assertion = form.get("client_assertion") or ""
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return _invalid_client(
                "Client authentication failed. Either the client or the client credentials "
                "are invalid."
            )
        try:
            unverified = json.loads(
                jws.extract_compact(assertion.encode(), registry=_registry()).payload or b""
            )
        except (JoseError, ValueError, TypeError):
            return _invalid_client("The client_assertion is not a valid JWT.")
        if not isinstance(unverified, dict):
            return _invalid_client("The client_assertion is not a valid JWT.")
        client_id = str(form.get("client_id") or unverified.get("sub") or "")
        key = self.clients.get(client_id)
        if key is None:
            return _invalid_client("The client_id provided in the request is not valid.")
        try:
            claims = jwt.decode(assertion, key, registry=_registry(_algorithms(key))).claims
        except (JoseError, ValueError, TypeError):
            return _invalid_client("The client_assertion signature is invalid.")
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return _invalid_client(
                "The issuer and subject claims in client_assertion must match the client_id."
            )
        aud = claims.get("aud")
        if url not in (aud if isinstance(aud, list) else [aud]):
            return _invalid_client(
                "The audience claim for client_assertion must be the endpoint invoked for the "
                "request."
            )
        now = time.time()
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or exp <= now:
            return _invalid_client("The client_assertion token is expired.")
        if exp > now + MAX_ASSERTION_LIFETIME + 60:
            return _invalid_client(
                "The client_assertion token has an expiration too far into the future."
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            return _invalid_client("The client_assertion token must have a jti claim.")

        jkt: str | None = None
        proofs = request.headers.getlist("dpop")
        if proofs:
            jkt = self._proof(
                proofs, "POST", url, token=None, nonce_required=True, at_token_endpoint=True
            )
        elif client_id in self.dpop_required:
            return _oauth_error(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")

        if not self._once(f"assertion:{client_id}:{jti}", float(exp)):
            return _invalid_client("The client_assertion token has already been used.")

        requested = [s for s in (form.get("scope") or "").split() if s]
        if not requested:
            return _oauth_error(
                400,
                "invalid_scope",
                "The authorization server resource does not have any configured default "
                "scopes, 'scope' must be provided.",
            )
        granted = self.granted.get(client_id)
        refused = [
            s
            for s in requested
            if not (s in granted if granted is not None else _DEFAULT_GRANT.match(s))
        ]
        if refused:
            return _oauth_error(
                400,
                "invalid_scope",
                "The following scopes are not granted to the client: " + " ".join(refused) + ".",
            )
        value = secrets.token_urlsafe(32)
        self.tokens[value] = _Grant(client_id, frozenset(requested), now + self.ttl, jkt)
        self.issued += 1
        return OAuthAnswer(
            200,
            {
                "token_type": "DPoP" if jkt else "Bearer",
                "expires_in": self.ttl,
                "access_token": value,
                "scope": " ".join(requested),
            },
        )

    # DPoP proofs ------------------------------------------------------------------------

    def _proof(
        self,
        proofs: list[str],
        method: str,
        url: str,
        *,
        token: str | None,
        nonce_required: bool,
        at_token_endpoint: bool,
    ) -> str:
        """Check a DPoP proof; the thumbprint of its key, or raise the right error."""

        def bad(description: str) -> OktaError:
            if at_token_endpoint:
                return _oauth_error(400, "invalid_dpop_proof", description)
            return OktaError(
                401,
                "E0000011",
                "Invalid token provided",
                headers={
                    "WWW-Authenticate": (
                        f'DPoP error="invalid_dpop_proof", error_description="{description}"'
                    )
                },
            )

        if len(proofs) != 1:
            raise bad("Exactly one DPoP proof JWT header is required.")
        proof = proofs[0]
        try:
            header = jws.extract_compact(proof.encode(), registry=_registry()).headers()
        except (JoseError, ValueError, TypeError):
            raise bad("The DPoP proof is not a valid JWT.") from None
        if header.get("typ") != "dpop+jwt":
            raise bad("The DPoP proof header 'typ' must be 'dpop+jwt'.")
        jwk_obj = header.get("jwk")
        if not isinstance(jwk_obj, dict) or "d" in jwk_obj or "p" in jwk_obj:
            raise bad("The DPoP proof header 'jwk' must be a public key.")
        try:
            key = _jwk(jwk_obj)
            algs = _algorithms(key)
        except ValueError:
            raise bad("The DPoP proof header 'jwk' is not a supported public key.") from None
        if header.get("alg") not in algs:
            raise bad("The DPoP proof 'alg' does not fit its key.")
        try:
            claims = jwt.decode(proof, key, registry=_registry(algs)).claims
        except (JoseError, ValueError, TypeError):
            raise bad("The DPoP proof signature is invalid.") from None
        if str(claims.get("htm", "")).upper() != method.upper():
            raise bad("The DPoP proof 'htm' does not match the request method.")
        if _norm_url(str(claims.get("htu", ""))) != _norm_url(url):
            raise bad("The DPoP proof 'htu' does not match the request URL.")
        iat = claims.get("iat")
        now = time.time()
        if not isinstance(iat, int | float) or abs(now - iat) > PROOF_WINDOW:
            raise bad("The DPoP proof 'iat' is not recent.")
        if token is not None:
            ath = _b64url(hashlib.sha256(token.encode("ascii")).digest())
            if claims.get("ath") != ath:
                raise bad("The DPoP proof 'ath' does not match the access token.")
        if nonce_required and claims.get("nonce") != self.nonce:
            raise _oauth_error(
                400,
                "use_dpop_nonce",
                "Authorization server requires nonce in DPoP proof.",
                **{"DPoP-Nonce": self.nonce},
            )
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise bad("The DPoP proof must have a 'jti' claim.")
        if not self._once(f"dpop:{jti}", float(iat) + PROOF_WINDOW):
            raise bad("The DPoP proof 'jti' has already been used.")
        return key.thumbprint()

    # API calls --------------------------------------------------------------------------

    def check(self, request: Request, scheme: str, value: str, base: str) -> None:
        path = request.url.path
        kind = "DPoP" if scheme == "dpop" else "Bearer"

        def challenge(status: int, code: str, summary: str, **params: str) -> OktaError:
            parts = [
                f'authorization_uri="{base}/oauth2/v1/authorize"',
                f'realm="{base}"',
                *(f'{k}="{v}"' for k, v in params.items()),
                f'resource="{path}"',
            ]
            return OktaError(
                status, code, summary, headers={"WWW-Authenticate": f"{kind} " + ", ".join(parts)}
            )

        def bad_token(description: str) -> OktaError:
            return challenge(
                401,
                "E0000011",
                "Invalid token provided",
                error="invalid_token",
                error_description=description,
            )

        grant = self.tokens.get(value)
        if grant is None:
            raise bad_token("The access token is invalid.")
        if grant.expires_at <= time.time():
            del self.tokens[value]
            raise bad_token("The token has expired.")
        if grant.jkt is not None:
            if kind != "DPoP":
                raise bad_token("The access token is DPoP-bound: send it as 'DPoP <token>'.")
            url = str(request.url.replace(query="", fragment=""))
            jkt = self._proof(
                request.headers.getlist("dpop"),
                request.method,
                url,
                token=value,
                nonce_required=False,
                at_token_endpoint=False,
            )
            if jkt != grant.jkt:
                raise bad_token("The DPoP proof key is not the key the token is bound to.")
        elif kind == "DPoP":
            raise bad_token("The access token is not DPoP-bound: send it as 'Bearer <token>'.")
        needed = required_scope(request.method, path)
        if needed is not None and not _grants(grant.scopes, needed):
            raise challenge(
                403,
                "E0000006",
                "You do not have permission to perform the requested action",
                scope=needed,
                error="insufficient_scope",
                error_description="The access token provided does not contain the required scopes.",
            )


def oauth_server(app: Any) -> OAuthServer:
    """The app's authorization server state (created on first use)."""
    server = getattr(app.state, "oauth_server", None)
    if server is None:
        server = OAuthServer(app.state.config)
        app.state.oauth_server = server
    return server


async def authorize(request: Request, config: EmulatorConfig) -> None:
    """Let a request through that SSWS did not authenticate, or raise its answer.

    Without registered OAuth clients this is the plain 401 ``E0000011``, as before. The token
    endpoint always "raises" (:class:`OAuthAnswer`, success included).
    """
    if not config.oauth_clients:
        raise invalid_token()
    server = oauth_server(request.app)
    base = str(request.base_url).rstrip("/")
    if request.url.path.rstrip("/") == TOKEN_PATH:
        raise server.token(request, await request.body(), base)
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop") or not value.strip():
        raise invalid_token()
    server.check(request, scheme, value.strip(), base)
