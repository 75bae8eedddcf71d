"""Property-based fuzzing: hostile SQL, values, responses and requests never crash anything.

* the engine, fed mutated seed-page statements, random template values, random ``--var``
  values and random API answers (an ``httpx.MockTransport`` answering garbage, odd statuses,
  odd ``Link`` and rate-limit headers), raises nothing but ``oktaql.Error`` and never
  ``oktaql.InternalError`` (which is how a bug of ours surfaces through the DB-API);
* the emulator, fed random paths, queries, methods and bodies, never answers 500 (no faults
  are injected here) and answers errors in Okta's shape.

Fixed budgets (``max_examples``, ``deadline``, ``derandomize=True``) keep this deterministic
and under ~30 s. A crash found in code owned elsewhere is pinned as ``xfail(strict=True)``
with its minimal input instead of being fixed here.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any, cast
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

import oktaql
from oktaql._http import RetryPolicy
from oktaql.emulator import EmulatorConfig, start_in_thread

ORG = "https://acme.okta.com"
TOKEN = "fuzz-token-123456"
QUICK = RetryPolicy(max_retries=2, backoff_base=0.0005, backoff_max=0.001, max_rate_limit_wait=0.05)

FUZZ = settings(
    max_examples=200,
    deadline=3000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# The seed page's statements (okta.apps.tokens, with the path parameters it dropped) and the
# README's, as written there.
SEEDS = [
    "SELECT\nid,\n_embedded,\n_links,\nclientId,\ncreated,\nexpiresAt,\nissuer,\nlastUpdated,\n"
    "scopes,\nstatus,\nuserId\nFROM okta.apps.tokens\nWHERE subdomain = 'acme' -- required\n"
    "AND appId = '0oa1abcdEFGH2345ijk6'\nAND expand = 'scope'\nAND after = 'x'\nAND limit = '20';",
    "SELECT id, status, userId FROM okta.apps.tokens WHERE subdomain = 'acme' "
    "AND appId = '0oa1abcdEFGH2345ijk6' AND tokenId = 'oar1abcdEFGH2345ijk6';",
    "DELETE FROM okta.apps.tokens WHERE subdomain = 'acme' AND appId = '0oa1abcdEFGH2345ijk6' "
    "AND tokenId = 'oar1abcdEFGH2345ijk6';",
    "DELETE FROM okta.apps.tokens\nWHERE subdomain = '{{ subdomain }}' --required;",
    "SELECT a.label, t.id, t.created, u.profile->>'$.login' AS login FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id JOIN okta.users.users u ON u.id = t.userId "
    "WHERE t.created < now() - INTERVAL 90 DAY;",
    "SELECT id, userId FROM okta.apps.tokens WHERE appId IN "
    "(SELECT id FROM okta.apps.applications WHERE signOnMode = 'OPENID_CONNECT');",
    "SELECT a.label, count(t.id) AS refresh_tokens FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id GROUP BY a.label ORDER BY refresh_tokens DESC",
    "INSERT INTO okta.apps.applications (data__label, data__signOnMode) "
    "SELECT 'x', 'BOOKMARK' RETURNING id",
    "EXEC okta.apps.applications.deactivate_application @appId = '0oa1', @@json = '{\"a\": 1}'",
    "UPDATE okta.users.users SET data__profile = '{\"login\": \"a@b\"}' WHERE id = '00u1'",
    "SHOW RESOURCES IN okta.apps LIKE '%tok%'",
    "DESCRIBE EXTENDED okta.apps.tokens",
    "EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = {{ app }}",
    "SELECT id FROM okta.apps.applications WHERE status = 'ACTIVE' LIMIT 3",
]
TOKENS = [
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "JOIN", "ON", "IN", "(", ")", "'", '"', ",",
    ";", "--", "/*", "*/", "{{", "}}", "{%", "%}", "{{ app }}", "NULL", "LIMIT", "-1",
    "1e999", "@", "@@json", "=", "*", "okta.apps.tokens", "okta.apps", "okta", "EXPLAIN",
    "RETURNING", "INTERVAL", "appId", "tokenId", "subdomain", "limit", "'..'", "'/'",
    "\x00", "\u00e9", "\U0001f600", "\\", "\n", "$", "?", ":x", "%s", "UNION SELECT 1",
]  # fmt: skip
OPS = ["delete", "insert", "swap", "token", "dup", "cut"] + ["literal"] * 4 + ["resource"] * 2
VALUES = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "..", "../users", "a/b", "%2F", "1e999", "-1", "0", "true", "null",
                     "{\"a\": [1, {}]}", "[1,", "2024-13-45", "\u00e9\u00e8", "\x00", "{{ x }}"]),
)  # fmt: skip
RESOURCES = [
    "okta.apps.tokens", "okta.apps.applications", "okta.users.users", "okta.groups.groups",
    "okta.apps.users", "okta.apps.groups", "okta.logs.logs", "okta.policies.policies",
    "okta.authorizationservers.scopes", "okta.idps.idps", "okta.nope.nope", "okta.apps",
]  # fmt: skip
CHARS = st.one_of(
    st.sampled_from(list("'\"(){}[];,.-*/%@$#\\\n\t =<>|&^~`!")), st.characters(codec="utf-8")
)


@st.composite
def mutated_sql(draw: st.DrawFn) -> str:
    sql = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(OPS))
        i = draw(st.integers(0, len(sql)))
        if op == "delete" and sql:
            j = min(len(sql), i + draw(st.integers(1, 4)))
            sql = sql[:i] + sql[j:]
        elif op == "insert":
            sql = sql[:i] + draw(CHARS) + sql[i:]
        elif op == "swap" and len(sql) > 1:
            i = min(i, len(sql) - 2)
            sql = sql[:i] + sql[i + 1] + sql[i] + sql[i + 2 :]
        elif op == "token":
            sql = sql[:i] + " " + draw(st.sampled_from(TOKENS)) + " " + sql[i:]
        elif op == "dup":
            j = min(len(sql), i + draw(st.integers(1, 30)))
            sql = sql[:j] + sql[i:j] + sql[j:]
        elif op == "cut":
            sql = sql[:i]
        elif op == "literal":  # a value pasted from a log into a quoted string
            spans = [m.span(1) for m in re.finditer(r"'([^']*)'", sql)]
            if spans:
                a, b = draw(st.sampled_from(spans))
                sql = sql[:a] + draw(VALUES).replace("'", "''") + sql[b:]
        elif op == "resource":
            sql = re.sub(
                r"okta\.\w+\.\w+", lambda _: draw(st.sampled_from(RESOURCES)), sql, count=1
            )
    return sql


# --------------------------------------------------------------------------- a fake org


def _obj(n: int) -> dict[str, Any]:
    return {
        "id": f"0oa{n}",
        "label": f"App {n}",
        "status": "ACTIVE",
        "signOnMode": "OPENID_CONNECT",
        "created": "2024-01-01T00:00:00.000Z",
        "userId": f"00u{n}",
        "profile": {"login": f"u{n}@example.com"},
        "scopes": ["offline_access"],
        "_links": {"self": {"href": f"{ORG}/x/{n}"}},
    }


def fake_okta(request: httpx.Request) -> httpx.Response:
    """Answers every call plausibly: lists of two, single objects, writes accepted."""
    last = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    if request.method == "DELETE":
        return httpx.Response(204)
    if request.method == "GET" and last in ("apps", "tokens", "users", "groups"):
        return httpx.Response(200, json=[_obj(1), _obj(2)])
    return httpx.Response(200, json=_obj(3))


def fresh(transport: httpx.BaseTransport, concurrency: int = 8) -> oktaql.Connection:
    return oktaql.connect(
        org_url=ORG, token=TOKEN, concurrency=concurrency, transport=transport, retry=QUICK
    )


def survive(conn: oktaql.Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
    """Run ``sql``: a result, or an oktaql.Error that is not a bug (InternalError)."""
    cur = conn.cursor()
    try:
        cur.execute(sql, params)
        rows = cur.fetchall()
    except oktaql.InternalError:
        raise
    except oktaql.Error as exc:
        event(f"refused: {type(exc).__name__}")
        return exc
    event("ran")
    return rows


@pytest.fixture(autouse=True)
def _no_user_state(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("OKTAQL_REGISTRY_URL", raising=False)


# --------------------------------------------------------------------------- SQL, values


@pytest.mark.parametrize("sql", ["DELETE F", "DELETE okta.apps.tokens WHERE appId = 'a'"])
def test_delete_without_from(sql: str) -> None:
    with (
        fresh(httpx.MockTransport(fake_okta)) as conn,
        pytest.raises(oktaql.ProgrammingError) as info,
    ):
        conn.cursor().execute(sql)
    assert "DELETE FROM <resource> WHERE" in str(info.value)


# Crashes found by the fuzzer in code owned elsewhere: kept out of the random runs and pinned,
# each by a strict xfail below with its minimal input.
KNOWN_BUGS = {
    "delete-without-from": re.compile(r"^\s*DELETE\s+(?!FROM\b)", re.IGNORECASE),
}


def known_bug(sql: str) -> bool:
    return any(p.search(sql) for p in KNOWN_BUGS.values())


@settings(FUZZ, max_examples=400)
@given(sql=mutated_sql(), app=st.text(max_size=12))
def test_mutated_statements_raise_only_oktaql_errors(sql: str, app: str) -> None:
    assume(not known_bug(sql))
    with fresh(httpx.MockTransport(fake_okta)) as conn:
        survive(conn, sql, {"app": app, "subdomain": "acme"})


@FUZZ
@given(value=st.text(max_size=40), quoted=st.booleans())
def test_template_values_reach_the_api_as_one_exact_segment(value: str, quoted: bool) -> None:
    place = "'{{ v }}'" if quoted else "{{ v }}"
    with fresh(httpx.MockTransport(fake_okta)) as conn:
        out = survive(
            conn, f"EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = {place}", {"v": value}
        )
    if isinstance(out, oktaql.Error):
        return  # refused, with an oktaql error: fine
    url = out[0][4]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == (
        "https",
        "acme.okta.com",
        "limit=200",  # the page size oktaql asks for, never a part of the value
        "",
    )
    segs = parts.path.split("/")
    assert segs[:4] == ["", "api", "v1", "apps"] and segs[5:] == ["tokens"]
    assert unquote(segs[4]) == value


@FUZZ
@given(
    params=st.dictionaries(
        st.sampled_from(["app", "tok", "lim", "sub", "x", ""]),
        st.one_of(
            st.text(max_size=20),
            st.integers(),
            st.floats(),
            st.booleans(),
            st.none(),
            st.lists(st.integers(), max_size=3),
        ),
        max_size=4,
    ),
    template=st.sampled_from(
        [
            "SELECT id FROM okta.apps.tokens WHERE appId = {{ app }} AND limit = {{ lim }}",
            "SELECT id FROM okta.apps.tokens WHERE appId = '{{ app }}' AND tokenId = '{{ tok }}'",
            "DELETE FROM okta.apps.tokens WHERE appId = {{ app }} AND tokenId = {{ tok }}",
            "SELECT id FROM okta.apps.tokens WHERE subdomain = {{ sub }} AND appId = 'a'",
            "SELECT {{ x }}, '{{ x }}' -- {{ x }}",
            "EXEC okta.apps.applications.activate_application @appId = {{ app }}",
            'INSERT INTO okta.apps.applications (data__label, data__signOnMode) SELECT {{ x }}, "{{ x }}"',
            "SELECT id FROM okta.apps.tokens WHERE appId = '{{ app }' /* {{ x }} */",
            "{% for a in x %}{{ a }}{% endfor %}",
        ]
    ),
)
def test_parameters_and_templates_raise_only_oktaql_errors(
    params: dict[str, Any], template: str
) -> None:
    with fresh(httpx.MockTransport(fake_okta)) as conn:
        survive(conn, template, params)
        survive(conn, "EXPLAIN " + template, params)


@settings(FUZZ, max_examples=15)
@given(value=st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=25))
def test_cli_var_values_never_crash(value: str) -> None:
    from oktaql.cli import main

    res = CliRunner().invoke(
        main,
        [
            "exec", "--dry-run", "--org-url", ORG, "--var", f"app={value}",
            "SELECT id FROM okta.apps.tokens WHERE appId = '{{ app }}'",
        ],
    )  # fmt: skip
    assert res.exit_code in (0, 1), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output


# --------------------------------------------------------------------------- hostile responses

HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=24)
NEXT_LINKS = st.one_of(
    st.sampled_from(
        [
            "/api/v1/apps?after=1",
            f"{ORG}/api/v1/apps?after=2",
            f"{ORG}/api/v1/apps/0oa1/tokens?after=3",
            "https://evil.example/api/v1/apps?after=4",
            "http://acme.okta.com/api/v1/apps?after=5",
            "http://[::1",
            "javascript:alert(1)",
            f"{ORG}:99999/x",
            "",
            "//evil.example/x",
            "https://user:pw@acme.okta.com/x",
        ]
    ),
    HEADER_TEXT,
)
LINK_HEADERS = st.one_of(
    NEXT_LINKS.map(lambda u: f'<{u}>; rel="next"'),
    NEXT_LINKS.map(lambda u: f'<{ORG}/api/v1/apps>; rel="self", <{u}>; rel=next'),
    HEADER_TEXT,
    st.just('<>; rel="next"'),
    st.just(";;;,,,<"),
)
NUMBERS = st.one_of(
    st.integers(-5, 5).map(str),
    st.integers(-(10**12), 10**12).map(str),
    st.just("1e308"),
    st.just("nan"),
    st.just("inf"),
    HEADER_TEXT,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "label",
                    "status",
                    "created",
                    "userId",
                    "_links",
                    "errorCode",
                    "errorSummary",
                    "errorCauses",
                    "profile",
                    "scopes",
                    "x",
                    "",
                ]
            ),
            kids,
            max_size=5,
        )
    ),  # fmt: skip
    max_leaves=12,
)


@st.composite
def responses(draw: st.DrawFn) -> tuple[int, bytes, dict[str, str]]:
    status = draw(
        st.sampled_from([200] * 8 + [201, 202, 204, 301, 302, 304, 307, 400, 401, 403, 404,
                                     405, 409, 418, 429, 500, 502, 503, 504, 599])
    )  # fmt: skip
    body = draw(
        st.one_of(
            JSON_VALUES.map(lambda v: json.dumps(v).encode()),
            st.lists(st.builds(_obj, st.integers(0, 9)), max_size=3).map(
                lambda v: json.dumps(v).encode()
            ),
            st.binary(max_size=40),
            st.just(b""),
            st.just(b"[]"),
            st.just(b'{"errorCode": "E0000047", "errorSummary": "rate", "errorCauses": 3}'),
            st.just(b"[" * 3000),
        )
    )
    headers: dict[str, str] = {}
    for name, strategy in [
        ("Link", LINK_HEADERS),
        ("X-Rate-Limit-Limit", NUMBERS),
        ("X-Rate-Limit-Remaining", NUMBERS),
        ("X-Rate-Limit-Reset", NUMBERS),
        ("Retry-After", NUMBERS),
        ("Date", st.one_of(HEADER_TEXT, st.just("Thu, 01 Jan 1970 00:00:00 GMT"))),
        (
            "Content-Type",
            st.sampled_from(
                ["application/json", "text/html", "", "application/json; charset=bogus"]
            ),
        ),
        ("X-Okta-Request-Id", HEADER_TEXT),
        ("Location", HEADER_TEXT),
        ("Content-Encoding", st.sampled_from(["gzip", "br", "identity"])),
    ]:
        if draw(st.booleans()):
            headers[name] = draw(strategy)
    return status, body, headers


class Replay:
    """Answers from a drawn list, then a plain empty page; thread-safe."""

    def __init__(self, answers: list[Any]):
        self.answers = list(answers)
        self.lock = threading.Lock()
        self.count = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.count += 1
            answer = self.answers.pop(0) if self.answers else httpx.Response(200, json=[])
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        status, body, headers = answer  # decoded (Content-Encoding) only when the client reads
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


FAILURES = st.sampled_from(
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.ReadError("reset"),
    ]
)
STATEMENTS = [
    "SELECT id, status, created FROM okta.apps.tokens WHERE appId = 'a'",
    "SELECT a.label, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id",
    "SELECT id FROM okta.apps.applications LIMIT 2",
    "DELETE FROM okta.apps.tokens WHERE appId = 'a' AND tokenId IN ('t1', 't2')",
    "INSERT INTO okta.apps.applications (data__label, data__signOnMode) SELECT 'x', 'BOOKMARK' RETURNING id, label",
    "EXEC okta.apps.applications.deactivate_application @appId = 'a'",
    "SELECT * FROM okta.users.users",
]


@FUZZ
@given(
    answers=st.lists(st.one_of(responses(), FAILURES), min_size=1, max_size=8),
    sql=st.sampled_from(STATEMENTS),
)
def test_hostile_responses_raise_only_oktaql_errors(answers: list[Any], sql: str) -> None:
    replay = Replay(answers)
    with fresh(httpx.MockTransport(replay), concurrency=1) as conn:
        survive(conn, sql)
    assert replay.count <= len(answers) + 40  # no runaway paging or retrying


# --------------------------------------------------------------------------- the emulator

# (route, methods it serves, pool of {a}, pool of {b})
ROUTES = [
    ("/api/v1/apps", "GET POST", None, None),
    ("/api/v1/apps/{a}", "GET PUT DELETE", "apps", None),
    ("/api/v1/apps/{a}/lifecycle/activate", "POST", "apps", None),
    ("/api/v1/apps/{a}/lifecycle/deactivate", "POST", "apps", None),
    ("/api/v1/apps/{a}/tokens", "GET DELETE", "oidc", None),
    ("/api/v1/apps/{a}/tokens/{b}", "GET DELETE", "oidc", "tokens"),
    ("/api/v1/apps/{a}/users", "GET", "apps", None),
    ("/api/v1/apps/{a}/users/{b}", "GET", "apps", "users"),
    ("/api/v1/apps/{a}/groups", "GET", "apps", None),
    ("/api/v1/apps/{a}/groups/{b}", "GET", "apps", "groups"),
    ("/oauth2/v1/clients/{a}", "GET", "oidc", None),
    ("/api/v1/users", "GET", None, None),
    ("/api/v1/users/{a}", "GET", "users", None),
    ("/api/v1/users/{a}/groups", "GET", "users", None),
    ("/api/v1/groups", "GET", None, None),
    ("/api/v1/groups/{a}", "GET", "groups", None),
    ("/api/v1/groups/{a}/users", "GET", "groups", None),
    ("/api/v1/groups/{a}/apps", "GET", "groups", None),
    ("/api/v1/authorizationServers", "GET", None, None),
    ("/api/v1/authorizationServers/{a}", "GET", "servers", None),
    ("/api/v1/authorizationServers/{a}/scopes", "GET", "servers", None),
    ("/api/v1/authorizationServers/{a}/scopes/{b}", "GET", "servers", "scopes"),
    ("/api/v1/{a}", "GET", None, None),
    ("/api/v1/apps/{a}/{b}", "GET", "apps", None),
]
FILTERS = st.one_of(
    st.sampled_from(
        [
            'status eq "ACTIVE"', "status eq ACTIVE", 'profile.login sw "a"', "id pr",
            'not(status eq "ACTIVE")', '(status eq "A" or status eq "B") and id pr',
            'user.id eq "00u1"', 'group.id eq "00g1"', "created gt 2024-01-01T00:00:00.000Z",
            'lastUpdated lt "2030-01-01"', "((((", 'status eq "', "and or not", "eq eq eq",
            'profile.x.y.z co "é"', "id in (1,2)", 'status eq "ACTIVE" and',
        ]
    ),
    st.text(max_size=30),
)  # fmt: skip
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["limit", "after", "filter", "search", "q", "expand", "activate", "x"]),
        st.one_of(FILTERS, st.integers(-5, 10**6).map(str), st.sampled_from(["scope", "true", ""])),
    ),
    max_size=4,
)
BODIES = st.one_of(
    st.none(),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=30),
    st.fixed_dictionaries(
        {},
        optional={
            "label": st.one_of(st.text(max_size=10), st.integers(), st.none()),
            "signOnMode": st.sampled_from(["OPENID_CONNECT", "BOOKMARK", "SAML_2_0", "x", ""]),
            "name": st.text(max_size=8),
            "settings": JSON_VALUES,
            "credentials": JSON_VALUES,
            "profile": JSON_VALUES,
            "status": st.text(max_size=8),
            "id": st.text(max_size=8),
        },
    ).map(lambda v: json.dumps(v).encode()),
)
# "\n" and "\r" are left out of path values: see the xfail below
SEGMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), min_size=0, max_size=12
)


@pytest.fixture(scope="module")
def emulator_client() -> Iterator[tuple[httpx.Client, Any]]:
    with start_in_thread(EmulatorConfig(seed=5, users=6, groups=3)) as emu:
        with httpx.Client(base_url=emu.url) as client:
            yield client, emu.org


def _pools(org: Any) -> dict[str | None, list[str]]:
    oidc = [a["id"] for a in org.oidc_apps[:3]]
    servers = [s["id"] for s in org.auth_servers[:2]]
    return {
        None: ["x"],
        "apps": [a["id"] for a in org.apps[:4]],
        "oidc": oidc,
        "tokens": [t for a in oidc for t in org.token_ids(a)[:2]],
        "users": [u["id"] for u in org.users[:3]] + [org.users[0]["profile"]["login"], "me"],
        "groups": [g["id"] for g in org.groups[:3]],
        "servers": servers,
        "scopes": [sc["id"] for s in servers for sc in org.scopes(s)[:2]],
    }


@settings(FUZZ, max_examples=400)
@given(data=st.data())
def test_emulator_never_answers_500_and_errors_are_okta_shaped(
    emulator_client: tuple[httpx.Client, Any], data: st.DataObject
) -> None:
    client, org = emulator_client
    pools = _pools(org)
    route, methods, pool_a, pool_b = data.draw(st.sampled_from(ROUTES))

    def value(pool: str | None) -> str:
        real = st.sampled_from(pools[pool] or ["x"])
        odd = st.one_of(SEGMENT, st.sampled_from(["..", ".", "me", "%2F", "0oa" + "A" * 300]))
        return quote(data.draw(st.one_of(real, real, real, odd)), safe="")

    path = route.format(a=value(pool_a), b=value(pool_b))
    allowed = st.sampled_from(methods.split())
    anything = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
    method = data.draw(st.one_of(allowed, allowed, allowed, allowed, anything))
    query = data.draw(QUERY)
    body = data.draw(BODIES) if method in ("POST", "PUT", "PATCH") else None
    auth = data.draw(st.sampled_from(["SSWS emulator-token"] * 12 + ["SSWS nope", "Bearer x", ""]))
    headers = {"Authorization": auth} if auth else {}
    if body is not None:
        headers["Content-Type"] = data.draw(st.sampled_from(["application/json", "text/plain"]))
    resp = client.request(method, path, params=cast(Any, query), content=body, headers=headers)
    event(f"HTTP {resp.status_code}")
    assert resp.status_code != 500, (method, path, query, body, resp.text)
    if resp.status_code >= 400 and method != "HEAD":
        err = resp.json()
        assert set(err) >= {"errorCode", "errorSummary", "errorCauses"}, resp.text
    for name in ("X-Okta-Request-Id", "X-Rate-Limit-Limit", "Date"):
        assert resp.headers.get(name), (name, method, path)


def test_emulator_path_with_a_line_break_gets_an_okta_404(
    emulator_client: tuple[httpx.Client, Any],
) -> None:
    client, _ = emulator_client
    resp = client.get("/api/v1/apps/a%0Ab", headers={"Authorization": "SSWS emulator-token"})
    assert resp.status_code == 404
    assert resp.json()["errorCode"] == "E0000007"


# --------------------------------------------------------------------------- values stay values

SKELETONS = [
    "SELECT id FROM okta.apps.tokens WHERE appId = '{{ a }}' AND tokenId = {{ b }}",
    "SELECT 'a_b' LIKE 'a\\_b' ESCAPE '\\' AS m, '{{ a }}' AS v, {{ b }} AS w",
    "EXEC okta.apps.applications.activate_application @appId = {{ a }}, "
    '@@json = \'{"x": "{{ b }}"}\'',
    "SELECT \"{{ a }}\", `{{ b }}`, [{{ a }}] FROM t -- {{ a }}\nWHERE c = '{{ b }}' /* {{ b }} */",
    "SELECT {% if flag %}'{{ a }}'{% else %}{{ b }}{% endif %}"
    "{% for x in items %}, '{{ x }}', {{ x }}{% endfor %}",
    "SELECT id FROM okta.users.users WHERE search = 'profile.login eq \"{{ a }}\"' AND x={{ b }}",
    "EXPLAIN DELETE FROM okta.apps.tokens WHERE appId = {{ a }} AND tokenId='{{ b }}'",
    "SHOW RESOURCES IN okta.apps LIKE '{{ a }}%'; SELECT 1 -{{ b }}",
    "SELECT {{ a }}{{ b }}, x'00', [c] FROM t WHERE d = {{a}}-{{b}}",
]
MUTATION_CHARS = st.sampled_from(list("'\"\\`[]-/*;\n (){}%#:?$@x0.|"))
VALUE_PIECES = st.sampled_from(
    ["'", "''", '"', "\\", "\\'", "--", "/*", "*/", "\n", ";", "{{ a }}", "}}", "{%", "%}", "`",
     "]", " OR 1=1 ", "read_text('/etc/hostname')", "\x00", "\ufdd0", "-", "1", "oktaql1_0_"]
)  # fmt: skip
FUZZ_VALUES = st.one_of(
    st.text(max_size=12),
    st.lists(st.one_of(VALUE_PIECES, st.text(max_size=3)), max_size=5).map("".join),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.sampled_from(["12", "-3", "1.5", "true", "NULL", "-0", "007"]),
)


def _neutral(value: Any) -> Any:
    """A harmless value rendering to a literal of the same kind (README: numbers and booleans
    stay as they are, anything else becomes a quoted string; a list is iterated by loops)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return [_neutral(v) for v in value]
    text = repr(value) if isinstance(value, int | float) else str(value)
    if re.fullmatch(r"-?\d+(\.\d+)?", text) or (isinstance(value, int | float)):
        return -7 if text.startswith("-") else 7
    return value if text.lower() in ("true", "false", "null") else "x"


