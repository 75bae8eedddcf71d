"""Reading a deploy stack: stackql-deploy's manifest and .iql anchors, and every bad stack as one
exact error naming file, line and key, before any request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.deploy import Anchor, load_stack
from oktaql.deploy._manifest import parse_iql, read_env_file
from oktaql.errors import DeployError

GROUP_IQL = """\
/*+ exists */
SELECT id FROM okta.groups.groups WHERE search = 'profile.name eq "{{ group_name }}"'

/*+ statecheck, retries=5, retry_delay=0.5 */
SELECT count(*) AS count FROM okta.groups.groups
WHERE search = 'profile.name eq "{{ group_name }}"'

/*+ create */
INSERT INTO okta.groups.groups (data__profile) SELECT '{"name": "{{ group_name }}"}'

/*+ exports */
SELECT id FROM okta.groups.groups WHERE search = 'profile.name eq "{{ group_name }}"'

/*+ delete */
DELETE FROM okta.groups.groups WHERE groupId = '{{ this.id }}'
"""

MANIFEST = """\
version: 1
name: demo
description: a test stack
providers:
  - okta
globals:
  - name: prefix
    value: "{{ PREFIX }}-{{ stack_env }}"
resources:
  - name: eng
    file: group.iql
    props:
      - name: group_name
        value: "{{ prefix }}-eng"
      - name: uris
        values:
          dev:
            value: [a, b]
          prd:
            value: [c]
    exports:
      - id: eng_id
      - name
    protected: [eng_id]
"""


@pytest.fixture(scope="module")
def catalog() -> Any:
    from oktaql.session import Session

    return Session().catalog


def write(root: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "stackql_manifest.yml").write_text(manifest)
    for name, text in (files or {"group.iql": GROUP_IQL}).items():
        (root / "resources" / name).write_text(text)
    return root


def error(root: Path, catalog: Any, env: str = "dev", **env_vars: str) -> str:
    with pytest.raises(DeployError) as info:
        load_stack(root, env, {"PREFIX": "acme", **env_vars}, catalog)
    return str(info.value)


def test_a_stack_is_read_as_stackql_deploy_writes_it(tmp_path: Path, catalog: Any) -> None:
    stack = load_stack(write(tmp_path, MANIFEST), "dev", {"PREFIX": "acme"}, catalog)
    assert (stack.name, stack.env, stack.version, stack.description) == (
        "demo", "dev", 1, "a test stack",
    )  # fmt: skip
    assert stack.providers == ("okta",)
    assert stack.globals == {"prefix": "acme-dev"}
    (r,) = stack.resources
    assert (r.name, r.type, r.file) == ("eng", "resource", tmp_path / "resources" / "group.iql")
    # props are kept as written (rendered when the resource runs: they may read exports)
    assert r.props == {"group_name": "{{ prefix }}-eng", "uris": ["a", "b"]}
    assert r.exports == (("id", "eng_id"), ("name", "name"))
    assert r.protected == ("eng_id",)
    assert list(r.queries) == ["exists", "statecheck", "create", "exports", "delete"]
    check = r.queries["statecheck"]
    assert (check.retries, check.retry_delay, check.where.line, check.first_line) == (5, 0.5, 4, 5)
    assert str(r.where) == f"{tmp_path}/stackql_manifest.yml:10: resources.eng"
    assert str(r.prop_where["uris"]) == (
        f"{tmp_path}/stackql_manifest.yml:18: resources.eng.props.uris.values.dev.value"
    )
    prd = load_stack(tmp_path, "prd", {"PREFIX": "acme"}, catalog)
    assert prd.resources[0].props["uris"] == ["c"] and prd.globals == {"prefix": "acme-prd"}
    assert prd.digest != stack.digest


def test_iql_anchors_options_and_aliases() -> None:
    text = (
        "-- a comment before the first anchor is fine\n"
        "/*+ preflight, postdelete_retries=3, postdelete_retry_delay=2 */\nSELECT 1 AS count\n"
        "/*+ postdeploy */\n\n\nSELECT 2 AS count\n"
        "/*+ createorupdate */ INSERT INTO t SELECT 1\n"
    )
    found = parse_iql(text, "x.iql")
    assert found["exists"] == Anchor(
        "exists", "SELECT 1 AS count", found["exists"].where, 3, 1, 0.0, 3, 2.0
    )
    assert (found["statecheck"].sql, found["statecheck"].first_line) == ("SELECT 2 AS count", 7)
    assert (found["createorupdate"].sql, found["createorupdate"].first_line) == (
        "INSERT INTO t SELECT 1", 8,
    )  # fmt: skip


def test_declarative_keys_make_a_declarative_resource(tmp_path: Path, catalog: Any) -> None:
    manifest = """\
name: decl
resources:
  - name: eng
    resource: okta.groups.groups
    match: {profile.name: Engineering}
    desired:
      profile: {name: Engineering, description: "{{ stack_env }} group"}
    lifecycle: {}
