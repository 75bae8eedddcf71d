"""export: existing objects → a declarative stack; built on a fresh org, a plan shows no change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

# the package's public names: what a Python user of deploy imports
from oktaql.deploy import apply_changes, export_stack, load_stack, plan_resources
from oktaql.errors import DeployError
from oktaql.session import Session


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def empty_org() -> Iterator[Any]:
    """A second org with nothing but Okta's own objects (the Everyone group, default zones)."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running = start_in_thread(EmulatorConfig(token="test-token", seed=7, groups=1))
    try:
        yield running
    finally:
        running.stop()


def _hand_made(emu: Any) -> None:
    with httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS test-token"}) as api:
        for name, text in (("team-eng", "Engineers"), ("team-ops", "On call")):
            r = api.post("/api/v1/groups", json={"profile": {"name": name, "description": text}})
            assert r.status_code == 200
        origin = {
            "name": "docs",
            "origin": "https://docs.example.com",
            "scopes": [{"type": "CORS"}],
        }
        made = api.post("/api/v1/trustedOrigins", json=origin).json()
        assert api.post(f"/api/v1/trustedOrigins/{made['id']}/lifecycle/deactivate").is_success
        zone = {"type": "IP", "name": "vpn", "gateways": [{"type": "CIDR", "value": "10.8.0.0/16"}]}
        assert api.post("/api/v1/zones", json=zone).is_success


def _round_trip(src: Any, dst: Any, resource: str, where: str | None, out: Path) -> list[Any]:
    path = export_stack(Session(org_url=src.url, token="test-token"), resource, where, out)
    session = Session(org_url=dst.url, token="test-token")
    stack = load_stack(path.parent, "prd", catalog=session.catalog)
    context = {"stack_name": stack.name, "stack_env": "prd"}
    changes = plan_resources(session, stack, stack.resources, context)
    report = apply_changes(session, stack, changes, context)
    assert report.ok, report.outcomes
    dst.request_log.clear()
    again = plan_resources(session, stack, stack.resources, context)
    assert [(c.action, c.changes) for c in again] == [("none", ())] * len(again)
    assert all(m == "GET" for m, _p, _h in dst.request_log)
    return changes


def test_exported_groups_build_on_a_fresh_org_and_plan_no_change(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path
) -> None:
    _hand_made(fresh_emulator)
    out = tmp_path / "onboarded"
    changes = _round_trip(
        fresh_emulator, empty_org, "okta.groups.groups", "type = 'OKTA_GROUP'", out
    )
    manifest = yaml.safe_load((out / "stackql_manifest.yml").read_text())
    by_name = {r["name"]: r for r in manifest["resources"]}
    assert by_name["team-eng"] == {
        "name": "team-eng",
        "resource": "okta.groups.groups",
        "match": {"profile.name": "team-eng"},
        "desired": {"profile": {"name": "team-eng", "description": "Engineers"}},
    }
    seeded = {g["profile"]["name"] for g in fresh_emulator.org.groups if g["type"] == "OKTA_GROUP"}
    assert {r["match"]["profile.name"] for r in manifest["resources"]} == seeded
    assert [c.action for c in changes] == ["create"] * len(seeded)
    made = {g["profile"]["name"]: g["profile"] for g in empty_org.org.groups}
    assert made["team-ops"] == {"name": "team-ops", "description": "On call"}


def test_exported_origins_and_zones_keep_their_status(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path
) -> None:
    _hand_made(fresh_emulator)
    out = tmp_path / "origins"
    _round_trip(
        fresh_emulator, empty_org, "okta.trustedorigins.trusted_origins", "name = 'docs'", out
    )
    manifest = yaml.safe_load((out / "stackql_manifest.yml").read_text())
    assert manifest["resources"] == [
        {
            "name": "docs",
            "resource": "okta.trustedorigins.trusted_origins",
            "match": {"name": "docs"},
            "desired": {
                "name": "docs",
                "origin": "https://docs.example.com",
                "scopes": [{"type": "CORS"}],
            },
            "lifecycle": {"status": "INACTIVE"},
        }
    ]
    [docs] = [o for o in empty_org.org.trusted_origins if o["name"] == "docs"]
    assert docs["status"] == "INACTIVE"
    zones = tmp_path / "zones"
    _round_trip(fresh_emulator, empty_org, "okta.zones.network_zones", "name = 'vpn'", zones)
    [vpn] = [z for z in empty_org.org.zones if z["name"] == "vpn"]
    assert vpn["gateways"] == [{"type": "CIDR", "value": "10.8.0.0/16"}]
    text = (zones / "stackql_manifest.yml").read_text()
    for server_set in ("lastUpdated", "created", "_links", "id:"):
        assert server_set not in text


