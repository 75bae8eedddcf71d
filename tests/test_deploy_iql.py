"""``oktaql deploy`` on .iql stacks against the emulator over real HTTP: build, rebuild with no
write, plan after a change, drift, dry run, saved plans, test, teardown, on-failure, Okta's
deactivate-first refusal. Requests are counted at the emulator's request log."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from oktaql.cli import main

BASELINE = Path(__file__).resolve().parents[1] / "examples" / "stacks" / "okta-baseline"
LISTS = ("groups", "apps", "groups/rules", "trustedOrigins", "zones")
DOMAIN = "APP_DOMAIN=app.dev.example.com"


@pytest.fixture
def emu(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    # declarative resources' ownership records of one test never meet another's
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env is read
    return fresh_emulator


def deploy(emu: Any, command: str, stack: Path, *extra: str, env: str = "dev") -> Any:
    args = ["deploy", command, str(stack), env, "--org-url", emu.url, *extra]
    return CliRunner().invoke(main, args)


def get(emu: Any, path: str) -> Any:
    headers = {"Authorization": f"SSWS {emu.config.token}"}
    r = httpx.get(f"{emu.url}/api/v1/{path}", headers=headers, params={"limit": 200})
    r.raise_for_status()
    return r.json()


def snapshot(emu: Any) -> dict[str, Any]:
    """Every object of the types a stack touches (and the apps' group assignments), by id."""
    out: dict[str, Any] = {kind: {o["id"]: o for o in get(emu, kind)} for kind in LISTS}
    out["assignments"] = {
        (app, a["id"]) for app in out["apps"] for a in get(emu, f"apps/{app}/groups")
    }
    emu.reset_log()
    return out


def writes(emu: Any) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0]) for m, p, _ in emu.request_log if m != "GET"]


def report(res: Any) -> list[str]:
    """The error report on stderr (the progress lines before it left out)."""
    lines = res.stderr.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("error: ")) :]


def new(before: dict[str, Any], after: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for i, o in after[kind].items() if i not in before[kind]]


