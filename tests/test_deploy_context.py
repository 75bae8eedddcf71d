"""What a stack's templates see: each resource's own props (with stackql-deploy's ``merge``),
``resource_name``, globals, stack_name/stack_env and earlier exports, for declarative resources as
for .iql ones; and the manifest's top-level ``exports`` written by ``--output-file``. Real HTTP
against the emulator; requests counted at its request log."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.deploy import load_stack
from oktaql.errors import DeployError


@pytest.fixture
def emu(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return fresh_emulator


def deploy(emu: Any, command: str, stack: Path, *extra: str) -> Any:
    return CliRunner().invoke(
        main, ["deploy", command, str(stack), "dev", "--org-url", emu.url, *extra]
    )


def writes(emu: Any) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0]) for m, p, _ in emu.request_log if m != "GET"]


def load_error(root: Path) -> str:
    with pytest.raises(DeployError) as info:
        load_stack(root, "dev")
    return str(info.value)


def stack(root: Path, manifest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stackql_manifest.yml").write_text(manifest)
    return root


PROPS = """\
name: ctx
globals:
  - name: team
    value: [ops]
resources:
  - name: platform
    resource: okta.groups.groups
    props:
      - name: group_name
        value: "{{ stack_name }}-{{ stack_env }}-{{ resource_name }}"
      - name: owners
        value: [alice, ops]
    match: {profile.name: "{{ group_name }}"}
    desired:
      profile:
        name: "{{ group_name }}"
        description: "{{ resource_name }} of {{ owners | join(',') }}"
    exports:
      - id: platform_id
  - name: joiners
    resource: okta.groups.rules
    props:
      - name: rule_name
        value: "{{ stack_name }}-{{ resource_name }}"
      - name: target
        value: "{{ platform_id }}"
    match: {name: "{{ rule_name }}"}
    desired:
      type: group_rule
      name: "{{ rule_name }}"
      conditions:
        expression: {type: "urn:okta:expression:1.0", value: 'user.department=="Ops"'}
      actions: {assignUserToGroups: {groupIds: ["{{ target }}"]}}
