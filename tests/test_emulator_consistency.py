"""The emulated org stays one consistent org: what references an id names a real object, and
writes the spec lists on a behaviour's collections (authorization servers and their scopes,
users' password operations) change state and write System Log events, as Okta does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

TOKEN = "consistency-token"
AS = "/api/v1/authorizationServers"


@pytest.fixture
def org() -> Iterator[tuple[RunningEmulator, httpx.Client]]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=5)) as emu:
        with httpx.Client(base_url=emu.url, headers={"Authorization": f"SSWS {TOKEN}"}) as c:
            yield emu, c


def _events_since(emu: RunningEmulator, count: int) -> list[tuple[str, str]]:
    """(eventType, first target's id) of the events logged after the first ``count``."""
    return [
        (e["eventType"], (e.get("target") or [{}])[0].get("id", ""))
        for e in emu.org.log_events[count:]
    ]


def _all(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while url:
        resp = client.get(url)
        assert resp.status_code == 200, resp.text
        out += resp.json()
        url = resp.links.get("next", {}).get("url", "")
    return out


def test_an_authorization_server_is_created_replaced_deactivated_and_deleted(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    before = len(emu.org.log_events)
    made = client.post(AS, json={"name": "Partners", "audiences": ["api://partners"]})
    assert made.status_code == 201, made.text
    server = made.json()
    sid = server["id"]
    assert (server["name"], server["audiences"], server["status"]) == (
        "Partners",
        ["api://partners"],
        "ACTIVE",
    )
    assert sid.startswith("aus") and sid in [s["id"] for s in _all(client, AS)]
    # a new server has Okta's system scopes, and takes policies like any other
    names = [s["name"] for s in client.get(f"{AS}/{sid}/scopes").json()]
    assert names == ["offline_access", "openid", "profile", "email", "address", "phone"]
    body = {"name": "P", "conditions": {"clients": {"include": ["ALL_CLIENTS"]}}}
    policy = client.post(f"{AS}/{sid}/policies", json=body).json()

    put = client.put(
        f"{AS}/{sid}", json={"name": "Partners 2", "audiences": ["api://p2"], "description": "d"}
    )
    assert put.status_code == 200, put.text
    got = client.get(f"{AS}/{sid}").json()
    assert (got["name"], got["audiences"], got["description"]) == ("Partners 2", ["api://p2"], "d")
    assert got["lastUpdated"] > got["created"]
    assert client.post(f"{AS}/{sid}/lifecycle/deactivate").status_code == 204
    assert client.get(f"{AS}/{sid}").json()["status"] == "INACTIVE"
    assert client.post(f"{AS}/{sid}/lifecycle/activate").status_code == 204
    assert client.get(f"{AS}/{sid}").json()["status"] == "ACTIVE"

    assert client.delete(f"{AS}/{sid}").status_code == 204
    for path in (f"{AS}/{sid}", f"{AS}/{sid}/scopes", f"{AS}/{sid}/policies/{policy['id']}"):
        resp = client.get(path)
        assert (resp.status_code, resp.json()["errorCode"]) == (404, "E0000007"), path
    assert sid not in [s["id"] for s in _all(client, AS)]
    assert emu.org.server(sid) is None
    assert _events_since(emu, before) == [
        ("oauth2.as.created", sid),
        ("oauth2.policy.created", policy["id"]),
        ("oauth2.as.updated", sid),
        ("oauth2.as.deactivated", sid),
        ("oauth2.as.activated", sid),
        ("oauth2.as.deleted", sid),
    ]


def test_a_bad_authorization_server_body_is_refused_by_field(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    taken = emu.org.auth_servers[0]["name"]
    cases = [
        ({"audiences": ["api://x"]}, "name: The field cannot be left blank."),
        ({"name": "X"}, "audiences: The field must be a non-empty list of strings."),
        (
            {"name": taken, "audiences": ["api://x"]},
            "name: An authorization server with this name already exists.",
        ),
    ]
    for body, cause in cases:
        resp = client.post(AS, json=body)
        assert resp.status_code == 400, resp.text
        assert resp.json()["errorCode"] == "E0000001"
        assert resp.json()["errorCauses"] == [{"errorSummary": cause}]
    assert len(_all(client, AS)) == len(emu.org.auth_servers)


def test_deleting_a_server_revokes_its_tokens_and_consent_grants(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    issuers: dict[str, list[tuple[str, str]]] = {}
    for app in emu.org.oidc_apps:
        for token in _all(client, f"/api/v1/apps/{app['id']}/tokens"):
            issuers.setdefault(token["issuer"], []).append((app["id"], token["id"]))
    issuer, held = max(issuers.items(), key=lambda kv: len(kv[1]))
    sid = issuer.rsplit("/", 1)[1]
    granted = [g for g in emu.org._user_grants.values() if g["_server"] == sid]
    assert held and granted
    assert client.delete(f"{AS}/{sid}").status_code == 204
    for app_id, token_id in held:
        assert client.get(f"/api/v1/apps/{app_id}/tokens/{token_id}").status_code == 404
    left = [
        t for app in emu.org.oidc_apps for t in _all(client, f"/api/v1/apps/{app['id']}/tokens")
    ]
    assert left and all(t["issuer"] != issuer for t in left)
    assert not [g for g in emu.org._user_grants.values() if g["_server"] == sid]
    for grant in granted:
        resp = client.get(f"/api/v1/users/{grant['userId']}/grants/{grant['id']}")
        assert resp.status_code == 404


def test_scopes_are_created_replaced_and_deleted_system_ones_kept(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    sid = emu.org.auth_servers[0]["id"]
    before = len(emu.org.log_events)
    made = client.post(f"{AS}/{sid}/scopes", json={"name": "orders:read", "consent": "REQUIRED"})
    assert made.status_code == 201, made.text
    scope = made.json()
    assert (scope["name"], scope["consent"], scope["system"]) == ("orders:read", "REQUIRED", False)
    listed = [s["id"] for s in client.get(f"{AS}/{sid}/scopes").json()]
    assert listed[-1] == scope["id"]
    dup = client.post(f"{AS}/{sid}/scopes", json={"name": "orders:read"})
    assert dup.json()["errorCauses"] == [
        {"errorSummary": "name: A scope with this name already exists."}
    ]
    put = client.put(
        f"{AS}/{sid}/scopes/{scope['id']}", json={"name": "orders:read", "description": "Orders"}
    )
    assert put.status_code == 200, put.text
    assert client.get(f"{AS}/{sid}/scopes/{scope['id']}").json()["description"] == "Orders"
    assert client.delete(f"{AS}/{sid}/scopes/{scope['id']}").status_code == 204
    assert client.get(f"{AS}/{sid}/scopes/{scope['id']}").status_code == 404
    system = next(s for s in client.get(f"{AS}/{sid}/scopes").json() if s["system"])
    refused = client.delete(f"{AS}/{sid}/scopes/{system['id']}")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "E0000006")
    assert _events_since(emu, before) == [
        ("oauth2.scope.created", scope["id"]),
        ("oauth2.scope.updated", scope["id"]),
        ("oauth2.scope.deleted", scope["id"]),
    ]


def test_deleting_a_scope_takes_its_consent_grants_and_tokens_stop_naming_it(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    grant = next(g for g in emu.org._user_grants.values())
    server = emu.org.server(grant["_server"])
    assert server is not None
    scope = next(s for s in server.scopes if s["id"] == grant["scopeId"])
    scope["system"] = False  # the seeded grants are of system scopes; make this one deletable
    apps = [a["id"] for a in emu.org.oidc_apps]
    named = [
        t
        for a in apps
        for t in _all(client, f"/api/v1/apps/{a}/tokens")
        if scope["name"] in t["scopes"]
    ]
    assert named
    assert client.delete(f"{AS}/{server.id}/scopes/{scope['id']}").status_code == 204
    resp = client.get(f"/api/v1/users/{grant['userId']}/grants/{grant['id']}")
    assert resp.status_code == 404
    tokens = [t for a in apps for t in _all(client, f"/api/v1/apps/{a}/tokens?expand=scope")]
    assert tokens and all(scope["name"] not in t["scopes"] for t in tokens)


def test_password_operations_change_the_users_status(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    active = [u for u in emu.org.users if u["status"] == "ACTIVE"]
    a, b = active[0]["id"], active[1]["id"]
    before = len(emu.org.log_events)
    expired = client.post(f"/api/v1/users/{a}/lifecycle/expire_password")
    assert expired.status_code == 200, expired.text
    assert (expired.json()["id"], expired.json()["status"]) == (a, "PASSWORD_EXPIRED")
    assert client.get(f"/api/v1/users/{a}").json()["status"] == "PASSWORD_EXPIRED"
    reset = client.post(f"/api/v1/users/{b}/lifecycle/reset_password?sendEmail=false")
    assert reset.status_code == 200, reset.text
    assert reset.json()["resetPasswordUrl"].startswith(f"{emu.url}/reset_password/")
    assert client.get(f"/api/v1/users/{b}").json()["status"] == "RECOVERY"
    staged = next(u["id"] for u in emu.org.users if u["status"] == "STAGED")
    refused = client.post(f"/api/v1/users/{staged}/lifecycle/expire_password")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "E0000038")
    assert client.get(f"/api/v1/users/{staged}").json()["status"] == "STAGED"
    assert _events_since(emu, before) == [
        ("user.account.expire_password", a),
        ("user.account.reset_password", b),
    ]


def test_reset_factors_removes_every_factor(org: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = org
    uid = next(u["id"] for u in emu.org.users if emu.org.factors(u["id"]))
    before = len(emu.org.log_events)
    resp = client.post(f"/api/v1/users/{uid}/lifecycle/reset_factors")
    assert (resp.status_code, resp.content) == (200, b"{}")
    assert client.get(f"/api/v1/users/{uid}/factors").json() == []
    assert _events_since(emu, before) == [("user.mfa.factor.reset_all", uid)]


# ------------------------------------------------------- ids across resources


def test_ids_referenced_across_resources_exist(org: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = org
    users = {u["id"] for u in _all(client, "/api/v1/users")}
    groups = {g["id"] for g in _all(client, "/api/v1/groups")}
    servers = {s["id"] for s in _all(client, AS)}
    apps = _all(client, "/api/v1/apps")
    tokens = [
        t
        for a in apps
        if a["signOnMode"] == "OPENID_CONNECT"
        for t in _all(client, f"/api/v1/apps/{a['id']}/tokens")
    ]
    assert tokens and {t["userId"] for t in tokens} <= users
    assert {t["issuer"].rsplit("/", 1)[1] for t in tokens} <= servers
    rules = _all(client, "/api/v1/groups/rules")
    assert rules
    for rule in rules:  # an INVALID rule is one whose group was deleted (none in the seed)
        assert rule["status"] in ("ACTIVE", "INACTIVE"), rule["id"]
        assert set(rule["actions"]["assignUserToGroups"]["groupIds"]) <= groups, rule["id"]
    assigned = [g["id"] for a in apps for g in _all(client, f"/api/v1/apps/{a['id']}/groups")]
    assert assigned and set(assigned) <= groups
    members = [u["id"] for g in groups for u in _all(client, f"/api/v1/groups/{g}/users")]
    assert members and set(members) <= users
    app_users = [u["id"] for a in apps for u in _all(client, f"/api/v1/apps/{a['id']}/users")]
    assert app_users and set(app_users) <= users


def test_a_group_rule_needs_its_target_groups(org: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = org
    body = {
        "type": "group_rule",
        "name": "Engineers",
        "conditions": {"expression": {"value": 'user.department=="Eng"'}},
        "actions": {"assignUserToGroups": {"groupIds": ["00gNOSUCHGROUP000000"]}},
    }
    resp = client.post("/api/v1/groups/rules", json=body)
    assert resp.status_code == 400
    assert resp.json()["errorCauses"] == [
        {
            "errorSummary": "actions.assignUserToGroups.groupIds: Invalid group id '00gNOSUCHGROUP000000'."
        }
    ]
    assert not [r for r in emu.org.group_rules if r["name"] == "Engineers"]


def test_deleting_a_group_removes_it_from_apps_and_invalidates_its_rules(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    app = next(a for a in emu.org.apps if client.get(f"/api/v1/apps/{a['id']}/groups").json())
    gid = client.get(f"/api/v1/apps/{app['id']}/groups").json()[0]["id"]
    body = {
        "type": "group_rule",
        "name": "To the group",
        "conditions": {"expression": {"value": 'user.department=="Eng"'}},
        "actions": {"assignUserToGroups": {"groupIds": [gid]}},
    }
    rule = client.post("/api/v1/groups/rules", json=body).json()
    assert client.delete(f"/api/v1/groups/{gid}").status_code == 204
    assert client.get(f"/api/v1/apps/{app['id']}/groups/{gid}").status_code == 404
    assert gid not in [g["id"] for g in _all(client, f"/api/v1/apps/{app['id']}/groups")]
    assert client.get(f"/api/v1/groups/{gid}/users").status_code == 404
    # Okta keeps the rule, INVALID (it names a group that is gone) and unable to change status
    got = client.get(f"/api/v1/groups/rules/{rule['id']}").json()
    assert got["status"] == "INVALID"
    refused = client.post(f"/api/v1/groups/rules/{rule['id']}/lifecycle/activate")
    assert (refused.status_code, refused.json()["errorCode"]) == (403, "E0000038")


def test_deleting_an_app_takes_its_tokens_grants_and_assignments(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    app = next(a for a in emu.org.oidc_apps if emu.org.token_count(a["id"]))
    aid = app["id"]
    token = client.get(f"/api/v1/apps/{aid}/tokens?limit=1").json()[0]
    user_id = token["userId"]
    assert client.post(f"/api/v1/apps/{aid}/lifecycle/deactivate").status_code == 200
    assert client.delete(f"/api/v1/apps/{aid}").status_code == 204
    for path in (
        f"/api/v1/apps/{aid}/tokens",
        f"/api/v1/apps/{aid}/tokens/{token['id']}",
        f"/api/v1/apps/{aid}/users",
        f"/api/v1/apps/{aid}/groups",
        f"/api/v1/apps/{aid}/grants",
    ):
        resp = client.get(path)
        assert (resp.status_code, resp.json()["errorCode"]) == (404, "E0000007"), path
    client_id = app["credentials"]["oauthClient"]["client_id"]
    clients = [c["client_id"] for c in client.get(f"/api/v1/users/{user_id}/clients").json()]
    assert client_id not in clients
    grants = _all(client, f"/api/v1/users/{user_id}/grants")
    assert all(g["clientId"] != client_id for g in grants)


def test_a_pending_factor_is_activated_with_its_pass_code(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    uid = next(u["id"] for u in emu.org.users if u["status"] == "ACTIVE")
    for f in client.get(f"/api/v1/users/{uid}/factors").json():  # a fresh start: no factors
        client.delete(f"/api/v1/users/{uid}/factors/{f['id']}")
    body = {"factorType": "token:software:totp", "provider": "GOOGLE"}
    factor = client.post(f"/api/v1/users/{uid}/factors", json=body).json()
    assert factor["status"] == "PENDING_ACTIVATION"
    path = f"/api/v1/users/{uid}/factors/{factor['id']}/lifecycle/activate"
    bad = client.post(path, json={"passCode": "12"})
    assert bad.json()["errorCauses"] == [
        {"errorSummary": "passCode: The field must be the 6-digit code the factor shows."}
    ]
    before = len(emu.org.log_events)
    ok = client.post(path, json={"passCode": "123456"})
    assert (ok.status_code, ok.json()["status"]) == (200, "ACTIVE")
    got = client.get(f"/api/v1/users/{uid}/factors/{factor['id']}").json()
    assert got["status"] == "ACTIVE"
    assert _events_since(emu, before) == [("user.mfa.factor.activate", uid)]
    again = client.post(path, json={"passCode": "123456"})
    assert again.status_code == 400


def test_a_group_assignment_is_patched(org: tuple[RunningEmulator, httpx.Client]) -> None:
    emu, client = org
    app = next(a for a in emu.org.apps if client.get(f"/api/v1/apps/{a['id']}/groups").json())
    gid = client.get(f"/api/v1/apps/{app['id']}/groups").json()[0]["id"]
    path = f"/api/v1/apps/{app['id']}/groups/{gid}"
    ops = [
        {"op": "replace", "path": "/priority", "value": 7},
        {"op": "add", "path": "/profile/role", "value": "viewer"},
    ]
    resp = client.patch(path, json=ops)
    assert resp.status_code == 200, resp.text
    got = client.get(path).json()
    assert (got["priority"], got["profile"]["role"]) == (7, "viewer")
    bad = client.patch(path, json=[{"op": "replace", "path": "/id", "value": "x"}])
    assert bad.json()["errorCauses"] == [{"errorSummary": "path: '/id' cannot be patched."}]
    missing = client.patch(f"/api/v1/apps/{app['id']}/groups/00gNOSUCHGROUP000000", json=ops)
    assert missing.status_code == 404


def test_deleting_a_user_takes_its_memberships_assignments_and_sub_resources(
    org: tuple[RunningEmulator, httpx.Client],
) -> None:
    emu, client = org
    uid = next(
        u["id"]
        for u in emu.org.users
        if u["status"] == "ACTIVE" and emu.org.groups_of_user(u["id"]) and emu.org.factors(u["id"])
    )
    groups = [g["id"] for g in emu.org.groups_of_user(uid)]
    apps = [a["id"] for a in emu.org.apps if uid in [u["id"] for u in emu.org.app_users(a["id"])]]
    linked = f"/api/v1/users/{uid}/linkedObjects/manager"  # a generic child resource
    assert client.get(linked).status_code == 200
    assert client.delete(f"/api/v1/users/{uid}").status_code == 204  # deactivates first
    assert client.get(f"/api/v1/users/{uid}").json()["status"] == "DEPROVISIONED"
    assert client.delete(f"/api/v1/users/{uid}").status_code == 204
    for path in (f"/api/v1/users/{uid}", f"/api/v1/users/{uid}/factors", linked):
        resp = client.get(path)
        assert (resp.status_code, resp.json()["errorCode"]) == (404, "E0000007"), path
    for gid in groups:
        assert uid not in [u["id"] for u in _all(client, f"/api/v1/groups/{gid}/users")]
    for aid in apps:
        assert client.get(f"/api/v1/apps/{aid}/users/{uid}").status_code == 404
    assert not [g for g in emu.org._user_grants.values() if g["userId"] == uid]