def test_build_rebuild_plan_test_teardown(emu: Any, tmp_path: Path) -> None:
    before = snapshot(emu)
    outputs = tmp_path / "outputs.json"
    res = deploy(emu, "build", BASELINE, "-e", DOMAIN, "--output-file", str(outputs))
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of okta-baseline (dev): 8 created\n"
    after = snapshot(emu)
    groups = {g["profile"]["name"]: g for g in new(before, after, "groups")}
    assert {n: g["profile"]["description"] for n, g in groups.items()} == {
        "okta-baseline-dev-engineering": "Everyone in Engineering",
        "okta-baseline-dev-admins": "Administrators (development)",
    }
    eng = groups["okta-baseline-dev-engineering"]["id"]
    (rule,) = new(before, after, "groups/rules")
    assert (rule["name"], rule["status"]) == ("okta-baseline-dev-engineering", "ACTIVE")
    assert rule["actions"]["assignUserToGroups"]["groupIds"] == [eng]
    (app,) = new(before, after, "apps")
    assert (app["label"], app["status"]) == ("okta-baseline-dev-web", "ACTIVE")
    assert app["settings"]["oauthClient"]["redirect_uris"] == [
        "https://app.dev.example.com/callback",
        "http://localhost:8080/callback",
    ]
    assert after["assignments"] - before["assignments"] == {(app["id"], eng)}
    doc = json.loads(outputs.read_text())
    assert (doc.pop("elapsed_time") > "0", doc) == (
        True,
        {
            "stack_name": "okta-baseline",
            "stack_env": "dev",
            "web_app_id": app["id"],
            "engineering_group_id": eng,
        },
    )
    (origin,) = new(before, after, "trustedOrigins")
    assert origin["origin"] == "https://app.dev.example.com"
    (zone,) = new(before, after, "zones")
    assert zone["gateways"] == [{"type": "CIDR", "value": "10.10.0.0/16"}]

    # a second build reads and sends no write; so do plan and test
    res = deploy(emu, "build", BASELINE, "-e", DOMAIN)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of okta-baseline (dev): 8 unchanged\n"
    assert writes(emu) == []
    res = deploy(emu, "plan", BASELINE, "-e", DOMAIN, "-o", "json", "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    plan = json.loads(res.stdout)["resources"]
    assert [(r["name"], r["action"], r["requests"]) for r in plan] == [
        (name, "none", [])
        for name in (
            "engineering_group", "admins_group", "engineering_rule", "engineering_rule_active",
            "web_app", "web_app_engineering", "web_origin", "office_zone",
        )
    ]  # fmt: skip
    res = deploy(emu, "test", BASELINE, "-e", DOMAIN)
    assert res.exit_code == 0, res.output
    assert "engineering_group (pass)" in res.stdout
    assert writes(emu) == []

    # teardown: reverse order, deactivating first; nothing of the stack left, nothing else
    res = deploy(emu, "teardown", BASELINE, "-e", DOMAIN)
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown of okta-baseline (dev): 8 deleted\n"
    admins = groups["okta-baseline-dev-admins"]["id"]
    assert writes(emu) == [
        ("POST", f"/api/v1/zones/{zone['id']}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/zones/{zone['id']}"),
        ("DELETE", f"/api/v1/trustedOrigins/{origin['id']}"),
        ("DELETE", f"/api/v1/apps/{app['id']}/groups/{eng}"),
        ("POST", f"/api/v1/apps/{app['id']}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/apps/{app['id']}"),
        ("POST", f"/api/v1/groups/rules/{rule['id']}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/groups/rules/{rule['id']}"),
        ("DELETE", f"/api/v1/groups/{admins}"),
        ("DELETE", f"/api/v1/groups/{eng}"),
    ]
    gone = snapshot(emu)
    assert {k: set(v) for k, v in gone.items() if k != "assignments"} == {
        k: set(v) for k, v in before.items() if k != "assignments"
    }
    assert gone["assignments"] == before["assignments"]
    # a second teardown finds nothing and sends nothing
    res = deploy(emu, "teardown", BASELINE, "-e", DOMAIN)
    assert res.exit_code == 0, res.output
    assert writes(emu) == []


def test_build_sends_the_creates_in_order(emu: Any) -> None:
    before = snapshot(emu)
    assert deploy(emu, "build", BASELINE, "-e", DOMAIN).exit_code == 0
    sent = writes(emu)
    after = snapshot(emu)
    (rule,) = new(before, after, "groups/rules")
    (app,) = new(before, after, "apps")
    eng = next(
        g["id"] for g in new(before, after, "groups") if "engineering" in g["profile"]["name"]
    )
    assert sent == [
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/groups/rules"),
        ("POST", f"/api/v1/groups/rules/{rule['id']}/lifecycle/activate"),
        ("POST", "/api/v1/apps"),
        ("PUT", f"/api/v1/apps/{app['id']}/groups/{eng}"),
        ("POST", "/api/v1/trustedOrigins"),
        ("POST", "/api/v1/zones"),
    ]


def test_plan_after_a_prop_change_shows_exactly_those_updates(emu: Any) -> None:
    assert deploy(emu, "build", BASELINE, "-e", DOMAIN).exit_code == 0
    state = snapshot(emu)
    app = next(a for a in state["apps"].values() if a["label"] == "okta-baseline-dev-web")
    origin = next(
        o for o in state["trustedOrigins"].values() if o["name"] == "okta-baseline-dev-web"
    )
    res = deploy(
        emu,
        "plan",
        BASELINE,
        "-e",
        "APP_DOMAIN=new.example.com",
        "-o",
        "json",
        "--detailed-exitcode",
    )
    assert res.exit_code == 2, res.output
    assert writes(emu) == []
    plan = {r["name"]: r for r in json.loads(res.stdout)["resources"]}
    assert {n for n, r in plan.items() if r["action"] != "none"} == {"web_app", "web_origin"}
    (put,) = plan["web_app"]["requests"]
    assert (put["method"], put["url"]) == ("PUT", f"{emu.url}/api/v1/apps/{app['id']}")
    assert put["body"]["settings"]["oauthClient"]["redirect_uris"] == [
        "https://new.example.com/callback",
        "http://localhost:8080/callback",
    ]
    # each field the update sends that differs, old -> new, read from one listing per type
    assert plan["web_app"]["changes"] == [
        {
            "field": "settings.oauthClient.redirect_uris",
            "old": ["https://app.dev.example.com/callback", "http://localhost:8080/callback"],
            "new": ["https://new.example.com/callback", "http://localhost:8080/callback"],
        }
    ]
    assert plan["web_origin"]["changes"] == [
        {"field": "origin", "old": "https://app.dev.example.com", "new": "https://new.example.com"}
    ]
    listings = [
        p
        for m, p, _ in emu.request_log
        if p.split("?")[0] in ("/api/v1/apps", "/api/v1/trustedOrigins")
    ]
    assert listings.count("/api/v1/apps?limit=200") == 1
    assert plan["web_origin"]["action"] == "update"
    assert plan["web_origin"]["requests"] == [
        {
            "method": "PUT",
            "url": f"{emu.url}/api/v1/trustedOrigins/{origin['id']}",
            "body": {
                "name": "okta-baseline-dev-web",
                "origin": "https://new.example.com",
                "scopes": [{"type": "CORS"}, {"type": "REDIRECT"}],
            },
        }
    ]
    # the table says the same; build applies exactly those two writes
    res = deploy(emu, "plan", BASELINE, "-e", "APP_DOMAIN=new.example.com")
    assert "~ web_app: update  (statecheck fails)" in res.stdout
    assert '    origin: "https://app.dev.example.com" -> "https://new.example.com"' in res.stdout
    assert res.stdout.endswith("Plan: 0 to create, 2 to update, 0 to delete, 6 unchanged.\n")
    res = deploy(emu, "build", BASELINE, "-e", "APP_DOMAIN=new.example.com")
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of okta-baseline (dev): 6 unchanged, 2 updated\n"
    assert writes(emu) == [
        ("PUT", f"/api/v1/apps/{app['id']}"),
        ("PUT", f"/api/v1/trustedOrigins/{origin['id']}"),
    ]
    res = deploy(emu, "plan", BASELINE, "-e", "APP_DOMAIN=new.example.com", "--detailed-exitcode")
    assert res.exit_code == 0, res.output


def test_drift_made_with_plain_http_is_found_and_restored(emu: Any) -> None:
    assert deploy(emu, "build", BASELINE, "-e", DOMAIN).exit_code == 0
    group = next(
        g for g in get(emu, "groups") if g["profile"]["name"] == "okta-baseline-dev-admins"
    )
    r = httpx.put(
        f"{emu.url}/api/v1/groups/{group['id']}",
        headers={"Authorization": f"SSWS {emu.config.token}"},
        json={"profile": {"name": "okta-baseline-dev-admins", "description": "changed by hand"}},
    )
    assert r.status_code == 200
    emu.reset_log()
    res = deploy(emu, "test", BASELINE, "-e", DOMAIN)
    assert res.exit_code == 1
    assert "admins_group (FAIL: not in the desired state)" in res.stdout
    assert res.stderr == (
        "error: test of okta-baseline (dev): not in the desired state: admins_group\n"
    )
    res = deploy(emu, "plan", BASELINE, "-e", DOMAIN, "-o", "json")
    (changed,) = [r for r in json.loads(res.stdout)["resources"] if r["action"] != "none"]
    assert (changed["name"], changed["action"]) == ("admins_group", "update")
    assert changed["changes"] == [
        {
            "field": "profile.description",
            "old": "changed by hand",
            "new": "Administrators (development)",
        }
    ]
    assert changed["requests"][0]["body"] == {
        "profile": {
            "name": "okta-baseline-dev-admins",
            "description": "Administrators (development)",
        }
    }
    assert writes(emu) == []
    assert deploy(emu, "build", BASELINE, "-e", DOMAIN).exit_code == 0
    assert writes(emu) == [("PUT", f"/api/v1/groups/{group['id']}")]
    assert deploy(emu, "test", BASELINE, "-e", DOMAIN).exit_code == 0


def test_dry_run_sends_nothing_and_needs_no_token(
    emu: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKTA_API_TOKEN")
    emu.reset_log()
    res = deploy(emu, "build", BASELINE, "-e", DOMAIN, "--dry-run")
    assert res.exit_code == 0, res.output
    assert emu.request_log == []
    assert res.stdout == "build (dry run: nothing sent) of okta-baseline (dev): 8 dry run\n"
    assert (
        "-- engineering_group: create\nINSERT INTO okta.groups.groups (data__profile)\n"
        'SELECT \'{"name": "okta-baseline-dev-engineering", "description": "Everyone in '
        "Engineering\"}'"
    ) in res.stderr
    # what exists would capture, and exports of a resource not built yet, read as placeholders
    assert (
        '-- admins_group: update\nREPLACE okta.groups.groups\nSET data__profile = \'{"name": '
        '"okta-baseline-dev-admins", "description": "Administrators (development)"}\'\n'
        "WHERE groupId = '<known after apply>'"
    ) in res.stderr
    assert '"groupIds": ["<known after apply>"]' in res.stderr


GROUP = (BASELINE / "resources" / "group.iql").read_text()


def small_stack(root: Path, third: str, extra: str = "") -> Path:
    """Two groups, then a third resource (from ``third``), then ``extra`` manifest text."""
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "group.iql").write_text(GROUP)
    (root / "resources" / "third.iql").write_text(third)
    groups = "".join(
        f"""  - name: {n}
    file: group.iql
    props:
      - name: group_name
        value: "{{{{ stack_name }}}}-{n}"
      - name: group_description
        value: test
    exports:
      - id: {n}_id
"""
        for n in ("g1", "g2")
    )
    (root / "stackql_manifest.yml").write_text(
        f"name: small\nresources:\n{groups}  - name: third\n    file: third.iql\n{extra}"
    )
    return root


BAD_RULE = """\
/*+ exists */
SELECT id FROM okta.groups.rules WHERE name = 'small-rule'
/*+ create */
INSERT INTO okta.groups.rules (data__type, data__name, data__conditions, data__actions)
SELECT 'group_rule', 'small-rule',
'{"expression": {"type": "urn:okta:expression:1.0", "value": "true"}}',
'{"assignUserToGroups": {"groupIds": ["00gnotarealgroup"]}}'
/*+ delete */
DELETE FROM okta.groups.rules WHERE groupRuleId = '{{ this.id }}'
"""


def test_on_failure_rollback_undoes_what_this_run_created(emu: Any, tmp_path: Path) -> None:
    stack = small_stack(tmp_path / "s", BAD_RULE)
    before = snapshot(emu)
    res = deploy(emu, "build", stack, "--on-failure", "rollback")
    assert res.exit_code == 1
    lines = report(res)
    assert lines[0].startswith(
        "error: build of small (dev) stopped at 'third': "
        f"{stack}/resources/third.iql:3: create: resource 'third': POST "
        f"{emu.url}/api/v1/groups/rules failed: HTTP 400 E0000001"
    )
    assert lines[1:] == [
        "done: g1 (created), g2 (created)",
        "not done: third",
        "rolled back (--on-failure rollback): g2 (deleted), g1 (deleted)",
    ]
    assert {k: set(v) for k, v in snapshot(emu).items()} == {k: set(v) for k, v in before.items()}


def test_on_failure_error_keeps_what_was_done_and_says_so(emu: Any, tmp_path: Path) -> None:
    stack = small_stack(tmp_path / "s", BAD_RULE)
    before = snapshot(emu)
    res = deploy(emu, "build", stack)
    assert res.exit_code == 1
    assert report(res)[1:] == [
        "done: g1 (created), g2 (created)",
        "not done: third",
        "what was created stays (--on-failure rollback undoes it)",
    ]
    names = {g["profile"]["name"] for g in new(before, snapshot(emu), "groups")}
    assert names == {"small-g1", "small-g2"}


def test_on_failure_ignore_goes_on(emu: Any, tmp_path: Path) -> None:
    extra = """  - name: g3
    file: group.iql
    props:
      - name: group_name
        value: small-g3
      - name: group_description
        value: test
"""
    stack = small_stack(tmp_path / "s", BAD_RULE, extra)
    before = snapshot(emu)
    res = deploy(emu, "build", stack, "--on-failure", "ignore")
    assert res.exit_code == 1
    assert report(res)[1:] == [
        "done: g1 (created), g2 (created), g3 (created)",
        "not done: third",
    ]
    assert "1 resource(s) failed (--on-failure ignore); first, 'third'" in res.stderr
    names = {g["profile"]["name"] for g in new(before, snapshot(emu), "groups")}
    assert names == {"small-g1", "small-g2", "small-g3"}


APP_WITHOUT_DEACTIVATE = """\
/*+ exists */
SELECT id FROM okta.apps.applications WHERE q = 'small-app' AND label = 'small-app'
/*+ create */
INSERT INTO okta.apps.applications (data__name, data__label, data__signOnMode, data__settings)
SELECT 'bookmark', 'small-app', 'BOOKMARK', '{"app": {"requestIntegration": false, "url": "https://example.com"}}'
/*+ delete */
DELETE FROM okta.apps.applications WHERE appId = '{{ this.id }}'
"""


def test_teardown_of_an_active_app_names_the_state_and_the_method(emu: Any, tmp_path: Path) -> None:
    stack = small_stack(tmp_path / "s", APP_WITHOUT_DEACTIVATE)
    res = deploy(emu, "build", stack)
    assert res.exit_code == 0, res.output
    res = deploy(emu, "teardown", stack)
    assert res.exit_code == 1
    assert report(res) == [
        "error: teardown of small (dev) stopped at 'third': "
        f"{stack}/resources/third.iql:6: delete: resource 'third': Okta refuses to delete an "
        "ACTIVE applications object (E0000056): put `EXEC "
        "okta.apps.applications.deactivate_application @appId = '...';` before it in the "
        "delete anchor",
        "not done: third, g2, g1",
    ]


def test_a_statecheck_that_never_passes_fails_the_build_after_its_retries(
    emu: Any, tmp_path: Path
) -> None:
    never = GROUP.replace("retries=3, retry_delay=1", "retries=2, retry_delay=0").replace(
        "AND profile->>'description' = '{{ group_description }}'", "AND 1 = 0"
    )
    stack = small_stack(
        tmp_path / "s",
        never.replace("{{ group_name }}", "small-third").replace("{{ group_description }}", "x"),
    )
    res = deploy(emu, "build", stack)
    assert res.exit_code == 1
    assert report(res)[0] == (
        "error: build of small (dev) stopped at 'third': "
        f"{stack}/resources/third.iql:5: statecheck: resource 'third': after the create, "
        "statecheck still fails (2 attempts; raise retries= / retry_delay= on the statecheck "
        "anchor if Okta is slow)"
    )


def test_saved_plan_applies_only_while_state_and_stack_are_unchanged(
    emu: Any, tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    res = deploy(emu, "plan", BASELINE, "-e", DOMAIN, "--out", str(saved))
    assert res.exit_code == 0, res.output
    doc = json.loads(saved.read_text())
    assert [r["action"] for r in doc["resources"]] == ["create"] * 8
    res = deploy(emu, "apply", BASELINE, "-e", DOMAIN, "--plan", str(saved))
    assert res.exit_code == 0, res.output
    assert res.stdout == "apply of okta-baseline (dev): 8 created\n"
    # the same plan again: the org no longer looks like it did
    emu.reset_log()
    res = deploy(emu, "apply", BASELINE, "-e", DOMAIN, "--plan", str(saved))
    assert res.exit_code == 1
    assert res.stderr == (
        "error: state changed since plan: live objects the plan read differ now; run plan "
        "again; nothing was sent\n"
    )
    assert writes(emu) == []
    # a fresh plan, then drift behind its back
    assert deploy(emu, "plan", BASELINE, "-e", DOMAIN, "--out", str(saved)).exit_code == 0
    zone = next(z for z in get(emu, "zones") if z["name"] == "okta-baseline-dev-office")
    httpx.put(
        f"{emu.url}/api/v1/zones/{zone['id']}",
        headers={"Authorization": f"SSWS {emu.config.token}"},
        json={**zone, "gateways": [{"type": "CIDR", "value": "192.168.0.0/16"}]},
    ).raise_for_status()
    emu.reset_log()
    res = deploy(emu, "apply", BASELINE, "-e", DOMAIN, "--plan", str(saved))
    assert res.exit_code == 1 and "state changed since plan" in res.stderr
    assert writes(emu) == []
    # the stack itself changed (another env var)
    res = deploy(emu, "apply", BASELINE, "-e", "APP_DOMAIN=other.example.com", "--plan", str(saved))
    assert res.exit_code == 1
    assert res.stderr == (
        "error: the stack changed since plan (manifest, queries or env vars): run plan again; "
        "nothing was sent\n"
    )
    assert writes(emu) == []


def test_query_script_and_if_resources(emu: Any, tmp_path: Path) -> None:
    root = tmp_path / "s"
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "group.iql").write_text(GROUP)
    (root / "resources" / "everyone.iql").write_text(
        "/*+ exports */\nSELECT id FROM okta.groups.groups WHERE search = 'profile.name eq \"Everyone\"'\n"
    )
    (root / "stackql_manifest.yml").write_text(
        """\
name: mixed
resources:
  - name: everyone
    type: query
    file: everyone.iql
    exports:
      - id: everyone_id
  - name: greeting
    type: script
    run: "echo '{\\"word\\": \\"hi-{{ stack_env }}\\"}'"
    exports:
      - word
  - name: made
    file: group.iql
    props:
      - name: group_name
        value: "{{ word }}-grp"
      - name: group_description
        value: "next to {{ everyone_id }}"
  - name: prd_only
    file: group.iql
    if: "'{{ stack_env }}' == 'prd'"
    props:
      - name: group_name
        value: prd-only
      - name: group_description
        value: x
"""
    )
    everyone = next(g["id"] for g in get(emu, "groups") if g["profile"]["name"] == "Everyone")
    before = snapshot(emu)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of mixed (dev): 1 exported, 1 ran, 1 created, 1 skipped\n"
    (made,) = new(before, snapshot(emu), "groups")
    assert made["profile"] == {"name": "hi-dev-grp", "description": f"next to {everyone}"}


def test_show_queries_masks_protected_exports(emu: Any, tmp_path: Path) -> None:
    stack = small_stack(
        tmp_path / "s",
        GROUP.replace("{{ group_name }}", "{{ g1_id }}-x").replace("{{ group_description }}", "d"),
    )
    text = (stack / "stackql_manifest.yml").read_text()
    (stack / "stackql_manifest.yml").write_text(
        text.replace("      - id: g1_id\n", "      - id: g1_id\n    protected: [g1_id]\n", 1)
    )
    res = deploy(emu, "build", stack, "--show-queries")
    assert res.exit_code == 0, res.output
    g1 = next(g["id"] for g in get(emu, "groups") if g["profile"]["name"] == "small-g1")
    assert (
        "-- third: exists\nSELECT id FROM okta.groups.groups\n"
        "WHERE search = 'profile.name eq \"****-x\"'"
    ) in res.stderr
    assert g1 not in res.stderr  # shown masked, sent as it is:
    assert any(g["profile"]["name"] == f"{g1}-x" for g in get(emu, "groups"))


def test_init_writes_a_stack_that_builds_against_the_emulator(emu: Any, tmp_path: Path) -> None:
    root = tmp_path / "starter"
    res = CliRunner().invoke(main, ["deploy", "init", str(root)])
    assert res.exit_code == 0, res.output
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "README.md", "resources/group.iql", "stackql_manifest.yml",
    ]  # fmt: skip
    res = deploy(emu, "build", root)
    assert (res.exit_code, res.stdout) == (0, "build of starter (dev): 1 created\n"), res.output
    assert writes(emu) == [("POST", "/api/v1/groups")]
    emu.reset_log()
    assert deploy(emu, "build", root).stdout == "build of starter (dev): 1 unchanged\n"
    assert writes(emu) == []
    assert deploy(emu, "teardown", root).exit_code == 0
    assert [m for m, _ in writes(emu)] == ["DELETE"]
    res = CliRunner().invoke(main, ["deploy", "init", str(root)])
    assert res.exit_code == 1
    assert res.stderr == f"error: {root} exists and is not empty: give a new directory\n"