def _hand_made_app(emu: Any) -> dict[str, str]:
    """Two groups, a rule putting Eng people in one of them, an OIDC app assigned to it."""
    ids: dict[str, str] = {}
    with httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS test-token"}) as api:
        for name in ("team-eng", "team-ops"):
            # Jinja's markers in a live value stay text in the stack (it is templated)
            profile = {"name": name, "description": "on call {{ rota }} {% raw %}"}
            made = api.post("/api/v1/groups", json={"profile": profile}).json()
            ids[name] = made["id"]
        rule = {
            "type": "group_rule",
            "name": "eng-joiners",
            "conditions": {
                "expression": {
                    "type": "urn:okta:expression:1.0",
                    "value": f'isMemberOfAnyGroup("{ids["team-ops"]}")',
                },
                "people": {"groups": {"exclude": [ids["team-ops"]]}},
            },
            "actions": {"assignUserToGroups": {"groupIds": [ids["team-eng"]]}},
        }
        made = api.post("/api/v1/groups/rules", json=rule).json()
        ids["rule"] = made["id"]
        assert api.post(f"/api/v1/groups/rules/{made['id']}/lifecycle/activate").is_success
        app = {
            "name": "oidc_client",
            "label": "Portal",
            "signOnMode": "OPENID_CONNECT",
            "settings": {
                "oauthClient": {
                    "redirect_uris": ["https://portal.example.com/cb"],
                    "grant_types": ["authorization_code"],
                    "response_types": ["code"],
                    "application_type": "web",
                }
            },
        }
        made = api.post("/api/v1/apps", json=app).json()
        ids["app"] = made["id"]
        r = api.put(f"/api/v1/apps/{made['id']}/groups/{ids['team-eng']}", json={"priority": 0})
        assert r.is_success, r.text
    return ids


EVERYTHING = (
    "okta.groups.groups",
    "okta.groups.rules",
    "okta.apps.applications",
    "okta.apps.group_assignments",
)
WHERES = (
    "okta.groups.groups: json_extract_string(profile, '$.name') LIKE 'team-%'",
    "okta.groups.rules: name = 'eng-joiners'",
    "okta.apps.applications: label = 'Portal'",
)


def test_groups_rules_an_app_and_its_assignment_export_as_references_and_rebuild_elsewhere(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path
) -> None:
    ids = _hand_made_app(fresh_emulator)
    out = tmp_path / "whole"
    src = Session(org_url=fresh_emulator.url, token="test-token")
    fresh_emulator.reset_log()
    written = export_stack(src, EVERYTHING, WHERES, out)
    # one listing per org-level type, one query per --where, one listing per exported app
    assert sorted(p.split("?")[0] for m, p, _ in fresh_emulator.request_log) == sorted(
        ["/api/v1/groups", "/api/v1/groups/rules", "/api/v1/apps"] * 2
        + [f"/api/v1/apps/{ids['app']}/groups"]
    )
    assert written.notes == []
    manifest = yaml.safe_load((out / "stackql_manifest.yml").read_text())
    by_name = {r["name"]: r for r in manifest["resources"]}
    assert [r["name"] for r in manifest["resources"]] == [
        "team-eng", "team-ops", "eng-joiners", "portal", "portal_team-eng",
    ]  # fmt: skip
    assert by_name["team-eng"]["exports"] == [{"id": "team_eng_id"}]
    assert by_name["eng-joiners"]["desired"]["conditions"] == {
        "expression": {
            "type": "urn:okta:expression:1.0",
            "value": 'isMemberOfAnyGroup("{{ team_ops_id }}")',
        },
        "people": {"users": {"exclude": []}, "groups": {"exclude": ["{{ team_ops_id }}"]}},
    }
    assert by_name["eng-joiners"]["desired"]["actions"] == {
        "assignUserToGroups": {"groupIds": ["{{ team_eng_id }}"]}
    }
    assert by_name["eng-joiners"]["lifecycle"] == {"status": "ACTIVE"}
    assert by_name["portal_team-eng"]["match"] == {
        "appId": "{{ portal_id }}",
        "groupId": "{{ team_eng_id }}",
    }
    text = (out / "stackql_manifest.yml").read_text()
    assert not any(i in text for i in ids.values())
    # built on a fresh org: everything made, then a plan shows no change and sends only reads
    session = Session(org_url=empty_org.url, token="test-token")
    stack = load_stack(out, "prd", catalog=session.catalog)
    context = {"stack_name": stack.name, "stack_env": "prd"}
    changes = plan_resources(session, stack, stack.resources, context)
    assert [c.action for c in changes] == ["create"] * 5
    report = apply_changes(session, stack, changes, context)
    assert report.ok, report.outcomes
    empty_org.reset_log()
    again = plan_resources(session, stack, stack.resources, context)
    assert [(c.name, c.action, c.changes) for c in again] == [(c.name, "none", ()) for c in changes]
    assert all(m == "GET" for m, _p, _h in empty_org.request_log)
    made = {g["profile"]["name"]: g["id"] for g in empty_org.org.groups}
    [ops] = [g for g in empty_org.org.groups if g["profile"]["name"] == "team-ops"]
    assert ops["profile"]["description"] == "on call {{ rota }} {% raw %}"
    [rule] = [r for r in empty_org.org.group_rules if r["name"] == "eng-joiners"]
    assert rule["actions"]["assignUserToGroups"]["groupIds"] == [made["team-eng"]]
    assert rule["conditions"]["people"]["groups"]["exclude"] == [made["team-ops"]]
    assert rule["status"] == "ACTIVE"
    [app] = [a for a in empty_org.org.apps if a["label"] == "Portal"]
    assert [g["id"] for g in empty_org.org.app_groups(app["id"])] == [made["team-eng"]]


