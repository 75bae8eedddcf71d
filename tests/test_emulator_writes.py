"""The writes a deploy stack sends, and the state rules Okta enforces on them, at the emulator.

Plain HTTP (httpx) against a fresh emulated org: exact statuses and error codes.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest


@pytest.fixture
def api(fresh_emulator: Any) -> httpx.Client:
    with httpx.Client(
        base_url=fresh_emulator.url, headers={"Authorization": "SSWS test-token"}
    ) as client:
        yield client


def _group(api: httpx.Client, name: str) -> str:
    r = api.post("/api/v1/groups", json={"profile": {"name": name}})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _app(api: httpx.Client, label: str) -> dict[str, Any]:
    r = api.post(
        "/api/v1/apps",
        json={
            "name": "oidc_client",
            "label": label,
            "signOnMode": "OPENID_CONNECT",
            "settings": {
                "oauthClient": {
                    "redirect_uris": ["https://app.example.com/cb"],
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                    "application_type": "web",
                }
            },
        },
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_app_group_assignment_put_get_delete(api: httpx.Client) -> None:
    gid = _group(api, "Eng")
    app = _app(api, "Portal")
    put = api.put(f"/api/v1/apps/{app['id']}/groups/{gid}", json={"priority": 2})
    assert put.status_code == 200
    assert put.json()["id"] == gid and put.json()["priority"] == 2
    listed = api.get(f"/api/v1/apps/{app['id']}/groups").json()
    assert [(a["id"], a["priority"]) for a in listed] == [(gid, 2)]
    assert api.get(f"/api/v1/apps/{app['id']}/groups/{gid}").json()["priority"] == 2
    again = api.put(f"/api/v1/apps/{app['id']}/groups/{gid}", json={"priority": 5})
    assert again.status_code == 200 and again.json()["priority"] == 5
    assert api.delete(f"/api/v1/apps/{app['id']}/groups/{gid}").status_code == 204
    assert api.get(f"/api/v1/apps/{app['id']}/groups").json() == []
    gone = api.get(f"/api/v1/apps/{app['id']}/groups/{gid}")
    assert gone.status_code == 404 and gone.json()["errorCode"] == "E0000007"


def test_active_app_cannot_be_deleted_until_deactivated(api: httpx.Client) -> None:
    app = _app(api, "Portal")
    assert app["status"] == "ACTIVE"
    refused = api.delete(f"/api/v1/apps/{app['id']}")
    assert refused.status_code == 403 and refused.json()["errorCode"] == "E0000056"
    assert api.post(f"/api/v1/apps/{app['id']}/lifecycle/deactivate").status_code == 200
    assert api.delete(f"/api/v1/apps/{app['id']}").status_code == 204
    assert api.get(f"/api/v1/apps/{app['id']}").status_code == 404


def _rule_body(gid: str, name: str) -> dict[str, Any]:
    return {
        "type": "group_rule",
        "name": name,
        "conditions": {
            "expression": {"value": 'user.department=="Eng"', "type": "urn:okta:expression:1.0"}
        },
        "actions": {"assignUserToGroups": {"groupIds": [gid]}},
    }


def test_group_rule_created_inactive_and_replaced_only_when_inactive(api: httpx.Client) -> None:
    gid = _group(api, "Eng")
    rule = api.post("/api/v1/groups/rules", json=_rule_body(gid, "eng"))
    assert rule.status_code == 200 and rule.json()["status"] == "INACTIVE"
    rid = rule.json()["id"]
    assert api.post(f"/api/v1/groups/rules/{rid}/lifecycle/activate").status_code == 204
    refused = api.put(f"/api/v1/groups/rules/{rid}", json=_rule_body(gid, "eng2"))
    assert refused.status_code == 400 and refused.json()["errorCode"] == "E0000001"
    assert api.get(f"/api/v1/groups/rules/{rid}").json()["name"] == "eng"
    assert api.post(f"/api/v1/groups/rules/{rid}/lifecycle/deactivate").status_code == 204
    ok = api.put(f"/api/v1/groups/rules/{rid}", json=_rule_body(gid, "eng2"))
    assert ok.status_code == 200 and ok.json()["name"] == "eng2"
    assert ok.json()["status"] == "INACTIVE"
    assert api.delete(f"/api/v1/groups/rules/{rid}").status_code == 202
    assert api.get(f"/api/v1/groups/rules/{rid}").status_code == 404


def test_trusted_origin_replace_lifecycle_delete(api: httpx.Client) -> None:
    body = {"name": "docs", "origin": "https://docs.example.com", "scopes": [{"type": "CORS"}]}
    made = api.post("/api/v1/trustedOrigins", json=body).json()
    assert made["status"] == "ACTIVE"
    tid = made["id"]
    put = api.put(f"/api/v1/trustedOrigins/{tid}", json={**body, "name": "docs2"})
    assert put.status_code == 200 and put.json()["name"] == "docs2"
    off = api.post(f"/api/v1/trustedOrigins/{tid}/lifecycle/deactivate")
    assert off.status_code == 200 and off.json()["status"] == "INACTIVE"
    assert api.delete(f"/api/v1/trustedOrigins/{tid}").status_code == 204
    assert api.get(f"/api/v1/trustedOrigins/{tid}").status_code == 404


def test_active_network_zone_cannot_be_deleted_until_deactivated(api: httpx.Client) -> None:
    zone = api.post(
        "/api/v1/zones",
        json={"type": "IP", "name": "VPN", "gateways": [{"type": "CIDR", "value": "10.8.0.0/16"}]},
    ).json()
    assert zone["status"] == "ACTIVE"
    zid = zone["id"]
    put = api.put(
        f"/api/v1/zones/{zid}",
        json={"type": "IP", "name": "VPN2", "gateways": [{"type": "CIDR", "value": "10.9.0.0/16"}]},
    )
    assert put.status_code == 200 and put.json()["gateways"][0]["value"] == "10.9.0.0/16"
    refused = api.delete(f"/api/v1/zones/{zid}")
    assert refused.status_code == 403 and refused.json()["errorCode"] == "E0000006"
    assert "deactivate it first" in refused.json()["errorCauses"][0]["errorSummary"]
    assert api.post(f"/api/v1/zones/{zid}/lifecycle/deactivate").status_code == 200
    assert api.delete(f"/api/v1/zones/{zid}").status_code == 204
    assert api.get(f"/api/v1/zones/{zid}").status_code == 404


def test_active_event_hook_cannot_be_deleted_until_deactivated(api: httpx.Client) -> None:
    hook = api.post(
        "/api/v1/eventHooks",
        json={
            "name": "Audit",
            "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {"uri": "https://audit.example.com"},
            },
        },
    ).json()
    assert hook["status"] == "ACTIVE"
    refused = api.delete(f"/api/v1/eventHooks/{hook['id']}")
    assert refused.status_code == 403 and refused.json()["errorCode"] == "E0000006"
    assert api.post(f"/api/v1/eventHooks/{hook['id']}/lifecycle/deactivate").status_code == 200
    assert api.delete(f"/api/v1/eventHooks/{hook['id']}").status_code == 204


def test_a_group_rules_actions_cannot_be_replaced(api: httpx.Client) -> None:
    eng, ops = _group(api, "Eng"), _group(api, "Ops")
    rid = api.post("/api/v1/groups/rules", json=_rule_body(eng, "eng")).json()["id"]
    refused = api.put(f"/api/v1/groups/rules/{rid}", json=_rule_body(ops, "eng"))
    assert refused.status_code == 400 and refused.json()["errorCode"] == "E0000001"
    assert refused.json()["errorSummary"] == "Api validation failed: actions"
    rule = api.get(f"/api/v1/groups/rules/{rid}").json()
    assert rule["actions"]["assignUserToGroups"]["groupIds"] == [eng]
