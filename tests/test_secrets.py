"""Secrets never shown: EXPLAIN/--dry-run bodies, shell history, logs (the rule: oktaql._secrets).

Each secret below is a distinct string; a test asserts it appears nowhere in what oktaql shows
or stores, while the non-secret fields of the same body stay visible, and (with a real server
capturing what it received) that masking changes only what is shown, never what is sent.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import oktaql
from oktaql._secrets import (
    is_secret_name,
    mask_error,
    mask_json,
    mask_json_text,
    mask_sql,
    mask_url,
)
from oktaql.cli import main

BUILTIN_SERVICES = (
    Path(oktaql.__file__).parent / "registry" / "src" / "okta" / "v0.1.0" / "services"
)
SPEC = Path(__file__).resolve().parents[2] / "shared" / "okta" / "management-minimal.yaml"
OKTA_API_TOKEN_SHAPE = "00" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hI6kL9n"  # 42 chars

PASSWORD, ANSWER, CLIENT_SECRET = "S3cret!-pw-81", "A-answer-81", "Sup3r-client-secret-81"
OLD_PW, NEW_PW = "Old-S3cret-81", "New-S3cret-81"
USER_CREDENTIALS = json.dumps(
    {"password": {"value": PASSWORD}, "recovery_question": {"question": "q?", "answer": ANSWER}}
)
PROFILE = json.dumps({"login": "ann@example.com", "email": "ann@example.com"})
OIDC_CREDENTIALS = json.dumps(
    {
        "oauthClient": {
            "client_id": "visible-client-id",
            "client_secret": CLIENT_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
        }
    }
)
SECRETS = (PASSWORD, ANSWER, CLIENT_SECRET, OLD_PW, NEW_PW)

STATEMENTS = [
    "INSERT INTO okta.users.users (data__profile, data__credentials) "
    f"SELECT '{PROFILE}', '{USER_CREDENTIALS}'",
    "INSERT INTO okta.apps.applications (data__name, data__label, data__signOnMode, "
    f"data__credentials) SELECT 'oidc_client', 'Visible App', 'OPENID_CONNECT', "
    f"'{OIDC_CREDENTIALS}'",
    "EXEC okta.users.users.change_password @userId = '00u1visible', @@json = "
    f'\'{{"oldPassword": {{"value": "{OLD_PW}"}}, "newPassword": {{"value": "{NEW_PW}"}}}}\'',
]


# --- the rule --------------------------------------------------------------------------------


def test_secret_names() -> None:
    secret = [
        "password", "data__password", "@password", "client_secret", "clientSecret", "apiToken",
        "idToken", "access_token", "sessionToken", "privateKey", "secretKey", "tokenSigningKey",
        "sharedSecret", "passCode", "nextPassCode", "answer", "serviceAccountJson", "x-api-key",
        "adminPassword", "device_secret", '"t"."data__client_secret"',
    ]  # fmt: skip
    visible = [
        "tokenId", "tokenType", "appId", "refreshTokenLifetimeMinutes",
        "token_endpoint_auth_method", "passwordExpiration", "passCodeLength", "secret_hash",
        "siteKey", "key", "credentials", "data__credentials", "@@json", "kid", "value",
    ]  # fmt: skip
    assert [n for n in secret if not is_secret_name(n)] == []
    assert [n for n in visible if is_secret_name(n)] == []


def test_mask_json_walks_every_depth_and_keeps_the_rest() -> None:
    body: dict[str, Any] = {
        "profile": {"login": "ann@example.com", "email": "ann@example.com"},
        "credentials": {
            "password": {"hash": {"algorithm": "BCRYPT", "salt": "s4lt", "value": "h4sh"}},
            "recovery_question": {"question": "q?", "answer": ANSWER},
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
        "list": [{"client_secret": CLIENT_SECRET, "client_id": "cid"}, "plain"],
        "channel": {
            "config": {
                "headers": [
                    {"key": "X-Api-Key", "value": "k3y-value"},
                    {"key": "Authorization", "value": "Bearer b3arer-value"},
                    {"key": "X-Trace", "value": "trace-visible"},
                ],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": "h00k-secret"},
            }
        },
        "jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "pub-n", "e": "AQAB", "d": "priv-d"}]},
        "factor": {"passCode": 123456, "enabled": True, "token": None},
        "note": f"pasted {OKTA_API_TOKEN_SHAPE} here",
        "embedded": json.dumps({"password": "in-a-string", "login": "embedded-login"}),
    }
    masked = mask_json(body)
    assert masked == {
        "profile": {"login": "ann@example.com", "email": "ann@example.com"},
        "credentials": {
            "password": {"hash": {"algorithm": "BCRYPT", "salt": "s4lt", "value": "***"}},
            "recovery_question": {"question": "q?", "answer": "***"},
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
        "list": [{"client_secret": "***", "client_id": "cid"}, "plain"],
        "channel": {
            "config": {
                "headers": [
                    {"key": "X-Api-Key", "value": "***"},
                    {"key": "Authorization", "value": "***"},
                    {"key": "X-Trace", "value": "trace-visible"},
                ],
                "authScheme": {"type": "HEADER", "key": "Authorization", "value": "***"},
            }
        },
        "jwks": {"keys": [{"kty": "RSA", "kid": "k1", "n": "pub-n", "e": "AQAB", "d": "***"}]},
        "factor": {"passCode": "***", "enabled": True, "token": None},
        "note": "pasted *** here",
        "embedded": '{"password": "***", "login": "embedded-login"}',
    }
    assert body["credentials"]["recovery_question"]["answer"] == ANSWER  # a copy: body unchanged
    assert mask_json("hunter2", "data__password") == "***"
    assert mask_json({"value": "pw"}, "data__password") == {"value": "***"}


def _spec_documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(BUILTIN_SERVICES.glob("*.yaml")):
        yield path.name, yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
    if SPEC.is_file():
        yield SPEC.name, yaml.load(SPEC.read_text(), Loader=yaml.CSafeLoader)


# writeOnly in Okta's spec but not secret: a TAC's time to live and use count, an SSF subject
WRITE_ONLY_NOT_SECRET = {"ttl", "multiUse", "id", "format"}


def test_every_secret_the_spec_marks_is_masked() -> None:
    """Build an instance of every schema of the built-in provider (and of Okta's spec when
    ../shared has it) with a distinct marker in each scalar; every ``format: password``
    property and every secret ``writeOnly`` one must come out masked. A property that only
    its position makes secret (a password's ``value``) is judged where the spec nests it."""
    checked = 0
    for doc_name, doc in _spec_documents():
        schemas = doc.get("components", {}).get("schemas", {})
        for root, schema in schemas.items():
            markers: dict[str, bool] = {}
            instance = _instance(schemas, schema, [], markers, 0)
            text = json.dumps(mask_json(instance))
            shown = json.dumps(instance)
            leaked = [m for m, secret in markers.items() if secret and m in shown and m in text]
            assert leaked == [], f"{doc_name} {root}: {leaked}"
            checked += sum(secret for m, secret in markers.items() if m in shown)
    assert checked >= 5  # the walk did reach the spec's secrets


def _instance(
    schemas: dict[str, Any], s: Any, path: list[str], markers: dict[str, bool], depth: int
) -> Any:
    while isinstance(s, dict) and "$ref" in s:
        s = schemas.get(s["$ref"].rsplit("/", 1)[-1], {})
    if not isinstance(s, dict) or depth > 10:
        return None
    if s.get("allOf"):
        out: dict[str, Any] = {}
        for sub in [*s["allOf"], {"properties": s.get("properties", {})}]:
            part = _instance(schemas, sub, path, markers, depth + 1)
            if isinstance(part, dict):
                out.update(part)
        return out
    for key in ("oneOf", "anyOf"):
        if s.get(key):
            return _instance(schemas, s[key][0], path, markers, depth + 1)
    if "properties" in s or s.get("type") == "object":
        return {
            k: _instance(schemas, v, [*path, k], markers, depth + 1)
            for k, v in (s.get("properties") or {}).items()
        }
    if s.get("type") == "array":
        return [_instance(schemas, s.get("items", {}), path, markers, depth + 1)]
    if s.get("type") == "boolean":
        return True
    marker = f"<m{len(markers)}:{'.'.join(path)}>"
    named = bool(path) and (len(path) > 1 or path[-1] != "value")  # a value needs its parent
    markers[marker] = named and (
        s.get("format") == "password"
        or (bool(s.get("writeOnly")) and path[-1] not in WRITE_ONLY_NOT_SECRET)
    )
    return marker


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("SELECT id FROM okta.apps.tokens WHERE appId = '0oa1' AND tokenId = 'oar1';",
         "SELECT id FROM okta.apps.tokens WHERE appId = '0oa1' AND tokenId = 'oar1';"),
        ("SELECT 1 WHERE token = 'abc123';", "SELECT 1 WHERE token = '***';"),
        ("UPDATE okta.users.users SET data__password = 'hunter2' WHERE userId = '00u1';",
         "UPDATE okta.users.users SET data__password = '***' WHERE userId = '00u1';"),
        ("UPDATE okta.users.users SET data__password = lower('hunter2'), data__x = 'ok';",
         "UPDATE okta.users.users SET data__password = lower('***'), data__x = 'ok';"),
        ("EXEC okta.apps.x.y @appId = '0oa1', @client_secret='s3cr3t';",
         "EXEC okta.apps.x.y @appId = '0oa1', @client_secret='***';"),
        ("""EXEC okta.users.users.create_user @@json = '{"profile": {"login": "a@b.c"}, "credentials": {"password": {"value": "hunter2"}}}';""",
         """EXEC okta.users.users.create_user @@json = '{"profile": {"login": "a@b.c"}, "credentials": {"password": {"value": "***"}}}';"""),
        ("""@@json = '{"client_secret": "abc", "token_endpoint_auth_method": "client_secret_post"}'""",
         """@@json = '{"client_secret": "***", "token_endpoint_auth_method": "client_secret_post"}'"""),
        # JSON text in an INSERT literal: only the secrets, at any depth
        (f"INSERT INTO okta.users.users (data__profile, data__credentials) SELECT '{PROFILE}', '{USER_CREDENTIALS}';",
         f"INSERT INTO okta.users.users (data__profile, data__credentials) SELECT '{PROFILE}', "
         """'{"password": {"value": "***"}, "recovery_question": {"question": "q?", "answer": "***"}}';"""),
        ("""EXPLAIN INSERT INTO okta.apps.applications (data__name, data__credentials) VALUES ('oidc', '{"oauthClient": {"client_id": "cid", "client_secret": "s3"}}'), ('x', 'not-json');""",
         """EXPLAIN INSERT INTO okta.apps.applications (data__name, data__credentials) VALUES ('oidc', '{"oauthClient": {"client_id": "cid", "client_secret": "***"}}'), ('x', '***');"""),
        ("INSERT INTO okta.users.users (data__profile, data__password) SELECT '{}', 'hunter2';",
         "INSERT INTO okta.users.users (data__profile, data__password) SELECT '{}', '***';"),
        ("SELECT * FROM t WHERE password NOT IN ('a', 'b') AND x IN ('c');",
         "SELECT * FROM t WHERE password NOT IN ('***', '***') AND x IN ('c');"),
        # a typo in the JSON does not stop the masking; a {{ placeholder }} is kept
        ("""SELECT '{"password": {"value": "hunter2"}, "answer": "x"' AS broken;""",
         """SELECT '{"password": {"value": "***"}, "answer": "***"' AS broken;"""),
        ("INSERT INTO okta.users.users (data__credentials) SELECT '{{ creds }}';",
         "INSERT INTO okta.users.users (data__credentials) SELECT '{{ creds }}';"),
        ("SELECT 1; UPDATE t SET secret = 'a''b'; SELECT 'it''s' AS x;",
         "SELECT 1; UPDATE t SET secret = '***'; SELECT 'it''s' AS x;"),
        (".set apiToken hunter2-value", ".set apiToken ***"),
        (""".set body '{"client_secret": "s3", "label": "l"}'""",
         """.set body '{"client_secret": "***", "label": "l"}'"""),
        (".set appId 0oa1", ".set appId 0oa1"),
        (f"SELECT '{OKTA_API_TOKEN_SHAPE}' AS t;", "SELECT '***' AS t;"),
        ("SELECT 'Authorization: SSWS abcdefgh123' AS h;", "SELECT 'Authorization: SSWS ***' AS h;"),
        ("SELECT 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' AS jwt;", "SELECT '***' AS jwt;"),
        ("SELECT 'it''s' AS x WHERE secret = 'a''b';", "SELECT 'it''s' AS x WHERE secret = '***';"),
        # words that only look like credentials are kept
        ("SELECT 'Basic authentication' AS label WHERE credentialId = 'cid1';",
         "SELECT 'Basic authentication' AS label WHERE credentialId = 'cid1';"),
        ("SELECT 'Basic dXNlcjpwYXNz' AS h;", "SELECT 'Basic ***' AS h;"),
    ],
)  # fmt: skip
def test_mask_sql(text: str, want: str) -> None:
    assert mask_sql(text) == want


