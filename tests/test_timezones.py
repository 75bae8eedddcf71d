"""Okta's timestamps are UTC instants: answers and their text never depend on the machine's zone.

The CLI runs in subprocesses under three ``TZ`` values (a process reads its zone once), against
the same seeded emulated org; counts, rendered values and DuckDB's date functions must agree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from typing import Any

import pytest

import oktaql

ZONES = ("UTC", "America/Los_Angeles", "Asia/Tokyo")
CUTOFF = "2024-01-02T00:00:00Z"  # half of the seeded org before, half after
STATEMENTS = [
    f"SELECT count(*) AS n FROM okta.users.users WHERE created < '{CUTOFF}'::TIMESTAMPTZ",
    "SELECT count(*) AS n FROM okta.users.users WHERE created < TIMESTAMP '2024-01-02 00:00:00'",
    "SELECT count(*) AS n FROM okta.users.users WHERE created < now() - INTERVAL 90 DAY",
    # through DuckDB: its date functions read the session's zone, which is UTC
    "SELECT id, created, created::DATE AS day, hour(created) AS h, date_trunc('day', created) "
    "AS midnight, minute(created) AS m FROM okta.users.users ORDER BY id",
    "SELECT id, created, lastLogin FROM okta.users.users",  # streamed, no DuckDB
]


def _cli(zone: str, fmt: str, sql: str) -> str:
    env = {**os.environ, "TZ": zone}
    env.pop("OKTA_CLIENT_ORGURL", None)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "oktaql.cli",
            "exec",
            "--emulator",
            "--db",
            ":memory:",
            "-o",
            fmt,
            sql,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def runs() -> dict[tuple[str, str], str]:
    return {
        (zone, fmt): _cli(zone, fmt, "; ".join(STATEMENTS))
        for zone in ZONES
        for fmt in ("csv", "table")
    }


def _tables(text: str) -> list[list[list[str]]]:
    """The csv output of several statements: one header-led block per statement."""
    blocks: list[list[list[str]]] = []
    for row in csv.reader(io.StringIO(text)):
        if row and row[0] in ("n", "id"):
            blocks.append([])
        blocks[-1].append(row)
    return blocks


def test_counts_and_values_do_not_depend_on_the_machine_zone(
    runs: dict[tuple[str, str], str],
) -> None:
    for fmt in ("csv", "table"):
        assert runs[("America/Los_Angeles", fmt)] == runs[("UTC", fmt)], fmt
        assert runs[("Asia/Tokyo", fmt)] == runs[("UTC", fmt)], fmt
    before, naive, old, relational, streamed = _tables(runs[("UTC", "csv")])
    listed = {r[0]: r[1] for r in streamed[1:]}
    assert len(listed) > 3
    created = {i: dt.datetime.fromisoformat(c) for i, c in listed.items() if c}
    cutoff = dt.datetime.fromisoformat(CUTOFF)
    want = sum(1 for c in created.values() if c < cutoff)
    assert 0 < want < len(created)  # the cutoff splits the org: a zone shift would show
    assert before == [["n"], [str(want)]]
    assert naive == [["n"], [str(want)]]  # a literal without a zone is read in UTC
    assert old == [["n"], [str(len(created))]]  # the org's users are years old
    for row in relational[1:]:
        ident, stamp, day, hour, midnight, minute = row
        when = created[ident]
        assert stamp == listed[ident] and stamp.endswith("Z")  # rendered as JSON renders it
        assert day == when.date().isoformat()
        assert hour == str(when.hour)
        assert midnight == when.strftime("%Y-%m-%dT00:00:00.000Z")
        assert minute == str(when.minute)


def test_table_shows_instants_with_their_offset(runs: dict[tuple[str, str], str]) -> None:
    before, *_, streamed = _tables(runs[("UTC", "csv")])
    table = runs[("Asia/Tokyo", "table")]
    for ident, stamp in [(r[0], r[1]) for r in streamed[1:] if r[1]][:5]:
        assert f"│ {ident} │ {stamp} │" in table


def test_json_gives_the_same_instants_under_every_zone() -> None:
    sql = "SELECT id, created FROM okta.users.users ORDER BY id"
    outs = [json.loads(_cli(zone, "json", sql)) for zone in ("UTC", "Asia/Tokyo")]
    assert outs[0] == outs[1]
    assert all(r["created"].endswith("Z") for r in outs[0] if r["created"])


@pytest.mark.parametrize("tail", ["", " ORDER BY id"])  # streamed, and through DuckDB
def test_the_db_api_returns_aware_utc_datetimes(emulator: Any, tail: str) -> None:
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute("SELECT id, created FROM okta.users.users" + tail)
    rows = cur.fetchall()
    assert cur.description[1][1] == "TIMESTAMP WITH TIME ZONE"
    truth = {u["id"]: u["created"] for u in emulator.org.users}
    stamps = [c for _, c in rows if c is not None]
    assert stamps and {c.utcoffset() for c in stamps} == {dt.timedelta(0)}
    for ident, created in rows:
        assert created == dt.datetime.fromisoformat(truth[ident])


def test_a_zone_the_user_sets_is_used_by_both_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """OKTAQL_TIMEZONE (not the machine's TZ) changes how instants are shown, never which."""
    sql = "; ".join(STATEMENTS)
    utc = _tables(_cli("UTC", "csv", sql))
    monkeypatch.setenv("OKTAQL_TIMEZONE", "Asia/Tokyo")
    tokyo = _tables(_cli("America/Los_Angeles", "csv", sql))
    assert (tokyo[0], tokyo[2]) == (utc[0], utc[2])  # the same instants, the same counts
    tz = dt.timezone(dt.timedelta(hours=9))
    # a literal without a zone is wall-clock time in the zone the user chose
    created = [dt.datetime.fromisoformat(r[1]) for r in utc[4][1:] if r[1]]
    local_midnight = dt.datetime(2024, 1, 2, tzinfo=tz)
    want = sum(1 for c in created if c < local_midnight)
    assert tokyo[1] == [["n"], [str(want)]] and want != int(utc[1][1][0])
    streamed = {r[0]: r[1] for r in tokyo[4][1:]}
    for (ident, stamp, day, hour, *_), (_, utc_stamp, *_) in zip(tokyo[3][1:], utc[3][1:]):
        when = dt.datetime.fromisoformat(utc_stamp).astimezone(tz)
        assert stamp == streamed[ident] == when.isoformat(timespec="milliseconds")
        assert stamp.endswith("+09:00")
        assert (day, hour) == (when.date().isoformat(), str(when.hour))


@pytest.mark.parametrize("tail", ["", " ORDER BY id"])  # streamed, and through DuckDB
def test_a_zone_the_user_sets_reaches_the_db_api(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tail: str
) -> None:
    monkeypatch.setenv("OKTAQL_TIMEZONE", "Asia/Tokyo")
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute("SELECT id, created FROM okta.users.users" + tail)
    rows = [(i, c) for i, c in cur.fetchall() if c is not None]
    truth = {u["id"]: u["created"] for u in emulator.org.users}
    assert rows and {c.utcoffset() for _, c in rows} == {dt.timedelta(hours=9)}
    assert all(c == dt.datetime.fromisoformat(truth[i]) for i, c in rows)  # the same instants


@pytest.mark.parametrize("tail", ["", " ORDER BY id"])
def test_an_unknown_zone_is_a_clear_error(
    emulator: Any, monkeypatch: pytest.MonkeyPatch, tail: str
) -> None:
    monkeypatch.setenv("OKTAQL_TIMEZONE", "Mars/Olympus")
    emulator.reset_log()
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    with pytest.raises(oktaql.ConfigError) as err:
        cur.execute("SELECT id, created FROM okta.users.users" + tail)
    assert str(err.value) == (
        "OKTAQL_TIMEZONE='Mars/Olympus' is not a time zone: give an IANA name such as UTC, "
        "America/New_York or Europe/Berlin, or unset it for UTC"
    )
    assert emulator.request_log == []  # before any request