def _sql_tokens(sql: str) -> list[tuple[str, str, list[str]]] | None:
    """(type, text, comments) of each token as the parser's dialect reads it; None: no tokens."""
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    from oktaql.parser import READ_DIALECT

    dialect = Dialect.get_or_raise(READ_DIALECT)

    class Lexer(dialect.tokenizer_class):  # type: ignore[name-defined,misc]
        COMMANDS: set[Any] = set()  # token by token after EXPLAIN/SHOW, as oktaql parses

    try:
        tokens = Lexer(dialect=dialect).tokenize(sql)
    except TokenError:
        return None
    return [(t.token_type.name, t.text, t.comments) for t in tokens]


LITERAL_TOKENS = {"STRING", "NUMBER", "IDENTIFIER", "TRUE", "FALSE", "NULL"}


def _assert_same_statement(real: str, neutral: str) -> None:
    ours, theirs = _sql_tokens(real), _sql_tokens(neutral)
    assert ours is not None, (real, neutral)
    assert theirs is not None, (real, neutral)
    assert [t[0] for t in ours] == [t[0] for t in theirs], (real, neutral)
    for (kind, text, comments), (_, text2, comments2) in zip(ours, theirs, strict=True):
        assert comments == comments2, (real, neutral)
        if text != text2:  # only a literal may differ: the value's own
            assert kind in LITERAL_TOKENS, (kind, text, text2, real)


