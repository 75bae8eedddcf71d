"""OAuth 2.0 service apps (private_key_jwt, scopes, DPoP) against the emulator over real HTTP."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

import oktaql
from oktaql.auth import (
    ASSERTION_TYPE,
    OAuthServiceApp,
    from_env,
    key_algorithm,
    load_private_key,
    narrowest_scopes,
    parse_scopes,
    scopes_for,
    scopes_for_request,
)
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.emulator._oauth import oauth_server
from oktaql.errors import APIError, ConfigError, OperationalError

RSA = RSAKey.generate_key(2048, private=True)
EC = ECKey.generate_key("P-256", private=True)
OTHER = RSAKey.generate_key(2048, private=True)  # registered nowhere

CLIENTS: dict[str, Any] = {
    "0oarsa": RSA.as_pem(private=False).decode(),  # public PEM text
    "0oaec": EC.as_dict(private=False),  # public JWK
    "0oareadonly": RSA.as_dict(private=False),
    "0oadpop": EC.as_pem(private=False).decode(),
}
GRANTS = {"0oareadonly": ["okta.apps.read", "okta.users.read"]}
APPS_SQL = "SELECT id, label FROM okta.apps.applications"


def _config(**kw: Any) -> EmulatorConfig:
    kw.setdefault("seed", 3)
    return EmulatorConfig(
        oauth_clients=CLIENTS, oauth_scopes=GRANTS, oauth_dpop_clients={"0oadpop"}, **kw
    )


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(_config()) as running:
        yield running


def _connect(emu: RunningEmulator, auth: OAuthServiceApp) -> oktaql.Connection:
    return oktaql.connect(org_url=emu.url, auth=auth)


class _OwnScheme(httpx.Auth):
    """A scheme of the caller's own (a gateway's, say): one header on every request."""

    def __init__(self, value: str):
        self.value = value

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        request.headers["Authorization"] = self.value
        yield request


def test_connect_auth_signs_the_sessions_own_requests_and_no_other_orgs() -> None:
    """connect(auth=) is the session's own credential: sent to its org only; a named org on
    another host gets its own token, never this scheme's header; EXPLAIN shows no scheme."""
    with (
        start_in_thread(EmulatorConfig(seed=3, token="own-T0KEN-value")) as own,
        start_in_thread(EmulatorConfig(seed=4, token="east-T0KEN-value"), host="127.0.0.2") as east,
    ):
        conn = oktaql.connect(
            org_url=own.url,
            auth=_OwnScheme("SSWS own-T0KEN-value"),
            orgs={"east": (east.url, "east-T0KEN-value")},
        )
        assert len(_rows(conn, APPS_SQL)) == len(own.org.apps)
        east_sql = "SELECT id FROM okta.apps.applications WHERE subdomain = 'east'"
        assert len(_rows(conn, east_sql)) == len(east.org.apps)
        assert {h.get("authorization") for _, _, h in own.request_log} == {"SSWS own-T0KEN-value"}
        assert {h.get("authorization") for _, _, h in east.request_log} == {"SSWS east-T0KEN-value"}
        ((_, _, _, _, _, headers, *_), *_) = _rows(conn, "EXPLAIN " + APPS_SQL)
        assert json.loads(headers) == {"Authorization": "***"}


