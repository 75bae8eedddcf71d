"""The Okta emulator over real loopback HTTP: wire format, paging, mutations, data."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from oktaql.emulator import EmulatorConfig, RunningEmulator, create_app, start_in_thread

TOKEN = "emulator-token"
AUTH = {"Authorization": f"SSWS {TOKEN}"}
ERROR_KEYS = ["errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    """Read-only tests share this org; nothing may mutate it."""
    with start_in_thread(EmulatorConfig(seed=7)) as running:
        yield running


@pytest.fixture(scope="module")
def client(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, headers=AUTH) as c:
        yield c


@pytest.fixture
def mut() -> Iterator[tuple[RunningEmulator, httpx.Client]]:
    """A private org for tests that change state."""
    with start_in_thread(EmulatorConfig(seed=11)) as running:
        with httpx.Client(base_url=running.url, headers=AUTH) as c:
            yield running, c


def assert_error(resp: httpx.Response, status: int, code: str, summary: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert list(body) == ERROR_KEYS
    assert body["errorCode"] == code
    assert body["errorLink"] == code
    assert re.fullmatch(r"oae[0-9A-Za-z]{22}", body["errorId"])
    assert isinstance(body["errorCauses"], list)
    if summary is not None:
        assert body["errorSummary"] == summary
    return body


def app_with_tokens(emu: RunningEmulator, count: int) -> str:
    return next(a["id"] for a in emu.org.oidc_apps if emu.org.token_count(a["id"]) == count)


def follow(client: httpx.Client, url: str, **params: object) -> list[httpx.Response]:
    """Every page of a list, following ``rel="next"`` links."""
    pages = [client.get(url, params=params)]
    while "next" in pages[-1].links:
        pages.append(client.get(pages[-1].links["next"]["url"]))
    return pages


# ------------------------------------------------------------------ auth, headers


def test_missing_or_wrong_token_is_401(emu: RunningEmulator) -> None:
    for headers in ({}, {"Authorization": "SSWS wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
        resp = httpx.get(f"{emu.url}/api/v1/apps", headers=headers)
        body = assert_error(resp, 401, "E0000011", "Invalid token provided")
        assert body["errorCauses"] == []


def test_common_headers_on_success_and_error(client: httpx.Client) -> None:
    for resp in (client.get("/api/v1/users/me-does-not-exist"), client.get("/api/v1/groups")):
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers["date"].endswith("GMT")
        assert re.fullmatch(r"[0-9A-Za-z]{24}", resp.headers["x-okta-request-id"])
        assert int(resp.headers["x-rate-limit-limit"]) > 0
        assert (
            0
            <= int(resp.headers["x-rate-limit-remaining"])
            <= int(resp.headers["x-rate-limit-limit"])
        )
        assert int(resp.headers["x-rate-limit-reset"]) >= int(time.time())
        assert "server" not in resp.headers


def test_unknown_path_and_wrong_method(client: httpx.Client) -> None:
    assert_error(client.get("/api/v1/nothing/here"), 404, "E0000007")
    resp = client.patch("/api/v1/apps", json={})
    assert_error(resp, 405, "E0000022", "The endpoint does not support the provided HTTP method")
    assert resp.headers["allow"] == "GET, POST"


def test_request_log_records_exact_requests(emu: RunningEmulator, client: httpx.Client) -> None:
    emu.reset_log()
    client.get("/api/v1/users", params={"limit": 3, "filter": 'status eq "ACTIVE"'})
    assert len(emu.request_log) == 1
    method, path, headers = emu.request_log[0]
    assert method == "GET"
    assert path == "/api/v1/users?limit=3&filter=status+eq+%22ACTIVE%22"
    assert headers["authorization"] == f"SSWS {TOKEN}"


# ------------------------------------------------------------------------ tokens


def test_token_pages_follow_link_headers(emu: RunningEmulator, client: httpx.Client) -> None:
    app_id = app_with_tokens(emu, 45)
    pages = follow(client, f"/api/v1/apps/{app_id}/tokens", limit=20)
    assert [len(p.json()) for p in pages] == [20, 20, 5]
    assert [t["id"] for p in pages for t in p.json()] == emu.org.token_ids(app_id)
    assert [t for p in pages for t in p.json()] == emu.org.tokens_for_app(app_id)
    for i, page in enumerate(pages):
        links = page.headers.get_list("link")  # separate header lines, self first
        assert links[0] == f'<{page.request.url}>; rel="self"'
        assert len(links) == (1 if i == len(pages) - 1 else 2)
    first_next = pages[0].links["next"]["url"]
    assert first_next.startswith(f"{emu.url}/api/v1/apps/{app_id}/tokens?")
    query = parse_qs(urlsplit(first_next).query)
    assert query == {"limit": ["20"], "after": [emu.org.token_ids(app_id)[19]]}
    assert "next" not in pages[-1].links


def test_token_default_limit_and_clamping(emu: RunningEmulator, client: httpx.Client) -> None:
    app_id = app_with_tokens(emu, 61)
    assert len(client.get(f"/api/v1/apps/{app_id}/tokens").json()) == 20
    assert len(client.get(f"/api/v1/apps/{app_id}/tokens?limit=5000").json()) == 61
    resp = client.get(f"/api/v1/apps/{app_id}/tokens?limit=lots")
    body = assert_error(resp, 400, "E0000001", "Api validation failed: limit")
    assert len(body["errorCauses"]) == 1 and body["errorCauses"][0]["errorSummary"]
    assert_error(
        client.get(f"/api/v1/apps/{app_id}/tokens?after=oarNOTATOKEN000000"), 400, "E0000029"
    )


def test_token_shape_and_consistency(emu: RunningEmulator, client: httpx.Client) -> None:
    org = emu.org
    users = {u["id"] for u in org.users}
    issuers = {s["issuer"]: s for s in org.auth_servers}
    app_id = app_with_tokens(emu, 23)
    app = org.app(app_id)
    token = client.get(f"/api/v1/apps/{app_id}/tokens", params={"limit": 1}).json()[0]
    assert list(token) == [
        "id", "status", "created", "lastUpdated", "expiresAt", "issuer",
        "clientId", "userId", "scopes", "_links",
    ]  # fmt: skip
    assert re.fullmatch(r"oar[0-9A-Za-z]{17}", token["id"])
    assert token["status"] == "ACTIVE"
    assert token["clientId"] == app["credentials"]["oauthClient"]["client_id"] == app_id
    assert token["userId"] in users
    assert token["issuer"] in issuers
    assert token["scopes"][:2] == ["offline_access", "openid"]
    ts = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z"
    for key in ("created", "lastUpdated", "expiresAt"):
        assert re.fullmatch(ts, token[key])
    assert set(token["_links"]) == {
        "app",
        "self",
        "revoke",
        "client",
        "user",
        "authorizationServer",
    }
    assert token["_links"]["revoke"]["hints"] == {"allow": ["DELETE"]}
    for rel in ("app", "self", "client", "user", "authorizationServer"):
        href = token["_links"][rel]["href"]
        assert href.startswith(emu.url)
        assert client.get(href).status_code == 200, rel


def test_expand_scope_embeds_scope_objects(emu: RunningEmulator, client: httpx.Client) -> None:
    app_id = app_with_tokens(emu, 23)
    tokens = client.get(f"/api/v1/apps/{app_id}/tokens", params={"expand": "scope"}).json()
    assert tokens == emu.org.tokens_for_app(app_id, expand_scope=True)[:20]
    for token in tokens:
        embedded = token["_embedded"]["scopes"]
        assert [s["name"] for s in embedded] == token["scopes"]
        for scope in embedded:
            assert re.fullmatch(r"scp[0-9A-Za-z]{17}", scope["id"])
            assert scope["description"]
            assert client.get(scope["_links"]["scope"]["href"]).json()["name"] == scope["name"]
    plain = client.get(f"/api/v1/apps/{app_id}/tokens").json()
    assert all("_embedded" not in t for t in plain)


def test_get_token_and_not_found_bodies(emu: RunningEmulator, client: httpx.Client) -> None:
    app_id = app_with_tokens(emu, 12)
    expected = emu.org.tokens_for_app(app_id)[3]
    assert client.get(f"/api/v1/apps/{app_id}/tokens/{expected['id']}").json() == expected
    missing = "oar" + "x" * 17
    assert_error(
        client.get(f"/api/v1/apps/{app_id}/tokens/{missing}"),
        404,
        "E0000007",
        f"Not found: Resource not found: {missing} (OAuth2RefreshToken)",
    )
    assert_error(
        client.get("/api/v1/apps/0oaMISSING0000000000/tokens"),
        404,
        "E0000007",
        "Not found: Resource not found: 0oaMISSING0000000000 (AppInstance)",
    )


def test_revoke_one_token(mut: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = mut
    app_id = app_with_tokens(emu, 45)
    victim = emu.org.token_ids(app_id)[20]  # first item of page 2
    resp = client.delete(f"/api/v1/apps/{app_id}/tokens/{victim}")
    assert resp.status_code == 204 and resp.content == b""
    assert_error(client.get(f"/api/v1/apps/{app_id}/tokens/{victim}"), 404, "E0000007")
    assert_error(client.delete(f"/api/v1/apps/{app_id}/tokens/{victim}"), 404, "E0000007")
    pages = follow(client, f"/api/v1/apps/{app_id}/tokens", limit=20)
    listed = [t["id"] for p in pages for t in p.json()]
    assert victim not in listed and len(listed) == 44
    assert listed == emu.org.token_ids(app_id)
    assert [len(p.json()) for p in pages] == [20, 20, 4]


def test_revoke_all_tokens(mut: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = mut
    app_id = app_with_tokens(emu, 61)
    some = emu.org.token_ids(app_id)[0]
    assert client.delete(f"/api/v1/apps/{app_id}/tokens").status_code == 204
    resp = client.get(f"/api/v1/apps/{app_id}/tokens")
    assert resp.json() == [] and "next" not in resp.links
    assert emu.org.token_count(app_id) == 0 and emu.org.tokens_for_app(app_id) == []
    assert_error(client.get(f"/api/v1/apps/{app_id}/tokens/{some}"), 404, "E0000007")
    assert client.delete(f"/api/v1/apps/{app_id}/tokens").status_code == 204  # idempotent


def test_apps_and_tokens_flags_are_exact() -> None:
    with start_in_thread(EmulatorConfig(seed=3, apps=3, tokens_per_app=7)) as emu:
        with httpx.Client(base_url=emu.url, headers=AUTH) as client:
            apps = client.get("/api/v1/apps").json()
            assert len(apps) == 3 and apps == emu.org.apps
            assert {a["signOnMode"] for a in apps} == {"OPENID_CONNECT"}
            for app in apps:
                tokens = client.get(f"/api/v1/apps/{app['id']}/tokens?limit=200").json()
                assert len(tokens) == 7 == emu.org.token_count(app["id"])


def test_million_tokens_are_lazy_and_pages_are_cheap() -> None:
    with start_in_thread(EmulatorConfig(apps=1, tokens_per_app=1_000_000)) as emu:
        app_id = emu.org.apps[0]["id"]
        assert emu.org.token_count(app_id) == 1_000_000
        ts = emu.org.token_set(app_id)
        with httpx.Client(base_url=emu.url, headers=AUTH) as client:
            started = time.perf_counter()
            first = client.get(f"/api/v1/apps/{app_id}/tokens?limit=200")
            cursor = ts.token_id(999_900)
            last = client.get(f"/api/v1/apps/{app_id}/tokens?limit=200&after={cursor}")
            assert time.perf_counter() - started < 2.0
        assert len(first.json()) == 200 and "next" in first.links
        assert [t["id"] for t in last.json()] == [ts.token_id(i) for i in range(999_901, 1_000_000)]
        assert "next" not in last.links
        assert emu.org.token_at(app_id, 999_999)["id"] == last.json()[-1]["id"]


# -------------------------------------------------------------------------- apps


def test_default_org_mix(emu: RunningEmulator, client: httpx.Client) -> None:
    apps = [a for p in follow(client, "/api/v1/apps", limit=5) for a in p.json()]
    assert apps == emu.org.apps and len(apps) >= 10
    modes = {a["signOnMode"] for a in apps}
    assert {"OPENID_CONNECT", "SAML_2_0", "BOOKMARK"} <= modes
    assert any(a["status"] == "INACTIVE" for a in apps)
    big = [a for a in emu.org.oidc_apps if emu.org.token_count(a["id"]) > 20]
    small = [a for a in emu.org.oidc_apps if 0 < emu.org.token_count(a["id"]) <= 20]
    assert len(big) >= 3 and small
    for app in apps:
        assert re.fullmatch(r"0oa[0-9A-Za-z]{17}", app["id"])


def test_apps_q_and_filter(emu: RunningEmulator, client: httpx.Client) -> None:
    pages = follow(client, "/api/v1/apps", filter='status eq "ACTIVE"', limit=3)
    assert [a for p in pages for a in p.json()] == [
        a for a in emu.org.apps if a["status"] == "ACTIVE"
    ]
    next_query = parse_qs(urlsplit(pages[0].links["next"]["url"]).query)
    assert next_query["filter"] == ['status eq "ACTIVE"'] and next_query["limit"] == ["3"]
    q = client.get("/api/v1/apps", params={"q": "sal"}).json()
    assert [a["label"] for a in q] == ["Salesforce"]
    app_id = emu.org.apps[0]["id"]
    user_id = emu.org.app_users(app_id)[0]["id"]
    by_user = client.get("/api/v1/apps", params={"filter": f'user.id eq "{user_id}"'}).json()
    assert app_id in [a["id"] for a in by_user]
    assert all(user_id in {u["id"] for u in emu.org.app_users(a["id"])} for a in by_user)
    body = assert_error(
        client.get("/api/v1/apps", params={"filter": 'status eq "ACTIVE" and'}),
        400,
        "E0000031",
        "Invalid search criteria.",
    )
    assert body["errorCauses"][0]["errorSummary"]


def test_create_app(mut: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = mut
    body = {
        "name": "oidc_client",
        "label": "Created By Test",
        "signOnMode": "OPENID_CONNECT",
        "settings": {"oauthClient": {"grant_types": ["authorization_code"], "redirect_uris": []}},
    }
    resp = client.post("/api/v1/apps", json=body)
    assert resp.status_code == 200
    app = resp.json()
    assert re.fullmatch(r"0oa[0-9A-Za-z]{17}", app["id"])
    assert app["status"] == "ACTIVE" and app["label"] == "Created By Test"
    assert app["credentials"]["oauthClient"]["client_id"] == app["id"]
    assert app["credentials"]["oauthClient"]["client_secret"]
    assert app["settings"]["oauthClient"]["grant_types"] == ["authorization_code"]
    fetched = client.get(f"/api/v1/apps/{app['id']}").json()
    assert "client_secret" not in fetched["credentials"]["oauthClient"]
    assert fetched == emu.org.app(app["id"])
    assert emu.org.apps[-1]["id"] == app["id"]
    assert client.get(f"/api/v1/apps/{app['id']}/tokens").json() == []
    inactive = client.post(
        "/api/v1/apps?activate=false",
        json={
            "label": "Docs",
            "signOnMode": "BOOKMARK",
            "settings": {"app": {"url": "https://d/"}},
        },
    ).json()
    assert inactive["status"] == "INACTIVE" and inactive["name"] == "bookmark"
    assert inactive["settings"]["app"]["url"] == "https://d/"


def test_create_app_validation(client: httpx.Client, emu: RunningEmulator) -> None:
    before = len(emu.org.apps)
    cases = [
        ({"signOnMode": "BOOKMARK"}, "label"),
        ({"label": "No mode"}, "signOnMode"),
        ({"label": "Bad mode", "signOnMode": "MAGIC"}, "signOnMode"),
        ({"label": 5, "signOnMode": "BOOKMARK"}, "label"),
    ]
    for body, field in cases:
        err = assert_error(
            client.post("/api/v1/apps", json=body),
            400,
            "E0000001",
            f"Api validation failed: {field}",
        )
        assert err["errorCauses"][0]["errorSummary"].startswith(f"{field}: ")
    assert_error(
        client.post("/api/v1/apps", content=b"{not json"),
        400,
        "E0000003",
        "The request body was not well-formed.",
    )
    assert len(emu.org.apps) == before


def test_replace_app(mut: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = mut
    app = emu.org.oidc_apps[0]
    body = {"label": "Renamed", "signOnMode": "OPENID_CONNECT", "name": "oidc_client"}
    resp = client.put(f"/api/v1/apps/{app['id']}", json=body)
    assert resp.status_code == 200
    new = resp.json()
    assert new["label"] == "Renamed" and new["id"] == app["id"]
    assert new["created"] == app["created"] and new["lastUpdated"] > app["lastUpdated"]
    assert new["credentials"]["oauthClient"]["client_id"] == app["id"]
    assert emu.org.app(app["id"])["label"] == "Renamed"
    token = client.get(f"/api/v1/apps/{app['id']}/tokens?limit=1").json()[0]
    assert token["_links"]["app"]["title"] == "Renamed"
    err = assert_error(
        client.put(f"/api/v1/apps/{app['id']}", json={"label": "x", "signOnMode": "BOOKMARK"}),
        400,
        "E0000001",
    )
    assert err["errorSummary"] == "Api validation failed: signOnMode"
    assert_error(client.put("/api/v1/apps/0oaMISSING0000000000", json=body), 404, "E0000007")


def test_delete_only_inactive_apps(mut: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = mut
    app_id = next(a["id"] for a in emu.org.apps if a["status"] == "ACTIVE")
    err = assert_error(
        client.delete(f"/api/v1/apps/{app_id}"), 403, "E0000056", "Delete application forbidden."
    )
    assert err["errorCauses"]
    resp = client.post(f"/api/v1/apps/{app_id}/lifecycle/deactivate")
    assert resp.status_code == 200 and resp.json() == {}
    assert emu.org.app(app_id)["status"] == "INACTIVE"
    assert "activate" in client.get(f"/api/v1/apps/{app_id}").json()["_links"]
    assert client.post(f"/api/v1/apps/{app_id}/lifecycle/activate").json() == {}
    assert emu.org.app(app_id)["status"] == "ACTIVE"
    client.post(f"/api/v1/apps/{app_id}/lifecycle/deactivate")
    resp = client.delete(f"/api/v1/apps/{app_id}")
    assert resp.status_code == 204 and resp.content == b""
    assert emu.org.app(app_id) is None
    assert_error(client.get(f"/api/v1/apps/{app_id}"), 404, "E0000007")
    assert_error(client.get(f"/api/v1/apps/{app_id}/tokens"), 404, "E0000007")
    assert_error(client.post(f"/api/v1/apps/{app_id}/lifecycle/activate"), 404, "E0000007")


def test_app_users_and_groups(emu: RunningEmulator, client: httpx.Client) -> None:
    org = emu.org
    for app in org.apps:
        pages = follow(client, f"/api/v1/apps/{app['id']}/users", limit=2)
        assert [u for p in pages for u in p.json()] == org.app_users(app["id"])
        groups = client.get(f"/api/v1/apps/{app['id']}/groups").json()
        assert groups == org.app_groups(app["id"])
        # Group-scoped app users are exactly the members of the assigned groups.
        members = {u["id"] for g in groups for u in org.group_members(g["id"])}
        scoped = {u["id"] for u in org.app_users(app["id"]) if u["scope"] == "GROUP"}
        assert scoped <= members
    app_id = org.apps[0]["id"]
    expanded = client.get(f"/api/v1/apps/{app_id}/users", params={"expand": "user"}).json()
    assert expanded == org.app_users(app_id, expand_user=True)


# -------------------------------------------------------------- users and groups


def test_users(emu: RunningEmulator, client: httpx.Client) -> None:
    org = emu.org
    listed = client.get("/api/v1/users").json()
    assert listed == [u for u in org.users if u["status"] != "DEPROVISIONED"]
    assert len(org.users) == 25
    deprov = client.get("/api/v1/users", params={"filter": 'status eq "DEPROVISIONED"'}).json()
    assert deprov == [u for u in org.users if u["status"] == "DEPROVISIONED"] != []
    user = org.users[3]
    assert client.get(f"/api/v1/users/{user['id']}").json() == user
    assert client.get(f"/api/v1/users/{user['profile']['login']}").json() == user
    login_sw = user["profile"]["login"][:4].upper()
    search = client.get("/api/v1/users", params={"search": f'profile.login sw "{login_sw}"'}).json()
    assert user in search
    assert all(u["profile"]["login"].startswith(login_sw.lower()) for u in search)
    assert_error(
        client.get("/api/v1/users/00uMISSING0000000000"),
        404,
        "E0000007",
        "Not found: Resource not found: 00uMISSING0000000000 (User)",
    )
    pages = follow(client, "/api/v1/users", limit=10)
    assert [len(p.json()) for p in pages] == [10, 10, 4]
    assert_error(
        client.get("/api/v1/users", params={"search": "profile.login zz 1"}), 400, "E0000031"
    )


def test_groups(emu: RunningEmulator, client: httpx.Client) -> None:
    org = emu.org
    groups = client.get("/api/v1/groups").json()
    assert groups == org.groups and len(groups) == 6
    assert groups[0]["profile"]["name"] == "Everyone" and groups[0]["type"] == "BUILT_IN"
    assert client.get("/api/v1/groups", params={"q": "eng"}).json()[0]["profile"]["name"] == (
        "Engineering"
    )
    okta = client.get("/api/v1/groups", params={"search": 'type eq "OKTA_GROUP"'}).json()
    assert okta == groups[1:]
    for group in groups:
        members = client.get(f"/api/v1/groups/{group['id']}/users").json()
        assert members == org.group_members(group["id"]) and members
    assert_error(client.get("/api/v1/groups/00gMISSING0000000000"), 404, "E0000007")


# ------------------------------------------------------------ filters, determinism


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('status eq "ACTIVE"', True),
        ('status eq "active"', True),  # case-insensitive strings
        ('status ne "ACTIVE"', False),
        ('profile.login sw "ADA"', True),
        ('profile.login co "lovelace@"', True),
        ('profile.login ew ".com"', True),
        ("profile.title pr", True),
        ("profile.mobilePhone pr", False),
        ("profile.missing pr", False),
        ('created gt "2023-12-31T00:00:00.000Z"', True),
        ('created lt "2023-12-31T00:00:00.000Z"', False),
        ("profile.age ge 36 and profile.age le 36", True),
        ('status eq "X" or status eq "ACTIVE" and profile.age gt 100', False),  # and binds tighter
        ('(status eq "X" or status eq "ACTIVE") and profile.age gt 30', True),
        ('not(status eq "ACTIVE")', False),
        ('groups eq "b"', True),  # list attribute: any element
        ('profile.nickname eq "A \\"quoted\\" name"', True),
    ],
)
def test_filter_expressions(expr: str, expected: bool) -> None:
    from oktaql.emulator._filters import compile_filter

    user = {
        "status": "ACTIVE",
        "created": "2024-01-01T00:00:00.000Z",
        "groups": ["a", "b"],
        "profile": {
            "login": "ada.lovelace@example.com",
            "title": "Engineer",
            "mobilePhone": None,
            "age": 36,
            "nickname": 'A "quoted" name',
        },
    }
    assert compile_filter(expr)(user) is expected


@pytest.mark.parametrize(
    "expr",
    [
        "",
        'status eq "ACTIVE',
        "status eq",
        'status equals "A"',
        'status eq "A" and',
        '(status eq "A"',
        'status eq "A")',
        'and status eq "A"',
        'status eq "A" status eq "B"',
        "status @ 1",
        'eq "A"',
    ],
)
def test_bad_filter_expressions(expr: str) -> None:
    from oktaql.emulator._filters import FilterError, compile_filter

    with pytest.raises(FilterError):
        compile_filter(expr)


def test_same_seed_same_org_different_seed_different_org() -> None:
    def snapshot(seed: int) -> tuple:
        org = create_app(EmulatorConfig(seed=seed)).state.org
        tokens = {a["id"]: org.tokens_for_app(a["id"], expand_scope=True) for a in org.oidc_apps}
        return (org.apps, org.users, org.groups, org.auth_servers, tokens,
                [org.app_users(a["id"]) for a in org.apps])  # fmt: skip

    assert snapshot(5) == snapshot(5)
    other = snapshot(6)
    assert other != snapshot(5)
    assert {a["id"] for a in other[0]}.isdisjoint({a["id"] for a in snapshot(5)[0]})


# -------------------------------------------------------------- latency, limits


def test_latency_is_per_request_and_concurrent() -> None:
    with start_in_thread(EmulatorConfig(latency_ms=150, users=2, groups=1, apps=1)) as emu:
        durations: list[float] = []

        def call() -> None:
            started = time.perf_counter()
            httpx.get(f"{emu.url}/api/v1/users", headers=AUTH)
            durations.append(time.perf_counter() - started)

        started = time.perf_counter()
        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        total = time.perf_counter() - started
    assert min(durations) >= 0.15
    assert total < 0.5  # overlapped, not 4 x 150 ms


def test_rate_limit_when_configured() -> None:
    to_next_window = 60 - time.time() % 60
    if to_next_window < 1.5:  # keep all four requests inside one one-minute window
        time.sleep(to_next_window + 0.05)
    with start_in_thread(EmulatorConfig(rate_limit=3, users=1, groups=1, apps=1)) as emu:
        with httpx.Client(base_url=emu.url, headers=AUTH) as client:
            remaining = [
                client.get("/api/v1/groups").headers["x-rate-limit-remaining"] for _ in range(3)
            ]
            assert remaining == ["2", "1", "0"]
            assert_error(client.get("/api/v1/groups"), 429, "E0000047")


def test_pages_kept_as_bytes_follow_revocations_and_renames(
    mut: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = mut
    app_id = app_with_tokens(emu, 45)
    first = [p.content for p in follow(client, f"/api/v1/apps/{app_id}/tokens", limit=20)]
    again = [p.content for p in follow(client, f"/api/v1/apps/{app_id}/tokens", limit=20)]
    assert again == first  # served from the kept pages: byte for byte the same
    victim = emu.org.token_ids(app_id)[25]
    assert client.delete(f"/api/v1/apps/{app_id}/tokens/{victim}").status_code == 204
    body = {"label": "Renamed", "signOnMode": "OPENID_CONNECT", "name": "oidc_client"}
    assert client.put(f"/api/v1/apps/{app_id}", json=body).status_code == 200
    pages = follow(client, f"/api/v1/apps/{app_id}/tokens", limit=20)
    tokens = [t for p in pages for t in p.json()]
    assert [t["id"] for t in tokens] == emu.org.token_ids(app_id)
    assert victim not in [t["id"] for t in tokens] and len(tokens) == 44
    assert {t["_links"]["app"]["title"] for t in tokens} == {"Renamed"}
