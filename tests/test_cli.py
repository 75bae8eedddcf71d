"""The command line, driven through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
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
    """Every command by its full name ("exec", "deploy plan"): groups' subcommands too."""
    out: dict[str, Any] = {}

    def walk(group: click.Group, prefix: str) -> None:
        ctx = click.Context(group)
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            full = f"{prefix}{name}"
            out[full] = cmd
            if isinstance(cmd, click.Group):
                walk(cmd, full + " ")

    walk(main, "")
    return out


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
    cmd = _commands()[command]
    assert cmd.help, f"`oktaql {command}` has no --help text"
    if option:
        assert option in text, f"README does not document `oktaql {command} {option}`"
        param = next(p for p in cmd.params if option in getattr(p, "opts", []))
        assert getattr(param, "help", None), f"{command} {option} has no --help text"


# --- StackQL's output flags, the shared options, clear errors (issues 15.16, 15.17) ----------


def test_text_output_no_headers_and_outfile(run: Any, emulator: Any, tmp_path: Path) -> None:
    want = sorted((a["id"], a["label"]) for a in emulator.org.apps)
    sql = "SELECT id, label FROM okta.apps.applications ORDER BY id"
    res = run("-o", "text", sql)
    assert res.exit_code == 0, res.output
    assert res.stdout == "id\tlabel\n" + "".join(f"{i}\t{label}\n" for i, label in want)
    res = run("-o", "text", "-H", sql)
    assert res.stdout == "".join(f"{i}\t{label}\n" for i, label in want)
    res = run("-o", "csv", "--no-headers", sql)
    assert list(csv.reader(io.StringIO(res.stdout))) == [list(r) for r in want]
    out = tmp_path / "apps.jsonl"
    res = run("-o", "jsonl", "--outfile", str(out), sql)
    assert res.exit_code == 0, res.output
    assert res.stdout == ""
    assert [tuple(json.loads(line).values()) for line in out.read_text().splitlines()] == want
    res = run("--outfile", str(tmp_path / "missing" / "x.txt"), sql)
    assert res.exit_code == 1
    assert "error: --outfile " in res.stderr and "cannot write it" in res.stderr


def test_emulator_and_org_url_together_is_an_error() -> None:
    res = CliRunner().invoke(
        main, ["exec", "--emulator", "--org-url", "https://acme.okta.com", "SELECT 1 AS one"]
    )
    assert res.exit_code == 1
    assert res.stderr == "error: --emulator and --org-url both name an org: give one\n"


