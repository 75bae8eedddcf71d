"""Declarative resources end to end: plan, apply, drift, ownership, teardown, bulk reads.

Real HTTP against a fresh emulated org; requests are counted in the emulator's request log.
Stacks are built as model objects (the manifest loader has its own tests).
"""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from oktaql.deploy._declarative import apply_changes, plan_resources, plan_teardown
from oktaql.deploy._model import (
    Change,
    Declarative,
    FieldChange,
    PlannedRequest,
    Resource,
    Stack,
    Where,
)
from oktaql.deploy._state import state_path
from oktaql.errors import DeployError
from oktaql.session import Session


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ownership records of one test never meet another's (emulator ports are reused)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def decl(
    name: str,
    resource: str,
    match: dict[str, Any],
    desired: dict[str, Any],
    lifecycle: dict[str, Any] | None = None,
    exports: tuple[tuple[str, str], ...] = (),
) -> Resource:
    return Resource(
        name,
        "declarative",
        Where("stackql_manifest.yml", 10, name),
        exports=exports,
        declarative=Declarative(resource, match, desired, lifecycle or {}),
    )


def group(name: str, description: str = "Engineers", exports: bool = True) -> Resource:
    return decl(
        name,
        "okta.groups.groups",
        {"profile.name": "{{ stack_env }}-" + name},
        {"profile": {"name": "{{ stack_env }}-" + name, "description": description}},
        exports=(("id", f"{name}_id"),) if exports else (),
    )


def rule(name: str = "rule", group_export: str = "eng_id", expr: str = "Eng") -> Resource:
    return decl(
        name,
        "okta.groups.rules",
        {"name": "{{ stack_env }}-" + name},
        {
            "type": "group_rule",
            "name": "{{ stack_env }}-" + name,
            "conditions": {
                "expression": {
                    "value": f'user.department=="{expr}"',
                    "type": "urn:okta:expression:1.0",
                }
            },
            "actions": {"assignUserToGroups": {"groupIds": ["{{ " + group_export + " }}"]}},
        },
        {"status": "ACTIVE"},
    )


def baseline() -> tuple[Resource, ...]:
    return (
        group("eng"),
        rule(),
        decl(
            "app",
            "okta.apps.applications",
            {"label": "{{ stack_env }} portal"},
            {
                "name": "oidc_client",
                "label": "{{ stack_env }} portal",
                "signOnMode": "OPENID_CONNECT",
                "settings": {
                    "oauthClient": {
                        "redirect_uris": ["https://{{ stack_env }}.example.com/cb"],
                        "grant_types": ["authorization_code"],
                        "response_types": ["code"],
                        "application_type": "web",
                    }
                },
            },
            {"status": "ACTIVE"},
            exports=(("id", "app_id"),),
        ),
        decl(
            "assign",
            "okta.apps.group_assignments",
            {"appId": "{{ app_id }}", "groupId": "{{ eng_id }}"},
            {"priority": 0},
        ),
        decl(
            "origin",
            "okta.trustedorigins.trusted_origins",
            {"name": "{{ stack_env }}-origin"},
            {
                "name": "{{ stack_env }}-origin",
                "origin": "https://{{ stack_env }}.example.com",
                "scopes": [{"type": "CORS"}],
            },
        ),
        decl(
            "zone",
            "okta.zones.network_zones",
            {"name": "{{ stack_env }}-zone"},
            {
                "type": "IP",
                "name": "{{ stack_env }}-zone",
                "gateways": [{"type": "CIDR", "value": "10.0.0.0/8"}],
            },
            {"status": "ACTIVE"},
        ),
    )


class Deploy:
    """One stack + env against one emulated org."""

    def __init__(self, emu: Any, resources: tuple[Resource, ...], env: str = "dev"):
        self.emu = emu
        self.env = env
        self.session = Session(org_url=emu.url, token="test-token")
        self.set(resources)

    def set(self, resources: tuple[Resource, ...]) -> None:
        self.stack = Stack(
            Path("/stacks/baseline"), "baseline", self.env, 1, "", ("okta",), {}, resources
        )

    @property
    def context(self) -> dict[str, Any]:
        return {"stack_name": "baseline", "stack_env": self.env}

    def plan(self) -> list[Change]:
        return plan_resources(self.session, self.stack, self.stack.resources, self.context)

    def build(self) -> list[Change]:
        changes = self.plan()
        report = apply_changes(self.session, self.stack, changes, self.context)
        assert report.ok, report.outcomes
        return changes

    def teardown(self) -> list[Change]:
        changes = plan_teardown(self.session, self.stack, self.stack.resources, self.context)
        report = apply_changes(self.session, self.stack, changes, self.context, teardown=True)
        assert report.ok, report.outcomes
        return changes


