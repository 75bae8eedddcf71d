"""One run reads each collection once: a stack whose declarative groups and ``.iql`` group
update read ``/api/v1/groups`` in bulk lists it once per plan, not once per part of the stack;
a write of the type makes the next reader list it again. Requests are counted at the
emulator's request log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oktaql.cli import main

GROUP = (
    (Path(__file__).resolve().parents[1] / "examples" / "stacks" / "okta-baseline" / "resources")
    .joinpath("group.iql")
    .read_text()
)


def declarative(name: str) -> str:
    return f"""\
  - name: {name}
    resource: okta.groups.groups
    match: {{profile.name: "{{{{ stack_name }}}}-{name}"}}
    desired:
      profile: {{name: "{{{{ stack_name }}}}-{name}", description: DESCRIPTION}}
"""


MANIFEST = (
    "name: shared\nresources:\n"
    + declarative("d1")
    + """\
  - name: i1
    file: group.iql
    props:
      - name: group_name
        value: "{{ stack_name }}-i1"
      - name: group_description
        value: DESCRIPTION
"""
    + declarative("d2")
)


@pytest.fixture
def emu(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env is read
    return fresh_emulator


def stack(root: Path, description: str) -> Path:
    (root / "resources").mkdir(parents=True, exist_ok=True)
    (root / "resources" / "group.iql").write_text(GROUP)
    (root / "stackql_manifest.yml").write_text(MANIFEST.replace("DESCRIPTION", description))
    return root


def deploy(emu: Any, command: str, root: Path, *extra: str) -> Any:
    args = ["deploy", command, str(root), "dev", "--org-url", emu.url, *extra]
    return CliRunner().invoke(main, args)


def listings(emu: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """The whole-collection GETs of /api/v1/groups (their query strings), and every other
    request, since the last reset."""
    whole: list[str] = []
    other: list[tuple[str, str]] = []
    for method, path, _ in emu.request_log:
        base, _, query = path.partition("?")
        if method == "GET" and base == "/api/v1/groups" and "search=" not in query:
            whole.append(query)
        else:
            other.append((method, base))
    emu.reset_log()
    return whole, other


def test_a_plan_lists_a_type_once_for_declarative_and_iql_resources(
    emu: Any, tmp_path: Path
) -> None:
    root = stack(tmp_path / "s", "one")
    res = deploy(emu, "build", root)
    assert (res.exit_code, res.stdout) == (0, "build of shared (dev): 3 created\n"), res.output
    emu.reset_log()

    # every resource now differs: d1 and d2 plan field changes from the listing, i1's update
    # shows its field changes from the same listing (its exists/statecheck are its own reads)
    root = stack(tmp_path / "s", "two")
    res = deploy(emu, "plan", root)
    assert res.exit_code == 0, res.output
    assert res.stdout.count('profile.description: "one" -> "two"') == 3, res.stdout
    whole, other = listings(emu)
    assert whole == ["limit=10000"]
    assert other == [("GET", "/api/v1/groups")] * 2  # i1's exists and statecheck (searches)

    # a build lists it once before the first write; each write makes it stale, so d2's
    # engine lists it again (as before: what it reads must be what is there now)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of shared (dev): 3 updated\n"
    whole, other = listings(emu)
    assert whole == ["limit=10000", "limit=10000"]
    assert [m for m, _ in other] == ["PUT", "GET", "GET", "PUT", "GET", "GET", "PUT"]


def test_a_write_between_two_readers_makes_the_next_one_read_again(
    emu: Any, tmp_path: Path
) -> None:
    """d1's engine lists the groups and writes nothing; a command then changes d2's group
    behind the listing's back: d2's engine must not plan from the stale listing."""
    root = stack(tmp_path / "s", "one")
    assert deploy(emu, "build", root).exit_code == 0
    d2 = next(g for g in emu.org.groups if g["profile"]["name"] == "shared-d2")["id"]
    command = f"""\
  - name: drift
    type: command
    sql: |
      REPLACE okta.groups.groups
      SET data__profile = '{{"name": "shared-d2", "description": "drifted"}}'
      WHERE groupId = '{d2}'
"""
    text = (root / "stackql_manifest.yml").read_text()
    text = text.replace("  - name: i1\n", command + "  - name: i1\n")
    (root / "stackql_manifest.yml").write_text(text)
    emu.reset_log()
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "build of shared (dev): 2 unchanged, 1 ran, 1 updated\n"
    whole, other = listings(emu)
    assert whole == ["limit=10000", "limit=10000"]  # d1's, then d2's after the command
    assert [(m, p) for m, p in other if m != "GET"] == [
        ("PUT", f"/api/v1/groups/{d2}"),  # the command
        ("PUT", f"/api/v1/groups/{d2}"),  # d2 put back as desired
    ]
    assert next(g for g in emu.org.groups if g["id"] == d2)["profile"]["description"] == "one"