def _rows(conn: oktaql.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


def _token_posts(emu: RunningEmulator) -> int:
    return sum(1 for method, path, _ in emu.request_log if path.startswith("/oauth2/v1/token"))


def _secrets(emu: RunningEmulator) -> list[str]:
    """Everything that must never be shown: private key material and issued tokens."""
    out = list(oauth_server(emu.app).tokens)
    for key in (RSA, EC, OTHER):
        pem = key.as_pem(private=True).decode()
        out += [line for line in pem.splitlines() if not line.startswith("-----")][:3]
        out.append(str(key.as_dict(private=True)["d"]))
    return out


# --- reading with read scopes ------------------------------------------------------------


def test_service_app_reads_with_the_read_scopes_it_needs(emu: RunningEmulator) -> None:
    emu.reset_log()
    auth = OAuthServiceApp(emu.url, "0oarsa", RSA.as_pem(private=True).decode())
    conn = _connect(emu, auth)
    rows = _rows(conn, APPS_SQL + " ORDER BY id")
    assert rows == sorted((a["id"], a["label"]) for a in emu.org.apps)
    # a join fanning out over every app, concurrently: still the one token
    rows = _rows(
        conn,
        "SELECT a.id, count(t.id) FROM okta.apps.applications a "
        "JOIN okta.apps.tokens t ON t.appId = a.id GROUP BY a.id",
    )
    assert rows
    assert auth.token_requests == 1 and _token_posts(emu) == 1
    grants = list(oauth_server(emu.app).tokens.values())
    assert [sorted(g.scopes) for g in grants if g.client_id == "0oarsa"] == [["okta.apps.read"]]
    api_calls = [h for m, p, h in emu.request_log if p.startswith("/api/v1/")]
    assert len(api_calls) > 2
    assert all(h["authorization"].startswith("Bearer ") for h in api_calls)
    assert all("dpop" not in h for h in api_calls)


def test_statement_scopes_are_requested_up_front(emu: RunningEmulator) -> None:
    emu.reset_log()
    auth = OAuthServiceApp(emu.url, "0oaec", json.dumps(EC.as_dict(private=True)))
    conn = _connect(emu, auth)
    catalog = conn.session.catalog
    methods = [
        catalog.method("okta.apps.applications.list_applications")[1],
        catalog.method("okta.users.users.list_users")[1],
    ]
    auth.ensure_scopes(scopes_for(methods))
    _rows(conn, "SELECT count(*) FROM okta.apps.applications")
    _rows(conn, "SELECT count(*) FROM okta.users.users")
    assert auth.token_requests == 1
    assert auth.scopes == ["okta.apps.read", "okta.users.read"]


def test_scopes_for_derives_read_and_manage_scopes() -> None:
    conn = oktaql.connect(org_url="http://127.0.0.1:9", transport=None)
    cat = conn.session.catalog
    reads = [
        cat.method("okta.apps.applications.list_applications")[1],
        cat.method("okta.apps.tokens.list_oauth2_tokens_for_application")[1],
        cat.method("okta.users.users.list_users")[1],
    ]
    assert scopes_for(reads) == ["okta.apps.read", "okta.users.read"]
    delete = cat.method("okta.apps.tokens.revoke_oauth2_token_for_application")[1]
    # manage includes read: only the manage scope is requested for that family
    assert scopes_for([*reads, delete]) == ["okta.apps.manage", "okta.users.read"]

    class M:  # a method whose spec lists several scopes
        def __init__(self, verb: str, scopes: tuple[str, ...]):
            self.http_method, self.path, self.scopes = verb, "/x", scopes

    listed = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.groups.manage")
    assert scopes_for([M("GET", listed)]) == ["okta.apps.read", "okta.groups.read"]  # type: ignore[list-item]
    assert scopes_for([M("PATCH", listed)]) == ["okta.apps.manage", "okta.groups.manage"]  # type: ignore[list-item]
    assert scopes_for_request("GET", "/api/v1/apps/0oa1/tokens?limit=2") == ["okta.apps.read"]
    assert scopes_for_request("DELETE", "/api/v1/users/00u1/roles/ra1") == ["okta.roles.manage"]
    assert scopes_for_request("GET", "/api/v1/api-tokens") == ["okta.apiTokens.read"]
    assert scopes_for_request("GET", "/api/v1/users/me/lifecycle") == []
    assert parse_scopes("okta.apps.read, okta.users.read okta.apps.read") == [
        "okta.apps.read",
        "okta.users.read",
    ]


def _by_operation(conn: oktaql.Connection) -> dict[tuple[str, str], Any]:
    """Every method of the session's provider by (verb, path with unnamed parameters)."""
    import re

    prov = conn.session.catalog.provider("okta")
    out = {}
    for sname in prov.services:
        for res in prov.service(sname).resources.values():  # type: ignore[union-attr]
            for m in res.methods.values():
                out[(m.http_method, re.sub(r"\{[^}]+\}", "{}", m.path))] = m
    return out


def test_path_scopes_match_the_openapi_security_of_every_builtin_method(
    stackql_registry: Path,
) -> None:
    """A call's own scopes (each call adds them, and a 403 names them) come from Okta's spec by
    path: for every operation of the built-in provider, concrete ids in the path, they are the
    narrowest of what StackQL's copy of the spec lists for it."""
    import re

    spec = _by_operation(oktaql.connect(registry=stackql_registry, org_url="http://127.0.0.1:9"))
    builtin = _by_operation(oktaql.connect(org_url="http://127.0.0.1:9"))
    assert len(builtin) > 600
    wrong = []
    for key, m in builtin.items():
        want = narrowest_scopes(m.http_method, spec[key].scopes)
        concrete = re.sub(r"\{[^}]+\}", "x1Y2", m.path) + "?limit=2"
        got = set(scopes_for_request(m.http_method, concrete))
        if got != want or set(scopes_for([m])) - want:
            wrong.append((key, sorted(got), sorted(want)))
    assert not wrong, wrong[:10]
    # a literal segment wins over a parameter; a path of no operation needs no scope
    assert scopes_for_request("GET", "/api/v1/users/me") == ["okta.users.read"]
    assert scopes_for_request("GET", "/api/v1/org") == ["okta.orgs.read"]
    assert scopes_for_request("GET", "/api/v1/no-such-api") == []


def test_a_provider_without_security_gets_the_scopes_of_okta_s_spec(
    tmp_path: Path, stackql_registry: Path
) -> None:
    """Scopes are facts of the operation: a provider document that carries no ``security``
    (here StackQL's, stripped of it) gets the spec's scopes on its methods, with its own
    parameter names, and a statement requests exactly those."""
    import shutil

    import yaml

    root = tmp_path / "reg"
    shutil.copytree(stackql_registry, root)
    services = next((root / "src" / "okta").iterdir()) / "services"
    for name in ("apps.yaml", "threats.yaml"):
        doc = yaml.safe_load((services / name).read_text())
        for item in doc["paths"].values():
            for op in item.values():
                if isinstance(op, dict):
                    op.pop("security", None)
        (services / name).write_text(yaml.safe_dump(doc))
    cat = oktaql.connect(registry=root, org_url="http://127.0.0.1:9").session.catalog
    listing = cat.method("okta.apps.applications.list_applications")[1]
    assert (
        "security"
        not in yaml.safe_load((services / "apps.yaml").read_text())["paths"]["/api/v1/apps"]["get"]
    )
    assert listing.scopes == ("okta.apps.read",)
    deactivate = cat.method("okta.apps.applications.deactivate_application")[1]
    assert scopes_for([listing, deactivate]) == ["okta.apps.manage"]
    threats = [
        m
        for r in cat.provider("okta").service("threats").resources.values()  # type: ignore[union-attr]
        for m in r.methods.values()
    ]
    assert threats and all(m.scopes for m in threats)
    assert {s for m in threats for s in m.scopes} <= {
        "okta.threatInsights.read",
        "okta.threatInsights.manage",
    }


# --- scopes refused ----------------------------------------------------------------------


def test_write_without_the_manage_scope_is_refused_naming_the_scope(
    emu: RunningEmulator,
) -> None:
    app = next(a for a in emu.org.apps if a["status"] == "ACTIVE")
    auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes="okta.apps.read")
    conn = _connect(emu, auth)
    assert _rows(conn, f"SELECT id FROM okta.apps.applications WHERE appId = '{app['id']}'")
    with pytest.raises(APIError) as info:
        conn.cursor().execute(
            f"EXEC okta.apps.applications.deactivate_application @appId = '{app['id']}'"
        )
    err = info.value
    assert err.status == 403 and err.error_code == "E0000006"
    assert "okta.apps.manage" in str(err) and "insufficient" not in str(err).split("—")[1]
    assert emu.org.app(app["id"])["status"] == "ACTIVE"  # nothing happened
    for secret in _secrets(emu):
        assert secret not in str(err)


