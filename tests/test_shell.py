"""The interactive shell: pure helpers directly, the shell itself in a real pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import oktaql
from oktaql.provider import open_registry
from oktaql.shell import (
    CompletionSource,
    complete,
    first_word,
    format_row,
    statement_complete,
)

PYTHON = sys.executable
TOKEN = "shell-test-token"
OKTA_API_TOKEN_SHAPE = "00" + "aB3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hI6kL9n"  # 42 chars


# history redaction: tests/test_secrets.py (the rule lives in oktaql._secrets)


# --- statement helpers -------------------------------------------------------------------------


def test_statement_complete() -> None:
    assert statement_complete("SELECT 1;")
    assert statement_complete("SELECT 1;  -- done\n")
    assert statement_complete(".output json")
    assert statement_complete("   ")
    assert not statement_complete("SELECT 1")
    assert not statement_complete("SELECT 'a;")
    assert not statement_complete("SELECT 1 /* ; */")
    assert not statement_complete("SELECT 1 /* open;")
    assert not statement_complete("SELECT 1; SELECT 2")
    assert statement_complete("SELECT 'a;b''c';")


def test_first_word() -> None:
    assert first_word("-- note\n  delete FROM x") == "DELETE"
    assert first_word("/* a */ EXEC okta.a.b.c") == "EXEC"
    assert first_word("") == ""


def test_bulk_reasons_come_from_the_plan() -> None:
    session = oktaql.connect(org_url="https://acme.okta.com").session

    def reasons(sql: str) -> list[str]:
        return session.plan_sql(sql).bulk_reasons()

    one = "DELETE FROM okta.apps.tokens WHERE appId = 'a' AND tokenId = 't1'"
    assert reasons(one) == []
    assert reasons(one.replace("= 't1'", "IN ('t1', 't2')")) == ["2 requests"]
    assert reasons("DELETE FROM okta.apps.tokens WHERE appId = 'a'") == [
        "revoke_oauth2_tokens_for_application deletes a whole collection (no id in its path)"
    ]
    assert reasons("SELECT id FROM okta.apps.tokens WHERE appId = 'a'") == []
    assert reasons("EXEC okta.apps.applications.activate_application @appId = 'a'") == []


def test_format_row_pretty_prints_json() -> None:
    text = format_row(["id", "scopes", "n"], ("oar1", {"a": [1, 2]}, None))
    assert (
        text
        == 'id    : oar1\nscopes: {\n          "a": [\n            1,\n            2\n          ]\n        }\nn     : NULL'
    )


# --- completion ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source() -> CompletionSource:
    from oktaql.registry_pull import pulled_registry

    return CompletionSource(open_registry(pulled_registry()), lambda: ["dev", "prod"])


def _texts(text: str, source: CompletionSource, cursor: int | None = None) -> list[str]:
    return [c.text for c in complete(text, len(text) if cursor is None else cursor, source)]


def test_complete_names(source: CompletionSource) -> None:
    assert _texts("SELECT * FROM okta.apps.tok", source) == ["tokens"]
    assert complete("SELECT * FROM okta.apps.tok", 27, source)[0].start == -3
    assert "apps" in _texts("SELECT * FROM okta.", source)
    assert _texts("SELECT * FROM ok", source) == ["okta"]
    methods = _texts("EXEC okta.apps.tokens.", source)
    assert sorted(methods) == [
        "get_oauth2_token_for_application",
        "list_oauth2_tokens_for_application",
        "revoke_oauth2_token_for_application",
        "revoke_oauth2_tokens_for_application",
    ]


def test_complete_columns_params_aliases(source: CompletionSource) -> None:
    text = "SELECT exp FROM okta.apps.tokens WHERE appId = 'x'"
    assert _texts(text, source, cursor=len("SELECT exp")) == ["expiresAt", "expand", "explain"]
    assert _texts("SELECT * FROM okta.apps.tokens WHERE tok", source) == ["tokenId"]
    assert _texts("SELECT t.cli FROM okta.apps.tokens t", source, cursor=len("SELECT t.cli")) == [
        "clientId"
    ]
    assert _texts("EXEC okta.apps.tokens.revoke_oauth2_token_for_application @t", source) == [
        "@tokenId"
    ]
    assert "@@json" in _texts("EXEC okta.apps.tokens.revoke_oauth2_token_for_application @", source)
    assert _texts("sel", source) == ["select"]


def test_complete_meta(source: CompletionSource) -> None:
    assert _texts(".ou", source) == [".output"]
    assert _texts(".output js", source) == ["json", "jsonl"]
    assert _texts(".timer o", source) == ["on", "off"]
    assert _texts(".profile p", source) == ["prod"]


# --- the shell in a pseudo-terminal -------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07|\r")


class PtyShell:
    """``python -m oktaql.shell`` on a pseudo-terminal; reads are waits for text, never sleeps."""

    def __init__(self, args: list[str], env: dict[str, str]):
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the shell
            try:
                os.execve(PYTHON, [PYTHON, "-m", "oktaql.shell", *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.raw = ""
        self.pos = 0  # how far expect() has consumed the cleaned text
        self.status: int | None = None

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            raise EOFError(f"the shell ended; output:\n{self.text[-3000:]}")
        self.raw += data.decode("utf-8", "replace")
        return True

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.text, self.pos)
            if m:
                self.pos = m.end()
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{pattern!r} not seen in {timeout} s; output:\n{self.text[self.pos - 2000 :]}"
                )
            self._read(min(left, 0.5))

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def prompt(self) -> None:
        self.expect(r"oktaql(?::[\w-]+)?>")

    def run(self, sql: str, until: str, timeout: float = 20.0) -> re.Match[str]:
        self.send(sql + "\r")
        return self.expect(until, timeout)

    def wait_exit(self, timeout: float = 30.0, nudge: str | None = None) -> int:
        """Wait for the process to end. ``nudge`` is re-sent every few seconds: a prompt
        redrawn while typing can match ``prompt()`` before a Ctrl-C that clears the line has
        been handled, and a Ctrl-D on a non-empty line does not leave."""
        deadline = time.monotonic() + timeout
        next_nudge = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            if nudge is not None and time.monotonic() > next_nudge:
                self.send(nudge)
                next_nudge = time.monotonic() + 3.0
            try:
                self._read(0.1)
            except EOFError:
                pass
        raise AssertionError("the shell did not exit")

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(self.fd)


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OKTA", "COLUMNS", "LINES"))}
    env.update(
        {
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "OKTAQL_CONFIG": str(tmp_path / "config" / "none.toml"),
            "OKTAQL_CACHE_DIR": os.environ.get("OKTAQL_CACHE_DIR", str(tmp_path / "cache")),
            "TERM": "xterm",
            "COLUMNS": "160",
            "LINES": "50",
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "OKTA_API_TOKEN": TOKEN,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


@pytest.fixture
def spawn(home: dict[str, str]) -> Iterator[Any]:
    shells: list[PtyShell] = []

    def _spawn(url: str | None, *args: str) -> PtyShell:
        sh = PtyShell([*(["--org-url", url] if url else []), *args], home)
        shells.append(sh)
        sh.prompt()
        return sh

    yield _spawn
    for sh in shells:
        sh.close()


@pytest.fixture(scope="module")
def org() -> Iterator[Any]:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running = start_in_thread(EmulatorConfig(token=TOKEN))
    try:
        yield running
    finally:
        running.stop()


def test_shell_session(org: Any, spawn: Any, home: dict[str, str]) -> None:
    sh = spawn(org.url)
    truth = sorted(a["id"] for a in org.org.apps)

    # a statement over three lines: continuation prompts, then the table of every app id
    sh.send("SELECT id\r")
    sh.expect(r"\.\.\.>")
    sh.send("FROM okta.apps.applications\r")
    sh.expect(r"\.\.\.>")
    sh.send("ORDER BY id;\r")
    m = sh.expect(rf"(?s)┃ id\s+┃.*?{len(truth)} rows\n")
    shown = re.findall(r"│ (\S+)\s+│", m.group(0))
    assert shown == truth
    sh.prompt()

    # JSON output
    sh.run(".output json", r"output: json")
    sh.prompt()
    app = truth[0]
    m = sh.run(
        f"SELECT id, label FROM okta.apps.applications WHERE id = '{app}';", r"(?s)\[\n.*?\n\]\n"
    )
    import json

    assert json.loads(m.group(0)) == [{"id": app, "label": org.org.app(app)["label"]}]

    # template variables
    sh.prompt()
    sh.run(".set appId " + app, r"appId set")
    sh.prompt()
    sh.run(".set apiToken hunter2-not-stored", r"apiToken set")
    sh.prompt()
    m = sh.run(".vars", r"apiToken = \*\*\*\n")
    sh.expect(rf'appId = "{app}"\n')
    sh.prompt()
    m = sh.run(
        "SELECT label FROM okta.apps.applications WHERE id = '{{ appId }}';", r"(?s)\[\n.*?\n\]\n"
    )
    assert json.loads(m.group(0)) == [{"label": org.org.app(app)["label"]}]
    sh.prompt()

    # tab completion: okta.apps.tok<TAB> completes to okta.apps.tokens (the statement runs)
    oidc = max(org.org.oidc_apps, key=lambda a: org.org.token_count(a["id"]))["id"]
    sh.send("SELECT count(*) AS n FROM okta.apps.tok")
    sh.expect(r"okta\.apps\.tok")
    sh.send("\t")
    sh.expect(r"ens")
    m = sh.run(f" WHERE appId = '{oidc}';", r'\{"n": (\d+)\}')
    assert int(m.group(1)) == org.org.token_count(oidc)
    sh.prompt()

    # .show N: a row in full, JSON pretty-printed
    sh.run(".output table", r"output: table")
    sh.prompt()
    first = org.org.tokens_for_app(oidc)[0]
    sh.run(f"SELECT id, scopes FROM okta.apps.tokens WHERE appId = '{oidc}' LIMIT 1;", r"1 row\n")
    sh.prompt()
    m = sh.run(".show 1", r"(?s)id\s*: \S+\nscopes: \[\n.*?\n\s*\]\n")
    assert m.group(0).split("\n")[0].split(": ")[1] == first["id"]
    assert [json.loads(x.strip().rstrip(",")) for x in m.group(0).split("\n")[2:-2]] == first[
        "scopes"
    ]
    sh.prompt()

    # a statement holding a token literal: runs, but its history entry is redacted
    sh.run(f"SELECT length('{OKTA_API_TOKEN_SHAPE}') AS len;", r"│\s+42 │")
    sh.prompt()

    # Ctrl-C at the prompt clears the line; Ctrl-D exits with status 0
    sh.send("SELECT 'never run'")
    sh.send("\x03")
    sh.prompt()
    sh.send("\x04")
    assert sh.wait_exit(nudge="\x04") == 0

    history = (Path(home["XDG_DATA_HOME"]) / "oktaql" / "history").read_text()
    assert "+SELECT id\n+FROM okta.apps.applications\n+ORDER BY id;\n" in history
    assert "+.set apiToken ***\n" in history
    assert "+SELECT length('***') AS len;\n" in history
    assert "hunter2" not in history and OKTA_API_TOKEN_SHAPE not in history
    assert "never run" not in history
    assert (
        oct(os.stat(Path(home["XDG_DATA_HOME"]) / "oktaql" / "history").st_mode & 0o777) == "0o600"
    )


def test_history_masks_secrets_nested_in_json(org: Any, spawn: Any, home: dict[str, str]) -> None:
    """Secrets at any depth of JSON text (an INSERT's credentials, an EXEC's @@json, a .set
    value) never reach the history file; the rest of each statement does."""
    import json

    secrets = ["S3cret!-hist", "A-hist-answer", "cs-hist-nested", "cs-hist-set", "pw-hist-set"]
    sh = spawn(org.url)
    creds = json.dumps(
        {
            "password": {"value": secrets[0]},
            "recovery_question": {"question": "q?", "answer": secrets[1]},
        }
    )
    sh.run(
        "EXPLAIN INSERT INTO okta.users.users (data__profile, data__credentials) "
        f"""SELECT '{{"login": "ann@example.com"}}', '{creds}';""",
        r"create_user",
    )
    sh.prompt()
    app = json.dumps(
        {
            "name": "oidc_client",
            "settings": {"oauthClient": {"redirect_uris": ["https://visible.example/cb"]}},
            "credentials": {
                "oauthClient": {"client_id": "visible-client-id", "client_secret": secrets[2]}
            },
        }
    )
    sh.run(
        f"EXPLAIN EXEC okta.apps.applications.replace_application @appId = '0oa1', @@json = '{app}';",
        r"replace_application",
    )
    sh.prompt()
    set_value = json.dumps({"outer": {"oauthClient": {"client_secret": secrets[3]}}, "k": "v"})
    sh.run(f".set body {set_value}", r"body set")
    sh.prompt()
    sh.run(f".set data__password {secrets[4]}", r"data__password set")
    sh.prompt()
    sh.send("\x04")
    assert sh.wait_exit(nudge="\x04") == 0

    history = (Path(home["XDG_DATA_HOME"]) / "oktaql" / "history").read_text()
    assert [s for s in secrets if s in history] == []
    for visible in ("ann@example.com", '"question": "q?"', "visible-client-id",
                    "https://visible.example/cb", '"k": "v"', "replace_application @appId = '0oa1'"):  # fmt: skip
        assert visible in history, visible
    assert '"client_secret": "***"' in history and '"answer": "***"' in history


def test_bulk_delete_asks_first(spawn: Any) -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(token=TOKEN)) as emu:
        app = max(emu.org.oidc_apps, key=lambda a: emu.org.token_count(a["id"]))["id"]
        before = emu.org.token_count(app)
        assert before > 0
        sh = spawn(emu.url)
        delete = f"DELETE FROM okta.apps.tokens WHERE appId = '{app}';"

        sh.run(
            delete,
            r"this statement plans 1 request\(s\) \(revoke_oauth2_tokens_for_application deletes a whole "
            r"collection \(no id in its path\)\):",
        )
        sh.expect(
            rf"revoke_oauth2_tokens_for_application  DELETE {re.escape(emu.url)}/api/v1/apps/{app}/tokens\n"
        )
        sh.expect(r"proceed\? \[y/N\]")
        sh.send("n\r")
        sh.expect(r"not run\n")
        sh.prompt()
        assert [r for r in emu.request_log if r[0] == "DELETE"] == []
        assert emu.org.token_count(app) == before

        sh.run(delete, r"proceed\? \[y/N\]")
        sh.send("y\r")
        sh.expect(r"DELETE okta\.apps\.tokens: 1 request\(s\) sent")
        sh.prompt()
        assert [(r[0], r[1]) for r in emu.request_log if r[0] == "DELETE"] == [
            ("DELETE", f"/api/v1/apps/{app}/tokens")
        ]
        assert emu.org.token_count(app) == 0

        # one token by id: no question asked
        other = next(
            a["id"] for a in emu.org.oidc_apps if a["id"] != app and emu.org.token_count(a["id"])
        )
        tok = emu.org.token_ids(other)[0]
        mark = len(sh.text)
        sh.run(
            f"DELETE FROM okta.apps.tokens WHERE appId = '{other}' AND tokenId = '{tok}';",
            r"DELETE okta\.apps\.tokens: 1 request\(s\) sent",
        )
        assert "proceed?" not in sh.text[mark:]
        assert emu.org.token_count(other) == len(emu.org.token_ids(other))
        assert tok not in emu.org.token_ids(other)
        sh.prompt()
        sh.send("\x04")
        assert sh.wait_exit() == 0


def test_ctrl_c_cancels_a_running_statement(spawn: Any) -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with start_in_thread(EmulatorConfig(token=TOKEN, latency_ms=3000)) as emu:
        sh = spawn(emu.url)
        sh.send("SELECT id FROM okta.apps.applications;\r")
        deadline = time.monotonic() + 15
        while not emu.request_log and time.monotonic() < deadline:  # the request is in flight
            time.sleep(0.02)
        assert emu.request_log, "the statement sent no request"
        sent = time.monotonic()
        sh.send("\x03")
        sh.expect(r"\^C\ncancelled\n", timeout=10)
        assert time.monotonic() - sent < 2.5  # did not wait for the 3 s response
        sh.prompt()
        sh.run("SELECT 1 AS one;", r"│\s+1 │", timeout=15)
        sh.expect(r"1 row\n")
        sh.prompt()
        assert "Traceback" not in sh.text
        sh.send("\x04")
        assert sh.wait_exit() == 0


def test_profile_and_vars_file(org: Any, spawn: Any, home: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "profiles.toml"
    script = tmp_path / "token.py"  # stands in for a password manager's CLI
    script.write_text(f"print({TOKEN!r})\n")
    command = f"{PYTHON} {script}"
    cfg.write_text(
        f'[profiles.emu]\norg_url = "{org.url}"\ntoken_command = "{command}"\n'
        f'[profiles.envp]\norg_url = "{org.url}"\ntoken_env = "EMU_TOKEN"\n'
    )
    app = org.org.apps[0]
    (tmp_path / "vars.yaml").write_text(f"app: {app['id']}\n")
    home["OKTAQL_CONFIG"] = str(cfg)
    home["EMU_TOKEN"] = TOKEN
    del home["OKTA_API_TOKEN"]  # the token must come from the profile
    sh = spawn(None, "--profile", "emu", "--vars-file", str(tmp_path / "vars.yaml"), "-o", "jsonl")
    m = sh.run(
        "SELECT label FROM okta.apps.applications WHERE id = '{{ app }}';",
        r'\{"label": "([^"]*)"\}\n',
    )
    assert m.group(1) == app["label"]
    sh.expect(r"oktaql:emu>")
    sh.run(".profile", rf"profile: emu  org: {re.escape(org.url)}\n")
    sh.prompt()
    sh.run(".profile envp", rf"profile envp: {re.escape(org.url)} \(token from env:EMU_TOKEN\)\n")
    sh.expect(r"oktaql:envp>")
    m = sh.run(
        "SELECT label FROM okta.apps.applications WHERE id = '{{ app }}';",
        r'\{"label": "([^"]*)"\}\n',
    )
    assert m.group(1) == app["label"]
    sh.prompt()
    sh.run(
        ".profile emv",
        r"error: unknown profile 'emv' \(did you mean emu\?\); profiles in .*: emu, envp\n",
    )
    sh.prompt()
    sh.send("\x04")
    assert sh.wait_exit(nudge="\x04") == 0


# --- the shell takes exec's options and keeps exec's database (issues 15.11, 15.17) ---------------


def _exec(home: dict[str, str], *args: str) -> Any:
    """``oktaql exec`` in its own process, with the shell's environment (the same data dir)."""
    import subprocess

    return subprocess.run(
        [PYTHON, "-m", "oktaql.cli", "exec", *args],
        env=home,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_shell_keeps_execs_database(org: Any, spawn: Any, home: dict[str, str]) -> None:
    """No --db: the shell opens exec's default file (<data dir>/oktaql.duckdb), so a table made
    by exec is there, and a view made in the shell is there for exec after the shell left."""
    made = _exec(home, "--org-url", org.url, "CREATE TABLE from_exec AS SELECT 42 AS answer")
    assert made.returncode == 0, made.stderr
    sh = spawn(org.url, "--cache-ttl", "30", "--concurrency", "4", "--max-retries", "1")
    sh.run(".tables", r"(?s)┃ name\s+┃ kind\s+┃.*?from_exec\s+│ table\s+│.*?1 row\n")
    sh.prompt()
    sh.run("SELECT answer FROM from_exec;", r"│\s+42 │")
    sh.prompt()
    sh.run(
        "CREATE VIEW active_apps AS SELECT id FROM okta.apps.applications WHERE status = 'ACTIVE';",
        r"view active_apps created\n",
    )
    sh.prompt()
    sh.run("SHOW TABLES;", r"(?s)active_apps\s+│ view\s+│.*?from_exec\s+│ table\s+│.*?2 rows\n")
    sh.prompt()
    # an error is one report: DuckDB's, one line and a caret, without its catalog noise
    sh.run("SELECT * FROM sqlite_mastr;", r"error: Table with name sqlite_mastr does not exist\n")
    sh.expect(r"  SELECT \* FROM sqlite_mastr\n\s+\^\n")
    sh.prompt()
    assert "Did you mean" not in sh.text
    sh.send("\x04")
    assert sh.wait_exit(nudge="\x04") == 0
    assert (Path(home["XDG_DATA_HOME"]) / "oktaql" / "oktaql.duckdb").is_file()
    active = sum(1 for a in org.org.apps if a["status"] == "ACTIVE")
    shown = _exec(home, "--org-url", org.url, "-o", "text", "-H",
                  "SELECT count(*) FROM active_apps")  # fmt: skip
    assert (shown.returncode, shown.stdout) == (0, f"{active}\n"), shown.stderr


def test_shell_db_option_inspect_and_dry_run(
    org: Any, spawn: Any, home: dict[str, str], tmp_path: Path
) -> None:
    db = str(tmp_path / "own.duckdb")
    made = _exec(home, "--db", db, "CREATE TABLE only_here AS SELECT 1 AS one")
    assert made.returncode == 0, made.stderr
    sh = spawn(org.url, "--db", db, "--dry-run")
    sh.run(".tables", r"only_here\s+│ table")
    sh.prompt()
    # .inspect: the columns, then the parameters of the SELECT methods
    sh.run(".inspect okta.apps.tokens", r"(?s)┃ name\s+┃ type\s+┃.*?userId\s+│ string")
    m = sh.expect(r"(?s)┃ parameter\s+┃ in\s+┃ required\s+┃ method\s+┃.*?rows\n")
    assert re.search(r"│ appId\s+│ path\s+│ required\s+│ list_oauth2_tokens_for_application", m[0])
    sh.prompt()
    sh.run(".inspect nonsense", r"error: usage: \.inspect okta\.<service>\.<resource>\n")
    sh.prompt()
    # --dry-run: every statement is planned and shown, nothing is sent, no confirmation asked
    before = len(org.request_log)
    app = org.org.apps[0]["id"]
    sh.run(".output jsonl", r"output: jsonl")
    sh.prompt()
    sh.run(
        f"DELETE FROM okta.apps.tokens WHERE appId = '{app}';",
        rf'"method": "DELETE", "url": "{re.escape(org.url)}/api/v1/apps/{app}/tokens"',
    )
    sh.prompt()
    assert len(org.request_log) == before
    assert "proceed?" not in sh.text
    sh.send("\x04")
    assert sh.wait_exit(nudge="\x04") == 0


def test_shell_refuses_emulator_with_org_url(home: dict[str, str]) -> None:
    sh = PtyShell(["--emulator", "--org-url", "https://acme.okta.com"], home)
    try:
        sh.expect(r"error: --emulator and --org-url both name an org: give one")
        assert sh.wait_exit() == 1
    finally:
        sh.close()
