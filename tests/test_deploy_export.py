"""export: existing objects → a declarative stack; built on a fresh org, a plan shows no change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from oktaql.deploy._declarative import apply_changes, plan_resources
from oktaql.deploy._export import export_stack
from oktaql.deploy._manifest import load_stack
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


def test_export_of_a_per_parent_resource_says_what_it_reads(
    fresh_emulator: Any, tmp_path: Path
) -> None:
    session = Session(org_url=fresh_emulator.url, token="test-token")
    with pytest.raises(DeployError, match=r"okta.apps.group_assignments is listed per appId"):
        export_stack(session, "okta.apps.group_assignments", None, tmp_path / "x")


def test_cli_export_then_build_elsewhere_then_plan_exits_0(
    fresh_emulator: Any, empty_org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from oktaql.cli import main

    _hand_made(fresh_emulator)
    monkeypatch.setenv("OKTA_API_TOKEN", "test-token")
    out = tmp_path / "onboarded"

    def run(*args: str) -> Any:
        return CliRunner().invoke(main, ["deploy", *args])

    exported = run(
        "export",
        "--resource",
        "okta.groups.groups",
        "--where",
        "type = 'OKTA_GROUP'",
        str(out),
        "--org-url",
        fresh_emulator.url,
    )
    assert exported.exit_code == 0, exported.output
    assert exported.output.splitlines()[0] == f"wrote {out / 'stackql_manifest.yml'}"
    built = run("build", str(out), "prd", "--org-url", empty_org.url)
    assert built.exit_code == 0, built.output
    empty_org.request_log.clear()
    planned = run("plan", str(out), "prd", "--detailed-exitcode", "--org-url", empty_org.url)
    assert planned.exit_code == 0, planned.output
    assert all(m == "GET" for m, _p, _h in empty_org.request_log)
    names = {g["profile"]["name"] for g in empty_org.org.groups}
    assert {"team-eng", "team-ops"} <= names
