"""The persistent response cache (issue 19): pages kept on disk, revalidated, reused by other
sessions and processes; writes invalidate; owner-only; no credential stored.

Requests (and the ``If-None-Match`` each carried) are counted at the emulator, which answers a
listing with an ``ETag`` and a matching ``If-None-Match`` with 304.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import oktaql
from oktaql._persistent_cache import PersistentCache
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.errors import APIError, ConfigError

TOKEN = "cache-test-token-0123456789"
APPS, PER_APP = 3, 2
JOIN = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
READS = 1 + APPS  # the apps' one page, then one page of tokens per app
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def org() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, apps=APPS, tokens_per_app=PER_APP)) as emu:
        yield emu


def _read(
    emu: RunningEmulator, folder: Path, sql: str = JOIN, **kw: Any
) -> tuple[list[tuple[Any, ...]], PersistentCache]:
    kw.setdefault("token", TOKEN)
    with oktaql.connect(org_url=emu.url, persistent_cache=folder, **kw) as conn:
        rows = conn.cursor().execute(sql).fetchall()
        cache = conn.session.persistent_cache
        assert cache is not None
        return rows, cache


def _conditional(emu: RunningEmulator) -> list[bool]:
    """For each request the emulator got: whether it carried If-None-Match."""
    return ["if-none-match" in headers for _, _, headers in emu.request_log]


def _files(folder: Path) -> list[Path]:
    """The stored pages (not the folder's size accounts, ``.usage``)."""
    return [p for p in folder.rglob("*") if p.is_file() and p.name != ".usage"]


def _full_join(emu: RunningEmulator) -> list[tuple[str, str]]:
    return sorted((a["id"], t) for a in emu.org.apps for t in emu.org.token_ids(a["id"]))


def test_a_second_session_revalidates_and_reuses_every_page(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    org.reset_log()
    first, cache = _read(org, folder)
    assert sorted(first) == _full_join(org)
    assert _conditional(org) == [False] * READS  # nothing stored yet: plain GETs
    assert (cache.counts.stored, cache.counts.revalidated) == (READS, 0)
    assert len(_files(folder)) == READS

    org.reset_log()
    second, cache = _read(org, folder)
    assert second == first
    assert _conditional(org) == [True] * READS  # each page asked with its ETag ...
    assert (cache.counts.revalidated, cache.counts.stored) == (READS, 0)  # ... and 304 each


def test_within_the_ttl_a_stored_page_needs_no_request(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    first, _ = _read(org, folder, cache_ttl=600)
    org.reset_log()
    second, cache = _read(org, folder, cache_ttl=600)
    assert second == first
    assert org.request_log == []
    assert cache.counts.fresh == READS


def test_a_changed_listing_is_read_again(org: RunningEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    _read(org, folder)
    app = sorted(a["id"] for a in org.org.apps)[0]
    gone = org.org.token_ids(app)[0]
    # revoked behind the cache's back (another tool): the ETag no longer matches
    httpx.delete(
        f"{org.url}/api/v1/apps/{app}/tokens/{gone}", headers={"Authorization": f"SSWS {TOKEN}"}
    ).raise_for_status()
    org.reset_log()
    rows, cache = _read(org, folder)
    assert sorted(rows) == _full_join(org)
    assert gone not in {t for _, t in rows}
    assert cache.counts.revalidated == READS - 1  # every page but the changed one: 304
    assert cache.counts.stored == 1  # the changed page, stored anew


def test_a_write_through_a_session_invalidates_its_collection(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    _read(org, folder, cache_ttl=600)
    users = "SELECT id FROM okta.users.users"
    _read(org, folder, users, cache_ttl=600)  # another collection, stored too
    app = sorted(a["id"] for a in org.org.apps)[0]
    gone = org.org.token_ids(app)[0]
    with oktaql.connect(org_url=org.url, token=TOKEN, persistent_cache=folder) as conn:
        conn.cursor().execute(
            f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId = '{gone}'"
        )
        assert conn.session.persistent_cache is not None
        assert conn.session.persistent_cache.counts.invalidated == 1
    org.reset_log()
    rows, cache = _read(org, folder, cache_ttl=600)
    assert gone not in {t for _, t in rows}
    assert sorted(rows) == _full_join(org)
    # every page of /api/v1/apps was dropped: read again, unconditionally
    assert _conditional(org) == [False] * READS
    assert cache.counts.fresh == 0
    org.reset_log()
    _read(org, folder, users, cache_ttl=600)
    assert org.request_log == []  # /api/v1/users was left alone


def test_another_credential_never_reads_the_stored_pages(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    _read(org, folder, cache_ttl=600)
    org.reset_log()
    with pytest.raises(APIError) as err:  # within the TTL, yet asked for: another key
        _read(org, folder, token="someone-elses-token", cache_ttl=600)
    assert err.value.status == 401
    assert len(org.request_log) == 1


def test_the_folder_and_files_are_this_users_alone_and_hold_no_credential(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "cache" / "responses"
    _read(org, folder)
    dirs = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    assert len(dirs) >= 3  # the folder, the origin's, the collection's
    assert {stat.S_IMODE(d.stat().st_mode) for d in dirs} == {0o700}
    files = _files(folder)
    assert len(files) == READS
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    for f in files:
        raw = f.read_bytes()
        assert TOKEN.encode() not in raw
        assert b"SSWS" not in raw
        head = raw.partition(b"\n")[0].lower()  # what is kept besides the page's own body
        assert b"authorization" not in head and b"if-none-match" not in head


def test_a_folder_open_to_others_is_refused(org: RunningEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "responses"
    folder.mkdir(mode=0o700)
    folder.chmod(0o755)
    with pytest.raises(ConfigError) as err:
        oktaql.connect(org_url=org.url, token=TOKEN, persistent_cache=folder)
    text = str(err.value)
    assert str(folder) in text and "mode 755" in text and "chmod 700" in text


def test_a_folder_of_another_user_is_refused(
    org: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "responses"
    folder.mkdir(mode=0o700)
    me = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: me + 1)  # the folder is now someone else's
    with pytest.raises(ConfigError) as err:
        oktaql.connect(org_url=org.url, token=TOKEN, persistent_cache=folder)
    assert f"belongs to another user (uid {me})" in str(err.value)


def test_a_tampered_page_is_refused_and_a_torn_one_read_again(
    org: RunningEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "responses"
    _read(org, folder)
    files = sorted(_files(folder))
    files[0].write_bytes(b"not a page")  # torn: dropped and asked for again
    org.reset_log()
    rows, cache = _read(org, folder)
    assert sorted(rows) == _full_join(org)
    assert (cache.counts.revalidated, cache.counts.stored) == (READS - 1, 1)
    files[1].chmod(0o666)  # writable by anyone: whoever wrote it is not to be trusted
    with pytest.raises(ConfigError) as err:
        _read(org, folder)
    assert str(files[1]) in str(err.value) and "mode 666" in str(err.value)


def test_another_process_reuses_the_pages(org: RunningEmulator, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "OKTA_API_TOKEN": TOKEN,
        "OKTAQL_CACHE_DIR": str(tmp_path / "cache"),
    }
    argv = [
        sys.executable, "-m", "oktaql", "exec",
        "--org-url", org.url, "--persistent-cache", "-o", "csv", JOIN,
    ]  # fmt: skip
    outs = []
    for _ in range(2):
        org.reset_log()
        cp = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        assert cp.returncode == 0, cp.stderr
        outs.append((cp.stdout, _conditional(org)))
    assert outs[0][1] == [False] * READS
    assert outs[1][1] == [True] * READS  # the second process revalidated every page
    assert outs[1][0] == outs[0][0]
    assert len(outs[0][0].strip().splitlines()) == 1 + APPS * PER_APP
    # the CLI's folder is the cache dir's, and this process's session reuses it too
    org.reset_log()
    _read(org, tmp_path / "cache" / "responses")
    assert _conditional(org) == [True] * READS
