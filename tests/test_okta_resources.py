"""The built-in provider's resource families through the engine, against the emulator's truth.

Each SELECT goes through ``oktaql.connect(org_url=emu.url, token=...)`` (the built-in
provider) over loopback HTTP and must return exactly the emulator's ground truth (``Org``
accessors); the write verbs (INSERT, UPDATE, REPLACE, DELETE, EXEC) must change the org as
Okta would and leave System Log events naming what they touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, Org, RunningEmulator, start_in_thread
from oktaql.output import iso

TOKEN = "resources-token"
SEEDED_UNTIL = "2025-01-01T00:00:00.000Z"  # seeded history ends before the API's logical clock


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=4)) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=6)) as running:
        yield running


def _value(value: Any) -> Any:
    return iso(value) if isinstance(value, dt.datetime | dt.date) else value


def select(
    emu: RunningEmulator, sql: str, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows as dicts in the API's JSON shape (timestamps back to Okta's text; no NULLs)."""
    cur = oktaql.connect(org_url=emu.url, token=TOKEN).cursor()
    cur.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [{c: _value(v) for c, v in zip(cols, row) if v is not None} for row in cur.fetchall()]


def run(
    emu: RunningEmulator, sql: str, params: dict[str, Any] | None = None
) -> list[tuple[Any, ...]]:
    cur = oktaql.connect(org_url=emu.url, token=TOKEN).cursor()
    cur.execute(sql, params)
    return cur.fetchall() if cur.description else []


def same(rows: list[dict[str, Any]], truth: list[dict[str, Any]], *bound: str) -> None:
    """Rows equal the truth field by field (in order); ``bound`` are the WHERE-bound columns."""
    assert len(rows) == len(truth), (len(rows), len(truth))
    for row, want in zip(rows, truth):
        expected = {k: v for k, v in want.items() if v is not None}
        got = {k: v for k, v in row.items() if k not in bound or k in expected}
        assert "id" not in expected or "id" in got  # the resource's columns were selected
        assert {k: got[k] for k in expected if k in got} == {
            k: expected[k] for k in got if k in expected
        }
        assert set(got) <= set(expected) | set(bound), set(got) - set(expected)
        assert len(set(got) & set(expected)) >= min(3, len(expected))


def new_events(org: Org, since: str = SEEDED_UNTIL) -> list[dict[str, Any]]:
    return org.log_events_between(since=since)


# ------------------------------------------------------------------ users' sub-resources


def test_factors_and_one_factor(emu: RunningEmulator) -> None:
    org = emu.org
    with_factors = [u["id"] for u in org.users if org.factors(u["id"])]
    without = next(u["id"] for u in org.users if not org.factors(u["id"]))
    for uid in with_factors[:4] + [without]:
        rows = select(emu, "SELECT * FROM okta.users.factors WHERE userId = {{ u }}", {"u": uid})
        same(rows, org.factors(uid), "userId")
    uid = with_factors[0]
    factor = org.factors(uid)[-1]
    rows = select(
        emu,
        "SELECT * FROM okta.users.factors WHERE userId = {{ u }} AND factorId = {{ f }}",
        {"u": uid, "f": factor["id"]},
    )
    same(rows, [factor], "userId", "factorId")
    assert {f["factorType"] for u in with_factors for f in org.factors(u)} >= {"email", "sms"}


def test_admin_role_assignments(emu: RunningEmulator) -> None:
    org = emu.org
    assignees = org.role_assignee_ids()
    assert len(assignees) == 5 and org.admin_id == assignees[0]
    assert org.user_roles(org.admin_id)[0]["type"] == "SUPER_ADMIN"
    for uid in assignees:
        rows = select(
            emu, "SELECT * FROM okta.users.role_assignment_users WHERE userId = {{ u }}", {"u": uid}
        )
        same(rows, org.user_roles(uid), "userId")
    custom = next(r for u in assignees for r in org.user_roles(u) if r["type"] == "CUSTOM")
    assert custom["role"] in {r["id"] for r in org.iam_roles}
    # every assignee, fanned out from the users list
    rows = run(
        emu,
        "SELECT userId, id, type FROM okta.users.role_assignment_users "
        "WHERE userId IN (SELECT id FROM okta.users.users) ORDER BY userId, id",
    )
    listed = {u["id"] for u in org.users if u["status"] != "DEPROVISIONED"}
    truth = sorted(
        (u, r["id"], r["type"]) for u in assignees if u in listed for r in org.user_roles(u)
    )
    assert sorted(rows) == truth
    # and the IAM view of the same assignments
    (row,) = select(emu, "SELECT * FROM okta.iam.users_with_role_assignments")
    assert row["value"] == org.role_assignees