"""
    (r,) = load_stack(write(tmp_path, manifest, {}), "dev", {}, catalog).resources
    assert r.type == "declarative" and r.file is None and r.queries == {}
    assert r.declarative is not None
    assert r.declarative.resource == "okta.groups.groups"
    assert r.declarative.match == {"profile.name": "Engineering"}
    assert r.declarative.desired == {
        "profile": {"name": "Engineering", "description": "{{ stack_env }} group"}
    }


def test_env_file_and_pairs(tmp_path: Path) -> None:
    f = tmp_path / ".env"
    f.write_text("# comment\nexport A=1\nB='two words'\nC=3 # trailing\n\n")
    assert read_env_file(f) == {"A": "1", "B": "two words", "C": "3"}
    f.write_text("A=1\nnot a pair\n")
    with pytest.raises(DeployError) as info:
        read_env_file(f)
    assert str(info.value) == (
        f"{f}:2: not KEY=VALUE: each line is KEY=VALUE (KEY a name: letters, digits, _), "
        "`export KEY=VALUE`, a # comment or blank"
    )
    f.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(DeployError) as info:
        read_env_file(f)
    assert str(info.value) == f"{f}:2: --env-file: not UTF-8 text (byte 0xff): save it as UTF-8"


# --- every bad stack: one error, file:line: key ------------------------------------------------


def test_bad_yaml(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, "name: demo\nresources:\n  - name: [unclosed\n")
    assert error(tmp_path, catalog).startswith(
        f"{tmp_path}/stackql_manifest.yml:4: not valid YAML: while parsing a flow sequence"
    )


def test_no_manifest_and_no_dir(tmp_path: Path, catalog: Any) -> None:
    assert error(tmp_path, catalog) == (
        f"{tmp_path}: no stackql_manifest.yml here: a stack directory holds "
        "stackql_manifest.yml and resources/*.iql (oktaql deploy init DIR writes a starter one)"
    )
    assert error(tmp_path / "nope", catalog) == f"{tmp_path / 'nope'}: no such stack directory"


def test_unknown_keys(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST.replace("providers:", "provders:"))
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:4: provders: unknown key (did you mean providers?)"
    )
    write(tmp_path, MANIFEST.replace("    protected:", "    protect:"))
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:24: resources.eng.protect: unknown key "
        "(did you mean protected?)"
    )


def test_missing_iql_file(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST.replace("file: group.iql", "file: grop.iql"))
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:11: resources.eng: no query file "
        f"{tmp_path}/resources/grop.iql: write it, or name another with file:"
    )


def test_unknown_anchor_and_option(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST, {"group.iql": GROUP_IQL.replace("/*+ create */", "/*+ creat */")})
    iql = f"{tmp_path}/resources/group.iql"
    assert (
        error(tmp_path, catalog)
        == f"{iql}:8: creat: unknown anchor /*+ creat */ (did you mean create?)"
    )
    write(tmp_path, MANIFEST, {"group.iql": GROUP_IQL.replace("retries=5", "retires=5")})
    assert error(tmp_path, catalog) == (
        f"{iql}:4: statecheck: unknown anchor option 'retires=5': write retries=N, "
        "retry_delay=N, postdelete_retries=N, postdelete_retry_delay=N"
    )
    write(tmp_path, MANIFEST, {"group.iql": GROUP_IQL.replace("retries=5", "retries=many")})
    assert (
        error(tmp_path, catalog)
        == f"{iql}:4: statecheck: retries='many' is not a number of attempts"
    )


def test_unknown_prop_in_a_query(tmp_path: Path, catalog: Any) -> None:
    broken = GROUP_IQL.replace(
        'SELECT \'{"name": "{{ group_name }}"}\'', 'SELECT \'{"name": "{{ group_nme }}"}\''
    )
    write(tmp_path, MANIFEST, {"group.iql": broken})
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/resources/group.iql:9: create: {{{{ group_nme }}}} has no value: it is no "
        "global, prop of 'eng', or export of a resource above it (did you mean group_name, "
        "resource_name?)"
    )


def test_global_without_a_value(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST)
    with pytest.raises(DeployError) as info:
        load_stack(tmp_path, "dev", {}, catalog)
    assert str(info.value) == (
        f"{tmp_path}/stackql_manifest.yml:8: globals.prefix: {{{{ PREFIX }}}} has no value: pass "
        "it with -e PREFIX=VALUE or in --env-file FILE (env vars reach globals)"
    )


def test_env_without_a_value_of_a_prop(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST)
    assert error(tmp_path, catalog, env="stg") == (
        f"{tmp_path}/stackql_manifest.yml:16: resources.eng.props.uris.values: no value for "
        "environment 'stg' (values has dev, prd)"
    )


TWO = """\
name: two
resources:
  - name: first
    file: first.iql
    props:
      - name: n
        value: "{{ second_id }}"
    exports:
      - first_id
  - name: second
    file: second.iql
    props:
      - name: n
        value: "{{ LATER }}"
    exports:
      - second_id