"""


def test_declarative_resources_render_with_their_own_props_and_resource_name(
    emu: Any, tmp_path: Path
) -> None:
    root = stack(tmp_path / "s", PROPS)
    emu.reset_log()
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of ctx (dev): 2 created\n"
    [group] = [g for g in emu.org.groups if g["profile"]["name"] == "ctx-dev-platform"]
    assert group["profile"]["description"] == "platform of alice,ops"
    [rule] = [r for r in emu.org.group_rules if r["name"] == "ctx-joiners"]
    assert rule["actions"]["assignUserToGroups"]["groupIds"] == [group["id"]]
    assert writes(emu) == [
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/groups/rules"),
    ]
    emu.reset_log()
    res = deploy(emu, "plan", root, "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    assert writes(emu) == []


MERGED = PROPS.replace("value: [alice, ops]", "value: [alice]\n        merge: [team]")


def test_merge_of_a_list_prop_appends_the_global_list(emu: Any, tmp_path: Path) -> None:
    root = stack(tmp_path / "s", MERGED)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    [group] = [g for g in emu.org.groups if g["profile"]["name"] == "ctx-dev-platform"]
    assert group["profile"]["description"] == "platform of alice,ops"


def test_merge_of_a_list_into_an_object_is_a_clear_error(emu: Any, tmp_path: Path) -> None:
    text = MERGED.replace("value: [alice]", "value: {lead: alice}")
    root = stack(tmp_path / "s", text)
    emu.reset_log()
    res = deploy(emu, "plan", root)
    assert res.exit_code == 1
    assert res.stderr == (
        f"error: {root}/stackql_manifest.yml:12: resources.platform.props.owners: merge: 'team' "
        "is a list and the prop's value an object: merge lists into a list, objects into an "
        "object\n"
    )
    assert emu.request_log == []


def test_merge_of_objects_and_a_merge_name_without_a_value(tmp_path: Path) -> None:
    from oktaql.deploy._context import resource_context

    text = MERGED.replace("value: [ops]", "value: {lead: bob, size: 3}").replace(
        "value: [alice]", "value: {lead: alice}"
    )
    s = load_stack(stack(tmp_path / "a", text), "dev")
    ctx = resource_context({**s.globals, "stack_name": "ctx", "stack_env": "dev"}, s.resources[0])
    assert ctx["owners"] == {"lead": "bob", "size": 3}
    assert ctx["resource_name"] == "platform"
    assert load_error(stack(tmp_path / "b", MERGED.replace("merge: [team]", "merge: [teem]"))) == (
        f"{tmp_path}/b/stackql_manifest.yml:13: resources.platform.props.owners.merge: "
        "{{ teem }} has no value: it is no global, prop of 'platform', or export of a resource "
        "above it (did you mean team?)"
    )


OUTPUTS = PROPS.replace(
    "resources:\n", "exports:\n  - platform_id\n  - team\n  - stack_env\nresources:\n", 1
)


def test_output_file_writes_the_stack_exports_after_build_and_test(
    emu: Any, tmp_path: Path
) -> None:
    root = stack(tmp_path / "s", OUTPUTS)
    out = tmp_path / "outputs.json"
    res = deploy(emu, "build", root, "--output-file", str(out))
    assert res.exit_code == 0, res.output
    [group] = [g for g in emu.org.groups if g["profile"]["name"] == "ctx-dev-platform"]
    doc = json.loads(out.read_text())
    assert list(doc) == ["stack_name", "stack_env", "platform_id", "team", "elapsed_time"]
    assert {k: v for k, v in doc.items() if k != "elapsed_time"} == {
        "stack_name": "ctx",
        "stack_env": "dev",
        "platform_id": group["id"],
        "team": ["ops"],
    }
    assert re.fullmatch(r"\d+:\d\d:\d\d(\.\d+)?", doc["elapsed_time"])
    out.unlink()
    emu.reset_log()
    res = deploy(emu, "test", root, "--output-file", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["platform_id"] == group["id"]
    assert writes(emu) == []
    # a protected export is never written out; a dry run writes nothing
    protected = OUTPUTS.replace(
        "      - id: platform_id\n", "      - id: platform_id\n    protected: [platform_id]\n"
    )
    root = stack(tmp_path / "p", protected)
    res = deploy(emu, "build", root, "--output-file", str(out))
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["platform_id"] == "****"
    out.unlink()
    res = deploy(emu, "build", root, "--dry-run", "--output-file", str(out))
    assert res.exit_code == 0, res.output
    assert not out.exists()
    assert f"--output-file {out}: not written (dry run: nothing is known)" in res.stderr


def test_stack_exports_name_only_what_has_a_value(tmp_path: Path) -> None:
    text = OUTPUTS.replace("  - team\n", "  - teem\n", 1)
    assert load_error(stack(tmp_path / "s", text)) == (
        f"{tmp_path}/s/stackql_manifest.yml:7: exports: 'teem' is no global and no resource "
        "exports it (did you mean team?)"
    )
    assert load_stack(stack(tmp_path / "t", OUTPUTS), "dev").exports == ("platform_id", "team")


INLINE = """\
name: inline
resources:
  - name: everyone
    type: query
    sql: |
      /*+ exports */
      SELECT id AS everyone_id FROM okta.groups.groups
      WHERE search = 'type eq "BUILT_IN"'
    exports: [everyone_id]
  - name: team
    resource: okta.groups.groups
    match: {profile.name: inline-team}
    desired: {profile: {name: inline-team, description: "beside {{ everyone_id }}"}}
"""


def test_a_query_resource_may_write_its_anchors_inline(emu: Any, tmp_path: Path) -> None:
    root = stack(tmp_path / "s", INLINE)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    [everyone] = [g for g in emu.org.groups if g["type"] == "BUILT_IN"]
    [team] = [g for g in emu.org.groups if g["profile"]["name"] == "inline-team"]
    assert team["profile"]["description"] == f"beside {everyone['id']}"
    # an error inside it names the manifest's line
    broken = stack(tmp_path / "b", INLINE.replace("'type eq", "'{{ kind }} eq"))
    assert load_error(broken) == (
        f"{broken}/stackql_manifest.yml:8: exports: {{{{ kind }}}} has no value: it is no "
        "global, prop of 'everyone', or export of a resource above it"
    )
    assert load_error(stack(tmp_path / "r", INLINE.replace("type: query", "type: resource"))) == (
        f"{tmp_path}/r/stackql_manifest.yml:5: resources.everyone.sql: sql: holds a query "
        "resource's anchored queries as text (type: query, and no file:); other resources keep "
        "theirs in resources/*.iql"
    )
