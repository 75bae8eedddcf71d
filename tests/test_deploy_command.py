"""stackql-deploy's ``type: command`` resources against the emulator over real HTTP: a command
from an ``.iql`` ``/*+ command */`` anchor and one inline (``sql:``) run on every build, with
their props rendered; ``if`` false, a dry run and a plan send nothing; a failing command stops
the build saying what is done; test and teardown run no command; manifest mistakes are errors
naming file, line and key. Requests are counted at the emulator's request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.deploy import load_stack
from oktaql.errors import DeployError

GROUP = (
    (Path(__file__).resolve().parents[1] / "examples" / "stacks" / "okta-baseline" / "resources")
    .joinpath("group.iql")
    .read_text()
)

DESCRIBE = """\
/*+ command */
REPLACE okta.groups.groups
SET data__profile = '{"name": "{{ stack_name }}-g1", "description": "{{ note }}"}'
WHERE groupId = '{{ g1_id }}'

/*+ exports */
SELECT profile->>'description' AS description FROM okta.groups.groups
WHERE search = 'profile.name eq "{{ stack_name }}-g1"'
"""

MANIFEST = """\
name: cmds
resources:
  - name: g1
    file: group.iql
    props:
      - name: group_name
        value: "{{ stack_name }}-g1"
      - name: group_description
        value: first
    exports:
      - id: g1_id
    protected: [g1_id]
  - name: describe
    type: command
    file: describe.iql
    props:
      - name: note
        value: "described by {{ stack_env }}"
    exports:
      - description: g1_description
  - name: audit
    type: command
    props:
      - name: audit_name
        value: "{{ stack_name }}-audit-{{ g1_description }}"
    sql: |
      /*+ update, retries=2 */
      INSERT INTO okta.groups.groups (data__profile)
      SELECT '{"name": "{{ audit_name }}", "description": "made by a command"}'
  - name: prd_only
    type: command
    if: "'{{ stack_env }}' == 'prd'"
    sql: |
      INSERT INTO okta.groups.groups (data__profile) SELECT '{"name": "prd-only"}'