@st.composite
def mutated_template(draw: st.DrawFn) -> str:
    sql = draw(st.sampled_from(SKELETONS))
    for _ in range(draw(st.integers(0, 3))):
        i = draw(st.integers(0, len(sql)))
        if draw(st.booleans()):
            sql = sql[:i] + draw(MUTATION_CHARS) + sql[i:]
        else:
            sql = sql[:i] + sql[i + 1 :]
    return sql


@settings(FUZZ, max_examples=400)
@given(
    sql=mutated_template(),
    a=FUZZ_VALUES,
    b=FUZZ_VALUES,
    flag=st.booleans(),
    items=st.lists(FUZZ_VALUES, max_size=3),
)
def test_no_value_changes_the_token_stream_outside_its_literal(
    sql: str, a: Any, b: Any, flag: bool, items: list[Any]
) -> None:
    from oktaql.templates import render

    values = {"a": a, "b": b, "flag": flag, "items": items}
    try:
        real = render(sql, values)
    except oktaql.Error as exc:
        assert not isinstance(exc, oktaql.InternalError)
        event(f"refused: {type(exc).__name__}")
        return
    neutral = render(sql, {k: _neutral(v) for k, v in values.items()})
    if _sql_tokens(neutral) is None:
        assert _sql_tokens(real) is None, (sql, real)  # a value never mends a broken statement
        return
    event("rendered")
    _assert_same_statement(real, neutral)