def test_a_copy_of_the_baseline_is_a_separate_stack_per_env(emu: Any, tmp_path: Path) -> None:
    """dev and prd of one stack never touch each other's objects (names carry stack_env)."""
    stack = tmp_path / "baseline"
    shutil.copytree(BASELINE, stack)
    assert deploy(emu, "build", stack, "-e", DOMAIN).exit_code == 0
    prd = "APP_DOMAIN=app.example.com"  # Okta keeps one trusted origin per URL
    res = deploy(emu, "plan", stack, "-e", prd, "-o", "json", env="prd")
    assert {r["action"] for r in json.loads(res.stdout)["resources"]} == {"create"}
    res = deploy(emu, "build", stack, "-e", prd, env="prd")
    assert res.exit_code == 0, res.output
    prd_zone = next(z for z in get(emu, "zones") if z["name"] == "okta-baseline-prd-office")
    assert prd_zone["gateways"][0]["value"] == "10.20.0.0/16"
    assert deploy(emu, "teardown", stack, "-e", DOMAIN).exit_code == 0
    names = {g["profile"]["name"] for g in get(emu, "groups")}
    assert {n for n in names if n.startswith("okta-baseline")} == {
        "okta-baseline-prd-engineering", "okta-baseline-prd-admins",
    }  # fmt: skip
    assert not any(re.search(r"-dev-", z["name"]) for z in get(emu, "zones"))


