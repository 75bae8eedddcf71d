"""The %%oktaql cell magic, driven through its core function (IPython is not needed)."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

import oktaql
from oktaql import notebook


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    monkeypatch.setenv("OKTAQL_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("OKTAQL_PROFILE", raising=False)
    # the list-of-dicts path unless a test says (patching sys.modules would poison DuckDB's
    # own cached import of pandas for later tests)
    monkeypatch.setattr(notebook, "_pandas", lambda: None)
    yield
    notebook.close_all()


@pytest.fixture
def app(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OKTA_API_TOKEN", emulator.config.token)
    return max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))["id"]


def test_module_loads_without_ipython() -> None:
    code = "import sys; sys.modules['IPython'] = None; import oktaql.notebook; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout) == (0, "ok\n"), out.stderr


def test_placeholders_come_from_the_namespace(emulator: Any, app: str) -> None:
    ns: dict[str, Any] = {"app_id": app, "_hidden": 1}
    rows = notebook.run_cell(
        f"--org-url {emulator.url} -o tokens",
        "SELECT id, userId, scopes FROM okta.apps.tokens\nWHERE appId = '{{ app_id }}'",
        ns,
    )
    want = [
        {"id": t["id"], "userId": t["userId"], "scopes": t["scopes"]}
        for t in emulator.org.tokens_for_app(app)
    ]
    assert rows == want
    assert ns["tokens"] is rows


def test_dataframe_when_pandas_is_there(
    emulator: Any, app: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[Any, Any]] = []

    class DataFrame:
        @classmethod
        def from_records(cls, rows: Any, columns: Any) -> DataFrame:
            made.append((rows, columns))
            return cls()

    monkeypatch.setattr(notebook, "_pandas", lambda: types.SimpleNamespace(DataFrame=DataFrame))
    ns = {"n": 2}
    df = notebook.run_cell(
        f"--org-url {emulator.url}",
        f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' ORDER BY id LIMIT {{{{ n }}}}",
        ns,
    )
    assert isinstance(df, DataFrame)
    ids = sorted(t["id"] for t in emulator.org.tokens_for_app(app))[:2]
    assert made == [([(ids[0],), (ids[1],)], ["id"])]


def test_statements_share_a_connection_across_cells(emulator: Any, app: str, capsys: Any) -> None:
    line = f"--org-url {emulator.url}"
    out = notebook.run_cell(
        line,
        "CREATE VIEW app_tokens AS SELECT id FROM okta.apps.tokens WHERE appId = '{{ a }}';",
        {"a": app},
    )
    assert out is None
    assert capsys.readouterr().out == "view app_tokens created\n"
    rows = notebook.run_cell(line, "SELECT count(*) AS n FROM app_tokens", {"a": app})
    assert rows == [{"n": emulator.org.token_count(app)}]
    # several statements: the last one with rows is the value
    rows = notebook.run_cell(line, "SELECT 1 AS x; SELECT 2 AS y;", {})
    assert rows == [{"y": 2}]


def test_profile_option(emulator: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[profiles.emu]\norg_url = "{emulator.url}"\ntoken_env = "EMU_TOKEN"\n')
    monkeypatch.setenv("OKTAQL_CONFIG", str(cfg))
    monkeypatch.setenv("EMU_TOKEN", emulator.config.token)
    monkeypatch.delenv("OKTA_API_TOKEN", raising=False)
    rows = notebook.run_cell(
        "--profile emu", "SELECT count(*) AS n FROM okta.apps.applications", {}
    )
    assert rows == [{"n": len(emulator.org.apps)}]
    with pytest.raises(oktaql.ConfigError, match=r"unknown profile 'emv' \(did you mean emu\?\)"):
        notebook.run_cell("--profile emv", "SELECT 1", {})


def test_emulator_option() -> None:
    rows = notebook.run_cell("--emulator", "SELECT count(*) AS n FROM okta.apps.applications", {})
    assert rows[0]["n"] > 0


def test_missing_variable_and_bad_options(emulator: Any, app: str) -> None:
    with pytest.raises(oktaql.TemplateError, match="template variable app_id has no value"):
        notebook.run_cell(f"--org-url {emulator.url}", "SELECT '{{ app_id }}' AS a", {})
    with pytest.raises(notebook.MagicUsageError, match=r"^%%oktaql: No such option '--bogus'"):
        notebook.run_cell("--bogus", "SELECT 1", {})
    with pytest.raises(
        notebook.MagicUsageError, match=r"-o needs a Python variable name, not 'not-a-name'"
    ):
        notebook.run_cell("-o not-a-name", "SELECT 1", {})
    with pytest.raises(notebook.MagicUsageError, match="the cell has no statement"):
        notebook.run_cell("", "  -- nothing\n", {})


def test_load_ipython_extension_registers_the_cell_magic(emulator: Any, app: str) -> None:
    class FakeIPython:
        def __init__(self) -> None:
            self.user_ns: dict[str, Any] = {"app_id": app}
            self.magics: dict[tuple[str, str], Any] = {}

        def register_magic_function(self, func: Any, magic_kind: str, magic_name: str) -> None:
            self.magics[(magic_kind, magic_name)] = func

    ip = FakeIPython()
    notebook.load_ipython_extension(ip)
    assert list(ip.magics) == [("cell", "oktaql")]
    magic = ip.magics[("cell", "oktaql")]
    rows = magic(
        f"--org-url {emulator.url} -o n",
        "SELECT count(*) AS n FROM okta.apps.tokens WHERE appId = '{{ app_id }}'",
    )
    assert rows == [{"n": emulator.org.token_count(app)}]
    assert ip.user_ns["n"] == rows


def test_the_magic_takes_execs_options_and_sees_execs_database(
    emulator: Any, app: str, tmp_path: Any
) -> None:
    """One set of options (oktaql._options): a view made by `oktaql exec --db FILE` is there in
    a cell with --db FILE, and the engine options (--cache-ttl, --concurrency) are accepted."""
    from click.testing import CliRunner

    from oktaql.cli import main

    db = str(tmp_path / "shared.duckdb")
    made = CliRunner().invoke(
        main,
        ["exec", "--org-url", emulator.url, "--db", db,
         f"CREATE VIEW app_tokens AS SELECT id FROM okta.apps.tokens WHERE appId = '{app}'"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    before = len(emulator.request_log)
    line = f"--org-url {emulator.url} --db {db} --cache-ttl 60 --concurrency 2"
    rows = notebook.run_cell(line, "SELECT count(*) AS n FROM app_tokens", {})
    assert rows == [{"n": emulator.org.token_count(app)}]
    first = len(emulator.request_log) - before
    assert first > 0
    rows = notebook.run_cell(line, "SELECT count(*) AS n FROM app_tokens", {})
    assert rows == [{"n": emulator.org.token_count(app)}]
    assert len(emulator.request_log) - before == first  # the second cell read the cache
    with pytest.raises(oktaql.ConfigError, match="--emulator and --org-url both name an org"):
        notebook.run_cell(f"--emulator --org-url {emulator.url}", "SELECT 1", {})
