"""The emulator's concurrency limit, and fidelity fixes on apps (SAML settings, group assignments)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import oktaql.emulator
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, start_in_thread

TOKEN = "limits-token"
AUTH = {"Authorization": f"SSWS {TOKEN}"}


def test_request_over_the_concurrency_limit_is_429_with_okta_headers() -> None:
    config = EmulatorConfig(token=TOKEN, seed=3, latency_ms=400, concurrency_limit=2)
    with start_in_thread(config) as emu:
        answers: list[httpx.Response] = []

        def call() -> None:
            answers.append(httpx.get(emu.url + "/api/v1/apps?limit=1", headers=AUTH, timeout=10))

        slow = [threading.Thread(target=call) for _ in range(2)]
        for t in slow:
            t.start()
        time.sleep(0.2)  # both are in flight (400 ms each)
        extra = httpx.get(emu.url + "/api/v1/users?limit=1", headers=AUTH, timeout=10)
        for t in slow:
            t.join()
        assert [r.status_code for r in answers] == [200, 200]
        assert extra.status_code == 429
        body = extra.json()
        assert body["errorCode"] == "E0000047"
        assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
        assert extra.headers["X-Rate-Limit-Limit"] == "0"
        assert extra.headers["X-Rate-Limit-Remaining"] == "0"
        assert int(extra.headers["X-Rate-Limit-Reset"]) >= int(time.time())
        assert extra.elapsed.total_seconds() < 0.3  # refused at once, not after the latency
        # the refused request is logged; once the others are done, requests pass again
        assert emu.request_log[-1][1] == "/api/v1/users?limit=1"
        again = httpx.get(emu.url + "/api/v1/users?limit=1", headers=AUTH, timeout=10)
        assert again.status_code == 200
        assert again.headers["X-Rate-Limit-Limit"] == "600"


def test_emulator_command_passes_the_concurrency_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(oktaql.emulator, "serve", lambda config, **kw: seen.append(config))
    result = CliRunner().invoke(main, ["emulator", "--port", "0", "--concurrency-limit", "5"])
    assert result.exit_code == 0, result.output
    assert [c.concurrency_limit for c in seen] == [5]
    bad = CliRunner().invoke(main, ["emulator", "--concurrency-limit", "0"])
    assert bad.exit_code == 2 and "--concurrency-limit" in bad.output


def test_saml_apps_carry_the_sign_on_fields_the_spec_requires() -> None:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=4)) as emu:
        saml = [a for a in emu.org.apps if a["signOnMode"] in ("SAML_2_0", "SAML_1_1")]
        assert saml
        for app in saml:
            got = httpx.get(f"{emu.url}/api/v1/apps/{app['id']}", headers=AUTH).json()
            sign_on = got["settings"]["signOn"]
            assert (sign_on["allowMultipleAcsEndpoints"], sign_on["requestCompressed"]) == (
                False,
                False,
            )


def test_assign_and_unassign_a_group_to_an_app() -> None:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=5)) as emu:
        org = emu.org
        client = httpx.Client(base_url=emu.url, headers=AUTH)
        app = org.oidc_apps[0]["id"]
        assigned = {g["id"] for g in org.app_groups(app)}
        direct = {u["id"] for u in org.app_users(app) if u["scope"] == "USER"}
        group = next(
            g
            for g in org.groups
            if g["type"] == "OKTA_GROUP"
            and g["id"] not in assigned
            and any(m["id"] not in direct for m in org.group_members(g["id"]))
        )
        gid = group["id"]
        members = {m["id"] for m in org.group_members(gid)}
        before = {u["id"] for u in org.app_users(app)}
        resp = client.put(f"/api/v1/apps/{app}/groups/{gid}", json={"priority": 7})
        assert resp.status_code == 200, resp.text
        assert (resp.json()["id"], resp.json()["priority"]) == (gid, 7)
        listed = client.get(f"/api/v1/apps/{app}/groups").json()
        assert gid in [g["id"] for g in listed]
        users = {u["id"]: u["scope"] for u in client.get(f"/api/v1/apps/{app}/users").json()}
        assert members <= set(users)
        assert {users[m] for m in members - before} == {"GROUP"}
        events = [e["eventType"] for e in org.log_events]
        assert "group.application_assignment.add" in events
        assert client.delete(f"/api/v1/apps/{app}/groups/{gid}").status_code == 204
        assert client.get(f"/api/v1/apps/{app}/groups/{gid}").status_code == 404
        after = {u["id"] for u in client.get(f"/api/v1/apps/{app}/users").json()}
        assert after == before
        missing = client.put(f"/api/v1/apps/{app}/groups/00gNOSUCHGROUP0000000")
        assert (missing.status_code, missing.json()["errorCode"]) == (404, "E0000007")
        bad = client.put(f"/api/v1/apps/{app}/groups/{gid}", json={"priority": "high"})
        assert (bad.status_code, bad.json()["errorCode"]) == (400, "E0000001")


def test_assign_update_and_unassign_a_user_to_an_app() -> None:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=6)) as emu:
        org = emu.org
        client = httpx.Client(base_url=emu.url, headers=AUTH)
        app = org.oidc_apps[0]["id"]
        assigned = {u["id"] for u in org.app_users(app)}
        user = next(u for u in org.users if u["id"] not in assigned)
        uid = user["id"]
        resp = client.post(f"/api/v1/apps/{app}/users", json={"id": uid, "profile": {"a": 1}})
        assert resp.status_code == 200, resp.text
        got = resp.json()
        assert (got["id"], got["scope"], got["profile"]) == (uid, "USER", {"a": 1})
        assert got["credentials"]["userName"] == user["profile"]["login"]
        listed = [u["id"] for u in client.get(f"/api/v1/apps/{app}/users").json()]
        assert uid in listed
        upd = client.post(f"/api/v1/apps/{app}/users/{uid}", json={"profile": {"b": 2}})
        assert upd.json()["profile"] == {"a": 1, "b": 2}
        assert client.delete(f"/api/v1/apps/{app}/users/{uid}").status_code == 204
        assert client.get(f"/api/v1/apps/{app}/users/{uid}").status_code == 404
        assert client.delete(f"/api/v1/apps/{app}/users/{uid}").status_code == 404
        blank = client.post(f"/api/v1/apps/{app}/users", json={})
        assert (blank.status_code, blank.json()["errorCauses"]) == (
            400,
            [{"errorSummary": "id: The field cannot be left blank."}],
        )
        nobody = client.post(f"/api/v1/apps/{app}/users", json={"id": "00uNOBODY00000000000"})
        assert nobody.status_code == 404


def test_spec_calls_on_a_behaviours_items_need_the_item() -> None:
    """A spec operation no behaviour serves, on an item a behaviour owns (executing an inline
    hook): answered for a real hook with the spec's status, 404 for an unknown one; the hook
    is unchanged."""
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=6)) as emu:
        client = httpx.Client(base_url=emu.url, headers=AUTH)
        hook = emu.org.inline_hooks[0]
        ok = client.post(f"/api/v1/inlineHooks/{hook['id']}", json={})
        assert ok.status_code == 200, ok.text
        missing = client.post("/api/v1/inlineHooks/calNOSUCHHOOK0000000", json={})
        assert (missing.status_code, missing.json()["errorCode"]) == (404, "E0000007")
        assert emu.org.inline_hooks[0] == hook