def test_a_stack_mixing_declarative_and_iql_resources(emu: Any, tmp_path: Path) -> None:
    """Declarative resources go to their engine in manifest order; their exports reach the
    .iql resources after them; rebuild sends nothing; teardown removes both kinds."""
    platform = """\
  - name: platform
    resource: okta.groups.groups
    match: {profile.name: "{{ stack_name }}-platform"}
    desired:
      profile: {name: "{{ stack_name }}-platform", description: Platform team}
    exports:
      - id: platform_id
"""
    follows = FOLLOWER.replace("value: test", 'value: "follows {{ platform_id }}"')
    root = mixed_stack(tmp_path / "mixed", platform + follows)
    before = snapshot(emu)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of mixed (dev): 2 created\n"
    made = {g["profile"]["name"]: g for g in new(before, snapshot(emu), "groups")}
    platform = made["mixed-platform"]["id"]
    assert made["mixed-follower"]["profile"]["description"] == f"follows {platform}"
    res = deploy(emu, "build", root)
    assert (res.exit_code, res.stdout) == (0, "build of mixed (dev): 2 unchanged\n"), res.output
    assert writes(emu) == []
    res = deploy(emu, "teardown", root)
    assert res.exit_code == 0, res.output
    assert sorted(writes(emu)) == sorted(
        [
            ("DELETE", f"/api/v1/groups/{made['mixed-follower']['id']}"),
            ("DELETE", f"/api/v1/groups/{platform}"),
        ]
    )
    assert set(snapshot(emu)["groups"]) == set(before["groups"])


