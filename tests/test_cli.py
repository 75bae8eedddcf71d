"""The command line, driven through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.output import iso

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def run(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OKTA_API_TOKEN", emulator.config.token)

    def _run(*args: str, input: str | None = None) -> Any:
        return CliRunner().invoke(main, ["exec", "--org-url", emulator.url, *args], input=input)

    return _run


def _app(emulator: Any) -> dict[str, Any]:
    return max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))


def test_json_output_is_machine_exact(run: Any, emulator: Any) -> None:
    app = _app(emulator)
    res = run(
        "-o",
        "json",
        "--var",
        f"appId={app['id']}",
        "SELECT id, created, scopes, _links FROM okta.apps.tokens WHERE appId = '{{ appId }}'",
    )
    assert res.exit_code == 0, res.output
    want = [
        {"id": t["id"], "created": t["created"], "scopes": t["scopes"], "_links": t["_links"]}
        for t in emulator.org.tokens_for_app(app["id"])
    ]
    assert json.loads(res.stdout) == want


def test_jsonl_csv_markdown_table(run: Any, emulator: Any) -> None:
    app = _app(emulator)
    truth = emulator.org.tokens_for_app(app["id"])[:3]
    sql = f"SELECT id, created, scopes FROM okta.apps.tokens WHERE appId = '{app['id']}' LIMIT 3"

    res = run("-o", "jsonl", sql)
    assert [json.loads(line) for line in res.stdout.splitlines()] == [
        {"id": t["id"], "created": t["created"], "scopes": t["scopes"]} for t in truth
    ]

    res = run("-o", "csv", sql)
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["id", "created", "scopes"]
    assert rows[1] == [
        truth[0]["id"],
        truth[0]["created"],
        json.dumps(truth[0]["scopes"], separators=(",", ":")),
    ]

    res = run("-o", "markdown", sql)
    lines = res.stdout.splitlines()
    assert lines[0] == "| id | created | scopes |"
    assert lines[1] == "|---|---|---|"
    assert lines[2].startswith(f"| {truth[0]['id']} | {truth[0]['created']} | ")

    res = run(sql)  # table is the default
    assert res.exit_code == 0
    assert truth[0]["id"] in res.stdout and "scopes" in res.stdout
    # a table shows a timestamp as JSON does: the instant with its offset (Z: UTC)
    assert iso  # imported for the json check above
    assert f"│ {truth[0]['created']} │" in res.stdout
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", res.stdout)


def test_sql_from_file_and_stdin(run: Any, emulator: Any, tmp_path: Path) -> None:
    n = len(emulator.org.apps)
    f = tmp_path / "q.sql"
    f.write_text("SELECT count(*) AS n FROM okta.apps.applications;\n")
    assert json.loads(run("-o", "json", "-f", str(f)).stdout) == [{"n": n}]
    assert json.loads(
        run("-o", "json", input="SELECT count(*) AS n FROM okta.apps.applications").stdout
    ) == [{"n": n}]


def test_errors_are_one_line_without_traceback(run: Any) -> None:
    res = run("SELECT id FROM okta.apps.tokens")
    assert res.exit_code == 1
    assert res.stderr == "error: okta.apps.tokens: SELECT needs appId\n"
    res = run("SELECT id FROM okta.apps.tokens WHERE appId = '{{ missing }}'")
    assert res.exit_code == 1
    assert (
        res.stderr
        == "error: template variable missing has no value: pass it with --var missing=VALUE\n"
    )
    res = run("--var", "novalue", "SELECT 1")
    assert res.exit_code == 1 and "NAME=VALUE" in res.stderr
    assert "Traceback" not in res.output


def test_dry_run_is_explain(run: Any, emulator: Any) -> None:
    emulator.reset_log()
    res = run("--dry-run", "-o", "json", "DELETE FROM okta.apps.tokens WHERE appId = 'x'")
    assert res.exit_code == 0
    plan = json.loads(res.stdout)
    assert (
        plan[0]["method"] == "DELETE" and plan[0]["url"] == f"{emulator.url}/api/v1/apps/x/tokens"
    )
    assert emulator.request_log == []


def test_embedded_emulator_flag() -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig()) as emu:
        want = sorted(a["label"] for a in emu.org.apps)
    res = CliRunner().invoke(
        main,
        [
            "exec",
            "--emulator",
            "-o",
            "json",
            "SELECT label FROM okta.apps.applications ORDER BY label",
        ],
    )
    assert res.exit_code == 0, res.output
    assert [r["label"] for r in json.loads(res.stdout)] == want


def _commands() -> dict[str, Any]:
    ctx = click.Context(main)
    return {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}


def _commands_and_options() -> list[tuple[str, str]]:
    out = []
    for name, cmd in _commands().items():
        out.append((name, ""))
        for p in cmd.params:
            for opt in getattr(p, "opts", []):
                if opt.startswith("--"):
                    out.append((name, opt))
    return out


@pytest.mark.parametrize(("command", "option"), _commands_and_options())
def test_every_command_and_option_is_documented(command: str, option: str) -> None:
    text = README.read_text()
    assert f"oktaql {command}" in text, f"README does not document `oktaql {command}`"
    if option:
        assert option in text, f"README does not document `oktaql {command} {option}`"
        cmd = _commands()[command]
        param = next(p for p in cmd.params if option in getattr(p, "opts", []))
        assert getattr(param, "help", None), f"{command} {option} has no --help text"
