"""Profiles (config.toml), token sources, variables files and `oktaql config list`."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import oktaql
from oktaql import config
from oktaql.config import (
    Profile,
    config_command,
    config_path,
    env_vars,
    load_config,
    load_vars_file,
    merge_vars,
    resolve_connection,
)

PY = shlex.quote(sys.executable)

CONFIG = """\
default_profile = "prod"

[profiles.prod]
org_url = "https://acme.okta.com"
token_env = "ACME_OKTA_TOKEN"

[profiles.dev]
org_url = "http://127.0.0.1:8080"
token_command = "pass show okta/dev"

[profiles.bare]
org_url = "https://bare.okta.com"
"""


def _write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(config.CONFIG_ENV, str(tmp_path / "absent.toml"))
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)


# --- where the file is ---------------------------------------------------------------------------


def test_config_path_precedence(tmp_path: Path) -> None:
    assert config_path({"OKTAQL_CONFIG": "/x/c.toml", "XDG_CONFIG_HOME": "/xdg"}) == Path(
        "/x/c.toml"
    )
    assert config_path({"XDG_CONFIG_HOME": "/xdg"}) == Path("/xdg/oktaql/config.toml")
    assert (
        config_path({"XDG_CONFIG_HOME": "relative"}) == Path.home() / ".config/oktaql/config.toml"
    )
    assert config_path({}) == Path.home() / ".config/oktaql/config.toml"


def test_load_config_reads_the_env_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, CONFIG)
    monkeypatch.setenv("OKTAQL_CONFIG", str(path))
    assert load_config().path == path
    assert sorted(load_config().profiles) == ["bare", "dev", "prod"]


# --- parsing ---------------------------------------------------------------------------------


def test_profiles_parsed(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, CONFIG))
    assert cfg.exists is True
    assert cfg.default_profile == "prod"
    assert cfg.profiles["prod"] == Profile("prod", "https://acme.okta.com", "ACME_OKTA_TOKEN", None)
    assert cfg.profiles["dev"] == Profile(
        "dev", "http://127.0.0.1:8080", None, "pass show okta/dev"
    )
    assert cfg.profiles["bare"] == Profile("bare", "https://bare.okta.com", None, None)
    assert [cfg.profiles[n].token_source for n in ("prod", "dev", "bare")] == [
        "env:ACME_OKTA_TOKEN",
        "command:pass ...",
        "-",
    ]
    assert cfg.resolve("dev") is cfg.profiles["dev"]


def test_missing_file_is_empty(tmp_path: Path) -> None:
    cfg = load_config(tmp_path / "nope.toml")
    assert (cfg.exists, cfg.profiles, cfg.default_profile) == (False, {}, None)
    with pytest.raises(oktaql.ConfigError) as err:
        cfg.resolve("prod")
    assert str(err.value) == (
        f"unknown profile 'prod': there is no config file at {tmp_path / 'nope.toml'} "
        "(set OKTAQL_CONFIG or create it with [profiles.prod])"
    )


def test_unknown_profile_lists_known_and_nearest(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG)
    cfg = load_config(path)
    with pytest.raises(oktaql.ConfigError) as err:
        cfg.resolve("prdo")
    assert (
        str(err.value)
        == f"unknown profile 'prdo' (did you mean prod?); profiles in {path}: bare, dev, prod"
    )
    with pytest.raises(oktaql.ConfigError) as err:
        cfg.resolve("zzzzzz")
    assert str(err.value) == f"unknown profile 'zzzzzz'; profiles in {path}: bare, dev, prod"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('default_profile = "prod"\n[profiles.prod\n', "invalid TOML: "),
        ("profiles = 3\n", "profiles must be a table of [profiles.<name>] tables, not a number"),
        ("default_profile = 1\n", "default_profile must be a string (a profile name), not a number"),
        ('default_profile = "x"\n[profiles.a]\norg_url = "https://a.okta.com"\n',
         "default_profile 'x' names no profile (profiles: a)"),
        ('[profiles.a]\norg_url = 5\n', "[profiles.a]: org_url must be a non-empty string, not a number"),
        ('[profiles.a]\norg_url = ""\n', "[profiles.a]: org_url must be a non-empty string, not an empty string"),
        ('[profiles.a]\norg_uri = "https://a.okta.com"\n',
         "[profiles.a]: unknown key 'org_uri' (did you mean org_url?); allowed: org_url, token_env, token_command"),
        ('[profiles.a]\ntoken = "00abc"\n', "[profiles.a]: a token is never stored in the config file"),
        ('[profiles.a]\ntoken_env = "A"\ntoken_command = "pass x"\n',
         "[profiles.a]: give token_env or token_command, not both"),
        ('[profiles.a]\norg_url = "acme.okta.com"\n',
         "[profiles.a]: org_url 'acme.okta.com' is not an http(s) URL (e.g. https://acme.okta.com)"),
        ('[profiles.a]\ntoken_command = "pass \'unclosed"\n',
         "[profiles.a]: token_command does not parse (No closing quotation)"),
        ("profile = {}\n", "unknown key 'profile' (did you mean profiles?); allowed: default_profile, profiles"),
        ("[profiles]\na = 1\n", "[profiles.a] must be a table, not a number"),
    ],
)  # fmt: skip
def test_bad_config_names_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(oktaql.ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(oktaql.ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: not UTF-8 text"


# --- tokens ------------------------------------------------------------------------------------


def test_token_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    prof = Profile("prod", "https://acme.okta.com", token_env="ACME_OKTA_TOKEN")
    monkeypatch.setenv("ACME_OKTA_TOKEN", "  tok-from-env \n")
    assert prof.token() == "tok-from-env"
    monkeypatch.delenv("ACME_OKTA_TOKEN")
    with pytest.raises(oktaql.ConfigError) as err:
        Profile("prod", token_env="ACME_OKTA_TOKEN").token()
    assert (
        str(err.value)
        == "profile prod: environment variable ACME_OKTA_TOKEN (token_env) is not set or empty"
    )


def test_no_token_source_means_the_usual_environment() -> None:
    assert Profile("bare", "https://bare.okta.com").token() is None


def _program(tmp_path: Path, name: str, mode: int = 0o755, body: str = "") -> Path:
    """An executable script ``name`` in a fresh ``bin`` folder of ``tmp_path``."""
    folder = tmp_path / "bin"
    folder.mkdir(mode=0o755, exist_ok=True)
    prog = folder / name
    prog.write_text(f"#!{sys.executable}\n{body}\n")
    prog.chmod(mode)
    return prog


def test_token_command_runs_with_shlex_capture_and_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []

    def fake_run(args: Any, **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        seen.append((args, kwargs))
        return subprocess.CompletedProcess(args, 0, b"s3cret-token\nuser: alice\n", b"")

    prog = _program(tmp_path, "pass")
    monkeypatch.setenv("PATH", f"{prog.parent}:/usr/bin:/bin")
    monkeypatch.setattr(config.subprocess, "run", fake_run)
    prof = Profile("dev", token_command="pass show 'okta/my dev'")
    assert prof.token() == "s3cret-token"  # the first line, as `pass` prints it
    assert prof.token() == "s3cret-token"
    # the program is found on PATH once, checked, and that very file runs
    assert seen == [([str(prog), "show", "okta/my dev"], {"capture_output": True, "timeout": 30.0})]


def test_token_command_real_process() -> None:
    prof = Profile("dev", token_command=f"{PY} -c \"print('tok-123')\"")
    assert prof.token() == "tok-123"


def test_token_command_failures_never_echo_its_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing password manager may print the secret on stdout or stderr: neither is shown."""
    cmd = f"{PY} -c \"import sys; print('SECRET-ON-STDOUT'); sys.stderr.write('error: tok SECRET-ON-STDERR rejected\\n'); sys.exit(2)\""
    with pytest.raises(oktaql.ConfigError) as err:
        Profile("dev", token_command=cmd).token()
    word = shlex.split(cmd)[0]
    assert str(err.value) == (
        f"profile dev: token_command ({word} ...): exited with status 2; its output is not "
        "shown (it may hold the token): run the command yourself to see its messages"
    )
    assert "SECRET" not in str(err.value)

    with pytest.raises(oktaql.ConfigError) as err:
        Profile("dev", token_command="oktaql-no-such-program-xyz show").token()
    assert str(err.value) == (
        "profile dev: token_command (oktaql-no-such-program-xyz ...): program "
        "'oktaql-no-such-program-xyz' not found"
    )

    with pytest.raises(oktaql.ConfigError) as err:
        Profile("dev", token_command=f'{PY} -c "print()"').token()
    assert (
        str(err.value)
        == f"profile dev: token_command ({word} ...): printed no token on its first line"
    )

    monkeypatch.setattr(config, "TOKEN_COMMAND_TIMEOUT", 0.3)
    with pytest.raises(oktaql.ConfigError) as err:
        Profile("dev", token_command=f'{PY} -c "import time; time.sleep(5)"').token()
    assert str(err.value) == f"profile dev: token_command ({word} ...): no answer within 0.3 s"