def test_role_assignments_joined_to_users(emu: RunningEmulator) -> None:
    # r.userId = u.id also binds get_user's optional `id`: the planner lists users first
    rows = run(
        emu,
        "SELECT u.id, r.type FROM okta.users.users u "
        "JOIN okta.users.role_assignment_users r ON r.userId = u.id ORDER BY u.id, r.type",
    )
    org = emu.org
    assert rows == sorted(
        (u, r["type"]) for u in org.role_assignee_ids() for r in org.user_roles(u)
    )


def test_grants_clients_and_tokens_of_a_user(emu: RunningEmulator) -> None:
    org = emu.org
    grant = org.user_grants(next(iter(org._user_grants.values()))["userId"])[0]
    uid, client = grant["userId"], grant["clientId"]
    rows = select(emu, "SELECT * FROM okta.users.grants WHERE userId = {{ u }}", {"u": uid})
    same(rows, org.user_grants(uid), "userId")
    rows = select(
        emu,
        "SELECT * FROM okta.users.grants WHERE userId = {{ u }} AND expand = 'scope'",
        {"u": uid},
    )
    same(rows, org.user_grants(uid, expand_scope=True), "userId", "expand")
    rows = select(
        emu,
        "SELECT * FROM okta.users.grants WHERE userId = {{ u }} AND clientId = {{ c }}",
        {"u": uid, "c": client},
    )
    same(rows, org.user_grants(uid, client_id=client), "userId", "clientId")
    rows = select(emu, "SELECT * FROM okta.users.user_clients WHERE userId = {{ u }}", {"u": uid})
    same(rows, org.user_clients(uid), "userId")
    assert client in {c["client_id"] for c in rows}
    tokens = org.client_tokens(client, user_id=uid)
    rows = select(
        emu,
        "SELECT * FROM okta.users.oauth_tokens WHERE userId = {{ u }} AND clientId = {{ c }} AND limit = '2'",
        {"u": uid, "c": client},
    )
    same(rows, tokens, "userId", "clientId", "limit")
    assert tokens and all(t["userId"] == uid and t["clientId"] == client for t in tokens)
    # a grant's scope is one of the scopes of the tokens it was given for
    server = grant["_links"]["authorizationServer"]["href"].rsplit("/", 1)[1]
    scope = next(s for s in org.scopes(server) if s["id"] == grant["scopeId"])
    assert any(scope["name"] in t["scopes"] and t["issuer"].endswith(server) for t in tokens)


def test_app_grants_and_keys(emu: RunningEmulator) -> None:
    org = emu.org
    granted = [a["id"] for a in org.oidc_apps if org.app_grants(a["id"])]
    assert granted
    for app in granted:
        rows = select(emu, "SELECT * FROM okta.apps.grants WHERE appId = {{ a }}", {"a": app})
        same(rows, org.app_grants(app), "appId")
        assert all(g["createdBy"]["id"] == org.admin_id for g in rows)
    for app in [a["id"] for a in org.apps][:6]:
        rows = select(emu, "SELECT * FROM okta.apps.keys WHERE appId = {{ a }}", {"a": app})
        same(rows, org.app_keys(app), "appId")
        signing = (org.app(app) or {})["credentials"].get("signing", {}).get("kid")
        assert [k["kid"] for k in rows] == ([signing] if signing else [])


