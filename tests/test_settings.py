"""One set of session options (oktaql._settings.Settings) and one set of CLI flags for them."""

from __future__ import annotations

from typing import Any

import click
import pytest

import oktaql
from oktaql._http import RetryPolicy
from oktaql._settings import Settings
from oktaql.cli import main


def test_repr_hides_the_token_and_the_oauth_key() -> None:
    s = Settings(token="00secret-token-value", oauth={"private_key": "-----BEGIN PRIVATE KEY"})
    assert "00secret-token-value" not in repr(s)
    assert "BEGIN PRIVATE KEY" not in repr(s)
    with pytest.raises(AttributeError):
        s.token = "other"  # type: ignore[misc]  # frozen


def test_unknown_option_names_the_known_ones() -> None:
    with pytest.raises(oktaql.ProgrammingError, match=r"unknown connection option 'concurency'"):
        oktaql.connect(concurency=4)


def test_connect_builds_settings_once(emulator: Any) -> None:
    base = Settings(org_url=emulator.url, token=emulator.config.token, concurrency=3)
    conn = oktaql.connect(settings=base, cache_ttl=5.0, orgs={"east": (emulator.url, "t")})
    s = conn.session.settings
    assert (s.org_url, s.concurrency, s.cache_ttl) == (emulator.url, 3, 5.0)
    assert s.orgs["east"].url == emulator.url and s.orgs["east"].token() == "t"
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM okta.apps.applications")
    assert cur.fetchone() == (len(emulator.org.apps),)
    conn.close()


def _flags(name: str) -> dict[str, Any]:
    cmd = main.get_command(click.Context(main), name)
    assert cmd is not None
    return {p.name: p.default for p in cmd.params if isinstance(p, click.Option)}


def test_exec_and_shell_take_the_same_options_with_the_same_defaults() -> None:
    exec_flags, shell_flags = _flags("exec"), _flags("shell")
    shared = set(exec_flags) & set(shell_flags)
    for name in ("db", "cache_ttl", "concurrency", "dry_run", "max_retries", "profile",
                 "emulator", "max_rate_limit_wait", "no_pace", "registry", "org_url",
                 "variables", "vars_files", "output"):  # fmt: skip
        assert name in shared, name
        assert exec_flags[name] == shell_flags[name], name
    # and they are the Python API's defaults
    retry = RetryPolicy()
    assert exec_flags["concurrency"] == Settings().concurrency
    assert exec_flags["cache_ttl"] == Settings().cache_ttl
    assert exec_flags["max_retries"] == retry.max_retries
    assert exec_flags["max_rate_limit_wait"] == retry.max_rate_limit_wait
    assert exec_flags["no_pace"] in (False, click.core.UNSET) and retry.pace  # type: ignore[attr-defined]


def test_an_org_url_ending_in_the_api_path_is_the_org(emulator: Any) -> None:
    before = len(emulator.request_log)
    conn = oktaql.connect(org_url=emulator.url + "/api/v1/", token=emulator.config.token)
    assert conn.session.org_url == emulator.url
    cur = conn.cursor()
    cur.execute("SELECT count(*) FROM okta.apps.applications")
    assert cur.fetchone() == (len(emulator.org.apps),)
    paths = [p for _, p, _ in emulator.request_log[before:]]
    assert paths and all(p.startswith("/api/v1/apps") for p in paths), paths
    conn.close()


def test_settings_is_exported_at_the_top() -> None:
    import oktaql
    from oktaql._settings import Settings

    assert oktaql.Settings is Settings


def test_explain_says_where_show_tables_is_answered() -> None:
    import oktaql

    cur = oktaql.connect().cursor()
    cur.execute("EXPLAIN SHOW TABLES")
    assert cur.fetchone()[7] == "answered from the session's DuckDB file, no request"