def log(emu: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in emu.request_log]


def writes(emu: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in log(emu) if m != "GET"]


def http(emu: Any) -> httpx.Client:
    return httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS test-token"})


def group_by_name(emu: Any, name: str) -> dict[str, Any] | None:
    return next((g for g in emu.org.groups if g["profile"]["name"] == name), None)


def test_build_creates_in_order_with_okta_rules_then_rebuild_sends_no_write(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    d = Deploy(emu, baseline())
    emu.request_log.clear()
    changes = d.plan()
    assert [(c.name, c.action) for c in changes] == [
        (n, "create") for n in ("eng", "rule", "app", "assign", "origin", "zone")
    ]
    # one listing per type; the assignment's app doesn't exist yet, so nothing is read for it;
    # the match Okta can filter by (a group's profile.name) is pushed to its search; the
    # listings are read at once, so in no set order
    assert sorted(log(emu)) == [
        ("GET", "/api/v1/apps?limit=200"),
        ("GET", "/api/v1/groups/rules?limit=200"),
        ("GET", "/api/v1/groups?search=profile.name%20eq%20%22dev-eng%22&limit=10000"),
        ("GET", "/api/v1/trustedOrigins?limit=200"),
        ("GET", "/api/v1/zones"),
    ]
    by = {c.name: c for c in changes}
    # a rule is created INACTIVE: the plan activates it after the create
    assert [str(r) for r in by["rule"].requests] == [
        f"POST {emu.url}/api/v1/groups/rules",
        f"POST {emu.url}/api/v1/groups/rules/<known after apply>/lifecycle/activate",
    ]
    assert by["rule"].requests[0].body["actions"] == {
        "assignUserToGroups": {"groupIds": ["<known after apply>"]}
    }
    assert [str(r) for r in by["assign"].requests] == [
        f"PUT {emu.url}/api/v1/apps/<known after apply>/groups/<known after apply>"
    ]
    emu.request_log.clear()
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None and eng["profile"]["description"] == "Engineers"
    rules = [r for r in emu.org.group_rules if r["name"] == "dev-rule"]
    assert len(rules) == 1 and rules[0]["status"] == "ACTIVE"
    assert rules[0]["actions"]["assignUserToGroups"]["groupIds"] == [eng["id"]]
    app = next(a for a in emu.org.apps if a["label"] == "dev portal")
    assert [g["id"] for g in emu.org.app_groups(app["id"])] == [eng["id"]]
    assert writes(emu) == [
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/groups/rules"),
        ("POST", f"/api/v1/groups/rules/{rules[0]['id']}/lifecycle/activate"),
        ("POST", "/api/v1/apps"),
        ("PUT", f"/api/v1/apps/{app['id']}/groups/{eng['id']}"),
        ("POST", "/api/v1/trustedOrigins"),
        ("POST", "/api/v1/zones"),
    ]
    emu.request_log.clear()
    again = d.plan()
    assert [(c.action, c.changes, c.requests) for c in again] == [("none", (), ())] * 6
    report = apply_changes(d.session, d.stack, again, d.context)
    assert report.ok and report.writes == 0
    assert writes(emu) == []


def test_a_changed_desired_field_plans_exactly_that_field(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"), group("ops")))
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    d.set((group("eng", "Engineering team"), group("ops")))
    changes = d.plan()
    assert [(c.name, c.action) for c in changes] == [("eng", "update"), ("ops", "none")]
    assert changes[0].changes == (
        FieldChange("profile.description", "Engineers", "Engineering team"),
    )
    assert changes[0].requests == (
        PlannedRequest(
            "PUT",
            f"{emu.url}/api/v1/groups/{eng['id']}",
            {"profile": {"name": "dev-eng", "description": "Engineering team"}},
        ),
    )
    emu.request_log.clear()
    apply_changes(d.session, d.stack, changes, d.context)
    assert writes(emu) == [("PUT", f"/api/v1/groups/{eng['id']}")]
    assert emu.org.group(eng["id"])["profile"]["description"] == "Engineering team"
    assert [c.action for c in d.plan()] == ["none", "none"]


def test_server_set_fields_and_unwritten_fields_never_diff(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"),))
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    with http(emu) as api:  # a field the stack never wrote changes: not the stack's business
        r = api.put(
            f"/api/v1/groups/{eng['id']}",
            json={"profile": {"name": "dev-eng", "description": "Engineers", "extra": "x"}},
        )
        assert r.status_code == 200
    assert [(c.action, c.changes) for c in d.plan()] == [("none", ())]


def test_drift_made_behind_the_stacks_back_is_planned_and_build_restores_it(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    d = Deploy(emu, baseline())
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    with http(emu) as api:
        r = api.put(
            f"/api/v1/groups/{eng['id']}",
            json={"profile": {"name": "dev-eng", "description": "changed by hand"}},
        )
        assert r.status_code == 200
    changes = d.plan()
    assert [(c.name, c.action) for c in changes if c.action != "none"] == [("eng", "update")]
    assert changes[0].changes == (
        FieldChange("profile.description", "changed by hand", "Engineers"),
    )
    emu.request_log.clear()
    d.build()
    assert writes(emu) == [("PUT", f"/api/v1/groups/{eng['id']}")]
    assert emu.org.group(eng["id"])["profile"]["description"] == "Engineers"
    assert all(c.action == "none" for c in d.plan())


def test_changing_an_active_rule_deactivates_replaces_and_activates(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"), rule()))
    d.build()
    rid = next(r["id"] for r in emu.org.group_rules if r["name"] == "dev-rule")
    d.set((group("eng"), rule(expr="Engineering")))
    changes = d.plan()
    assert changes[1].changes == (
        FieldChange(
            "conditions.expression.value",
            'user.department=="Eng"',
            'user.department=="Engineering"',
        ),
    )
    assert [str(r) for r in changes[1].requests] == [
        f"POST {emu.url}/api/v1/groups/rules/{rid}/lifecycle/deactivate",
        f"PUT {emu.url}/api/v1/groups/rules/{rid}",
        f"POST {emu.url}/api/v1/groups/rules/{rid}/lifecycle/activate",
    ]
    emu.request_log.clear()
    apply_changes(d.session, d.stack, changes, d.context)
    assert writes(emu) == [
        ("POST", f"/api/v1/groups/rules/{rid}/lifecycle/deactivate"),
        ("PUT", f"/api/v1/groups/rules/{rid}"),
        ("POST", f"/api/v1/groups/rules/{rid}/lifecycle/activate"),
    ]
    live = next(r for r in emu.org.group_rules if r["id"] == rid)
    assert live["status"] == "ACTIVE"
    assert live["conditions"]["expression"]["value"] == 'user.department=="Engineering"'


def test_lifecycle_status_alone_is_a_lifecycle_call(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, baseline())
    d.build()
    resources = list(baseline())
    zone = resources[5]
    assert zone.declarative is not None
    resources[5] = decl(
        "zone",
        zone.declarative.resource,
        zone.declarative.match,
        zone.declarative.desired,
        {"status": "INACTIVE"},
    )
    d.set(tuple(resources))
    changes = {c.name: c for c in d.plan()}
    zid = next(z["id"] for z in emu.org.zones if z["name"] == "dev-zone")
    assert changes["zone"].changes == (FieldChange("status", "ACTIVE", "INACTIVE"),)
    assert [str(r) for r in changes["zone"].requests] == [
        f"POST {emu.url}/api/v1/zones/{zid}/lifecycle/deactivate"
    ]


def test_teardown_deletes_in_reverse_deactivating_first_and_touches_nothing_else(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    before = {
        "groups": {g["id"] for g in emu.org.groups},
        "apps": {a["id"] for a in emu.org.apps},
        "rules": {r["id"] for r in emu.org.group_rules},
        "zones": {z["id"] for z in emu.org.zones},
        "origins": {o["id"] for o in emu.org.trusted_origins},
    }
    d = Deploy(emu, baseline())
    d.build()
    app = next(a for a in emu.org.apps if a["label"] == "dev portal")
    zone = next(z for z in emu.org.zones if z["name"] == "dev-zone")
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    emu.request_log.clear()
    changes = d.teardown()
    assert [(c.name, c.action) for c in changes] == [
        (n, "delete") for n in ("zone", "origin", "assign", "app", "rule", "eng")
    ]
    deletes = writes(emu)
    assert deletes[:2] == [
        ("POST", f"/api/v1/zones/{zone['id']}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/zones/{zone['id']}"),
    ]
    assert deletes[3:6] == [
        ("DELETE", f"/api/v1/apps/{app['id']}/groups/{eng['id']}"),
        ("POST", f"/api/v1/apps/{app['id']}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/apps/{app['id']}"),
    ]
    assert deletes[-1] == ("DELETE", f"/api/v1/groups/{eng['id']}")
    after = {
        "groups": {g["id"] for g in emu.org.groups},
        "apps": {a["id"] for a in emu.org.apps},
        "rules": {r["id"] for r in emu.org.group_rules},
        "zones": {z["id"] for z in emu.org.zones},
        "origins": {o["id"] for o in emu.org.trusted_origins},
    }
    assert after == before
    assert [c.action for c in d.plan()] == ["create"] * 6


def test_removed_resource_is_deleted_only_when_this_stack_created_it(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    with http(emu) as api:  # made by hand before the stack: the stack adopts it
        hand = api.post("/api/v1/groups", json={"profile": {"name": "dev-hand"}}).json()
    d = Deploy(emu, (group("eng"), group("hand", description="adopted"), group("ops")))
    d.build()
    assert emu.org.group(hand["id"])["profile"]["description"] == "adopted"
    ops = group_by_name(emu, "dev-ops")
    assert ops is not None
    d.set((group("eng"),))
    changes = d.plan()
    assert [(c.name, c.action) for c in changes] == [  # removed ones newest first
        ("eng", "none"),
        ("ops", "delete"),
        ("hand", "none"),
    ]
    assert "not created by this stack" in (changes[2].note or "")
    assert [str(r) for r in changes[1].requests] == [f"DELETE {emu.url}/api/v1/groups/{ops['id']}"]
    emu.request_log.clear()
    apply_changes(d.session, d.stack, changes, d.context)
    assert writes(emu) == [("DELETE", f"/api/v1/groups/{ops['id']}")]
    assert emu.org.group(hand["id"])["profile"]["name"] == "dev-hand"
    # both left the record: a later plan has nothing to say about them
    assert [(c.name, c.action) for c in d.plan()] == [("eng", "none")]


def test_a_lost_record_is_rebuilt_from_match_and_never_deletes_more(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"), group("ops")))
    d.build()
    path = state_path(emu.url, "baseline", "dev")
    record = json.loads(path.read_text())
    assert record["resources"]["ops"]["created"] is True
    assert "Engineers" not in path.read_text()  # ids only, no bodies
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.unlink()
    assert [c.action for c in d.plan()] == ["none", "none"]  # found by match again
    d.build()
    assert json.loads(path.read_text())["resources"]["ops"]["created"] is False
    d.set((group("eng"),))
    assert [(c.name, c.action) for c in d.plan()] == [("eng", "none"), ("ops", "none")]


def test_two_environments_never_touch_each_others_objects(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    dev = Deploy(emu, (group("eng"), group("ops")), env="dev")
    prd = Deploy(emu, (group("eng"), group("ops")), env="prd")
    dev.build()
    prd.build()
    prd_ids = {g["id"] for g in emu.org.groups if g["profile"]["name"].startswith("prd-")}
    assert len(prd_ids) == 2
    dev.set((group("eng"),))
    assert [(c.name, c.action) for c in dev.plan()] == [("eng", "none"), ("ops", "delete")]
    dev.teardown()
    assert {g["id"] for g in emu.org.groups if g["profile"]["name"].startswith("prd-")} == prd_ids
    assert not [g for g in emu.org.groups if g["profile"]["name"].startswith("dev-")]
    # a match that finds another environment's object is refused, naming that environment
    shared = decl(
        "eng",
        "okta.groups.groups",
        {"profile.name": "prd-eng"},
        {"profile": {"name": "prd-eng", "description": "Engineers"}},
    )
    dev.set((shared,))
    with pytest.raises(DeployError, match=r"environment 'prd' of stack 'baseline' holds"):
        dev.plan()


def test_plan_of_150_groups_reads_one_listing_page(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    resources = tuple(group(f"g{i:03}", exports=False) for i in range(150))
    d = Deploy(emu, resources)
    emu.request_log.clear()
    changes = d.plan()
    assert [c.action for c in changes] == ["create"] * 150
    assert log(emu) == [("GET", "/api/v1/groups?limit=10000")]
    emu.request_log.clear()
    apply_changes(d.session, d.stack, changes, d.context)
    assert log(emu)[0] == ("GET", "/api/v1/groups?limit=10000")  # apply checks the plan
    assert writes(emu) == [("POST", "/api/v1/groups")] * 150
    emu.request_log.clear()
    assert [c.action for c in d.plan()] == ["none"] * 150
    assert log(emu) == [("GET", "/api/v1/groups?limit=10000")]


def test_apply_refuses_when_state_changed_since_plan(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"),))
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    d.set((group("eng", "Engineering team"),))
    planned = d.plan()
    with http(emu) as api:
        api.put(f"/api/v1/groups/{eng['id']}", json={"profile": {"name": "dev-eng"}})
    emu.request_log.clear()
    with pytest.raises(DeployError, match=r"state changed since plan: eng: its changes differ"):
        apply_changes(d.session, d.stack, planned, d.context)
    assert writes(emu) == []


def test_failed_build_with_rollback_undoes_what_it_created(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    bad_zone = decl(
        "zone",
        "okta.zones.network_zones",
        {"name": "dev-zone"},
        {
            "type": "IP",
            "name": "dev-zone",
            "gateways": [{"type": "CIDR"}],
        },  # no value: Okta refuses it
    )
    app = baseline()[2]
    d = Deploy(emu, (group("eng"), app, bad_zone, group("ops")))
    changes = d.plan()
    emu.request_log.clear()
    report = apply_changes(d.session, d.stack, changes, d.context, on_failure="rollback")
    assert [(o.name, o.status) for o in report.outcomes] == [
        ("eng", "rolled back"),
        ("app", "rolled back"),
        ("zone", "failed"),
        ("ops", "not done"),
    ]
    assert "gateways" in (report.outcomes[2].error or "")
    eng_id = writes(emu)[-1][1].rsplit("/", 1)[-1]
    app_id = writes(emu)[3][1].split("/")[4]
    assert eng_id.startswith("00g") and app_id.startswith("0oa")
    # undone newest first; the ACTIVE app is deactivated before its delete
    assert writes(emu) == [
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/apps"),
        ("POST", "/api/v1/zones"),
        ("POST", f"/api/v1/apps/{app_id}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/apps/{app_id}"),
        ("DELETE", f"/api/v1/groups/{eng_id}"),
    ]
    assert group_by_name(emu, "dev-eng") is None
    assert not [a for a in emu.org.apps if a["label"] == "dev portal"]
    assert [c.action for c in d.plan()] == ["create"] * 4
    assert json.loads(state_path(emu.url, "baseline", "dev").read_text())["resources"] == {}


def test_a_write_only_secret_never_differs(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = decl(
        "app",
        "okta.apps.applications",
        {"label": "svc"},
        {
            "name": "oidc_client",
            "label": "svc",
            "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"client_secret": "s3cr3t-value-123"}},
        },
    )
    d = Deploy(emu, (app,))
    d.build()
    assert [(c.action, c.changes) for c in d.plan()] == [("none", ())]


def test_bad_declarations_fail_before_any_request(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    cases = [
        (decl("x", "okta.groups.grups", {"id": "1"}, {}), r"stackql_manifest.yml:10: x: .*grups"),
        (
            decl("x", "okta.groups.groups", {"profile.name": "a"}, {"profile": {}, "nam": 1}),
            r"desired.nam: okta.groups.groups has no settable field 'nam'",
        ),
        (
            decl("x", "okta.groups.groups", {"profile.name": "a"}, {}, {"status": "ACTIVE"}),
            r"lifecycle.status: okta.groups.groups has no activate/deactivate method",
        ),
        (
            decl("x", "okta.groups.groups", {"profile.name": "{{ nope }}"}, {}),
            r"template variable nope has no value",
        ),
    ]
    for resource, message in cases:
        d = Deploy(emu, (resource,))
        emu.request_log.clear()
        with pytest.raises(DeployError, match=message):
            d.plan()
        assert log(emu) == []


def test_planned_request_bodies_mask_secrets(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = decl(
        "app",
        "okta.apps.applications",
        {"label": "svc"},
        {
            "name": "oidc_client",
            "label": "svc",
            "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"client_secret": "s3cr3t-value-123"}},
        },
    )
    changes = Deploy(emu, (app,)).plan()
    text = json.dumps([c.as_json() for c in changes])
    assert "s3cr3t-value-123" not in text
    assert changes[0].requests[0].body["credentials"]["oauthClient"]["client_secret"] != (
        "s3cr3t-value-123"
    )


MANIFEST = """\
version: 1
name: cli-stack
description: declarative resources through the CLI
providers: [okta]
resources:
  - name: eng
    resource: okta.groups.groups
    match: {profile.name: "{{ stack_env }}-eng"}
    desired:
      profile: {name: "{{ stack_env }}-eng", description: Engineers}
    exports: [id]
  - name: eng_rule
    resource: okta.groups.rules
    match: {name: "{{ stack_env }}-eng-rule"}
    desired:
      type: group_rule
      name: "{{ stack_env }}-eng-rule"
      conditions:
        expression: {value: 'user.department=="Eng"', type: "urn:okta:expression:1.0"}
      actions: {assignUserToGroups: {groupIds: ["{{ id }}"]}}
    lifecycle: {status: ACTIVE}
"""


@pytest.fixture
def cli_stack(
    fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, Path, Callable[..., Any]]:
    """The emulator, a stack folder holding MANIFEST, and ``oktaql deploy ARGS --org-url``."""
    from click.testing import CliRunner

    from oktaql.cli import main

    emu = fresh_emulator
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stackql_manifest.yml").write_text(MANIFEST)
    monkeypatch.setenv("OKTA_API_TOKEN", "test-token")

    def deploy(*args: str) -> Any:
        return CliRunner().invoke(main, ["deploy", *args, "--org-url", emu.url])

    return emu, stack, deploy


def test_cli_build_plan_drift_and_detailed_exitcode(
    cli_stack: tuple[Any, Path, Callable[..., Any]],
) -> None:
    emu, stack, deploy = cli_stack
    built = deploy("build", str(stack), "dev")
    assert built.exit_code == 0, built.output
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    assert [r["status"] for r in emu.org.group_rules if r["name"] == "dev-eng-rule"] == ["ACTIVE"]
    emu.request_log.clear()
    rebuilt = deploy("build", str(stack), "dev")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert writes(emu) == []
    clean = deploy("plan", str(stack), "dev", "--detailed-exitcode")
    assert clean.exit_code == 0, clean.output
    with http(emu) as api:
        api.put(
            f"/api/v1/groups/{eng['id']}",
            json={"profile": {"name": "dev-eng", "description": "by hand"}},
        )
    drifted = deploy("plan", str(stack), "dev", "--detailed-exitcode", "-o", "json")
    assert drifted.exit_code == 2, drifted.output
    resources = json.loads(drifted.output)["resources"]
    assert resources == [
        {
            "name": "eng",
            "action": "update",
            "changes": [{"field": "profile.description", "old": "by hand", "new": "Engineers"}],
            "requests": [
                {
                    "method": "PUT",
                    "url": f"{emu.url}/api/v1/groups/{eng['id']}",
                    "body": {"profile": {"name": "dev-eng", "description": "Engineers"}},
                }
            ],
        },
        {"name": "eng_rule", "action": "none", "changes": [], "requests": []},
    ]
    restored = deploy("build", str(stack), "dev")
    assert restored.exit_code == 0, restored.output
    assert emu.org.group(eng["id"])["profile"]["description"] == "Engineers"
    gone = deploy("teardown", str(stack), "dev")
    assert gone.exit_code == 0, gone.output
    assert group_by_name(emu, "dev-eng") is None
    assert not [r for r in emu.org.group_rules if r["name"] == "dev-eng-rule"]


def test_a_renamed_resource_is_found_by_its_recorded_id_and_updated(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"),))
    d.build()
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    renamed = decl(
        "eng",
        "okta.groups.groups",
        {"profile.name": "dev-engineering"},
        {"profile": {"name": "dev-engineering", "description": "Engineers"}},
    )
    d.set((renamed,))
    changes = d.plan()
    assert [(c.action, c.changes) for c in changes] == [
        ("update", (FieldChange("profile.name", "dev-eng", "dev-engineering"),))
    ]
    assert [str(r) for r in changes[0].requests] == [f"PUT {emu.url}/api/v1/groups/{eng['id']}"]
    d.build()
    assert emu.org.group(eng["id"])["profile"]["name"] == "dev-engineering"
    assert len([g for g in emu.org.groups if g["profile"]["name"].startswith("dev-")]) == 1


def test_a_rules_actions_change_by_delete_and_create(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    d = Deploy(emu, (group("eng"), group("ops"), rule()))
    d.build()
    old = next(r["id"] for r in emu.org.group_rules if r["name"] == "dev-rule")
    ops = group_by_name(emu, "dev-ops")
    eng = group_by_name(emu, "dev-eng")
    assert ops is not None and eng is not None
    d.set((group("eng"), group("ops"), rule(group_export="ops_id")))
    changes = d.plan()
    assert changes[2].changes == (
        FieldChange("actions.assignUserToGroups.groupIds", [eng["id"]], [ops["id"]]),
    )
    assert changes[2].note == "actions can't be changed in place: deleted and created again"
    assert [str(r) for r in changes[2].requests] == [
        f"DELETE {emu.url}/api/v1/groups/rules/{old}",
        f"POST {emu.url}/api/v1/groups/rules",
        f"POST {emu.url}/api/v1/groups/rules/<known after apply>/lifecycle/activate",
    ]
    emu.request_log.clear()
    apply_changes(d.session, d.stack, changes, d.context)
    [new] = [r for r in emu.org.group_rules if r["name"] == "dev-rule"]
    assert writes(emu) == [
        ("DELETE", f"/api/v1/groups/rules/{old}"),
        ("POST", "/api/v1/groups/rules"),
        ("POST", f"/api/v1/groups/rules/{new['id']}/lifecycle/activate"),
    ]
    assert new["status"] == "ACTIVE"
    assert new["actions"]["assignUserToGroups"]["groupIds"] == [ops["id"]]
    assert [c.action for c in d.plan()] == ["none"] * 3
    record = json.loads(state_path(emu.url, "baseline", "dev").read_text())
    assert record["resources"]["rule"] == {
        "resource": "okta.groups.rules",
        "id": new["id"],
        "params": {},
        "created": True,
    }


def test_matches_okta_can_filter_are_pushed_until_the_stack_holds_objects_of_the_type(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    apps = tuple(
        decl(
            f"app{i}",
            "okta.apps.applications",
            {"name": "oidc_client", "label": f"svc {i}"},
            {"name": "oidc_client", "label": f"svc {i}", "signOnMode": "OPENID_CONNECT"},
        )
        for i in range(2)
    )
    d = Deploy(emu, (group("eng"), group("ops"), *apps))
    emu.request_log.clear()
    assert [c.action for c in d.plan()] == ["create"] * 4
    assert sorted(log(emu)) == [
        ("GET", "/api/v1/apps?limit=200&filter=name%20eq%20%22oidc_client%22"),
        (
            "GET",
            "/api/v1/groups?search=%28profile.name%20eq%20%22dev-eng%22%20or%20profile.name"
            "%20eq%20%22dev-ops%22%29&limit=10000",
        ),
    ]
    d.build()
    emu.request_log.clear()
    # a held object may have been renamed behind the stack's back: the whole type is read
    assert [c.action for c in d.plan()] == ["none"] * 4
    assert sorted(log(emu)) == [
        ("GET", "/api/v1/apps?limit=200"),
        ("GET", "/api/v1/groups?limit=10000"),
    ]


def test_a_match_on_a_field_the_objects_lack_fails_before_any_request(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    bad = decl("x", "okta.groups.groups", {"profle.name": "a"}, {"profile": {"name": "a"}})
    d = Deploy(emu, (bad,))
    emu.request_log.clear()
    with pytest.raises(
        DeployError,
        match=r"stackql_manifest.yml:10: match: match.profle.name: okta.groups.groups objects "
        r"have no field 'profle' \(did you mean profile\?\)",
    ):
        d.plan()
    assert log(emu) == []


def test_cli_saved_plan_is_refused_after_drift_and_test_reports_it(
    cli_stack: tuple[Any, Path, Callable[..., Any]], tmp_path: Path
) -> None:
    emu, stack, deploy = cli_stack
    saved = tmp_path / "plan.json"
    planned = deploy("plan", str(stack), "dev", "--out", str(saved))
    assert planned.exit_code == 0, planned.output
    applied = deploy("apply", str(stack), "dev", "--plan", str(saved))
    assert applied.exit_code == 0, applied.output
    eng = group_by_name(emu, "dev-eng")
    assert eng is not None
    assert deploy("test", str(stack), "dev").exit_code == 0
    assert deploy("plan", str(stack), "dev", "--out", str(saved)).exit_code == 0
    with http(emu) as api:
        api.put(
            f"/api/v1/groups/{eng['id']}",
            json={"profile": {"name": "dev-eng", "description": "by hand"}},
        )
    failing = deploy("test", str(stack), "dev")
    assert failing.exit_code == 1, failing.output
    assert failing.output.splitlines()[:2] == ["eng (FAIL: plan says update)", "eng_rule (pass)"]
    emu.request_log.clear()
    refused = deploy("apply", str(stack), "dev", "--plan", str(saved))
    assert refused.exit_code == 1, refused.output
    assert "state changed since plan" in refused.output
    assert writes(emu) == []
    assert emu.org.group(eng["id"])["profile"]["description"] == "by hand"


def test_on_failure_ignore_goes_on_but_never_sends_a_value_it_lacks(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    bad = decl(
        "eng",
        "okta.groups.groups",
        {"profile.name": "dev-eng"},
        {"profile": {"name": ""}},  # Okta refuses a blank name
        exports=(("id", "eng_id"),),
    )
    d = Deploy(emu, (bad, rule(), group("ops")))
    changes = d.plan()
    emu.request_log.clear()
    report = apply_changes(d.session, d.stack, changes, d.context, on_failure="ignore")
    assert [(o.name, o.status) for o in report.outcomes] == [
        ("eng", "failed"),
        ("rule", "failed"),
        ("ops", "done"),
    ]
    assert report.outcomes[1].error == (
        "rule: not sent: its body reads a value an earlier resource did not produce"
    )
    assert writes(emu) == [("POST", "/api/v1/groups"), ("POST", "/api/v1/groups")]
    assert group_by_name(emu, "dev-ops") is not None


def test_an_apps_redirect_uris_change_as_written_and_nothing_else_moves(
    fresh_emulator: Any,
) -> None:
    emu = fresh_emulator
    d = Deploy(emu, baseline())
    d.build()
    app = next(a for a in emu.org.apps if a["label"] == "dev portal")
    resources = list(baseline())
    old = resources[2].declarative
    assert old is not None
    desired = json.loads(json.dumps(old.desired))
    uris = ["https://dev.example.com/cb", "https://dev.example.com/cb2"]
    desired["settings"]["oauthClient"]["redirect_uris"] = uris
    resources[2] = decl(
        "app", old.resource, old.match, desired, old.lifecycle, exports=(("id", "app_id"),)
    )
    d.set(tuple(resources))
    changes = {c.name: c for c in d.plan()}
    assert changes["app"].changes == (
        FieldChange("settings.oauthClient.redirect_uris", ["https://dev.example.com/cb"], uris),
    )
    [put] = changes["app"].requests
    assert (put.method, put.url) == ("PUT", f"{emu.url}/api/v1/apps/{app['id']}")
    assert put.body["label"] == "dev portal" and put.body["signOnMode"] == "OPENID_CONNECT"
    assert [c.action for n, c in changes.items() if n != "app"] == ["none"] * 5
    d.build()
    live = next(a for a in emu.org.apps if a["id"] == app["id"])
    assert live["settings"]["oauthClient"]["redirect_uris"] == uris
    assert live["status"] == "ACTIVE"
    assert live["credentials"]["oauthClient"]["client_id"] == app["id"]
    assert all(c.action == "none" for c in d.plan())


def test_an_inactive_app_is_created_inactive_without_a_lifecycle_call(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = decl(
        "app",
        "okta.apps.applications",
        {"label": "staged"},
        {"name": "oidc_client", "label": "staged", "signOnMode": "OPENID_CONNECT"},
        {"status": "INACTIVE"},
    )
    d = Deploy(emu, (app,))
    changes = d.plan()
    assert [str(r) for r in changes[0].requests] == [f"POST {emu.url}/api/v1/apps?activate=false"]
    emu.request_log.clear()
    d.build()
    assert writes(emu) == [("POST", "/api/v1/apps?activate=false")]
    [live] = [a for a in emu.org.apps if a["label"] == "staged"]
    assert live["status"] == "INACTIVE"
    # teardown: an INACTIVE app is deleted without a deactivation
    emu.request_log.clear()
    d.teardown()
    assert writes(emu) == [("DELETE", f"/api/v1/apps/{live['id']}")]