def test_org_url_ending_in_api_v1_is_trimmed_with_a_note(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_API_TOKEN", emulator.config.token)
    before = len(emulator.request_log)
    res = CliRunner().invoke(
        main,
        ["exec", "--org-url", emulator.url + "/api/v1/", "-o", "json",
         "SELECT count(*) AS n FROM okta.apps.applications"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == [{"n": len(emulator.org.apps)}]
    assert f"note: the org URL is the site, not its API: using {emulator.url!r}" in res.stderr
    paths = [p for _, p, _ in emulator.request_log[before:]]
    assert paths and all(p.startswith("/api/v1/apps") for p in paths), paths


def test_rate_limit_error_names_the_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(token="t", rate_limit=1, rate_window=3600)) as emu:
        monkeypatch.setenv("OKTA_API_TOKEN", "t")
        sql = "SELECT id FROM okta.apps.applications; SELECT id FROM okta.apps.applications"
        res = CliRunner().invoke(
            main, ["exec", "--org-url", emu.url, "--max-rate-limit-wait", "5", "-o", "csv", sql]
        )
    assert res.exit_code == 1
    assert "longer than the 5 s this client waits (--max-rate-limit-wait SECONDS)" in res.stderr
    assert "RetryPolicy" not in res.stderr


def test_duckdb_error_is_one_line_and_a_caret(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    made = CliRunner().invoke(main, ["exec", "--db", db, "CREATE TABLE my_table AS SELECT 1 AS a"])
    assert made.exit_code == 0, made.output
    res = CliRunner().invoke(main, ["exec", "--db", db, "SELECT * FROM sqlite_mastr"])
    assert res.exit_code == 1
    assert res.stderr == (
        "error: Table with name sqlite_mastr does not exist\n"
        "  SELECT * FROM sqlite_mastr\n"
        "                ^\n"
    )
    res = CliRunner().invoke(main, ["exec", "--db", db, "SELECT * FROM my_tabel"])
    assert res.stderr.splitlines()[0] == (
        'error: Table with name my_tabel does not exist; did you mean "my_table"?'
    )


def test_show_tables_and_views_list_the_db_file(run: Any, emulator: Any, tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    view = "SELECT id FROM okta.apps.applications WHERE status = 'ACTIVE'"
    for sql in (
        "CREATE TABLE saved AS SELECT 1 AS a",
        f"CREATE VIEW active_apps AS {view}",
        "CREATE MATERIALIZED VIEW app_ids AS SELECT id FROM okta.apps.applications",
    ):
        res = run("--db", db, sql)
        assert res.exit_code == 0, res.output
    res = run("--db", db, "-o", "json", "SHOW TABLES")
    assert json.loads(res.stdout) == [
        {"name": "active_apps", "kind": "view"},
        {"name": "app_ids", "kind": "materialized view"},
        {"name": "saved", "kind": "table"},
    ]
    res = run("--db", db, "-o", "json", "SHOW VIEWS LIKE 'act%'")
    assert json.loads(res.stdout) == [{"name": "active_apps", "kind": "view", "sql": view}]
    res = run("--db", str(tmp_path / "empty.duckdb"), "-o", "json", "SHOW TABLES")
    assert json.loads(res.stdout) == []


def test_dry_run_under_oauth_shows_the_scheme_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OKTA_CLIENT_AUTHORIZATIONMODE", "PrivateKey")
    monkeypatch.setenv("OKTA_CLIENT_CLIENTID", "0oa1service")
    monkeypatch.setenv("OKTA_CLIENT_PRIVATEKEY", "/nonexistent/key.pem")
    sql = "SELECT id FROM okta.apps.applications"
    for dpop, scheme in (("false", "Bearer ***"), ("true", "DPoP ***")):
        monkeypatch.setenv("OKTA_CLIENT_DPOPENABLED", dpop)
        res = CliRunner().invoke(
            main, ["exec", "--dry-run", "--org-url", "https://acme.okta.com", "-o", "json", sql]
        )
        assert res.exit_code == 0, res.output
        headers = json.loads(res.stdout)[0]["headers"]
        assert json.loads(headers) == {"Authorization": scheme}


def test_emulator_oauth_client_id_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    import stat

    import oktaql.emulator

    served: list[Any] = []
    monkeypatch.setattr(oktaql.emulator, "serve", lambda config, **kw: served.append(config))
    res = CliRunner().invoke(main, ["emulator", "--port", "0", "--oauth-client", "0oamine=auto"])
    assert res.exit_code == 0, res.output
    assert list(served[0].oauth_clients) == ["0oamine"]
    m = re.search(r"client id 0oamine, private key file (\S+)", res.stdout)
    assert m, res.stdout
    key_file = Path(m.group(1))
    assert "PRIVATE KEY" in key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    res = CliRunner().invoke(main, ["emulator", "--oauth-client", "=auto"])
    assert res.exit_code == 1 and "ID=auto" in res.stderr


def test_help_loads_no_engine() -> None:
    """``oktaql --help`` answers at once: listing the commands imports none of the engine
    (serve's server and deploy's manifest reader used to bring sqlglot in)."""
    probe = (
        "import sys\n"
        "from oktaql.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('sqlglot', 'duckdb', 'httpx', 'oktaql.session', 'oktaql.provider')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines()[-1] == "[]"