def test_authorization_server_resources(emu: RunningEmulator) -> None:
    org = emu.org
    for server in org.auth_servers:
        sid = server["id"]
        p = {"s": sid}
        for resource, truth in (
            ("policies", org.server_policies(sid)),
            ("claims", org.claims(sid)),
            ("keys", org.server_keys(sid)),
            ("clients", org.server_clients(sid)),
            ("scopes", org.scopes(sid)),
        ):
            rows = select(
                emu,
                f"SELECT * FROM okta.authorizationservers.{resource} WHERE authServerId = {{{{ s }}}}",
                p,
            )
            same(rows, truth, "authServerId")
        keys = org.server_keys(sid)
        assert [k["status"] for k in keys] == ["ACTIVE", "NEXT"]
        assert keys[0]["kid"] == server["credentials"]["signing"]["kid"]
        for policy in org.server_policies(sid):
            rows = select(
                emu,
                "SELECT * FROM okta.authorizationservers.rules WHERE authServerId = {{ s }} AND policyId = {{ p }}",
                {"s": sid, "p": policy["id"]},
            )
            same(rows, org.server_policy_rules(sid, policy["id"]), "authServerId", "policyId")
        for client in org.server_clients(sid)[:3]:
            rows = select(
                emu,
                "SELECT * FROM okta.authorizationservers.refresh_tokens "
                "WHERE authServerId = {{ s }} AND clientId = {{ c }}",
                {"s": sid, "c": client["client_id"]},
            )
            truth = org.client_tokens(client["client_id"], server_id=sid)
            same(rows, truth, "authServerId", "clientId")
            assert truth and all(t["issuer"].endswith(f"/oauth2/{sid}") for t in truth)


def test_policies_need_a_type(emu: RunningEmulator) -> None:
    org = emu.org
    for ptype in (
        "OKTA_SIGN_ON",
        "PASSWORD",
        "MFA_ENROLL",
        "ACCESS_POLICY",
        "IDP_DISCOVERY",
        "PROFILE_ENROLLMENT",
    ):
        rows = select(
            emu, "SELECT * FROM okta.policies.policies WHERE type = {{ t }}", {"t": ptype}
        )
        same(rows, org.policies(ptype), "type")
        for policy in rows:
            rules = select(
                emu,
                "SELECT * FROM okta.policies.policy_rules WHERE policyId = {{ p }}",
                {"p": policy["id"]},
            )
            same(rules, org.policy_rules(policy["id"]), "policyId")
    everyone = org.groups[0]["id"]
    assert org.policies("PASSWORD")[0]["conditions"]["people"]["groups"]["include"] == [everyone]
    with pytest.raises(oktaql.Error, match="type"):
        run(emu, "SELECT id FROM okta.policies.policies")