def test_a_scope_not_granted_to_the_app_is_named_at_the_token_request(
    emu: RunningEmulator,
) -> None:
    auth = OAuthServiceApp(emu.url, "0oareadonly", RSA)  # granted okta.apps.read/users.read
    conn = _connect(emu, auth)
    assert _rows(conn, "SELECT count(*) FROM okta.apps.applications")[0][0] > 0
    with pytest.raises(APIError) as info:
        conn.cursor().execute("DELETE FROM okta.apps.tokens WHERE appId = 'x' AND tokenId = 'y'")
    msg = str(info.value)
    assert info.value.error_code == "invalid_scope"
    assert "okta.apps.manage" in msg and "0oareadonly" in msg


def test_emulator_enforces_scopes_per_endpoint(emu: RunningEmulator) -> None:
    auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes=["okta.users.manage"])
    with httpx.Client(base_url=emu.url, auth=auth) as client:
        assert client.get("/api/v1/users", params={"limit": 1}).status_code == 200  # manage ⊇ read
        resp = httpx.get(
            emu.url + "/api/v1/groups",
            headers={"Authorization": f"Bearer {auth._token.value}"},  # type: ignore[union-attr]
        )
    assert resp.status_code == 403 and resp.json()["errorCode"] == "E0000006"
    www = resp.headers["www-authenticate"]
    assert www.startswith("Bearer ")
    assert 'scope="okta.groups.read"' in www and 'error="insufficient_scope"' in www
    assert 'resource="/api/v1/groups"' in www


