"""Pushdown never changes rows: generated predicates, pushed to Okta's search/filter or
evaluated locally, select exactly the same rows on users, groups, apps and the System Log.

The semantics (docs/reliability.md, "Pushdown"): a resource's rows are what its chosen method
returns without any parameter the planner adds; a pushed expression only narrows the transfer.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

TOKEN = "pushdown-token"

# resource -> (key column, [(SQL expression, how its values are read from a row)])
FIELDS: dict[str, tuple[str, list[str]]] = {
    "okta.users.users": (
        "id",
        [
            "status",
            "profile->>'$.login'",
            "profile->>'$.lastName'",
            "json_extract_string(profile, '$.firstName')",
            "lastUpdated",
            "created",
            "id",
        ],
    ),
    "okta.groups.groups": (
        "id",
        ["profile->>'$.name'", "type", "lastUpdated", "created", "id"],
    ),
    "okta.apps.applications": ("id", ["status", "label", "signOnMode", "id"]),
    "okta.logs.system_log_events": (
        "uuid",
        [
            "eventType",
            "severity",
            "outcome->>'$.result'",
            "actor->>'$.id'",
            "actor->>'$.alternateId'",
            "published",
        ],
    ),
}

TIMES = {"lastUpdated", "created", "published"}
STAMPS = ["2024-01-05", "2024-01-05T00:00:00Z", "2023-06-30T12:00:00.000Z", "2030-01-01"]

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN)) as e:
        yield e


@pytest.fixture(scope="module")
def samples(emu: RunningEmulator) -> dict[str, dict[str, list[str]]]:
    """Per resource and field, values that occur in the org (the interesting constants)."""
    conn = oktaql.connect(org_url=emu.url, token=TOKEN, pushdown=False)
    out: dict[str, dict[str, list[str]]] = {}
    for rid, (_, exprs) in FIELDS.items():
        cur = conn.cursor()
        cur.execute(f"SELECT {', '.join(f'CAST({e} AS VARCHAR)' for e in exprs)} FROM {rid}")
        rows = cur.fetchall()
        assert rows, rid
        out[rid] = {
            e: sorted({r[i] for r in rows if r[i] is not None}) for i, e in enumerate(exprs)
        }
    return out


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@st.composite
def predicates(draw: st.DrawFn, rid: str, samples: dict[str, list[str]], depth: int = 0) -> str:
    if depth < 2 and draw(st.integers(0, 3)) == 0:
        left = draw(predicates(rid, samples, depth + 1))
        right = draw(predicates(rid, samples, depth + 1))
        return f"({left} {draw(st.sampled_from(['AND', 'OR']))} {right})"
    field = draw(st.sampled_from(sorted(samples)))
    known = samples[field] or ["x"]
    if field in TIMES:
        value = draw(st.one_of(st.sampled_from(known), st.sampled_from(STAMPS)))
        shapes = ["=", "<>", ">", "<", ">=", "<=", "notnull"]
    else:
        value = draw(
            st.one_of(
                st.sampled_from(known),
                st.sampled_from(known).map(str.upper),
                st.sampled_from(known).map(str.lower),
                st.sampled_from(["ACTIVE", "DEPROVISIONED", "INACTIVE", "a", "Z", "_", "%"]),
            )
        )
        shapes = ["=", "<>", ">", "<", ">=", "<=", "like", "in", "notnull"]
    shape = draw(st.sampled_from(shapes))
    if shape == "like":
        return f"{field} LIKE {_quote(value[: draw(st.integers(0, 4))] + '%')}"
    if shape == "in":
        other = draw(st.sampled_from(known))
        return f"{field} IN ({_quote(value)}, {_quote(other)})"
    if shape == "notnull":
        return f"{field} IS NOT NULL"
    return f"{field} {shape} {_quote(value)}"


def _rows(emu: RunningEmulator, rid: str, key: str, where: str, pushdown: bool) -> list[Any]:
    cur = oktaql.connect(org_url=emu.url, token=TOKEN, pushdown=pushdown).cursor()
    cur.execute(f"SELECT {key} FROM {rid} WHERE {where} ORDER BY {key}")
    return cur.fetchall()


@pytest.mark.parametrize("rid", sorted(FIELDS))
def test_pushed_and_local_evaluation_select_the_same_rows(
    emu: RunningEmulator, samples: dict[str, dict[str, list[str]]], rid: str
) -> None:
    key = FIELDS[rid][0]

    @PROPERTY
    @given(where=predicates(rid, samples[rid]))
    def check(where: str) -> None:
        assert _rows(emu, rid, key, where, True) == _rows(emu, rid, key, where, False), where

    check()


@pytest.mark.parametrize(
    "where",
    [
        "status = 'DEPROVISIONED'",
        "status IN ('DEPROVISIONED', 'ACTIVE')",
        "status = 'DEPROVISIONED' OR status = 'ACTIVE'",
        "status <> 'ACTIVE'",
    ],
)
def test_users_are_the_plain_listing_whatever_the_predicate(
    emu: RunningEmulator, where: str
) -> None:
    # Okta's plain user listing leaves DEPROVISIONED users out; so does every predicate
    assert _rows(emu, "okta.users.users", "id", where, True) == _rows(
        emu, "okta.users.users", "id", where, False
    )
    cur = oktaql.connect(org_url=emu.url, token=TOKEN).cursor()
    cur.execute(f"SELECT count(*) FROM okta.users.users WHERE {where} AND status = 'DEPROVISIONED'")
    assert cur.fetchall() == [(0,)]


def test_deprovisioned_users_are_read_by_binding_search(emu: RunningEmulator) -> None:
    cur = oktaql.connect(org_url=emu.url, token=TOKEN).cursor()
    cur.execute(
        "SELECT DISTINCT status FROM okta.users.users WHERE search = 'status eq \"DEPROVISIONED\"'"
    )
    assert cur.fetchall() == [("DEPROVISIONED",)]


def test_explain_says_where_deprovisioned_users_are(emu: RunningEmulator) -> None:
    cur = oktaql.connect(org_url=emu.url, token=TOKEN).cursor()
    cur.execute("EXPLAIN SELECT id FROM okta.users.users WHERE status = 'DEPROVISIONED'")
    note = cur.fetchone()[7]
    assert "bind search = 'status eq \"DEPROVISIONED\"'" in note
