"""The persistent response cache stays bounded: least recently used pages go past the size
bound, pages unused for days go, ``oktaql cache clear`` empties it; the folder is walked only
when due; several processes store and sweep at once; a planted link is never followed.

Pages are made by real reads against the emulator; which page a file holds is read from the
file's own first line (its URL), and "recently used" is the file's mtime, set here in the past.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import oktaql
from oktaql._persistent_cache import LOW, PersistentCache
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.errors import ConfigError

TOKEN = "cache-keep-token-0123456789"
JOIN = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
APPS_ONLY = "SELECT id FROM okta.apps.applications"
USERS = "SELECT id FROM okta.users.users"
GROUPS = "SELECT id FROM okta.groups.groups"
SRC = Path(__file__).resolve().parents[1] / "src"
DAY = 86400.0


@pytest.fixture
def org() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, apps=3, tokens_per_app=2)) as emu:
        yield emu


def _read(emu: RunningEmulator, folder: Path, sql: str = JOIN, **kw: Any) -> PersistentCache:
    with oktaql.connect(org_url=emu.url, token=TOKEN, persistent_cache=folder, **kw) as conn:
        assert conn.cursor().execute(sql).fetchall()
        cache = conn.session.persistent_cache
        assert cache is not None
        return cache


def _pages(folder: Path) -> dict[str, Path]:
    """Each stored page's URL → its file (found without following links)."""
    out = {}
    for p in folder.rglob("*"):
        if p.is_symlink() or not p.is_file() or p.name == ".usage":
            continue
        out[json.loads(p.read_bytes().partition(b"\n")[0])["url"]] = p
    return out


def _one(pages: dict[str, Path], part: str) -> str:
    found = [u for u in pages if part in u]
    assert len(found) == 1, found
    return found[0]