"""
SIMPLE = "/*+ exists */\nSELECT count(*) AS count FROM okta.groups.groups WHERE q = '{{ n }}'\n/*+ create */\nINSERT INTO okta.groups.groups (data__profile) SELECT '{}'\n"


def test_an_export_read_above_the_resource_that_sets_it(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, TWO.replace("{{ LATER }}", "x"), {"first.iql": SIMPLE, "second.iql": SIMPLE})
    m = f"{tmp_path}/stackql_manifest.yml"
    assert error(tmp_path, catalog) == (
        f"{m}:7: resources.first.props.n: {{{{ second_id }}}} is exported by resource 'second' "
        f"({m}:10: resources.second), which runs after 'first': move 'second' above 'first'"
    )


def test_a_cycle_of_exports(tmp_path: Path, catalog: Any) -> None:
    write(
        tmp_path,
        TWO.replace("{{ LATER }}", "{{ first_id }}"),
        {"first.iql": SIMPLE, "second.iql": SIMPLE},
    )
    m = f"{tmp_path}/stackql_manifest.yml"
    assert error(tmp_path, catalog) == (
        f"{m}:7: resources.first.props.n: {{{{ second_id }}}} is exported by resource 'second' "
        f"({m}:10: resources.second), which runs after 'first': 'second' reads 'first''s "
        "exports too: a cycle, break it"
    )


def test_unknown_provider_resource_in_a_query(tmp_path: Path, catalog: Any) -> None:
    write(
        tmp_path,
        MANIFEST,
        {
            "group.iql": GROUP_IQL.replace(
                "INSERT INTO okta.groups.groups", "INSERT INTO okta.groups.grups"
            )
        },
    )
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/resources/group.iql:9: create: unknown resource okta.groups.grups "
        "(did you mean groups, rules?): SHOW RESOURCES IN okta.groups lists them"
    )


def test_unknown_declarative_resource(tmp_path: Path, catalog: Any) -> None:
    write(
        tmp_path,
        "name: d\nresources:\n  - name: g\n    resource: okta.groups.grups\n    match: {id: x}\n",
        {},
    )
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:4: resources.g.resource: unknown resource "
        "okta.groups.grups (did you mean groups, rules?): SHOW RESOURCES IN okta.groups lists them"
    )


def test_duplicates_and_a_missing_create(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST + "  - name: eng\n    file: group.iql\n")
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:25: resources.eng: resource 'eng' is given twice "
        "(first on line 10)"
    )
    no_create = GROUP_IQL.replace("/*+ create */", "/*+ update */")
    write(tmp_path, MANIFEST, {"group.iql": no_create})
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:10: resources.eng: {tmp_path}/resources/group.iql: a "
        "resource resource's query file needs a /*+ create */ or /*+ createorupdate */ anchor"
    )


def test_a_query_before_the_first_anchor(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST, {"group.iql": "SELECT 1\n" + GROUP_IQL})
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/resources/group.iql:1: a query before the first anchor: start it with "
        "/*+ create */ or another anchor (exists, statecheck, create, update, createorupdate, "
        "exports, delete, command)"
    )


def test_a_bad_stack_sends_no_request(
    tmp_path: Path, fresh_emulator: Any, monkeypatch: Any
) -> None:
    """The CLI checks the whole stack before the first request: one error line, exit 1."""
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    broken = GROUP_IQL.replace("{{ this.id }}", "{{ ths.id }}")
    write(tmp_path, MANIFEST, {"group.iql": broken})
    fresh_emulator.reset_log()
    for command in ("build", "plan", "test", "teardown"):
        res = CliRunner().invoke(
            main,
            [
                "deploy",
                command,
                str(tmp_path),
                "dev",
                "-e",
                "PREFIX=acme",
                "--org-url",
                fresh_emulator.url,
            ],
        )
        assert res.exit_code == 1, res.output
        assert res.stderr == (
            f"error: {tmp_path}/resources/group.iql:15: delete: {{{{ ths }}}} has no value: it is "
            "no global, prop of 'eng', or export of a resource above it (did you mean this?)\n"
        )
    assert fresh_emulator.request_log == []


def test_a_template_syntax_error_names_its_line(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST, {"group.iql": GROUP_IQL.replace("{{ this.id }}", "{{ this.id }")})
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/resources/group.iql:15: delete: template syntax error: unexpected '}}'"
    )
    write(tmp_path, MANIFEST.replace('"{{ prefix }}-eng"', '"{{ prefix -eng"'))
    assert error(tmp_path, catalog).startswith(
        f"{tmp_path}/stackql_manifest.yml:14: resources.eng.props.group_name: template syntax error"
    )


def test_skip_validation_is_refused_not_ignored(tmp_path: Path, catalog: Any) -> None:
    write(tmp_path, MANIFEST + "    skip_validation: true\n")
    assert error(tmp_path, catalog) == (
        f"{tmp_path}/stackql_manifest.yml:25: resources.eng.skip_validation: skip_validation is "
        "not supported: oktaql decides update from statecheck, so remove the statecheck anchor "
        "instead"
    )