def test_ctrl_c_stops_the_build_and_says_what_is_done(emu: Any, tmp_path: Path) -> None:
    stack = small_stack(tmp_path / "s", BAD_RULE)  # "third" is replaced by a script below
    text = (stack / "stackql_manifest.yml").read_text()
    (stack / "stackql_manifest.yml").write_text(
        text.replace(
            "  - name: third\n    file: third.iql\n",
            "  - name: third\n    type: script\n    run: kill -INT $PPID; sleep 2\n"
            "  - name: fourth\n    file: third.iql\n",
        )
    )
    res = deploy(emu, "build", stack)
    assert res.exit_code == 130, res.output
    assert report_interrupted(res) == [
        "interrupted",
        "no request was sent after Ctrl-C",
        "build of small (dev) interrupted before 'third'",
        "done: g1 (created), g2 (created)",
        "not done: third, fourth",
        "what was created stays (--on-failure rollback undoes it)",
    ]
    assert [m for m, _ in writes(emu)] == ["POST", "POST"]


def report_interrupted(res: Any) -> list[str]:
    lines = res.stderr.splitlines()
    return lines[lines.index("interrupted") :]


def test_on_failure_ignore_never_sends_what_a_failed_resource_would_have_made(
    emu: Any, tmp_path: Path
) -> None:
    extra = """    exports:
      - id: rule_id
  - name: reader
    file: group.iql
    props:
      - name: group_name
        value: "reads-{{ rule_id }}"
      - name: group_description
        value: x
"""
    stack = small_stack(
        tmp_path / "s",
        BAD_RULE.replace(
            "/*+ delete */",
            "/*+ exports */\nSELECT id FROM okta.groups.rules WHERE name = 'small-rule'\n/*+ delete */",
        ),
        extra,
    )
    res = deploy(emu, "build", stack, "--on-failure", "ignore")
    assert res.exit_code == 1
    manifest = (stack / "stackql_manifest.yml").read_text().splitlines()
    line = manifest.index("  - name: reader") + 1
    assert (
        f"reader: failed, going on (--on-failure ignore): {stack}/stackql_manifest.yml:{line}: "
        "resources.reader: resource 'reader' not sent: it reads rule_id, which a resource "
        "above it failed to make"
    ) in res.stderr
    assert report(res)[1:] == ["done: g1 (created), g2 (created)", "not done: third, reader"]
    assert [m for m, _ in writes(emu)] == ["POST", "POST", "POST"]  # two groups, the rule's try