"""


@pytest.fixture
def emu(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env is read
    return fresh_emulator


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    return write(tmp_path / "cmds", MANIFEST, {"group.iql": GROUP, "describe.iql": DESCRIBE})


def write(root: Path, manifest: str, files: dict[str, str]) -> Path:
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "stackql_manifest.yml").write_text(manifest)
    for name, text in files.items():
        (root / "resources" / name).write_text(text)
    return root


def deploy(emu: Any, command: str, stack: Path, *extra: str) -> Any:
    args = ["deploy", command, str(stack), "dev", "--org-url", emu.url, *extra]
    return CliRunner().invoke(main, args)


def groups(emu: Any) -> dict[str, dict[str, Any]]:
    headers = {"Authorization": f"SSWS {emu.config.token}"}
    r = httpx.get(f"{emu.url}/api/v1/groups", headers=headers, params={"limit": 200})
    r.raise_for_status()
    return {g["profile"]["name"]: g for g in r.json()}


def sent(emu: Any) -> list[tuple[str, str]]:
    """Every request since the last reset, without its query string."""
    out = [(m, p.split("?")[0]) for m, p, _ in emu.request_log]
    emu.reset_log()
    return out


def report(res: Any) -> list[str]:
    lines = res.stderr.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("error: ")) :]


def test_commands_run_on_every_build_and_never_on_test_or_teardown(emu: Any, stack: Path) -> None:
    emu.reset_log()
    res = deploy(emu, "build", stack)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of cmds (dev): 1 created, 2 ran, 1 skipped\n"
    made = groups(emu)
    g1 = made["cmds-g1"]["id"]
    # the .iql command's REPLACE went to the group g1 made, its props rendered; its exports
    # anchor ran after it; the inline command used that export; prd_only sent nothing
    assert made["cmds-g1"]["profile"]["description"] == "described by dev"
    assert made["cmds-audit-described by dev"]["profile"]["description"] == "made by a command"
    assert "prd-only" not in made
    groups_ = "/api/v1/groups"
    assert sent(emu)[:-1] == [
        ("GET", groups_), ("POST", groups_), ("GET", groups_), ("GET", groups_), ("GET", groups_),
        ("PUT", f"{groups_}/{g1}"), ("GET", groups_),
        ("POST", groups_),
    ]  # fmt: skip

    # a command has no check to pass: the next build sends it again; the inline one now fails
    # (its group exists), after its 2 attempts, and the report says what was done (a rollback
    # has nothing to delete: g1 was updated, and what a command did is not undone)
    res = deploy(emu, "build", stack, "--on-failure", "rollback")
    assert res.exit_code == 1
    lines = report(res)
    assert lines[0].startswith(
        f"error: build of cmds (dev) stopped at 'audit': {stack}/stackql_manifest.yml:27: "
        f"resources.audit.sql: resource 'audit': POST {emu.url}/api/v1/groups failed: HTTP 400 "
        "E0000001"
    )
    assert lines[0].endswith("(attempt 2 of 2)")
    assert lines[1:] == [
        "done: g1 (updated), describe (ran)",
        "not done: audit, prd_only",
        "rolled back (--on-failure rollback): describe (left in place: a command is not undone)",
    ]
    assert "audit: the command failed (attempt 1 of 2), again in 0s: " in res.stderr
    writes = [r for r in sent(emu) if r[0] != "GET"]
    assert writes == [
        ("PUT", f"{groups_}/{g1}"),  # g1's statecheck fails after describe's change: update
        ("PUT", f"{groups_}/{g1}"),  # describe, again
        ("POST", groups_),
        ("POST", groups_),
    ]

    # test runs no command (it reads the .iql command's exports); teardown skips commands and
    # deletes only g1: what the inline command made stays
    res = deploy(emu, "test", stack)
    assert "describe (skipped: a command)" in res.stdout
    assert "audit (skipped: a command)" in res.stdout
    assert [r for r in sent(emu) if r[0] != "GET"] == []
    res = deploy(emu, "teardown", stack)
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown of cmds (dev): 3 skipped, 1 deleted\n"
    assert [r for r in sent(emu) if r[0] != "GET"] == [("DELETE", f"{groups_}/{g1}")]
    assert "cmds-audit-described by dev" in groups(emu)


def test_a_dry_run_shows_each_command_rendered_and_sends_nothing(
    emu: Any, stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OKTA_API_TOKEN")
    emu.reset_log()
    res = deploy(emu, "build", stack, "--dry-run")
    assert res.exit_code == 0, res.output
    assert emu.request_log == []
    assert res.stdout == "build (dry run: nothing sent) of cmds (dev): 3 dry run, 1 skipped\n"
    assert (
        "-- describe: command\nREPLACE okta.groups.groups\n"
        'SET data__profile = \'{"name": "cmds-g1", "description": "described by dev"}\'\n'
        "WHERE groupId = '<known after apply>'\n"
        "-- describe: exports\n"
        "SELECT profile->>'description' AS description FROM okta.groups.groups\n"
        "WHERE search = 'profile.name eq \"cmds-g1\"'\n"
        "describe (dry run: nothing sent)\n"
        "-- audit: command\nINSERT INTO okta.groups.groups (data__profile)\n"
        'SELECT \'{"name": "cmds-audit-<known after apply>", "description": "made by a '
        "command\"}'\naudit (dry run: nothing sent)\n"
        "prd_only (skipped: if '{{ stack_env }}' == 'prd')\n"
    ) in res.stderr


def test_a_plan_shows_the_requests_each_command_sends_and_sends_none(emu: Any, stack: Path) -> None:
    assert deploy(emu, "build", stack).exit_code == 0
    g1 = groups(emu)["cmds-g1"]["id"]
    emu.reset_log()
    res = deploy(emu, "plan", stack, "-o", "json", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    url = f"{emu.url}/api/v1/groups"
    plan = json.loads(res.stdout)["resources"]
    assert (plan[0]["name"], plan[0]["action"]) == ("g1", "update")  # describe changed it
    assert plan[1:] == [
        {
            "name": "describe",
            "action": "update",
            "changes": [],
            "requests": [
                {
                    "method": "PUT",
                    "url": f"{url}/****",
                    "body": {"profile": {"name": "cmds-g1", "description": "described by dev"}},
                }
            ],
        },
        {
            "name": "audit",
            "action": "update",
            "changes": [],
            "requests": [
                {
                    "method": "POST",
                    "url": url,
                    "body": {
                        "profile": {
                            "name": "cmds-audit-<known after apply>",
                            "description": "made by a command",
                        }
                    },
                }
            ],
        },
        {"name": "prd_only", "action": "none", "changes": [], "requests": []},
    ]
    assert [m for m, _, _ in emu.request_log if m != "GET"] == []
    res = deploy(emu, "plan", stack)
    assert "~ describe: update  (a command: runs on every build)\n" in res.stdout
    # what audit sends reads describe's export, which is read only after describe runs
    assert (
        "~ audit: update  (a command: runs on every build; reads audit_name, known at apply)\n"
    ) in res.stdout
    # --show-queries: the statement as it would run, the protected id masked
    res = deploy(emu, "plan", stack, "--show-queries")
    assert (
        "-- describe: command\nREPLACE okta.groups.groups\n"
        'SET data__profile = \'{"name": "cmds-g1", "description": "described by dev"}\'\n'
        "WHERE groupId = '****'\n"
    ) in res.stderr
    assert g1 not in res.stderr
    assert [m for m, _, _ in emu.request_log if m != "GET"] == []


def test_show_queries_masks_what_a_command_reads(emu: Any, stack: Path) -> None:
    res = deploy(emu, "build", stack, "--show-queries")
    assert res.exit_code == 0, res.output
    g1 = groups(emu)["cmds-g1"]["id"]
    assert (
        "-- describe: command\nREPLACE okta.groups.groups\n"
        'SET data__profile = \'{"name": "cmds-g1", "description": "described by dev"}\'\n'
        "WHERE groupId = '****'\n"
    ) in res.stderr
    assert g1 not in res.stderr


def error(root: Path, manifest: str, files: dict[str, str]) -> str:
    from oktaql.session import Session

    write(root, manifest, files)
    with pytest.raises(DeployError) as info:
        load_stack(root, "dev", {}, Session().catalog)
    return str(info.value)


def test_command_manifest_mistakes(tmp_path: Path) -> None:
    head = "name: m\nresources:\n  - name: c\n    type: command\n"
    m = f"{tmp_path}/{{}}/stackql_manifest.yml"

    assert error(tmp_path / "a", head, {}) == (
        f"{m.format('a')}:3: resources.c: a command resource runs the command in sql: or "
        f"after /*+ command */ in {tmp_path}/a/resources/c.iql, and it has neither: write one "
        "of them"
    )
    assert error(tmp_path / "b", head, {"c.iql": "/*+ exports */\nSELECT 1 AS x\n"}) == (
        f"{m.format('b')}:3: resources.c: {tmp_path}/b/resources/c.iql: a command resource's "
        "query file needs a /*+ command */ anchor (or write the command inline: sql:)"
    )
    iql = (
        "/*+ command */\nDELETE FROM okta.groups.groups WHERE groupId = 'x'\n"
        "/*+ delete */\nDELETE FROM okta.groups.groups WHERE groupId = 'x'\n"
    )
    assert error(tmp_path / "c", head, {"c.iql": iql}) == (
        f"{tmp_path}/c/resources/c.iql:3: delete: a command resource runs only its /*+ command "
        "*/ (then /*+ exports */), on build; /*+ delete */ would never run (test and teardown "
        "skip commands, as stackql-deploy's do): remove it, or make the resource type: resource"
    )
    inline = head + "    sql: |\n      DELETE FROM okta.groups.groups WHERE groupId = 'x'\n"
    assert error(tmp_path / "d", inline + "    exports: [id]\n", {}) == (
        f"{m.format('d')}:7: resources.c.exports: a command written inline (sql:) has no /*+ "
        "exports */ query to export id from: put the command in resources/c.iql after /*+ "
        "command */, with an /*+ exports */ anchor"
    )
    two = head + (
        "    sql: |\n      /*+ update */\n      DELETE FROM okta.groups.groups WHERE groupId = 'x'\n"
        "      /*+ exports */\n      SELECT 1 AS x\n"
    )
    assert error(tmp_path / "e", two, {}) == (
        f"{m.format('e')}:8: resources.c.sql: sql: of a command resource is one command (its "
        "statements run in order, on build); the anchor on line 8 would run as part of it: "
        "remove it, or move the queries to resources/*.iql"
    )
    both = inline.replace("    sql: |", "    file: c.iql\n    sql: |")
    assert error(tmp_path / "f", both, {"c.iql": iql}) == (
        f"{m.format('f')}:6: resources.c.sql: sql: holds a command resource's command as text, "
        "instead of file: (give one of them)"
    )
    resource = "name: m\nresources:\n  - name: g\n    file: g.iql\n"
    assert error(tmp_path / "g", resource, {"g.iql": GROUP + "/*+ command */\nSELECT 1\n"}) == (
        f"{tmp_path}/g/resources/g.iql:25: command: /*+ command */ belongs to a type: command "
        "resource; this one is type resource"
    )
    assert error(tmp_path / "h", inline.replace("type: command", "type: script"), {}).endswith(
        "a script resource needs run: the command to run"
    )
    assert "type: query, and no file:" in error(
        tmp_path / "i", "name: m\nresources:\n  - name: r\n    sql: SELECT 1\n", {}
    )


def test_an_inline_command_keeps_its_lines_and_its_anchor_options(tmp_path: Path) -> None:
    from oktaql.session import Session

    root = write(
        tmp_path / "s",
        "name: m\nresources:\n  - name: c\n    type: command\n    sql: |\n\n"
        "      /*+ update, retries=3, retry_delay=2 */\n"
        "      DELETE FROM okta.groups.groups WHERE groupId = 'x'\n"
        "  - name: d\n    type: command\n    sql: |\n"
        "      DELETE FROM okta.groups.groups WHERE groupId = 'y'\n",
        {},
    )
    c, d = load_stack(root, "dev", {}, Session().catalog).resources
    anchor = c.queries["command"]
    assert (anchor.name, anchor.sql, anchor.retries, anchor.retry_delay) == (
        "command", "DELETE FROM okta.groups.groups WHERE groupId = 'x'", 3, 2.0,
    )  # fmt: skip
    assert (str(anchor.where), anchor.first_line) == (
        f"{root}/stackql_manifest.yml:7: resources.c.sql", 8,
    )  # fmt: skip
    anchor = d.queries["command"]
    assert (anchor.sql, anchor.retries, str(anchor.where), anchor.first_line) == (
        "DELETE FROM okta.groups.groups WHERE groupId = 'y'", 1,
        f"{root}/stackql_manifest.yml:12: resources.d.sql", 12,
    )  # fmt: skip


def test_resource_auth_is_refused_naming_what_to_use_instead(tmp_path: Path) -> None:
    manifest = (
        "name: m\nresources:\n  - name: g\n    file: g.iql\n    auth:\n      okta:\n"
        "        type: api_key\n        credentialsenvvar: OTHER_TOKEN\n"
    )
    assert error(tmp_path / "s", manifest, {"g.iql": GROUP}) == (
        f"{tmp_path}/s/stackql_manifest.yml:5: resources.g.auth: auth: (stackql-deploy's "
        "per-resource credentials) is not supported: oktaql sends an org only the credential "
        "its config or environment gives that org, never one a manifest or an export names; "
        "put the resources that need another credential or org in a stack of their own and run "
        "it with --profile NAME (a profile of the config file: org URL and token source)"
    )