def _age(file: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(file, (then, then))


def _sweep_due(folder: Path) -> None:
    """As if the last sweep were two hours ago: the next store walks the folder."""
    usage = folder / ".usage"
    found = json.loads(usage.read_text())
    usage.write_text(json.dumps({**found, "swept": time.time() - 7200}))


def test_over_the_bound_the_least_recently_used_pages_go(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    _read(org, folder, GROUPS)
    groups = _one(_pages(folder), "/groups")
    groups_size = _pages(folder)[groups].stat().st_size
    _pages(folder)[groups].unlink()  # its size known, it comes back as the store over the bound
    _read(org, folder)
    pages = _pages(folder)
    assert len(pages) == 4  # the apps' page, one page of tokens per app
    apps = _one(pages, "/apps?")
    tokens = sorted(u for u in pages if "/tokens" in u)
    for url, ago in zip([apps, *tokens], [400, 300, 200, 100], strict=True):
        _age(pages[url], ago)  # the apps' page the least recently used ...
    used = _read(org, folder, APPS_ONLY)
    assert (used.counts.revalidated, used.counts.stored) == (1, 0)  # ... until used just now
    assert pages[apps].stat().st_mtime > time.time() - 60

    sizes = {u: p.stat().st_size for u, p in pages.items()}
    total = sum(sizes.values()) + groups_size
    # a bound whose 90% keeps all but the two least recently used pages
    bound = math.ceil((total - sizes[tokens[0]] - sizes[tokens[1]]) / LOW)
    assert total > bound
    cache = _read(org, folder, GROUPS, persistent_cache_max_mb=bound / (1 << 20))
    assert cache.max_bytes == bound
    assert cache.counts.stored == 1 and cache.counts.evicted == 2
    assert set(_pages(folder)) == {apps, tokens[2], groups}  # the two oldest tokens pages went
    assert sum(p.stat().st_size for p in _pages(folder).values()) <= bound * LOW


def test_pages_unused_for_max_days_are_swept(org: RunningEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    _read(org, folder)
    pages = _pages(folder)
    apps = _one(pages, "/apps?")
    for url, file in pages.items():
        _age(file, 29 * DAY if url == apps else 31 * DAY)
    _sweep_due(folder)
    cache = _read(org, folder, USERS)  # the default: 30 days
    assert cache.counts.evicted == 3
    users = _one(_pages(folder), "/users")
    assert set(_pages(folder)) == {apps, users}  # the 29 days old page stayed
    _sweep_due(folder)
    cache = _read(org, folder, GROUPS, persistent_cache_max_days=28)
    assert cache.counts.evicted == 1
    assert apps not in _pages(folder) and users in _pages(folder)
    # 0: no age bound at all
    _age(_pages(folder)[users], 400 * DAY)
    _sweep_due(folder)
    cache = _read(org, folder, APPS_ONLY, persistent_cache_max_days=0)
    assert (cache.counts.sweeps, cache.counts.evicted) == (1, 0)
    assert users in _pages(folder)


def test_a_store_walks_the_folder_only_when_due(org: RunningEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    first = _read(org, folder)
    assert (first.counts.stored, first.counts.sweeps) == (4, 1)  # no accounts yet: one walk
    usage = json.loads((folder / ".usage").read_text())
    assert usage["bytes"] == sum(p.stat().st_size for p in _pages(folder).values())
    second = _read(org, folder, USERS)  # another session (a process, alike): the accounts do
    assert (second.counts.stored, second.counts.sweeps) == (1, 0)
    assert json.loads((folder / ".usage").read_text())["bytes"] == sum(
        p.stat().st_size for p in _pages(folder).values()
    )
    _sweep_due(folder)  # an hour later: the age sweep walks once
    third = _read(org, folder, GROUPS)
    assert (third.counts.stored, third.counts.sweeps) == (1, 1)


def test_two_processes_storing_at_once_stay_within_a_tiny_bound(tmp_path: Path) -> None:
    with start_in_thread(EmulatorConfig(token=TOKEN, apps=30, tokens_per_app=2)) as emu:
        bound_mb = 0.01  # about 10 KB: a few tokens pages
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "OKTA_API_TOKEN": TOKEN,
            "OKTAQL_CACHE_DIR": str(tmp_path / "cache"),
        }
        argv = [
            sys.executable, "-m", "oktaql", "exec", "--org-url", emu.url, "--persistent-cache",
            "--persistent-cache-max-mb", str(bound_mb), "-o", "csv", JOIN,
        ]  # fmt: skip
        procs = [
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err.decode()
            assert err == b""
            assert len(out.decode().strip().splitlines()) == 1 + 30 * 2
        assert outs[0][0] == outs[1][0]
        folder = tmp_path / "cache" / "responses"
        files = [p for p in folder.rglob("*") if p.is_file() and p.name != ".usage"]
        assert not [p for p in files if p.name.startswith(".")]  # no temporary file left
        assert sum(p.stat().st_size for p in files) <= round(bound_mb * (1 << 20))
        assert 0 < len(files) < 31  # 31 pages were read; a few of the last are kept


def test_cache_clear_empties_the_folder_and_says_how_much(
    org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "cache" / "responses"
    _read(org, folder)
    size = sum(p.stat().st_size for p in _pages(folder).values())
    res = CliRunner().invoke(main, ["cache", "clear"])
    assert res.exit_code == 0, res.output
    assert res.stdout == f"removed 4 pages ({size / 1024:.1f} KB ({size} bytes)) from {folder}\n"
    assert list(folder.iterdir()) == []
    res = CliRunner().invoke(main, ["cache", "clear"])
    assert res.stdout == f"removed 0 pages (0 bytes) from {folder}\n"
    org.reset_log()
    cache = _read(org, folder)  # the cache works on: every page read and stored anew
    assert cache.counts.stored == 4
    assert not any("if-none-match" in h for _, _, h in org.request_log)


def test_cache_clear_refuses_a_folder_open_to_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(tmp_path))
    folder = tmp_path / "responses"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    (folder / "theirs").write_text("kept")
    res = CliRunner().invoke(main, ["cache", "clear"])
    assert res.exit_code == 1
    assert f"{folder} is open to other users (mode 755); not cleared" in res.stderr
    assert "Traceback" not in res.output
    assert (folder / "theirs").read_text() == "kept"


def test_a_planted_link_is_never_followed_by_a_sweep_or_clear(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    _read(org, folder)
    outside = tmp_path / "outside"
    (outside / "org").mkdir(parents=True)
    victim = outside / "org" / "page"  # where a page would be, were a link followed
    victim.write_text("not the cache's")
    lone = outside / "lone"
    lone.write_text("not the cache's either")
    for f in (victim, lone):
        _age(f, 400 * DAY)  # as old as can be: a sweep following a link would take them
    page = next(iter(_pages(folder).values()))
    (folder / "elsewhere").symlink_to(outside)  # an origin's folder, a link
    (page.parent.parent / "coll-link").symlink_to(outside / "org")  # a collection's
    (page.parent / "page-link").symlink_to(lone)  # a page
    for p in _pages(folder).values():
        _age(p, 400 * DAY)
    _sweep_due(folder)
    cache = _read(org, folder, USERS, persistent_cache_max_mb=0.000001)
    assert victim.read_text() == "not the cache's" and lone.exists()
    assert cache.counts.evicted >= 4  # every page went, the links stayed
    assert {p.name for p in folder.rglob("*") if p.is_symlink()} == {
        "elsewhere", "coll-link", "page-link",
    }  # fmt: skip
    freed = oktaql._persistent_cache.clear(folder)
    assert not any(p.is_symlink() for p in folder.rglob("*"))  # the links themselves went
    assert victim.read_text() == "not the cache's" and lone.exists()
    assert freed.bytes == 0  # neither target was counted (or removed)


def test_a_bad_bound_is_a_clear_error(org: RunningEmulator, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        oktaql.connect(org_url=org.url, token=TOKEN, persistent_cache=tmp_path,
                       persistent_cache_max_mb=-1)  # fmt: skip
    assert str(err.value) == "persistent_cache_max_mb must be a number >= 0 (0: no bound), not -1"