def test_export_of_assignments_alone_leaves_out_what_names_unexported_groups(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    ids = _hand_made_app(fresh_emulator)
    session = Session(org_url=fresh_emulator.url, token="test-token")
    written = export_stack(session, ["okta.apps.group_assignments"], None, tmp_path / "x")
    assert written.resources == 0
    assert written.notes[0] == (
        "okta.apps.group_assignments: appId is written as the literal id (export "
        "okta.apps.applications too to have it refer to the stack's own)"
    )
    assert (
        f"okta.apps.group_assignments appId={ids['app']} groupId={ids['team-eng']} left out: "
        "its groupId names an object not exported (add its --resource)"
    ) in written.notes
    # per-parent types take a --where too (applied per parent)
    for priority, expected in ((0, 1), (5, 0)):
        written = export_stack(
            session,
            ["okta.groups.groups", "okta.apps.group_assignments"],
            [WHERES[0], f"okta.apps.group_assignments: priority = {priority}"],
            tmp_path / f"p{priority}",
        )
        manifest = yaml.safe_load(written.path.read_text())
        assigned = [r for r in manifest["resources"] if r["resource"] == EVERYTHING[3]]
        assert [r["match"] for r in assigned] == [
            {"appId": ids["app"], "groupId": "{{ team_eng_id }}"}
        ][:expected]
    with pytest.raises(DeployError) as info:
        export_stack(session, EVERYTHING, ["type = 'OKTA_GROUP'"], tmp_path / "y")
    assert str(info.value) == (
        "--where \"type = 'OKTA_GROUP'\": with several --resource, say which one it selects: "
        "--where 'okta.groups.groups: type = 'OKTA_GROUP''"
    )


def _cli_round_trip(src: Any, dst: Any, out: Path, *export_args: str) -> list[Any]:
    """``deploy export`` from ``src``, ``build`` on ``dst``, then ``plan --detailed-exitcode``
    there: each exits 0, and the plan sends only reads. The three results."""
    from click.testing import CliRunner

    from oktaql.cli import main

    def run(*args: str, org: Any) -> Any:
        env = {"OKTA_API_TOKEN": "test-token"}
        res = CliRunner().invoke(main, ["deploy", *args, "--org-url", org.url], env=env)
        assert res.exit_code == 0, res.output
        return res

    exported = run("export", *export_args, str(out), org=src)
    built = run("build", str(out), "prd", org=dst)
    dst.reset_log()
    planned = run("plan", str(out), "prd", "--detailed-exitcode", org=dst)
    assert all(m == "GET" for m, _p, _h in dst.request_log)
    return [exported, built, planned]


def test_cli_export_then_build_elsewhere_then_plan_exits_0(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path
) -> None:
    _hand_made(fresh_emulator)
    out = tmp_path / "onboarded"
    args = ("--resource", "okta.groups.groups", "--where", "type = 'OKTA_GROUP'")
    exported, _, _ = _cli_round_trip(fresh_emulator, empty_org, out, *args)
    n = sum(g["type"] == "OKTA_GROUP" for g in fresh_emulator.org.groups)
    assert (
        exported.stdout.splitlines()[0] == f"wrote {out / 'stackql_manifest.yml'} ({n} resources)"
    )
    names = {g["profile"]["name"] for g in empty_org.org.groups}
    assert {"team-eng", "team-ops"} <= names


def test_cli_export_of_several_resources_builds_elsewhere_with_no_change(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path
) -> None:
    _hand_made_app(fresh_emulator)
    out = tmp_path / "whole"
    args = [a for r in EVERYTHING for a in ("--resource", r)]
    args += [a for w in WHERES for a in ("--where", w)]
    exported, built, planned = _cli_round_trip(fresh_emulator, empty_org, out, *args)
    assert exported.stdout.splitlines()[0] == f"wrote {out / 'stackql_manifest.yml'} (5 resources)"
    assert exported.stderr == ""
    assert built.stdout.endswith("build of whole (prd): 5 created\n")
    assert planned.stdout.endswith("Plan: 0 to create, 0 to update, 0 to delete, 5 unchanged.\n")