def test_token_command_others_can_replace_is_refused_or_warned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like ssh: a program everyone can write is refused before it runs (anyone could make it
    keep the token), one a group can write runs with a warning naming the file and the fix."""
    ran = tmp_path / "ran"
    body = f"open({str(ran)!r}, 'a').write('x'); print('tok-from-program')"
    prog = _program(tmp_path, "okta-token", 0o757, body)
    monkeypatch.setenv("PATH", f"{prog.parent}:/usr/bin:/bin")
    for command in ("okta-token --profile x", f"{prog} --profile x"):
        with pytest.raises(oktaql.ConfigError) as err:
            Profile("dev", token_command=command).token()
        assert str(err.value) == (
            f"profile dev: token_command ({command.split()[0]} ...): {prog} is writable by every "
            "user (mode 0757), so anyone could replace the program that prints your token; "
            f"fix: chmod go-w {prog}"
        )
    assert not ran.exists()  # refused before it ran
    assert capsys.readouterr().err == ""

    prog.chmod(0o775)
    assert Profile("dev", token_command="okta-token").token() == "tok-from-program"
    assert capsys.readouterr().err == (
        f"warning: {prog} is writable by group (mode 0775): whoever can write it can replace "
        f"the program that prints your token; fix: chmod go-w {prog}\n"
    )

    # a folder everyone can write lets anyone swap the program: refused; with the sticky bit
    # (as /tmp has) nobody can replace another user's file: fine
    prog.chmod(0o755)
    prog.parent.chmod(0o777)
    with pytest.raises(oktaql.ConfigError, match=rf"{prog.parent} is writable by every user"):
        Profile("dev", token_command="okta-token").token()
    prog.parent.chmod(0o1777)
    assert Profile("dev", token_command="okta-token").token() == "tok-from-program"
    assert capsys.readouterr().err == ""
    prog.parent.chmod(0o755)


def test_config_file_others_can_write_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, CONFIG)
    assert load_config(path).default_profile == "prod"
    assert capsys.readouterr().err == ""  # 0644 in a 0700 folder: quiet
    path.chmod(0o666)
    assert load_config(path).default_profile == "prod"  # still read, as ssh does for config
    warning = (
        f"warning: {path} is writable by group and others (mode 0666): whoever can write it "
        f"chooses where your token goes and what runs; fix: chmod go-w {path}\n"
    )
    assert capsys.readouterr().err == warning
    load_config(path)
    assert capsys.readouterr().err == ""  # once per process

    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o775)
    other = _write(folder, CONFIG)
    monkeypatch.setenv("OKTAQL_CONFIG", str(other))
    res = CliRunner().invoke(config_command, ["list"])
    assert res.exit_code == 0
    assert res.stderr == (
        f"warning: {folder} is writable by group (mode 0775): whoever can write it chooses "
        f"where your token goes and what runs; fix: chmod go-w {folder}\n"
    )
    assert res.stdout.startswith("profile  org_url")


def test_org_url_with_credentials_is_refused_and_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, '[profiles.a]\norg_url = "https://admin:hunter2@acme.okta.com"\n')
    with pytest.raises(oktaql.ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}: [profiles.a]: org_url 'https://***@acme.okta.com' holds credentials "
        '(user:password@); a config file names where the token comes from: token_env = "VAR" '
        'or token_command = "pass show ..."'
    )
    monkeypatch.setenv("OKTAQL_CONFIG", str(path))
    res = CliRunner().invoke(config_command, ["list"])
    assert res.exit_code == 1 and "***@acme.okta.com" in res.output
    assert "hunter2" not in res.output and "admin" not in res.output

    for url, shown in [("ftp://admin:hunter2@acme.okta.com", "ftp://***@acme.okta.com")]:
        with pytest.raises(oktaql.ConfigError) as err:
            load_config(_write(tmp_path, f'[profiles.a]\norg_url = "{url}"\n'))
        assert f"org_url {shown!r} is not an http(s) URL" in str(err.value)
        assert "hunter2" not in str(err.value)
    with pytest.raises(oktaql.ConfigError, match=r"org_url 'http://\[::1' is not an http\(s\) URL"):
        load_config(_write(tmp_path, '[profiles.a]\norg_url = "http://[::1"\n'))

    # a statement run with that profile sends nothing to the host the URL names
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from oktaql.cli import main

    seen: list[str] = []

    class Record(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.2", 0), Record)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        port = srv.server_address[1]
        prof = _write(
            tmp_path,
            f'[profiles.a]\norg_url = "http://admin:hunter2@127.0.0.2:{port}"\ntoken_env = "T_A"\n',
        )
        monkeypatch.setenv("OKTAQL_CONFIG", str(prof))
        monkeypatch.setenv("T_A", "tok-of-a")
        res = CliRunner().invoke(
            main, ["exec", "--profile", "a", "SELECT id FROM okta.users.users"]
        )
    finally:
        srv.shutdown()
        srv.server_close()
    assert res.exit_code == 1 and "holds credentials" in res.stderr
    assert "hunter2" not in res.output and "tok-of-a" not in res.output
    assert seen == []

    # and config list masks them even in a Config built some other way
    cfg = config.Config(path, {"a": Profile("a", "https://u:hunter2@acme.okta.com")})
    monkeypatch.setattr(config, "load_config", lambda *a, **k: cfg)
    res = CliRunner().invoke(config_command, ["list"])
    assert res.output == (
        "profile  org_url                    token  default\na        https://***@acme.okta.com  -\n"
    )


# --- choosing the org and token --------------------------------------------------------------------


def test_resolve_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = load_config(_write(tmp_path, CONFIG))
    monkeypatch.setenv("ACME_OKTA_TOKEN", "prod-tok")

    s = resolve_connection("prod", None, config=cfg, environ={})
    assert (s.org_url, s.token, s.profile.name if s.profile else None) == (
        "https://acme.okta.com",
        "prod-tok",
        "prod",
    )
    # an explicit --org-url wins over the profile's URL; one from $OKTA_CLIENT_ORGURL does not
    s = resolve_connection(
        "prod", "http://127.0.0.1:9", org_url_explicit=True, config=cfg, environ={}
    )
    assert (s.org_url, s.token) == ("http://127.0.0.1:9", "prod-tok")
    s = resolve_connection(
        "prod", "http://127.0.0.1:9", org_url_explicit=False, config=cfg, environ={}
    )
    assert s.org_url == "https://acme.okta.com"
    # no --profile: $OKTAQL_PROFILE, else default_profile, but only when no org URL was given
    s = resolve_connection(None, None, config=cfg, environ={"OKTAQL_PROFILE": "bare"})
    assert (s.org_url, s.token, s.profile.name if s.profile else None) == (
        "https://bare.okta.com",
        None,
        "bare",
    )
    s = resolve_connection(None, None, config=cfg, environ={})
    assert (s.org_url, s.token) == ("https://acme.okta.com", "prod-tok")
    s = resolve_connection(None, "http://127.0.0.1:9", config=cfg, environ={})
    assert (s.org_url, s.token, s.profile) == ("http://127.0.0.1:9", None, None)
    monkeypatch.delenv("ACME_OKTA_TOKEN")
    s = resolve_connection("prod", None, need_token=False, config=cfg, environ={})
    assert (s.org_url, s.token) == ("https://acme.okta.com", None)  # no token asked for
    with pytest.raises(oktaql.ConfigError, match=r"unknown profile 'nope'"):
        resolve_connection("nope", None, config=cfg, environ={})


def test_resolve_connection_without_config_file() -> None:
    s = resolve_connection(None, None, environ={})
    assert (s.org_url, s.token, s.profile) == (None, None, None)


# --- oktaql config list ---------------------------------------------------------------------------


def test_config_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, CONFIG)
    monkeypatch.setenv("OKTAQL_CONFIG", str(path))
    monkeypatch.setenv("ACME_OKTA_TOKEN", "do-not-print-me")
    res = CliRunner().invoke(config_command, ["list"])
    assert res.exit_code == 0, res.output
    assert res.output == (
        "profile  org_url                token                default\n"
        "bare     https://bare.okta.com  -\n"
        "dev      http://127.0.0.1:8080  command:pass ...\n"
        "prod     https://acme.okta.com  env:ACME_OKTA_TOKEN  yes\n"
    )
    assert "do-not-print-me" not in res.output


def test_config_list_without_file_and_with_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTAQL_CONFIG", str(tmp_path / "none.toml"))
    res = CliRunner().invoke(config_command, ["list"])
    assert (res.exit_code, res.output) == (0, f"no config file at {tmp_path / 'none.toml'}\n")
    bad = _write(tmp_path, "profiles = [1]\n")
    monkeypatch.setenv("OKTAQL_CONFIG", str(bad))
    res = CliRunner().invoke(config_command, ["list"])
    assert res.exit_code == 1
    assert (
        res.output
        == f"error: {bad}: profiles must be a table of [profiles.<name>] tables, not an array\n"
    )
    res = CliRunner().invoke(config_command, ["path"])
    assert res.output == f"{bad}\n"


# --- variables files ---------------------------------------------------------------------------------


def test_vars_files(tmp_path: Path) -> None:
    j = _write(tmp_path, json.dumps({"appId": "0oa1", "limit": 5, "nested": {"a": [1]}}), "v.json")
    y = _write(tmp_path, "appId: 0oa2\nactive: true\n", "v.yaml")
    yml = _write(tmp_path, "label: 'x: y'\n", "v.yml")
    assert load_vars_file(j) == {"appId": "0oa1", "limit": 5, "nested": {"a": [1]}}
    assert load_vars_file(y) == {"appId": "0oa2", "active": True}
    assert load_vars_file(yml) == {"label": "x: y"}


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("v.json", "[1, 2]", "the top level must be a mapping of name: value, not an array"),
        ("v.yaml", "- a\n- b\n", "the top level must be a mapping of name: value, not an array"),
        ("v.yaml", "just text\n", "the top level must be a mapping of name: value, not a string"),
        ("v.yaml", "", "the top level must be a mapping of name: value, not empty"),
        ("v.json", '{"a": 1,}', "invalid JSON at line 1, column 9: "),
        ("v.yaml", "a: [1\n", "invalid YAML at line 2, column 1: "),
        ("v.txt", "a=1", "unknown kind '.txt'; use .json, .yaml or .yml"),
        ("v.yaml", "1: a\n", "variable names must be strings, not 1"),
    ],
)
def test_bad_vars_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = _write(tmp_path, text, name)
    with pytest.raises(oktaql.ConfigError) as err:
        load_vars_file(path)
    assert str(err.value).startswith(f"variables file {path}: ")
    assert message in str(err.value)


def test_missing_vars_file(tmp_path: Path) -> None:
    with pytest.raises(oktaql.ConfigError) as err:
        load_vars_file(tmp_path / "gone.json")
    assert str(err.value) == f"variables file {tmp_path / 'gone.json'} does not exist"


def test_merge_vars_precedence(tmp_path: Path) -> None:
    first = _write(tmp_path, json.dumps({"a": "file1", "b": "file1", "c": "file1"}), "1.json")
    second = _write(tmp_path, "b: file2\nc: file2\n", "2.yaml")
    environ = {"OKTAQL_VAR_a": "env", "OKTAQL_VAR_d": "env", "OKTAQL_VAR_": "ignored", "OTHER": "x"}
    merged = merge_vars([first, second], {"c": "cli"}, environ)
    assert merged == {"a": "file1", "b": "file2", "c": "cli", "d": "env"}
    assert merge_vars([], None, environ) == {"a": "env", "d": "env"}
    assert env_vars({"OKTAQL_VAR_appId": "0oa1"}) == {"appId": "0oa1"}


def test_vars_fill_templates(tmp_path: Path) -> None:
    path = _write(tmp_path, 'n: 3\nname: "O\'Brien"\n', "v.yaml")
    conn = oktaql.connect(variables=merge_vars([path], {}, {}))
    try:
        cur = conn.cursor()
        cur.execute("SELECT {{ n }} + 1 AS n, '{{ name }}' AS name")
        assert cur.fetchall() == [(4, "O'Brien")]
    finally:
        conn.close()


def test_profiles_are_orgs_a_statement_can_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`subdomain = '<profile>'` sends that table's calls to the profile's org, with its token."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with (
        start_in_thread(EmulatorConfig(token="east-t", seed=3)) as east,
        start_in_thread(EmulatorConfig(token="west-t", seed=4)) as west,
    ):
        cfg = tmp_path / "config.toml"
        cfg.write_text(
            f'[profiles.east]\norg_url = "{east.url}"\ntoken_env = "EAST_T"\n'
            f'[profiles.west]\norg_url = "{west.url}"\ntoken_env = "WEST_T"\n'
        )
        monkeypatch.setenv("OKTAQL_CONFIG", str(cfg))
        monkeypatch.setenv("EAST_T", "east-t")
        monkeypatch.setenv("WEST_T", "west-t")
        from click.testing import CliRunner

        from oktaql.cli import main

        res = CliRunner().invoke(
            main,
            [
                "exec",
                "--db",
                ":memory:",
                "-o",
                "json",
                "SELECT subdomain_org, count(*) AS n FROM ("
                "SELECT 'east' AS subdomain_org FROM okta.apps.applications WHERE subdomain = 'east' "
                "UNION ALL SELECT 'west' FROM okta.apps.applications WHERE subdomain = 'west') "
                "GROUP BY 1 ORDER BY 1",
            ],
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout) == [
            {"subdomain_org": "east", "n": len(east.org.apps)},
            {"subdomain_org": "west", "n": len(west.org.apps)},
        ]
        assert {h["authorization"] for _, _, h in west.request_log} == {"SSWS west-t"}
