"""Every subcommand of one deploy run reads each listing of live state at most once: teardown
(whose exports are read before its plan), teardown --dry-run, build and test, whatever mix of
declarative resources, ``.iql`` resources and exports the stack has. Requests are counted per
listing path at the emulator's request log."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oktaql.cli import main


def group(name: str, exports: str | None = None, prefix: str = "{{ stack_name }}") -> str:
    out = f"""\
  - name: {name}
    resource: okta.groups.groups
    match: {{profile.name: "{prefix}-{name}"}}
    desired:
      profile: {{name: "{prefix}-{name}", description: DESCRIPTION}}
"""
    return out + (f"    exports:\n      - id: {exports}\n" if exports else "")


def rule(name: str, group_id: str, exports: str | None = None) -> str:
    out = f"""\
  - name: {name}
    resource: okta.groups.rules
    match: {{name: "{{{{ stack_name }}}}-{name}"}}
    desired:
      type: group_rule
      name: "{{{{ stack_name }}}}-{name}"
      conditions:
        expression: {{value: 'user.department=="Eng"', type: "urn:okta:expression:1.0"}}
      actions: {{assignUserToGroups: {{groupIds: ["{{{{ {group_id} }}}}"]}}}}
    lifecycle: {{status: ACTIVE}}
"""
    return out + (f"    exports:\n      - id: {exports}\n" if exports else "")


@pytest.fixture
def emu(fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", fresh_emulator.config.token)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env is read
    return fresh_emulator


def stack(root: Path, resources: str, description: str = "one") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    text = "name: reads\nresources:\n" + resources
    (root / "stackql_manifest.yml").write_text(text.replace("DESCRIPTION", description))
    return root


def deploy(emu: Any, command: str, root: Path, *extra: str) -> Any:
    args = ["deploy", command, str(root), "dev", "--org-url", emu.url, *extra]
    return CliRunner().invoke(main, args)


def reads(emu: Any) -> tuple[Counter[str], list[tuple[str, str]]]:
    """The GETs since the last reset, counted per path (query string included), and every
    write in order."""
    got: Counter[str] = Counter()
    writes: list[tuple[str, str]] = []
    for method, path, _ in emu.request_log:
        if method == "GET":
            got[path] += 1
        else:
            writes.append((method, path.partition("?")[0]))
    emu.reset_log()
    return got, writes


# g1's id goes into r1's rule (an export between them), r1 exports its own id, g2 exports none
GROUPS_AND_RULES = group("g1", "g1_id") + rule("r1", "g1_id", "r1_id") + group("g2")
GROUPS = "/api/v1/groups?limit=10000"
RULES = "/api/v1/groups/rules?limit=200"
BY_NAME = (  # the groups listing narrowed to g1's and g2's names (Okta's search)
    "/api/v1/groups?search=%28profile.name%20eq%20%22reads-g1%22%20or%20profile.name"
    "%20eq%20%22reads-g2%22%29&limit=10000"
)


def ids(emu: Any) -> dict[str, str]:
    out = {g["profile"]["name"]: g["id"] for g in emu.org.groups}
    return {**out, **{r["name"]: r["id"] for r in emu.org.group_rules}}


def built(emu: Any, root: Path) -> dict[str, str]:
    res = deploy(emu, "build", root)
    assert (res.exit_code, res.stdout.splitlines()[-1]) == (0, "build of reads (dev): 3 created")
    emu.reset_log()
    return ids(emu)


@pytest.mark.parametrize("record", ["kept", "lost"])
def test_teardown_lists_each_type_once_though_it_reads_exports_first(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record: str
) -> None:
    """Teardown reads g1's and r1's exports, then plans the deletes: both from one listing
    per type. With the ownership record, the held types are listed whole; without it (another
    machine), by the matches of every resource of the run, not only those that export."""
    root = stack(tmp_path / "s", GROUPS_AND_RULES)
    made = built(emu, root)
    if record == "lost":
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))
    res = deploy(emu, "teardown", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown of reads (dev): 3 deleted\n"
    got, writes = reads(emu)
    assert got == {GROUPS if record == "kept" else BY_NAME: 1, RULES: 1}
    assert writes == [
        ("DELETE", f"/api/v1/groups/{made['reads-g2']}"),
        ("DELETE", f"/api/v1/groups/rules/{made['reads-r1']}"),
        ("DELETE", f"/api/v1/groups/{made['reads-g1']}"),
    ]
    assert {g["profile"]["name"] for g in emu.org.groups} & {"reads-g1", "reads-g2"} == set()
    assert [r for r in emu.org.group_rules if r["name"] == "reads-r1"] == []


def test_teardown_dry_run_reads_nothing_and_sends_nothing(emu: Any, tmp_path: Path) -> None:
    root = stack(tmp_path / "s", GROUPS_AND_RULES)
    made = built(emu, root)
    res = deploy(emu, "teardown", root, "--dry-run")
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown (dry run: nothing sent) of reads (dev): 3 dry run\n"
    assert reads(emu) == (Counter(), [])
    assert ids(emu) == made


def test_build_then_test_then_apply_of_a_saved_plan_list_each_type_once(
    emu: Any, tmp_path: Path
) -> None:
    root = stack(tmp_path / "s", GROUPS_AND_RULES)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    got, writes = reads(emu)
    # nothing is held yet: the groups are listed by the run's names; the writes come after
    # every read (r1's id from g1's create is filled in without listing again)
    assert got == {BY_NAME: 1, RULES: 1}
    made = ids(emu)
    assert writes == [
        ("POST", "/api/v1/groups"),
        ("POST", "/api/v1/groups/rules"),
        ("POST", f"/api/v1/groups/rules/{made['reads-r1']}/lifecycle/activate"),
        ("POST", "/api/v1/groups"),
    ]

    res = deploy(emu, "test", root)
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[-1] == "test of reads (dev): 3 pass"
    assert reads(emu) == (Counter({GROUPS: 1, RULES: 1}), [])

    # a saved plan applied: the apply's check of the plan reads once, its build reuses that
    root = stack(tmp_path / "s", GROUPS_AND_RULES, "two")
    plan = tmp_path / "plan.json"
    res = deploy(emu, "plan", root, "--out", str(plan))
    assert res.exit_code == 0, res.output
    assert reads(emu) == (Counter({GROUPS: 1, RULES: 1}), [])
    res = deploy(emu, "apply", root, "--plan", str(plan))
    assert res.exit_code == 0, res.output
    got, writes = reads(emu)
    assert got == {GROUPS: 1, RULES: 1}
    assert writes == [
        ("PUT", f"/api/v1/groups/{made['reads-g1']}"),
        ("PUT", f"/api/v1/groups/{made['reads-g2']}"),
    ]


def test_a_whole_listing_serves_the_narrowed_ask_of_the_same_type(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Teardown without the record: g2's match reads g1's exported name, so reading the
    exports (g2's name not known yet) lists the groups whole; the teardown plan, knowing every
    name, asks for the listing narrowed by them, and the whole one serves it."""
    resources = group("g1").replace(
        "    desired:", "    exports:\n      - profile.name: g1_name\n    desired:"
    ) + group("g2", prefix="{{ g1_name }}")
    root = stack(tmp_path / "s", resources)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    made = ids(emu)
    assert {"reads-g1", "reads-g1-g2"} <= set(made)
    emu.reset_log()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "elsewhere"))
    res = deploy(emu, "teardown", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown of reads (dev): 2 deleted\n"
    assert reads(emu) == (
        Counter({GROUPS: 1}),
        [
            ("DELETE", f"/api/v1/groups/{made['reads-g1-g2']}"),
            ("DELETE", f"/api/v1/groups/{made['reads-g1']}"),
        ],
    )


def test_a_listing_narrowed_to_more_names_serves_an_ask_for_fewer(emu: Any) -> None:
    """Readers sharing one run's listings: a listing narrowed to g1 and g2 holds what an ask
    for g1 alone would, so it serves it; an ask for a name it lacks, or for the whole type,
    lists again; a write of the type makes every listing of it stale."""
    from oktaql.deploy._bulk import Listings, LiveReader
    from oktaql.deploy._kind import kind_of
    from oktaql.deploy._model import Where
    from oktaql.session import Session

    names = {"profile.name": ["Engineering", "Sales"]}
    session = Session(org_url=emu.url, token=emu.config.token)
    try:
        kind = kind_of(session.catalog, "okta.groups.groups", Where("test", None, "r"))
        shared = Listings()

        def ask(narrow: dict[str, list[Any]] | None, name: str) -> list[str]:
            reader = LiveReader(session, shared)
            if narrow is not None:
                reader.narrow[kind.id] = narrow
            return [g["id"] for g in reader.matching(kind, {}, {"profile.name": name})]

        eng = next(g["id"] for g in emu.org.groups if g["profile"]["name"] == "Engineering")
        emu.reset_log()
        assert ask(names, "Engineering") == [eng]
        assert ask({"profile.name": ["Engineering"]}, "Engineering") == [eng]
        assert ask({"profile.name": ["Sales", "Engineering"]}, "Sales") != []
        assert [p.partition("?")[2] for _, p, _ in emu.request_log] == [
            "search=%28profile.name%20eq%20%22Engineering%22%20or%20profile.name%20eq%20"
            "%22Sales%22%29&limit=10000"
        ]
        emu.reset_log()
        assert ask({"profile.name": ["Engineering", "Nobody"]}, "Engineering") == [eng]
        assert ask(None, "Engineering") == [eng]  # the whole type: no narrowed one holds it
        assert ask({"profile.name": ["Nobody"]}, "Engineering") == [eng]  # the whole serves
        assert [p.partition("?")[2] for _, p, _ in emu.request_log] == [
            "search=%28profile.name%20eq%20%22Engineering%22%20or%20profile.name%20eq%20"
            "%22Nobody%22%29&limit=10000",
            "limit=10000",
        ]
        emu.reset_log()
        shared.forget("okta.groups.groups")
        assert ask({"profile.name": ["Engineering"]}, "Engineering") == [eng]
        assert [p.partition("?")[2] for _, p, _ in emu.request_log] == [
            "search=profile.name%20eq%20%22Engineering%22&limit=10000"
        ]
    finally:
        session.close()


GROUP_IQL = (
    (Path(__file__).resolve().parents[1] / "examples" / "stacks" / "okta-baseline" / "resources")
    .joinpath("group.iql")
    .read_text()
)
MIXED = (
    group("g1", "g1_id")
    + """\
  - name: i1
    file: group.iql
    props:
      - name: group_name
        value: "{{ stack_name }}-i1"
      - name: group_description
        value: iql
    exports:
      - id: i1_id
"""
    + rule("r1", "g1_id", "r1_id")
    + group("g2")
)


def test_a_mixed_teardown_lists_again_only_after_a_write(emu: Any, tmp_path: Path) -> None:
    """g1's run, the .iql group i1, then r1 and g2's run: the groups (read by two runs) are
    listed whole, once for the exports and the later run's plan; the first run's plan lists
    them again only because g2's and i1's deletes came between (a listing read before a write
    of its type is never planned from)."""
    root = stack(tmp_path / "s", MIXED)
    (root / "resources").mkdir()
    (root / "resources" / "group.iql").write_text(GROUP_IQL)
    res = deploy(emu, "build", root)
    assert res.exit_code == 0, res.output
    made = ids(emu)
    emu.reset_log()

    res = deploy(emu, "teardown", root, "--dry-run")
    assert res.exit_code == 0, res.output
    assert reads(emu) == (Counter(), [])

    res = deploy(emu, "teardown", root)
    assert res.exit_code == 0, res.output
    assert res.stdout == "teardown of reads (dev): 4 deleted\n"
    i1 = "/api/v1/groups?search=profile.name%20eq%20%22reads-i1%22&limit=10000"
    assert [(m, p) for m, p, _ in emu.request_log] == [
        ("GET", GROUPS),  # g1's export, then r1 and g2's plan
        ("GET", i1),  # i1's exists and exports (its own queries, not a listing)
        ("GET", i1),
        ("GET", RULES),  # r1's export, then its plan
        ("DELETE", f"/api/v1/groups/{made['reads-g2']}"),
        ("DELETE", f"/api/v1/groups/rules/{made['reads-r1']}"),
        ("GET", i1),  # i1's exists before its delete and after it
        ("DELETE", f"/api/v1/groups/{made['reads-i1']}"),
        ("GET", i1),
        ("GET", GROUPS),  # stale after the deletes of groups: g1's plan lists them again
        ("DELETE", f"/api/v1/groups/{made['reads-g1']}"),
    ]
