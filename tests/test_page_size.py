"""The page size oktaql asks for: the largest a listing allows unless the statement says.

Every page is a round trip and a share of the org's rate limit, so a listing the statement
leaves alone asks for the method's maximum (`limit=200` for apps and tokens), a SQL LIMIT
below it asks for just its rows, and an explicit ``limit = '...'`` is sent as written.
Requests are counted at the emulator."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    # 250 tokens on the first app: more than one largest page
    with start_in_thread(EmulatorConfig(token="t", apps=3, tokens_per_app=250)) as running:
        yield running


def _connect(emu: RunningEmulator, registry: Path | None = None) -> oktaql.Connection:
    return oktaql.connect(registry=registry, org_url=emu.url, token=emu.config.token)


def _explain_urls(conn: oktaql.Connection, sql: str) -> list[str]:
    cur = conn.cursor()
    cur.execute("EXPLAIN " + sql)
    return [r[4] for r in cur.fetchall() if r[4]]


def _gets(emu: RunningEmulator) -> list[str]:
    return [p for m, p, _ in emu.request_log if m == "GET"]


def _registries(request: pytest.FixtureRequest, which: str) -> Path | None:
    return request.getfixturevalue("stackql_registry") if which == "stackql" else None


@pytest.mark.parametrize("which", ["builtin", "stackql"])
def test_a_listing_asks_for_the_largest_page(
    emu: RunningEmulator, which: str, request: pytest.FixtureRequest
) -> None:
    conn = _connect(emu, _registries(request, which))
    app = emu.org.oidc_apps[0]["id"]
    sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}'"
    assert _explain_urls(conn, sql) == [f"{emu.url}/api/v1/apps/{app}/tokens?limit=200"]
    emu.reset_log()
    cur = conn.cursor()
    cur.execute(sql)
    assert [r[0] for r in cur.fetchall()] == emu.org.token_ids(app)
    # 250 tokens: two pages of the largest size, the second from the first's next link
    gets = _gets(emu)
    assert len(gets) == 2
    assert gets[0] == f"/api/v1/apps/{app}/tokens?limit=200"
    assert parse_qs(urlsplit(gets[1]).query)["limit"] == ["200"]
    assert "after" in parse_qs(urlsplit(gets[1]).query)


@pytest.mark.parametrize("which", ["builtin", "stackql"])
def test_a_fan_out_asks_for_the_largest_page(
    emu: RunningEmulator, which: str, request: pytest.FixtureRequest
) -> None:
    conn = _connect(emu, _registries(request, which))
    sql = "SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    assert _explain_urls(conn, sql) == [
        f"{emu.url}/api/v1/apps?limit=200",
        f"{emu.url}/api/v1/apps/{{appId}}/tokens?limit=200",
    ]
    emu.reset_log()
    cur = conn.cursor()
    cur.execute(sql)
    assert len(cur.fetchall()) == 3 * 250
    firsts = sorted(p for p in _gets(emu) if "after=" not in p)
    assert firsts == sorted(
        ["/api/v1/apps?limit=200"]
        + [f"/api/v1/apps/{a['id']}/tokens?limit=200" for a in emu.org.oidc_apps]
    )
    assert len(_gets(emu)) == 1 + 3 * 2  # each app's 250 tokens in two pages


@pytest.mark.parametrize(
    ("tail", "sent"),
    [("LIMIT 5", "5"), ("LIMIT 5 OFFSET 2", "7"), ("LIMIT 500", "200")],
)
def test_a_sql_limit_below_the_page_asks_for_just_its_rows(
    emu: RunningEmulator, tail: str, sent: str
) -> None:
    conn = _connect(emu)
    app = emu.org.oidc_apps[0]["id"]
    sql = f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' {tail}"
    assert _explain_urls(conn, sql) == [f"{emu.url}/api/v1/apps/{app}/tokens?limit={sent}"]
    emu.reset_log()
    cur = conn.cursor()
    cur.execute(sql)
    n, off = (int(x) for x in (tail.split()[1], tail.split()[3] if "OFFSET" in tail else 0))
    assert [r[0] for r in cur.fetchall()] == emu.org.token_ids(app)[off : off + n]
    gets = _gets(emu)
    assert gets[0] == f"/api/v1/apps/{app}/tokens?limit={sent}"
    assert len(gets) == (2 if tail == "LIMIT 500" else 1)


def test_an_explicit_limit_is_sent_as_written(emu: RunningEmulator) -> None:
    conn = _connect(emu)
    app = emu.org.oidc_apps[0]["id"]
    for sql in (
        f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = '100'",
        f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = '100' LIMIT 3",
    ):
        assert _explain_urls(conn, sql) == [f"{emu.url}/api/v1/apps/{app}/tokens?limit=100"]
        emu.reset_log()
        cur = conn.cursor()
        cur.execute(sql)
        rows = [r[0] for r in cur.fetchall()]
        assert rows == emu.org.token_ids(app)[: 3 if "LIMIT 3" in sql else 250]
        gets = _gets(emu)
        assert all(parse_qs(urlsplit(p).query)["limit"] == ["100"] for p in gets)
        assert len(gets) == (1 if "LIMIT 3" in sql else 3)


def test_the_emulator_clamps_a_limit_above_the_maximum(emu: RunningEmulator) -> None:
    app = emu.org.oidc_apps[0]["id"]
    req = urllib.request.Request(
        f"{emu.url}/api/v1/apps/{app}/tokens?limit=1000",
        headers={"Authorization": f"SSWS {emu.config.token}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(req) as resp:
        body: list[dict[str, Any]] = json.load(resp)
        links = resp.headers.get_all("Link") or []
    # Okta's maximum for tokens is 200: a larger limit gets 200 and a next page
    assert [t["id"] for t in body] == emu.org.token_ids(app)[:200]
    assert any('rel="next"' in link for link in links)


def test_the_readme_fan_out_takes_one_request_per_app_and_one_for_the_apps() -> None:
    # 40 apps x 50 tokens: at Okta's default page of 20 this was 1 + 40 * 3 = 121 requests
    with start_in_thread(EmulatorConfig(token="t", apps=40, tokens_per_app=50)) as running:
        cur = _connect(running).cursor()
        cur.execute(
            "SELECT a.label, t.id FROM okta.apps.applications a "
            "JOIN okta.apps.tokens t ON t.appId = a.id"
        )
        assert len(cur.fetchall()) == 40 * 50
        gets = _gets(running)
        assert len(gets) == 41
        assert all(parse_qs(urlsplit(p).query)["limit"] == ["200"] for p in gets)
