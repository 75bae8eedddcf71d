"""Okta's concurrency limit: a 429 ``E0000047`` with ``X-Rate-Limit-Limit: 0`` when the org has
too many requests in flight. The client halves its requests in flight (AIMD), sends the refused
call again, and grows back after runs of successes.

Against the emulator's ``concurrency_limit`` (real HTTP): refusals are counted at the emulator
(``Chaos.concurrency_refusals``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import oktaql
from oktaql._http import HTTPClient, Request, RetryPolicy
from oktaql._http._concurrency import ConcurrencyLimiter
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

TOKEN = "conc-token"
JOIN = (
    "SELECT a.label, t.id FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id ORDER BY a.label, t.id"
)
LIMIT = 4  # the org's requests in flight


def truth(emu: RunningEmulator) -> list[tuple[str, str]]:
    return sorted((a["label"], t) for a in emu.org.oidc_apps for t in emu.org.token_ids(a["id"]))


def rows(conn: oktaql.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


@pytest.fixture
def crowded() -> Iterator[RunningEmulator]:
    cfg = EmulatorConfig(
        token=TOKEN, apps=40, tokens_per_app=50, latency_ms=50, concurrency_limit=LIMIT
    )
    with start_in_thread(cfg) as emu:
        yield emu


def refusals(emu: RunningEmulator) -> int:
    return len(emu.app.state.chaos.concurrency_refusals)


def test_a_fan_out_over_the_concurrency_limit_backs_off_and_gets_every_row(
    crowded: RunningEmulator,
) -> None:
    emu = crowded
    conn = oktaql.connect(org_url=emu.url, token=TOKEN, concurrency=16)  # the org allows 4
    assert rows(conn, JOIN) == truth(emu)  # no statement failed, every row once
    limiter = conn.session.http("okta").limiter
    assert limiter.limit <= LIMIT and limiter.lowest >= 1
    # Bound: the 16 workers' first wave: at most 16 - 4 = 12 refused, and the limit halves
    # (16 -> 8) once for all of them. The refused retry at 8: at most 8 - 4 refused, halving
    # to 4, which holds. Growing again past the level last refused (5 -> refused -> 2 -> 4)
    # takes 4 + 8 x 4 successes before a probe: at most one more refusal in 40 calls.
    # 12 + 4 + 1 + 1 = 18.
    n = refusals(emu)
    assert 1 <= n <= 18, n
    assert limiter.refusals == n  # every refusal was seen, none taken for something else
    assert emu.app.state.chaos.peak_in_flight <= LIMIT
    # each refused call was sent again: 41 calls answered, plus one request per refusal
    gets = [p for m, p, _ in emu.request_log if m == "GET"]
    assert len(gets) == 41 + n
    assert len(set(gets)) == 41


def test_the_limit_learnt_is_kept_by_the_connection(crowded: RunningEmulator) -> None:
    emu = crowded
    conn = oktaql.connect(org_url=emu.url, token=TOKEN, concurrency=16)
    assert rows(conn, JOIN) == truth(emu)
    first = refusals(emu)
    learnt = conn.session.http("okta").limiter.limit
    assert rows(conn, JOIN) == truth(emu)
    # the second fan-out starts at the limit learnt (4, unless timing spared the first run
    # some overlaps): its first wave over the org's 4 and the halving after it, and the
    # probes of a level above (one per 8 x the limit of successes: at most 2 in 41 calls)
    second = refusals(emu) - first
    assert second <= max(0, learnt - LIMIT) + max(0, learnt // 2 - LIMIT) + 2, (learnt, second)
    assert second < first


def _refusal() -> httpx.Response:
    body = {
        "errorCode": "E0000047",
        "errorSummary": "API call exceeded rate limit due to too many requests.",
        "errorLink": "E0000047",
        "errorId": "oae1",
    }
    headers = {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0"}
    headers |= {"X-Rate-Limit-Reset": str(int(time.time()) + 1), "X-Okta-Request-Id": "r1"}
    return httpx.Response(429, json=body, headers=headers)


def _client(answers: list[httpx.Response], seen: list[httpx.Request]) -> HTTPClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    policy = RetryPolicy(max_retries=2, backoff_base=0.001, backoff_max=0.002)
    return HTTPClient("SSWS t0ken-secret", transport=httpx.MockTransport(handler), retry=policy)


def test_a_write_refused_for_concurrency_is_sent_again_at_once_not_after_the_reset() -> None:
    seen: list[httpx.Request] = []
    client = _client([_refusal(), httpx.Response(204)], seen)
    start = time.monotonic()
    resp = client.send(Request("DELETE", "https://acme.okta.com/api/v1/apps/0oa1/tokens/oar1"))
    assert resp.status_code == 204
    assert time.monotonic() - start < 0.5  # a backoff, not the wait for the reset
    assert [r.method for r in seen] == ["DELETE", "DELETE"]  # Okta refused it unread: safe
    assert seen[1].headers["X-Okta-Retry-Count"] == "1"
    assert seen[1].headers["X-Okta-Retry-For"] == "r1"
    assert client.limiter.limit == 8 and client.limiter.refusals == 1  # 16 halved


def test_refused_too_often_says_it_was_the_concurrency_limit() -> None:
    seen: list[httpx.Request] = []
    client = _client([_refusal(), _refusal(), _refusal()], seen)
    with pytest.raises(oktaql.APIError) as err:
        client.send(Request("POST", "https://acme.okta.com/api/v1/apps", body={}, has_body=True))
    text = str(err.value)
    assert "HTTP 429 E0000047" in text and "too many requests in flight for the org" in text
    assert "lower concurrency=N" in text and "(after 2 retries)" in text
    from oktaql._report import report

    assert "lower --concurrency N (after 2 retries)" in report(err.value, "cli").message
    assert len(seen) == 3
    assert client.limiter.in_flight == 0  # every slot given back


# --- the AIMD rule, step by step -----------------------------------------------------------


def test_a_refusal_halves_once_per_round() -> None:
    lim = ConcurrencyLimiter(16)
    slots = [lim.acquire() for _ in range(16)]
    lim.release(slots[0], refused=True)
    assert lim.limit == 8
    for s in slots[1:6]:  # refusals of requests sent before the halving: nothing new
        lim.release(s, refused=True)
    assert lim.limit == 8 and lim.refusals == 6
    for s in slots[6:]:
        lim.release(s)
    again = lim.acquire()  # sent at the new limit
    lim.release(again, refused=True)
    assert lim.limit == 4 and lim.lowest == 4


def test_successes_add_one_up_to_the_level_last_refused_then_probe_rarely() -> None:
    lim = ConcurrencyLimiter(16)
    lim.release(lim.acquire(), refused=True)  # 16 -> 8, 16 refused
    lim.release(lim.acquire(), refused=True)  # 8 -> 4, 8 refused

    def succeed(n: int) -> None:
        for _ in range(n):
            lim.release(lim.acquire())

    succeed(4)  # a run as long as the limit: +1
    assert lim.limit == 5
    succeed(5 + 6)
    assert lim.limit == 7  # 7 + 1 is the level refused: hold there
    succeed(7 * 8 - 1)
    assert lim.limit == 7
    succeed(1)  # a long run: probe the level refused
    assert lim.limit == 8
    lim.release(lim.acquire(), refused=True)  # refused again: halve, probe later still
    assert lim.limit == 4
    succeed(4 + 5 + 6)
    assert lim.limit == 7
    succeed(7 * 16 - 1)
    assert lim.limit == 7
    succeed(1)
    assert lim.limit == 8
    succeed(8)  # the probed level held a whole run: it is forgotten, growth goes on
    assert lim.limit == 9
    succeed(9)
    assert lim.limit == 10


def test_acquire_waits_for_a_free_slot() -> None:
    lim = ConcurrencyLimiter(2)
    a, b = lim.acquire(), lim.acquire()
    got: list[float] = []
    t = threading.Thread(target=lambda: got.append(lim.acquire().round))
    t.start()
    t.join(0.2)
    assert got == [] and lim.in_flight == 2  # waiting
    lim.release(a)
    t.join(2)
    assert got == [0] and lim.in_flight == 2
    lim.release(b)