# --- token lifetime ----------------------------------------------------------------------


def test_token_is_reused_then_refreshed_after_expiry_and_on_401() -> None:
    with start_in_thread(_config(oauth_token_ttl=1)) as emu:
        auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes="okta.apps.read")
        conn = _connect(emu, auth)
        for _ in range(3):
            _rows(conn, APPS_SQL)
        assert _token_posts(emu) == 1
        time.sleep(1.05)
        _rows(conn, APPS_SQL)
        assert _token_posts(emu) == 2
        statuses = [h for _, p, h in emu.request_log if p.startswith("/api/v1/")]
        assert len(statuses) == 4  # refreshed before expiry: no call was refused

    with start_in_thread(_config()) as emu:
        auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes="okta.apps.read")
        conn = _connect(emu, auth)
        _rows(conn, APPS_SQL)
        oauth_server(emu.app).revoke_tokens()  # the cached token now gets 401 invalid_token
        assert len(_rows(conn, APPS_SQL)) == len(emu.org.apps)
        assert _token_posts(emu) == 2
        assert auth.token_requests == 2


def test_a_token_refused_twice_is_a_clear_error() -> None:
    with start_in_thread(_config()) as emu:
        auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes="okta.apps.read")
        server = oauth_server(emu.app)
        real_check = server.check

        def revoke_then_check(*args: Any) -> None:
            server.revoke_tokens()
            real_check(*args)

        server.check = revoke_then_check  # type: ignore[method-assign]
        with pytest.raises(APIError) as info:
            _rows(_connect(emu, auth), APPS_SQL)
        assert info.value.status == 401
        assert "refused even after fetching a new one" in str(info.value)
        assert auth.token_requests == 2


# --- DPoP --------------------------------------------------------------------------------


def test_dpop_with_the_nonce_retry(emu: RunningEmulator) -> None:
    emu.reset_log()
    auth = OAuthServiceApp(emu.url, "0oadpop", EC, scopes="okta.apps.read", dpop=True)
    conn = _connect(emu, auth)
    assert len(_rows(conn, APPS_SQL)) == len(emu.org.apps)
    # the first token request had no nonce (400 use_dpop_nonce), the retry carried it
    token_calls = [h for _, p, h in emu.request_log if p.startswith("/oauth2/v1/token")]
    assert len(token_calls) == 2 and all("dpop" in h for h in token_calls)
    assert auth.token_requests == 2
    api = [h for _, p, h in emu.request_log if p.startswith("/api/v1/")]
    assert api and all(h["authorization"].startswith("DPoP ") and h["dpop"] for h in api)
    proof = jwt.decode(api[0]["dpop"], auth._dpop.key)  # type: ignore[union-attr]
    assert proof.header["typ"] == "dpop+jwt" and "d" not in proof.header["jwk"]
    assert proof.claims["htm"] == "GET" and proof.claims["htu"] == emu.url + "/api/v1/apps"
    assert {"iat", "jti", "ath"} <= set(proof.claims)

    # a new nonce: the next token request is told so once, then succeeds
    oauth_server(emu.app).rotate_nonce()
    auth.invalidate()
    _rows(conn, APPS_SQL)
    assert auth.token_requests == 4


@pytest.mark.parametrize("dpop_key", [None, RSAKey.generate_key(2048, private=True)])
def test_dpop_proof_keys_es256_and_rs256(emu: RunningEmulator, dpop_key: Any) -> None:
    auth = OAuthServiceApp(emu.url, "0oarsa", RSA, "okta.apps.read", dpop=True, dpop_key=dpop_key)
    assert auth._dpop.alg == ("ES256" if dpop_key is None else "RS256")
    conn = _connect(emu, auth)
    assert len(_rows(conn, APPS_SQL)) == len(emu.org.apps)
    token = auth._token
    assert token is not None and token.scheme == "DPoP"