MIXED_DECLARATIVE = """\
  - name: team
    resource: okta.groups.groups
    match: {profile.name: "{{ stack_name }}-team"}
    desired: {profile: {name: "{{ stack_name }}-team"}}
  - name: portal
    resource: okta.apps.applications
    match: {label: "{{ stack_name }}-portal"}
    desired:
      name: bookmark
      label: "{{ stack_name }}-portal"
      signOnMode: BOOKMARK
      settings: {app: {requestIntegration: false, url: "https://example.com"}}
    lifecycle: {status: ACTIVE}
"""
FOLLOWER = """\
  - name: follower
    file: group.iql
    props:
      - name: group_name
        value: "{{ stack_name }}-follower"
      - name: group_description
        value: test
"""
BAD_DECLARATIVE_RULE = """\
  - name: badrule
    resource: okta.groups.rules
    match: {name: "{{ stack_name }}-badrule"}
    desired:
      type: group_rule
      name: "{{ stack_name }}-badrule"
      conditions: {expression: {type: "urn:okta:expression:1.0", value: "true"}}
      actions: {assignUserToGroups: {groupIds: [00gnotarealgroup]}}
"""


def mixed_stack(root: Path, resources: str, third: str = BAD_RULE) -> Path:
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "group.iql").write_text(GROUP)
    (root / "resources" / "third.iql").write_text(third)
    (root / "stackql_manifest.yml").write_text(f"name: mixed\nresources:\n{resources}")
    return root


