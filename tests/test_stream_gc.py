"""A streamed read keeps the cyclic collector off the rows it already handed out (issue 19's
CPU overhead) and gives them back to it however the read ends: done, cut short by LIMIT, or
left unread by a closed cursor."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token="t", apps=1, tokens_per_app=450)) as emu:
        yield emu


def _sql(emu: RunningEmulator, tail: str = "") -> str:
    app = emu.org.apps[0]["id"]
    return f"SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = 200 {tail}"


def test_a_whole_read_leaves_nothing_frozen(org: RunningEmulator) -> None:
    with oktaql.connect(org_url=org.url, token="t") as conn:
        rows = conn.cursor().execute(_sql(org)).fetchall()
    assert len(rows) == 450  # three pages
    assert gc.get_freeze_count() == 0


def test_a_read_cut_short_leaves_nothing_frozen(org: RunningEmulator) -> None:
    with oktaql.connect(org_url=org.url, token="t") as conn:
        assert len(conn.cursor().execute(_sql(org, "LIMIT 250")).fetchall()) == 250
        cur = conn.cursor()
        cur.execute(_sql(org))
        assert len(cur.fetchmany(210)) == 210  # into the second page: the first is frozen
        assert gc.get_freeze_count() > 0  # while the read runs
        cur.close()
    assert gc.get_freeze_count() == 0