def test_dpop_bound_token_needs_a_fresh_matching_proof(emu: RunningEmulator) -> None:
    auth = OAuthServiceApp(emu.url, "0oadpop", EC, scopes="okta.apps.read", dpop=True)
    with httpx.Client(base_url=emu.url, auth=auth) as client:
        ok = client.get("/api/v1/apps", params={"limit": 1})
    assert ok.status_code == 200
    sent = ok.request.headers
    url = emu.url + "/api/v1/apps"
    replay = httpx.get(url, headers={"Authorization": sent["authorization"], "DPoP": sent["dpop"]})
    assert replay.status_code == 401
    assert 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]
    as_bearer = httpx.get(url, headers={"Authorization": "Bearer " + sent["authorization"][5:]})
    assert as_bearer.status_code == 401
    other = auth._proof("DELETE", httpx.URL(url), auth._token.value, None)  # type: ignore[union-attr]
    wrong_htm = httpx.get(url, headers={"Authorization": sent["authorization"], "DPoP": other})
    assert wrong_htm.status_code == 401 and "htm" in wrong_htm.headers["www-authenticate"]


def test_dpop_required_but_not_used_says_so(emu: RunningEmulator) -> None:
    auth = OAuthServiceApp(emu.url, "0oadpop", EC, scopes="okta.apps.read")
    with pytest.raises(APIError) as info:
        _rows(_connect(emu, auth), APPS_SQL)
    assert info.value.error_code == "invalid_dpop_proof"
    assert "dpop=True" in str(info.value)


# --- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "key", "form", "alg"),
    [
        ("0oarsa", RSA, "pem-text", "RS256"),
        ("0oarsa", RSA, "jwk-file", "RS256"),
        ("0oaec", EC, "pem-file", "ES256"),
        ("0oaec", EC, "jwk-text", "ES256"),
    ],
)
def test_rs256_and_es256_keys_as_pem_or_jwk(
    emu: RunningEmulator, tmp_path: Path, client: str, key: Any, form: str, alg: str
) -> None:
    pem = key.as_pem(private=True).decode()
    jwk = json.dumps(key.as_dict(private=True))
    value: Any = {"pem-text": pem, "jwk-text": jwk}.get(form)
    if value is None:
        path = tmp_path / ("key.pem" if form == "pem-file" else "key.json")
        path.write_text(pem if form == "pem-file" else jwk)
        value = str(path)
    loaded = load_private_key(value)
    assert key_algorithm(loaded) == alg and loaded.thumbprint() == key.thumbprint()
    auth = OAuthServiceApp(emu.url, client, value, scopes="okta.apps.read")
    assert len(_rows(_connect(emu, auth), APPS_SQL)) == len(emu.org.apps)


def test_key_loading_errors_name_the_problem_not_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="public key"):
        load_private_key(RSA.as_pem(private=False).decode())
    with pytest.raises(ConfigError, match="public key"):
        load_private_key(EC.as_dict(private=False))
    with pytest.raises(ConfigError, match="missing.pem' does not exist"):
        load_private_key(str(tmp_path / "missing.pem"))
    body = "".join(RSA.as_pem(private=True).decode().splitlines()[1:-1])  # PEM without armour
    with pytest.raises(ConfigError) as info:
        load_private_key(body)
    assert body[:40] not in str(info.value) and "neither PEM" in str(info.value)
    # armour-less key text whose base64 has no "/" for 300 characters: not a name a file can
    # have (ENAMETOOLONG), which must still be this error and not an OSError
    for text in ("A" * 300, body.replace("/", "A"), "key\0text"):
        with pytest.raises(ConfigError, match="neither PEM"):
            load_private_key(text)
    with pytest.raises(ConfigError, match="not an RSA or EC key"):
        load_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ConfigError, match="kty 'oct'"):
        load_private_key('{"kty": "oct", "k": "c2VjcmV0"}')
    (tmp_path / "junk.pem").write_text("hello")
    with pytest.raises(ConfigError, match="junk.pem' holds neither"):
        load_private_key(str(tmp_path / "junk.pem"))