def test_system_log(emu: RunningEmulator) -> None:
    org = emu.org
    history = org.log_events_between(since="2024-01-01T00:00:00.000Z", until=SEEDED_UNTIL)
    assert len(history) > 200
    assert [e["published"] for e in history] == sorted(e["published"] for e in history)
    emu.reset_log()
    rows = select(
        emu,
        "SELECT * FROM okta.logs.system_log_events WHERE since = '2024-01-01T00:00:00Z' AND until = {{ u }}",
        {"u": SEEDED_UNTIL},
    )
    same(rows, history, "since", "until")
    pages = [p for m, p, _ in emu.request_log if p.startswith("/api/v1/logs")]
    # the largest page the log allows (1000): one request for the whole year
    assert len(pages) == -(-len(history) // 1000) == 1
    assert pages[0].endswith("&limit=1000")
    emu.reset_log()
    paged_rows = select(
        emu,
        "SELECT * FROM okta.logs.system_log_events WHERE since = '2024-01-01T00:00:00Z' "
        "AND until = {{ u }} AND limit = '100'",
        {"u": SEEDED_UNTIL},
    )
    same(paged_rows, history, "since", "until", "limit")
    pages = [p for m, p, _ in emu.request_log if p.startswith("/api/v1/logs")]
    assert len(pages) == -(-len(history) // 100)  # bounded: exactly the pages needed
    # every event names real actors and targets
    users, apps, groups = ({x["id"] for x in xs} for xs in (org.users, org.apps, org.groups))
    for event in history:
        if event["actor"]["type"] == "User":
            assert event["actor"]["id"] in users
        for target in event["target"]:
            known = {"User": users, "AppInstance": apps, "UserGroup": groups}.get(target["type"])
            assert known is None or target["id"] in known, event["eventType"]
    kinds = {e["eventType"] for e in history}
    assert kinds >= {
        "user.lifecycle.create",
        "user.lifecycle.activate",
        "user.session.start",
        "group.user_membership.add",
        "application.user_membership.add",
        "app.oauth2.as.token.grant.refresh_token",
        "app.oauth2.as.consent.grant",
        "user.account.privilege.grant",
    }
    # filter and q go to the API; polling (no until) stops once caught up
    created = [e["uuid"] for e in history if e["eventType"] == "user.lifecycle.create"]
    rows = select(
        emu,
        "SELECT uuid FROM okta.logs.system_log_events WHERE since = '2024-01-01T00:00:00Z' "
        "AND filter = 'eventType eq \"user.lifecycle.create\"'",
    )
    assert (
        [r["uuid"] for r in rows]
        == created
        == [e["uuid"] for e in org.log_events if e["eventType"] == "user.lifecycle.create"]
    )
    user = org.users[3]
    rows = select(
        emu,
        "SELECT uuid FROM okta.logs.system_log_events WHERE filter = {{ f }}",
        {"f": f'target.id eq "{user["id"]}"'},
    )
    assert [r["uuid"] for r in rows] == [
        e["uuid"] for e in org.log_events if user["id"] in {t["id"] for t in e["target"]}
    ]


def test_org_administration_collections(emu: RunningEmulator) -> None:
    org = emu.org
    for table, truth in (
        ("okta.idps.identity_providers", org.idps),
        ("okta.zones.network_zones", org.zones),
        ("okta.trustedorigins.trusted_origins", org.trusted_origins),
        ("okta.eventhooks.event_hooks", org.event_hooks),
        ("okta.inlinehooks.inline_hooks", org.inline_hooks),
        ("okta.api_tokens.api_tokens", org.api_tokens),
        ("okta.groups.rules", org.group_rules),
    ):
        assert truth, table
        same(select(emu, f"SELECT * FROM {table}"), truth)
    (row,) = select(emu, "SELECT * FROM okta.iam.roles")
    assert row["roles"] == org.iam_roles
    assert {t["userId"] for t in org.api_tokens} <= set(org.role_assignee_ids())
    rows = select(emu, "SELECT id, name FROM okta.idps.identity_providers WHERE type = 'SAML2'")
    assert rows == [{"id": i["id"], "name": i["name"]} for i in org.idps if i["type"] == "SAML2"]


def test_scale_is_deterministic() -> None:
    big = EmulatorConfig(seed=3, users=60, groups=9)
    first, second = Org(big), Org(big)
    assert first.log_events == second.log_events
    assert [first.factors(u["id"]) for u in first.users] == [
        second.factors(u["id"]) for u in second.users
    ]
    assert first.role_assignees == second.role_assignees and len(first.role_assignees) == 5
    assert len(first.log_events) > len(Org(EmulatorConfig(seed=3)).log_events)
    empty = Org(EmulatorConfig(seed=3, users=0, groups=0))
    assert empty.role_assignees == [] and empty.api_tokens == [] and empty.group_rules == []
    assert empty.policies("PASSWORD") and all(
        e["actor"]["type"] == "SystemPrincipal" for e in empty.log_events
    )


# ------------------------------------------------------------------ writes


def test_insert_update_replace_and_delete_a_user(fresh: RunningEmulator) -> None:
    org = fresh.org
    profile = '{"firstName":"Ada","lastName":"Byron","email":"ada.byron@example.com","login":"ada.byron@example.com"}'
    ((uid, status),) = run(
        fresh,
        "INSERT INTO okta.users.users (data__profile, activate) SELECT {{ p }}, true RETURNING id, status",
        {"p": profile},
    )
    assert status == "PROVISIONED"  # activated without a password: pending the user's activation
    user = org.user(uid)
    assert user is not None and user["status"] == "PROVISIONED"
    assert uid in org.member_ids(org.groups[0]["id"])  # everyone is in Everyone
    same(
        select(fresh, "SELECT * FROM okta.users.users WHERE id = {{ u }}", {"u": uid}), [user], "id"
    )
    run(
        fresh,
        'UPDATE okta.users.users SET data__profile = \'{"title":"Countess"}\' WHERE id = {{ u }}',
        {"u": uid},
    )
    after = org.user(uid)
    assert (
        after is not None
        and after["profile"]["title"] == "Countess"
        and after["profile"]["lastName"] == "Byron"
    )
    run(
        fresh,
        "REPLACE okta.users.users SET data__profile = {{ p }} WHERE id = {{ u }}",
        {"p": profile.replace("Byron", "Lovelace"), "u": uid},
    )
    after = org.user(uid)
    assert (
        after is not None
        and after["profile"]["lastName"] == "Lovelace"
        and "title" not in after["profile"]
    )
    with pytest.raises(oktaql.APIError) as info:
        run(fresh, "INSERT INTO okta.users.users (data__profile) SELECT {{ p }}", {"p": profile})
    assert (info.value.status, info.value.error_code) == (400, "E0000001")
    run(fresh, "DELETE FROM okta.users.users WHERE id = {{ u }}", {"u": uid})  # deactivates first
    after = org.user(uid)
    assert after is not None and after["status"] == "DEPROVISIONED"
    run(fresh, "DELETE FROM okta.users.users WHERE id = {{ u }}", {"u": uid})  # then deletes
    assert org.user(uid) is None and uid not in org.member_ids(org.groups[0]["id"])
    with pytest.raises(oktaql.APIError) as info:
        run(fresh, "SELECT id FROM okta.users.users WHERE id = {{ u }}", {"u": uid})
    assert (info.value.status, info.value.error_code) == (404, "E0000007")
    via_everyone = [
        a["id"]
        for a in org.apps
        if org.groups[0]["id"] in {g["id"] for g in org.app_groups(a["id"])}
    ]
    assert via_everyone  # the intranet bookmark is assigned to Everyone
    assert [e["eventType"] for e in new_events(org) if uid in {t["id"] for t in e["target"]}] == [
        "user.lifecycle.create",
        "group.user_membership.add",
        *["application.user_membership.add"] * len(via_everyone),
        "user.account.update_profile",
        "user.account.update_profile",
        "user.lifecycle.deactivate",
        "user.lifecycle.delete.initiated",
        "user.lifecycle.delete.completed",
    ]


def test_lifecycle_follows_okta_status_rules(fresh: RunningEmulator) -> None:
    org = fresh.org
    admin = org.admin_id
    holder = next(g["userId"] for g in org._user_grants.values() if g["userId"] != admin)
    client = next(g["clientId"] for g in org._user_grants.values() if g["userId"] == holder)
    assert org.client_tokens(client, user_id=holder)
    run(fresh, "EXEC okta.users.users.suspend_user @id = {{ u }}", {"u": holder})
    assert org.user(holder)["status"] == "SUSPENDED"  # type: ignore[index]
    with pytest.raises(oktaql.APIError) as info:
        run(fresh, "EXEC okta.users.users.suspend_user @id = {{ u }}", {"u": holder})
    assert (info.value.status, info.value.error_code) == (400, "E0000001")
    run(fresh, "EXEC okta.users.users.unsuspend_user @id = {{ u }}", {"u": holder})
    assert org.user(holder)["status"] == "ACTIVE"  # type: ignore[index]
    with pytest.raises(oktaql.APIError) as info:
        run(fresh, "EXEC okta.users.users.unlock_user @id = {{ u }}", {"u": holder})
    assert info.value.status == 403
    run(fresh, "EXEC okta.users.users.deactivate_user @id = {{ u }}", {"u": holder})
    assert org.user(holder)["status"] == "DEPROVISIONED"  # type: ignore[index]
    assert org.client_tokens(client, user_id=holder) == []  # deactivation revokes refresh tokens
    run(
        fresh,
        "EXEC okta.users.users.activate_user @id = {{ u }}, @sendEmail = false",
        {"u": holder},
    )
    assert org.user(holder)["status"] == "ACTIVE"  # type: ignore[index]
    rows = select(
        fresh,
        "SELECT eventType, actor FROM okta.logs.system_log_events WHERE since = {{ s }} AND until = '2030-01-01T00:00:00Z'",
        {"s": SEEDED_UNTIL},
    )
    assert [r["eventType"] for r in rows] == [
        "user.lifecycle.suspend",
        "user.lifecycle.unsuspend",
        "user.lifecycle.deactivate",
        "user.lifecycle.activate",
    ]
    assert {r["actor"]["id"] for r in rows} == {admin}  # the API token's owner


def test_group_writes_and_membership(fresh: RunningEmulator) -> None:
    org = fresh.org
    ((gid,),) = run(
        fresh,
        'INSERT INTO okta.groups.groups (data__profile) SELECT \'{"name":"Pilots","description":"Fly"}\' RETURNING id',
    )
    assert org.group(gid)["profile"] == {"name": "Pilots", "description": "Fly"}  # type: ignore[index]
    # a member of a group assigned to an app gets the app (scope GROUP), and loses it again
    app = next(a["id"] for a in org.apps if org.app_groups(a["id"]))
    assigned = org.app_groups(app)[0]["id"]
    newcomer = next(
        u["id"]
        for u in org.users
        if u["status"] == "ACTIVE" and u["id"] not in {x["id"] for x in org.app_users(app)}
    )
    gaining = [
        a["id"]
        for a in org.apps
        if assigned in {g["id"] for g in org.app_groups(a["id"])}
        and newcomer not in {x["id"] for x in org.app_users(a["id"])}
    ]
    run(
        fresh,
        "EXEC okta.groups.users.assign_user_to_group @groupId = {{ g }}, @userId = {{ u }}",
        {"g": assigned, "u": newcomer},
    )
    assert newcomer in org.member_ids(assigned)
    assert {x["id"]: x["scope"] for x in org.app_users(app)}[newcomer] == "GROUP"
    same(
        select(fresh, "SELECT * FROM okta.groups.users WHERE groupId = {{ g }}", {"g": assigned}),
        org.group_members(assigned),
        "groupId",
    )
    run(
        fresh,
        "DELETE FROM okta.groups.users WHERE groupId = {{ g }} AND userId = {{ u }}",
        {"g": assigned, "u": newcomer},
    )
    assert newcomer not in org.member_ids(assigned)
    assert newcomer not in {x["id"] for x in org.app_users(app)}
    run(
        fresh,
        'REPLACE okta.groups.groups SET data__profile = \'{"name":"Aviators"}\' WHERE groupId = {{ g }}',
        {"g": gid},
    )
    assert org.group(gid)["profile"] == {"name": "Aviators"}  # type: ignore[index]
    run(fresh, "DELETE FROM okta.groups.groups WHERE groupId = {{ g }}", {"g": gid})
    assert org.group(gid) is None
    kinds = [e["eventType"] for e in new_events(org)]
    assert kinds == [
        "group.lifecycle.create",
        "group.user_membership.add",
        *["application.user_membership.add"] * len(gaining),
        "group.user_membership.remove",
        *["application.user_membership.remove"] * len(gaining),
        "group.profile.update",
        "group.lifecycle.delete",
    ]
    app_events = [e for e in new_events(org) if e["eventType"].startswith("application.")]
    assert [e["target"][1]["id"] for e in app_events] == gaining + gaining


def test_group_rule_activation_assigns_matching_users(fresh: RunningEmulator) -> None:
    org = fresh.org
    group = next(g for g in org.groups if g["type"] == "OKTA_GROUP")
    members = set(org.member_ids(group["id"]))
    dept = next(
        u["profile"]["department"]
        for u in org.users
        if u["status"] == "ACTIVE" and u["id"] not in members
    )
    expected = {
        u["id"]
        for u in org.users
        if u["profile"]["department"] == dept and u["status"] != "DEPROVISIONED"
    }
    conditions = (
        '{"expression":{"value":"user.department==\\"'
        + dept
        + '\\"","type":"urn:okta:expression:1.0"}}'
    )
    actions = '{"assignUserToGroups":{"groupIds":["' + group["id"] + '"]}}'
    ((rid, status),) = run(
        fresh,
        "INSERT INTO okta.groups.rules (data__type, data__name, data__conditions, data__actions) "
        "SELECT 'group_rule', {{ n }}, {{ c }}, {{ a }} RETURNING id, status",
        {"n": f"{dept} people", "c": conditions, "a": actions},
    )
    assert status == "INACTIVE"
    run(fresh, "EXEC okta.groups.rules.activate_group_rule @groupRuleId = {{ r }}", {"r": rid})
    assert set(org.member_ids(group["id"])) == members | expected
    added = [
        e["target"][0]["id"]
        for e in new_events(org)
        if e["eventType"] == "group.user_membership.add"
    ]
    assert set(added) == expected - members


def test_role_assignment_writes(fresh: RunningEmulator) -> None:
    org = fresh.org
    uid = org.role_assignee_ids()[1]
    before = org.user_roles(uid)
    ((rid, label),) = run(
        fresh,
        "INSERT INTO okta.users.role_assignment_users (userId, data__type) SELECT {{ u }}, 'REPORT_ADMIN' RETURNING id, label",
        {"u": uid},
    )
    assert label == "Report Administrator"
    assert [r["id"] for r in org.user_roles(uid)] == [r["id"] for r in before] + [rid]
    run(
        fresh,
        "DELETE FROM okta.users.role_assignment_users WHERE userId = {{ u }} AND roleAssignmentId = {{ r }}",
        {"u": uid, "r": rid},
    )
    assert org.user_roles(uid) == before
    assert [e["eventType"] for e in new_events(org)] == [
        "user.account.privilege.grant",
        "user.account.privilege.revoke",
    ]


def test_revocations_and_app_changes_are_logged(fresh: RunningEmulator) -> None:
    org = fresh.org
    grant = next(iter(org._user_grants.values()))
    uid, client = grant["userId"], grant["clientId"]
    held = [t["id"] for t in org.client_tokens(client, user_id=uid)]
    run(
        fresh,
        "DELETE FROM okta.users.oauth_tokens WHERE userId = {{ u }} AND clientId = {{ c }}",
        {"u": uid, "c": client},
    )
    assert org.client_tokens(client, user_id=uid) == []
    app = next(a["id"] for a in org.oidc_apps if org.token_count(a["id"]) > 2 and a["id"] != client)
    victim = org.token_ids(app)[1]
    victim_user = org.token(app, victim)["userId"]  # type: ignore[index]
    run(
        fresh,
        "DELETE FROM okta.apps.tokens WHERE appId = {{ a }} AND tokenId = {{ t }}",
        {"a": app, "t": victim},
    )
    run(fresh, "DELETE FROM okta.users.grants WHERE userId = {{ u }}", {"u": uid})
    assert org.user_grants(uid) == []
    run(fresh, "EXEC okta.apps.applications.deactivate_application @appId = {{ a }}", {"a": app})
    rows = select(
        fresh,
        "SELECT eventType, target FROM okta.logs.system_log_events WHERE since = {{ s }}",
        {"s": SEEDED_UNTIL},
    )
    revoked = [r["target"] for r in rows if r["eventType"] == "app.oauth2.token.revoke"]
    assert [t[0]["id"] for t in revoked] == held + [victim]
    assert [t[1]["id"] for t in revoked] == [client] * len(held) + [app]
    assert [t[2]["id"] for t in revoked] == [uid] * len(held) + [victim_user]
    tail = [r["eventType"] for r in rows[len(revoked) :]]
    # deleting the (now inactive) app takes its grants along
    granted = next(g for g in org._user_grants.values() if g["_app"] == app)
    run(fresh, "DELETE FROM okta.apps.applications WHERE appId = {{ a }}", {"a": app})
    assert org.app(app) is None and org.app_grants(app) == []
    assert granted["id"] not in {g["id"] for g in org.user_grants(granted["userId"])}
    assert tail[-1] == "application.lifecycle.deactivate" and set(tail[:-1]) == {
        "app.oauth2.as.consent.revoke"
    }
