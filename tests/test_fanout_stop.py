"""A fan-out stops when it has what the statement needs, and says why when it cannot go on.

* ``SELECT ... JOIN ... LIMIT n``: once the calls made (in their deterministic order) give
  ``n`` joined rows, no further call is made, and the rows are the first ``n`` of the full
  join in that order (issue 15.5).
* A 404 of a fan-out call means "no rows for it" only when Okta's answer names the object
  the other side gave (it was deleted since it was listed); a 404 for the path itself, or
  naming anything else, is an error naming the request (issue 15.6).

Requests are counted at the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

APPS, PER_APP = 30, 2
JOIN = "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token="t", apps=APPS, tokens_per_app=PER_APP)) as emu:
        yield emu


def _rows(emu: RunningEmulator, sql: str, **kw: Any) -> list[tuple[Any, ...]]:
    cur = oktaql.connect(org_url=emu.url, token="t", **kw).cursor()
    cur.execute(sql)
    return cur.fetchall()


def _token_calls(emu: RunningEmulator) -> list[str]:
    """The paths (without the query) of the token calls, in the order they arrived."""
    paths = [urlsplit(p).path for _, p, _ in emu.request_log]
    return [p for p in paths if p.endswith("/tokens")]


def _app_pages(emu: RunningEmulator) -> int:
    """How many requests reading the applications takes (its pages)."""
    emu.reset_log()
    assert len(_rows(emu, "SELECT id FROM okta.apps.applications")) == APPS
    return len(emu.request_log)


def _settle(emu: RunningEmulator) -> None:
    """Wait until no request has arrived for 0.5 s."""
    seen, quiet = -1, time.monotonic()
    while time.monotonic() - quiet < 0.5:
        if len(emu.request_log) != seen:
            seen, quiet = len(emu.request_log), time.monotonic()
        time.sleep(0.05)


def _join_in_call_order(emu: RunningEmulator) -> list[tuple[str, str]]:
    """The full join in the fan-out's order: apps by id (the calls' order), each app's
    tokens as the API lists them."""
    return [(a, t) for a in sorted(x["id"] for x in emu.org.apps) for t in emu.org.token_ids(a)]


@pytest.mark.parametrize("concurrency", [1, 16])
def test_limit_over_a_join_stops_the_fan_out(org: RunningEmulator, concurrency: int) -> None:
    pages = _app_pages(org)
    org.reset_log()
    got = _rows(org, JOIN + " LIMIT 5", concurrency=concurrency)
    assert got == _join_in_call_order(org)[:5]
    first_apps = sorted(a["id"] for a in org.org.apps)
    _settle(org)  # abandoned calls still in flight arrive too: count them
    calls = _token_calls(org)
    if concurrency == 1:
        # 2 + 2 + 2 >= 5: the apps' pages and exactly three token calls, the first three
        assert calls == [f"/api/v1/apps/{a}/tokens" for a in first_apps[:3]]
        assert len(org.request_log) == pages + 3
    else:
        # a window of as many calls as workers, one more after each call read before the
        # third: what was in flight when the limit was met is abandoned, nothing after
        assert len(calls) <= 16 + 2 < APPS
        assert set(calls) >= {f"/api/v1/apps/{a}/tokens" for a in first_apps[:3]}


def test_offset_and_a_source_filter_count_too(org: RunningEmulator) -> None:
    apps = sorted(org.org.apps, key=lambda a: a["id"])
    chosen = {a["label"] for a in apps[1::2]}  # a filter on the source only
    keep = {a["id"] for a in apps if a["label"] in chosen}
    assert 3 < len(keep) < APPS
    labels = ", ".join(f"'{label}'" for label in sorted(chosen))
    org.reset_log()
    got = _rows(org, JOIN + f" WHERE a.label IN ({labels}) LIMIT 3 OFFSET 2", concurrency=1)
    full = [r for r in _join_in_call_order(org) if r[0] in keep]
    assert got == full[2:5]
    wanted = sorted(keep)[:3]  # 5 rows needed: 2 + 2 + 2
    assert _token_calls(org) == [f"/api/v1/apps/{a}/tokens" for a in wanted]


def test_a_left_join_keeping_the_fan_outs_rows_stops_too(org: RunningEmulator) -> None:
    org.reset_log()
    got = _rows(
        org,
        "SELECT a.id, t.id FROM okta.apps.tokens t "
        "LEFT JOIN okta.apps.applications a ON t.appId = a.id LIMIT 4",
        concurrency=1,
    )
    assert got == _join_in_call_order(org)[:4]
    assert len(_token_calls(org)) == 2


@pytest.mark.parametrize(
    ("sql", "calls", "n"),
    [
        # the join written in WHERE
        (
            "SELECT a.id, t.id FROM okta.apps.applications a, okta.apps.tokens t "
            "WHERE t.appId = a.id LIMIT 3",
            2,
            3,
        ),
        # the other way round: the fan-out's rows are kept
        (
            "SELECT a.id, t.id FROM okta.apps.applications a "
            "RIGHT JOIN okta.apps.tokens t ON t.appId = a.id LIMIT 3",
            2,
            3,
        ),
        (JOIN + " LIMIT 0", 0, 0),  # no call at all
    ],
)
def test_other_spellings_stop_too(org: RunningEmulator, sql: str, calls: int, n: int) -> None:
    org.reset_log()
    assert _rows(org, sql, concurrency=1) == _join_in_call_order(org)[:n]
    first = sorted(a["id"] for a in org.org.apps)[:calls]
    assert _token_calls(org) == [f"/api/v1/apps/{a}/tokens" for a in first]


@pytest.mark.parametrize(
    "sql",
    [
        JOIN + " ORDER BY t.id LIMIT 5",  # the order needs every row
        "SELECT DISTINCT a.id FROM okta.apps.applications a "
        "JOIN okta.apps.tokens t ON t.appId = a.id LIMIT 5",
        "SELECT a.id, count(*) FROM okta.apps.applications a "
        "JOIN okta.apps.tokens t ON t.appId = a.id GROUP BY a.id LIMIT 5",
        JOIN + " WHERE t.userId IS NULL LIMIT 5",  # a filter of the fan-out's rows: none pass
        # an app whose call was not made would show as an app without tokens
        "SELECT a.id, t.id FROM okta.apps.applications a "
        "LEFT JOIN okta.apps.tokens t ON t.appId = a.id LIMIT 5",
        JOIN + " AND t.id > a.id LIMIT 5",  # a condition over both sides
    ],
)
def test_what_needs_every_row_reads_every_row(org: RunningEmulator, sql: str) -> None:
    org.reset_log()
    _rows(org, sql)
    assert len(_token_calls(org)) == APPS
    explained = _rows(org, "EXPLAIN " + sql)
    assert not any("no further call" in (r[-1] or "") for r in explained)


def test_explain_shows_the_stop_rule(org: RunningEmulator) -> None:
    org.reset_log()
    rows = _rows(org, "EXPLAIN " + JOIN + " LIMIT 5")
    assert org.request_log == []
    fan = [r for r in rows if r[1] == "okta.apps.tokens"]
    assert len(fan) == 1
    assert "no further call once the join has 5 rows (LIMIT)" in fan[0][-1]
    local = [r for r in rows if r[2] == "local"]
    assert local[0][6].endswith("ORDER BY t.rowid, a.rowid LIMIT 5")


# --- 404 in a fan-out --------------------------------------------------------------------


class _Hook(httpx.BaseTransport):
    """Real HTTP to the emulator, with ``before(request)`` run first (it may change the org
    or return another URL to send the request to)."""

    def __init__(self, before: Any):
        self._inner = httpx.HTTPTransport()
        self._before = before

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = self._before(request)
        if url is not None:
            request = httpx.Request(request.method, url, headers=request.headers)
        return self._inner.handle_request(request)


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_parent_deleted_before_its_call_has_no_rows(concurrency: int) -> None:
    with start_in_thread(EmulatorConfig(token="t", apps=6, tokens_per_app=2)) as emu:
        apps = sorted(a["id"] for a in emu.org.apps)
        victim = apps[2]

        def before(request: httpx.Request) -> None:
            if request.url.path == f"/api/v1/apps/{victim}/tokens":
                emu.org.delete_app(victim)  # gone between the listing and its call

        got = _rows(
            emu, JOIN + " ORDER BY a.id, t.id", transport=_Hook(before), concurrency=concurrency
        )
        assert got == sorted((a, t) for a in apps if a != victim for t in emu.org.token_ids(a))
        assert len(got) == 10
        assert f"/api/v1/apps/{victim}/tokens" in _token_calls(emu)  # asked, answered 404


def _owners_unserved(emu: RunningEmulator) -> Any:
    """The org does not serve ``/groups/{id}/owners``: the emulator answers such a path as
    Okta answers any path it does not know (404 E0000007 "... (URI)")."""

    def before(request: httpx.Request) -> str | None:
        if request.url.path.endswith("/owners"):
            return str(request.url).replace("/owners", "/owners-unserved")
        return None

    return before


def test_a_404_for_the_path_itself_is_an_error_naming_the_request() -> None:
    with start_in_thread(EmulatorConfig(token="t")) as emu:
        first = sorted(g["id"] for g in emu.org.groups)[0]
        for concurrency in (8, 1):
            with pytest.raises(oktaql.APIError) as err:
                _rows(
                    emu,
                    "SELECT g.id, o.id FROM okta.groups.groups g "
                    "JOIN okta.groups.owners o ON o.groupId = g.id",
                    transport=_Hook(_owners_unserved(emu)),
                    concurrency=concurrency,
                )
            assert err.value.status == 404
            url = f"{emu.url}/api/v1/groups/{first}/owners"
            assert err.value.url is not None and err.value.url.split("?")[0] == url
            text = str(err.value)
            assert text.startswith(f"GET {err.value.url} failed: HTTP 404 E0000007")
            assert "(URI)" in text
            assert "the org does not serve this path, so okta.groups.owners cannot be read" in text


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_404_naming_another_object_is_an_error(concurrency: int) -> None:
    with start_in_thread(EmulatorConfig(token="t", apps=3, tokens_per_app=1)) as emu:
        apps = sorted(a["id"] for a in emu.org.apps)

        def before(request: httpx.Request) -> str | None:
            # the app exists, but the answer is about another object (a token, here: a
            # refresh token the path names that does not exist)
            if request.url.path == f"/api/v1/apps/{apps[1]}/tokens":
                return str(request.url).replace("/tokens", "/tokens/oarNOPE")
            return None

        with pytest.raises(oktaql.APIError) as err:
            _rows(emu, JOIN, transport=_Hook(before), concurrency=concurrency)
        assert err.value.status == 404
        assert (
            err.value.error_summary == "Not found: Resource not found: oarNOPE (OAuth2RefreshToken)"
        )
        assert err.value.url is not None
        assert err.value.url.split("?")[0] == f"{emu.url}/api/v1/apps/{apps[1]}/tokens"
        assert str(err.value).startswith(f"GET {err.value.url} failed: HTTP 404 E0000007")


def test_a_listed_parameter_written_in_the_statement_is_not_silently_empty() -> None:
    with start_in_thread(EmulatorConfig(token="t", apps=2, tokens_per_app=1)) as emu:
        with pytest.raises(oktaql.APIError) as err:
            _rows(emu, "SELECT id FROM okta.apps.tokens WHERE appId = '0oaNOPE'")
        assert err.value.status == 404
        assert "0oaNOPE (AppInstance)" in str(err.value)