def test_wrong_key_is_a_clear_error_without_secrets(emu: RunningEmulator) -> None:
    auth = OAuthServiceApp(emu.url, "0oarsa", OTHER.as_pem(private=True).decode(), "okta.apps.read")
    conn = _connect(emu, auth)
    with pytest.raises(APIError) as info:
        _rows(conn, APPS_SQL)
    err = info.value
    assert err.status == 401 and err.error_code == "invalid_client"
    assert "0oarsa" in str(err) and "private key" in str(err) and "signature" in str(err)
    unknown = OAuthServiceApp(emu.url, "0oanobody", RSA, "okta.apps.read")
    with pytest.raises(APIError, match="invalid_client"):
        _rows(_connect(emu, unknown), APPS_SQL)
    explain = _rows(conn, "EXPLAIN " + APPS_SQL)
    shown = " ".join([str(err), repr(auth), repr(unknown), json.dumps(explain, default=str)])
    for secret in _secrets(emu):
        assert secret not in shown


def test_token_endpoint_checks_the_assertion(emu: RunningEmulator) -> None:
    url = emu.url + "/oauth2/v1/token"

    def post(claims: dict[str, Any], key: Any = RSA, **form: str) -> httpx.Response:
        now = int(time.time())
        base = {"iss": "0oarsa", "sub": "0oarsa", "aud": url, "iat": now, "exp": now + 60}
        assertion = jwt.encode({"alg": "RS256"}, {**base, **claims}, key)
        data = {
            "grant_type": "client_credentials",
            "scope": "okta.apps.read",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **form,
        }
        return httpx.post(url, data=data)

    ok = post({"jti": "a1"})
    assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "okta.apps.read"
    cases = [
        (post({"jti": "a1"}), 401, "invalid_client", "already been used"),
        (post({"jti": "a2", "aud": emu.url}), 401, "invalid_client", "audience"),
        (post({"jti": "a3", "exp": int(time.time()) - 5}), 401, "invalid_client", "expired"),
        (post({"jti": "a4", "iss": "0oaec"}), 401, "invalid_client", "issuer"),
        (post({"jti": "a5"}, key=OTHER), 401, "invalid_client", "signature"),
        (post({"jti": "a6"}, scope=""), 400, "invalid_scope", "'scope' must be provided"),
        (post({"jti": "a7"}, scope="okta.apps.read nope"), 400, "invalid_scope", "nope"),
        (post({"jti": "a8"}, grant_type="password"), 400, "unsupported_grant_type", ""),
    ]
    for resp, status, error, text in cases:
        assert resp.status_code == status, resp.text
        assert resp.json()["error"] == error and text in resp.json()["error_description"]


# --- unchanged SSWS, configuration -------------------------------------------------------


def test_ssws_still_works_and_bad_bearer_tokens_are_401(emu: RunningEmulator) -> None:
    conn = oktaql.connect(org_url=emu.url, token="emulator-token")
    assert len(_rows(conn, APPS_SQL)) == len(emu.org.apps)
    resp = httpx.get(emu.url + "/api/v1/apps", headers={"Authorization": "Bearer nope"})
    assert resp.status_code == 401 and resp.json()["errorCode"] == "E0000011"
    assert 'error="invalid_token"' in resp.headers["www-authenticate"]
    with start_in_thread(EmulatorConfig()) as plain:  # no OAuth clients: exactly as before
        resp = httpx.get(plain.url + "/api/v1/apps", headers={"Authorization": "Bearer nope"})
        assert resp.status_code == 401 and "www-authenticate" not in resp.headers
        token = httpx.post(plain.url + "/oauth2/v1/token", data={"grant_type": "x"})
        assert token.status_code == 401 and token.json()["errorCode"] == "E0000011"


def test_token_never_goes_to_another_host(emu: RunningEmulator) -> None:
    auth = OAuthServiceApp(emu.url, "0oarsa", RSA, "okta.apps.read")
    with httpx.Client(auth=auth) as client, pytest.raises(OperationalError, match="another host"):
        client.get("http://127.0.0.2:1/api/v1/apps")
    assert auth.token_requests == 0