def test_mask_json_text_keeps_the_layout() -> None:
    text = '{\n  "login": "a",\n  "credentials": {"password": {"value": "pw"}}\n}'
    assert mask_json_text(text) == text.replace('"pw"', '"***"')
    assert (
        mask_json_text('[{"token": "t1"}, {"token": "t2"}]')
        == '[{"token": "***"}, {"token": "***"}]'
    )


def test_mask_url() -> None:
    assert mask_url("https://user:pa55@acme.okta.com/x?y=1") == "https://***@acme.okta.com/x?y=1"
    assert mask_url("https://tok3n@acme.okta.com") == "https://***@acme.okta.com"
    assert mask_url("https://acme.okta.com") == "https://acme.okta.com"


# --- EXPLAIN, --dry-run and the wire ------------------------------------------------------------


class _Capture(BaseHTTPRequestHandler):
    """Answers every request with ``{}`` and keeps what it received."""

    received: list[tuple[str, str, bytes]] = []

    def _answer(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        type(self).received.append((self.command, self.path, self.rfile.read(n)))
        body = b'{"id": "00u1", "status": "ACTIVE"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    received: list[tuple[str, str, bytes]] = []
    handler = type("Capture", (_Capture,), {"received": received})
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", received
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("sql", STATEMENTS)
def test_explain_masks_secrets_in_bodies(sql: str, server: Any) -> None:
    url, received = server
    conn = oktaql.connect(org_url=url, token="tok-explain-81")
    cur = conn.cursor()
    cur.execute("EXPLAIN " + sql)
    rows = cur.fetchall()
    shown = json.dumps(rows)
    assert [s for s in SECRETS if s in shown] == []
    bodies = [json.loads(r[6]) for r in rows if r[6]]
    assert len(bodies) == 1
    assert received == []  # EXPLAIN sent nothing
    if "users.users (" in sql:
        assert bodies[0] == {
            "profile": {"login": "ann@example.com", "email": "ann@example.com"},
            "credentials": {
                "password": {"value": "***"},
                "recovery_question": {"question": "q?", "answer": "***"},
            },
        }
    elif "applications" in sql:
        assert bodies[0]["credentials"] == {
            "oauthClient": {
                "client_id": "visible-client-id",
                "client_secret": "***",
                "token_endpoint_auth_method": "client_secret_post",
            }
        }
        assert bodies[0]["label"] == "Visible App"
    else:
        assert bodies[0] == {"oldPassword": {"value": "***"}, "newPassword": {"value": "***"}}
        assert "00u1visible" in rows[0][4]


def test_dry_run_masks_secrets_and_sends_nothing(server: Any) -> None:
    url, received = server
    visible = [
        ("ann@example.com", "q?"),
        ("visible-client-id", "client_secret_post"),
        ("00u1visible",),
    ]
    for sql, shown in zip(STATEMENTS, visible):
        for fmt in ("json", "table"):
            res = CliRunner().invoke(main, ["exec", "--org-url", url, "--dry-run", "-o", fmt, sql])
            assert res.exit_code == 0, res.output
            out = res.stdout + res.stderr
            assert [s for s in SECRETS if s in out] == [], sql
            assert all(v in out for v in shown), out
    assert received == []


def test_masking_changes_what_is_shown_never_what_is_sent(server: Any) -> None:
    """The real write carries the secrets to the server (EXPLAIN masked a copy), and no log
    record at any verbosity holds one."""
    url, received = server
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(logging.Formatter("%(name)s %(message)s").format(record))

    root = logging.getLogger()
    names = ["", "httpx", "httpcore", "oktaql"]
    saved = [(logging.getLogger(n), logging.getLogger(n).level) for n in names]
    handler = Keep(level=1)
    root.addHandler(handler)
    for lg, _ in saved:
        lg.setLevel(1)
    try:
        conn = oktaql.connect(org_url=url, token="tok-wire-81")
        for sql in STATEMENTS:
            cur = conn.cursor()
            cur.execute("EXPLAIN " + sql)
            cur.fetchall()
            cur.execute(sql)
    finally:
        root.removeHandler(handler)
        for lg, level in saved:
            lg.setLevel(level)
    assert [(m, p.split("?")[0]) for m, p, _ in received] == [
        ("POST", "/api/v1/users"),
        ("POST", "/api/v1/apps"),
        ("POST", "/api/v1/users/00u1visible/credentials/change_password"),
    ]
    sent = [json.loads(b) for _, _, b in received]
    assert sent[0]["credentials"]["password"]["value"] == PASSWORD
    assert sent[0]["credentials"]["recovery_question"]["answer"] == ANSWER
    assert sent[1]["credentials"]["oauthClient"]["client_secret"] == CLIENT_SECRET
    assert sent[2] == {"oldPassword": {"value": OLD_PW}, "newPassword": {"value": NEW_PW}}
    assert any(r.startswith("httpx") for r in records)  # the capture saw the requests
    assert [r for r in records if any(s in r for s in SECRETS)] == []


# --- errors ---------------------------------------------------------------------------------


def test_mask_error_hides_what_the_statement_gave_a_secret() -> None:
    sql = (
        "UPDATE okta.users.users SET data__password = concat('S3cret!-err', userId), "
        """data__credentials = '{"recovery_question": {"answer": "{{ ans }}"}}' WHERE userId = 'u1'"""
    )
    err = oktaql.PlanError(
        "okta.users.users: data__password must be a constant value, got "
        "\"CONCAT('S3cret!-err', COALESCE(userId, ''))\"; answer was an-answer-81 "
        "and apiToken named-secret-81"
    )
    masked = mask_error(err, sql, {"ans": "an-answer-81", "apiToken": "named-secret-81", "x": "u1"})
    assert masked is err and str(err) == (
        "okta.users.users: data__password must be a constant value, got "
        "\"CONCAT('***', COALESCE(userId, ''))\"; answer was *** and apiToken ***"
    )

    api = oktaql.APIError(
        "HTTP 400 E0000001: Api validation failed: password S3cret!-err",
        error_summary="password S3cret!-err is too short",
        body={"errorCauses": [{"errorSummary": "value S3cret!-err"}], "password": "echo"},
    )
    mask_error(api, sql)
    assert str(api) == "HTTP 400 E0000001: Api validation failed: password ***"
    assert api.error_summary == "password *** is too short"
    assert api.body == {"errorCauses": [{"errorSummary": "value ***"}], "password": "***"}

    syntax = oktaql.SQLSyntaxError(
        "unexpected token", "SELECT 1 WHERE secret = 'S3cret!-err' FRM", 1, 40
    )
    mask_error(syntax, syntax.sql)
    assert "S3cret!-err" not in str(syntax) and syntax.sql == "SELECT 1 WHERE secret = '***' FRM"


def test_errors_printed_by_the_cli_never_repeat_a_secret(server: Any) -> None:
    url, received = server
    for sql in [
        "UPDATE okta.users.users SET data__password = concat('S3cret!-cli', userId) WHERE userId = 'u1'",
        "SELECT * FROM okta.users.users WHERE userId = 'u1' AND data__password = 'S3cret!-cli' AND",
        """EXEC okta.users.users.change_password @userId = 'u1', @@json = '{"oldPassword": {"value": "S3cret!-cli"}}' @x""",
    ]:
        res = CliRunner().invoke(main, ["exec", "--org-url", url, "--dry-run", sql])
        assert res.exit_code == 1
        assert "S3cret!-cli" not in res.stdout + res.stderr, res.stderr
    assert received == []


# --- property: no generated secret survives, whatever the nesting and quoting ------------------

SECRET_KEYS = ["password", "client_secret", "answer", "passCode", "privateKey", "apiToken", "token"]
PLAIN_KEYS = ["profile", "credentials", "settings", "oauthClient", "login", "label", "items"]


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[Any, list[str], list[str]]:
    """A JSON body with distinct secret strings under secret keys at any depth, and distinct
    plain strings under plain keys outside any secret."""
    secrets: list[str] = []
    plains: list[str] = []
    tail = st.text(alphabet="ab'\"\\/{}:,é \n", max_size=6)

    def node(depth: int) -> Any:
        kind = draw(st.sampled_from(["obj", "obj", "list", "plain"] if depth < 5 else ["plain"]))
        if kind == "plain":
            plains.append(f"P{len(plains)}x{draw(tail)}")
            return plains[-1]
        if kind == "list":
            return [node(depth + 1) for _ in range(draw(st.integers(1, 3)))]
        out: dict[str, Any] = {}
        keys = draw(
            st.lists(st.sampled_from(SECRET_KEYS + PLAIN_KEYS), min_size=1, max_size=3, unique=True)
        )
        for key in keys:
            if key in SECRET_KEYS:
                secrets.append(f"S{len(secrets)}x{draw(tail)}")
                out[key] = secrets[-1]
            else:
                out[key] = node(depth + 1)
        return out

    return {"credentials": node(0)}, secrets, plains


def _forms(value: str) -> set[str]:
    return {value, json.dumps(value)[1:-1], json.dumps(value)[1:-1].replace("'", "''")}


@given(_bodies(), st.sampled_from(["insert", "exec", "update", "set", "json"]))
@settings(max_examples=300, deadline=None)
def test_no_generated_secret_survives(case: tuple[Any, list[str], list[str]], form: str) -> None:
    body, secrets, plains = case
    masked = json.dumps(mask_json(body))
    assert [s for s in secrets if json.dumps(s)[1:-1] in masked] == []
    assert [p for p in plains if json.dumps(p)[1:-1] not in masked] == []
    text = json.dumps(body).replace("'", "''")
    sql = {
        "insert": f"INSERT INTO okta.users.users (data__profile, data__credentials) SELECT '{{}}', '{text}';",
        "exec": f"EXEC okta.users.users.create_user @activate = 'true', @@json = '{text}';",
        "update": f"UPDATE okta.users.users SET data__credentials = '{text}' WHERE userId = 'u';",
        "set": f".set body {json.dumps(body)}",
        "json": text,
    }[form]
    out = mask_sql(sql) if form != "json" else mask_json_text(json.dumps(body))
    leaked = [s for s in secrets if any(f in out for f in _forms(s))]
    assert leaked == [], out
    kept = [p for p in plains if not any(f in out for f in _forms(p))]
    assert kept == [], out


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_masking_never_fails_on_any_text(text: str) -> None:
    mask_sql(text)
    mask_json_text(text)
    mask_sql("INSERT INTO t (password) SELECT '" + text)
    mask_sql(".set password " + text)