def rolled_back(emu: Any, stack: Path, at: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A build with --on-failure rollback that stops at ``at``: its report after the cause,
    and the writes it sent; the org is as it was before."""
    before = snapshot(emu)
    res = deploy(emu, "build", stack, "--on-failure", "rollback")
    assert res.exit_code == 1
    lines = report(res)
    assert lines[0].startswith(f"error: build of mixed (dev) stopped at '{at}': ")
    sent = writes(emu)
    assert {k: set(v) for k, v in snapshot(emu).items()} == {k: set(v) for k, v in before.items()}
    return lines[1:], sent


def test_rollback_undoes_both_kinds_newest_first_deactivating_first(
    emu: Any, tmp_path: Path
) -> None:
    """An .iql resource fails after declarative and .iql creates: all of them are undone, the
    newest first, the ACTIVE app deactivated before its delete."""
    third = "  - name: third\n    file: third.iql\n"
    stack = mixed_stack(tmp_path / "s", MIXED_DECLARATIVE + FOLLOWER + third)
    lines, sent = rolled_back(emu, stack, "third")
    assert lines == [
        "done: team (created), portal (created), follower (created)",
        "not done: third",
        "rolled back (--on-failure rollback): follower (deleted), portal (deleted), team (deleted)",
    ]
    assert [m for m, _ in sent] == ["POST"] * 4 + ["DELETE", "POST", "DELETE", "DELETE"]
    assert sent[1] == ("POST", "/api/v1/apps")
    portal_id = sent[6][1].rsplit("/", 1)[1]
    assert sent[4:] == [
        ("DELETE", sent[4][1]),
        ("POST", f"/api/v1/apps/{portal_id}/lifecycle/deactivate"),
        ("DELETE", f"/api/v1/apps/{portal_id}"),
        ("DELETE", sent[7][1]),
    ]
    assert sent[4][1].startswith("/api/v1/groups/") and sent[7][1].startswith("/api/v1/groups/")
    assert sent[4][1] != sent[7][1]
    # nothing is left in the ownership record: a build again creates everything anew
    res = deploy(emu, "plan", stack, "-o", "json")
    actions = [r["action"] for r in json.loads(res.stdout)["resources"]]
    assert actions[:3] == ["create", "create", "create"]


def test_rollback_after_a_declarative_failure_undoes_the_iql_creates_too(
    emu: Any, tmp_path: Path
) -> None:
    team = MIXED_DECLARATIVE.split("  - name: portal")[0]
    stack = mixed_stack(tmp_path / "s", FOLLOWER + team + BAD_DECLARATIVE_RULE)
    lines, sent = rolled_back(emu, stack, "badrule")
    assert lines == [
        "done: follower (created), team (created)",
        "not done: badrule",
        "rolled back (--on-failure rollback): team (deleted), follower (deleted)",
    ]
    assert [m for m, _ in sent] == ["POST", "POST", "POST", "DELETE", "DELETE"]
    assert sent[2] == ("POST", "/api/v1/groups/rules")


def test_apply_of_a_saved_plan_reads_live_state_once(emu: Any, tmp_path: Path) -> None:
    """apply --plan checks the plan against live state with the same reads it then builds
    from: a plan with nothing to do costs apply exactly the plan's reads, and a change adds
    only the reads that confirm the write."""
    from collections import Counter

    stack = mixed_stack(tmp_path / "s", MIXED_DECLARATIVE + FOLLOWER)
    assert deploy(emu, "build", stack).exit_code == 0
    saved = tmp_path / "plan.json"

    def gets() -> Counter[str]:
        return Counter(p for m, p, _ in emu.request_log if m == "GET")

    emu.reset_log()
    assert deploy(emu, "plan", stack, "--out", str(saved)).exit_code == 0
    planned = gets()
    search = "/api/v1/groups?search=profile.name%20eq%20%22mixed-follower%22&limit=10000"
    # one listing per declarative type; the .iql group's exists and statecheck
    assert planned == Counter(
        ["/api/v1/groups?limit=10000", "/api/v1/apps?limit=200"] + [search] * 2
    )
    emu.reset_log()
    res = deploy(emu, "apply", stack, "--plan", str(saved))
    assert (res.exit_code, res.stdout) == (0, "apply of mixed (dev): 3 unchanged\n"), res.output
    assert (gets(), writes(emu)) == (planned, [])
    # drift on the .iql group: apply reads what the plan read once, then confirms its write
    [follower] = [g for g in emu.org.groups if g["profile"]["name"] == "mixed-follower"]
    httpx.put(
        f"{emu.url}/api/v1/groups/{follower['id']}",
        headers={"Authorization": f"SSWS {emu.config.token}"},
        json={"profile": {"name": "mixed-follower", "description": "drifted"}},
    ).raise_for_status()
    emu.reset_log()
    assert deploy(emu, "plan", stack, "--out", str(saved)).exit_code == 0
    planned = gets()
    emu.reset_log()
    res = deploy(emu, "apply", stack, "--plan", str(saved))
    assert (res.exit_code, res.stdout) == (0, "apply of mixed (dev): 2 unchanged, 1 updated\n")
    assert writes(emu) == [("PUT", f"/api/v1/groups/{follower['id']}")]
    # the plan's reads once, then the write confirmed by exists and statecheck
    assert gets() == planned + Counter([search] * 2)


def test_an_iql_update_whose_object_is_not_identified_shows_its_action_only(
    emu: Any, tmp_path: Path
) -> None:
    counted = GROUP.replace(
        "/*+ exists */\nSELECT id FROM", "/*+ exists */\nSELECT count(*) AS count FROM"
    ).replace("{{ this.id }}", "{{ g1_id }}")
    root = tmp_path / "s"
    (root / "resources").mkdir(parents=True)
    (root / "resources" / "group.iql").write_text(GROUP)
    (root / "resources" / "counted.iql").write_text(counted)
    # exists finds one group, the update writes another
    (root / "resources" / "elsewhere.iql").write_text(GROUP.replace("{{ this.id }}", "{{ g1_id }}"))
    manifest = """\
name: counted
globals:
  - name: description
    value: "{{ DESCRIPTION }}"
resources:
  - name: g1
    file: group.iql
    props:
      - name: group_name
        value: counted-g1
      - name: group_description
        value: "{{ description }}"
    exports:
      - id: g1_id
  - name: again
    file: counted.iql
    props:
      - name: group_name
        value: counted-g1
      - name: group_description
        value: "{{ description }}"
  - name: elsewhere
    file: elsewhere.iql
    props:
      - name: group_name
        value: counted-other
      - name: group_description
        value: "{{ description }}"
"""
    (root / "stackql_manifest.yml").write_text(manifest)
    built = deploy(emu, "build", root, "-e", "DESCRIPTION=one")
    assert built.exit_code == 0, built.output
    res = deploy(emu, "plan", root, "-e", "DESCRIPTION=two", "-o", "json")
    assert res.exit_code == 0, res.output
    g1, again, elsewhere = json.loads(res.stdout)["resources"]
    assert g1["changes"] == [{"field": "profile.description", "old": "one", "new": "two"}]
    assert (again["action"], again["changes"]) == ("update", [])
    assert (elsewhere["action"], elsewhere["changes"]) == ("update", [])
    [other] = [g for g in emu.org.groups if g["profile"]["name"] == "counted-other"]
    res = deploy(emu, "plan", root, "-e", "DESCRIPTION=two")
    assert (
        "~ again: update  (statecheck fails; .iql resources show actions only here: exists "
        "captures no id (SELECT id ...) to read the live object by)"
    ) in res.stdout
    assert (
        "~ elsewhere: update  (statecheck fails; .iql resources show actions only here: the "
        f"update is not sent to the object exists found ({other['id']}))"
    ) in res.stdout