def test_settings_from_the_okta_sdk_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key.pem"
    key_file.write_text(EC.as_pem(private=True).decode())
    env = {
        "OKTA_CLIENT_AUTHORIZATIONMODE": "PrivateKey",
        "OKTA_CLIENT_CLIENTID": "0oaec",
        "OKTA_CLIENT_PRIVATEKEY": str(key_file),
        "OKTA_CLIENT_SCOPES": "okta.apps.read,okta.users.read",
        "OKTA_CLIENT_DPOPENABLED": "true",
    }
    auth = from_env("https://acme.okta.com", env)
    assert auth is not None
    assert auth.scopes == ["okta.apps.read", "okta.users.read"] and auth.dpop
    assert auth.token_url == "https://acme.okta.com/oauth2/v1/token"
    assert from_env("https://acme.okta.com", {}) is None
    with pytest.raises(ConfigError, match="OKTA_CLIENT_PRIVATEKEY"):
        from_env("https://acme.okta.com", {**env, "OKTA_CLIENT_PRIVATEKEY": ""})
    with pytest.raises(ConfigError, match="org URL"):
        from_env(None, env)


def test_emulator_cli_registers_oauth_clients(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oktaql.emulator
    from oktaql.cli import main

    seen: list[EmulatorConfig] = []
    monkeypatch.setattr(oktaql.emulator, "serve", lambda config, **kw: seen.append(config))
    pub = tmp_path / "svc.pem"
    pub.write_text(RSA.as_pem(private=False).decode())
    res = CliRunner().invoke(
        main, ["emulator", "--oauth-client", f"0oasvc={pub}", "--oauth-client", "auto"]
    )
    assert res.exit_code == 0, res.output
    clients = seen[0].oauth_clients
    assert set(clients) - {"0oasvc"} and "0oasvc" in clients
    auto_id = next(c for c in clients if c != "0oasvc")
    key_file = Path(res.output.split("private key file ")[1].split()[0])
    try:
        assert auto_id in res.output and "BEGIN" not in res.output
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        with start_in_thread(EmulatorConfig(oauth_clients=clients)) as emu:
            auth = OAuthServiceApp(emu.url, auto_id, str(key_file), "okta.apps.read")
            assert _rows(_connect(emu, auth), "SELECT count(*) FROM okta.apps.applications")
    finally:
        key_file.unlink()
        key_file.parent.rmdir()
    bad = CliRunner().invoke(main, ["emulator", "--oauth-client", "0oax=" + str(tmp_path / "no")])
    assert bad.exit_code == 1 and "0oax" in bad.output


def test_token_endpoint_faults_are_retried_like_any_call() -> None:
    from oktaql._http import RetryPolicy

    config = _config(seed=2, fault_rate=0.5, fault_kinds=("503", "drop"))  # token call 1 faults
    with start_in_thread(config) as emu:
        auth = OAuthServiceApp(emu.url, "0oarsa", RSA, scopes="okta.apps.read")
        conn = oktaql.connect(
            org_url=emu.url, auth=auth, retry=RetryPolicy(max_retries=10, backoff_base=0.001)
        )
        assert len(_rows(conn, APPS_SQL)) == len(emu.org.apps)
        faulted = [e for e in emu.app.state.chaos.events if e[1].startswith("/oauth2/v1/token")]
        assert faulted  # the token request itself failed, and was tried again


def test_api_nonce_demand_is_retried_once_with_the_nonce() -> None:
    """RFC 9449 §9: a resource server may answer 401 ``use_dpop_nonce`` with a DPoP-Nonce."""
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v1/token":
            body = {"token_type": "DPoP", "access_token": "at-1", "expires_in": 60}
            return httpx.Response(200, json=body)
        proof = jwt.decode(request.headers["dpop"], auth._dpop.key)  # type: ignore[union-attr]
        seen.append(proof.claims)
        if proof.claims.get("nonce") != "rs-nonce":
            headers = {"WWW-Authenticate": 'DPoP error="use_dpop_nonce"', "DPoP-Nonce": "rs-nonce"}
            return httpx.Response(401, headers=headers)
        return httpx.Response(200, json=[])

    auth = OAuthServiceApp("https://acme.okta.com", "0oa1", EC, "okta.apps.read", dpop=True)
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        assert client.get("https://acme.okta.com/api/v1/apps").status_code == 200
        assert client.get("https://acme.okta.com/api/v1/apps").status_code == 200
    assert [c.get("nonce") for c in seen] == [None, "rs-nonce", "rs-nonce"]
    assert auth.token_requests == 1