@FUZZ
@given(
    values=st.lists(FUZZ_VALUES, min_size=2, max_size=2),
    sql=st.sampled_from(
        [
            "SELECT ?, '?', \"?\" -- ?\n, ? /* ? */",
            "SELECT :a, ':a', 1::INTEGER, {'k':v}, :b FROM t",
            "EXEC okta.apps.applications.activate_application @appId = ?, @x=?",
            "SELECT '{{ t }}', ? , ?",
        ]
    ),
)
def test_db_api_parameters_never_change_the_token_stream(values: list[Any], sql: str) -> None:
    from oktaql.templates import PARAMETERS, render

    def neutral(v: Any) -> Any:  # DB-API binds by Python type: a str is always a string
        return "x" if isinstance(v, str) else _neutral(v)

    if ":a" in sql:
        params: Any = {"a": values[0], "b": values[1]}
        neutral_params: Any = {k: neutral(v) for k, v in params.items()}
    else:
        params, neutral_params = values, [neutral(v) for v in values]
    try:
        real = render(sql, {"t": "x'", PARAMETERS: params})
    except oktaql.Error as exc:
        assert not isinstance(exc, oktaql.InternalError)
        return
    _assert_same_statement(real, render(sql, {"t": "x'", PARAMETERS: neutral_params}))
