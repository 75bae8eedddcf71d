"""Faults, rate limits and retries: nothing lost, nothing doubled, nothing done twice.

Unit tests drive :class:`oktaql._http.HTTPClient` through an ``httpx.MockTransport`` with a fake
clock; integration tests run statements against the emulator with ``fault_rate`` and a tight
``rate_limit`` and compare with its ground truth and its request log.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import oktaql
from oktaql._http import HTTPClient, Request, RetryPolicy, _clock, _pacing
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

FAST = RetryPolicy(max_retries=8, backoff_base=0.001, backoff_max=0.01, max_rate_limit_wait=5)
URL = "https://acme.okta.com/api/v1/apps"


# --------------------------------------------------------------------------- helpers


class Clock:
    """Replaces the client's clock and sleeps: sleeping advances time, instantly."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.t = start
        self.sleeps: list[float] = []
        self.lock = threading.Lock()

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(seconds)
            self.t += max(0.0, seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(_clock, "now", c.now)
    monkeypatch.setattr(_clock, "sleep", c.sleep)
    return c


Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class Script:
    """A MockTransport handler: answers in order (the last one repeats); keeps the requests."""

    def __init__(self, *answers: Answer):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    def client(self, policy: RetryPolicy = FAST) -> HTTPClient:
        return HTTPClient("SSWS secret-token", transport=httpx.MockTransport(self), retry=policy)


def okta_error(status: int, code: str, summary: str, rid: str, **headers: str) -> httpx.Response:
    body = {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oae1"}
    return httpx.Response(status, json=body, headers={"X-Okta-Request-Id": rid, **headers})


def ok(body: Any = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=[] if body is None else body, headers=headers)


def connect(emu: RunningEmulator, policy: RetryPolicy = FAST, **kw: Any) -> oktaql.Connection:
    """A connection to the emulator whose HTTP client retries by ``policy``."""
    return oktaql.connect(org_url=emu.url, token=emu.config.token, retry=policy, **kw)


def rows(conn: oktaql.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


def retried(emu: RunningEmulator) -> list[tuple[str, str, dict[str, str]]]:
    return [r for r in emu.request_log if "x-okta-retry-count" in r[2]]


def chaos_events(emu: RunningEmulator) -> list[tuple[str, str, str]]:
    return list(emu.app.state.chaos.events)


def assert_every_failure_retried_once(emu: RunningEmulator) -> None:
    """Each fault or 429 the emulator injected was followed by exactly one retry of it."""
    events = chaos_events(emu)
    again = retried(emu)
    assert len(again) == len(events), (events, [(m, p) for m, p, _ in again])
    for method, target, headers in again:
        n = int(headers["x-okta-retry-count"])
        assert n >= 1
        earlier = [
            h for m, p, h in emu.request_log if (m, p) == (method, target) and h is not headers
        ]
        assert any(int(h.get("x-okta-retry-count", "0")) == n - 1 for h in earlier)


@pytest.fixture
def away_from_window_edge() -> Callable[[float], None]:
    """Wait, if needed, so the next ``seconds`` stay inside one aligned rate window."""

    def wait(window: float, seconds: float = 1.5) -> None:
        left = window - time.time() % window
        if left < seconds:
            time.sleep(left + 0.05)

    return wait


# --------------------------------------------------------------------------- retries (unit)


def test_429_waits_until_reset_on_the_servers_clock(clock: Clock) -> None:
    server_now = 1_700_000_000  # the server's clock is far from ours: Date tells the wait
    script = Script(
        okta_error(
            429,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
            "req-429",
            **{
                "Date": formatdate(server_now, usegmt=True),
                "X-Rate-Limit-Limit": "600",
                "X-Rate-Limit-Remaining": "0",
                "X-Rate-Limit-Reset": str(server_now + 7),
            },
        ),
        ok(),
    )
    script.client(RetryPolicy(pace=False)).send(Request("GET", URL))
    assert len(script.requests) == 2
    assert clock.sleeps == [pytest.approx(7.05)]
    retry = script.requests[1].headers
    assert retry["X-Okta-Retry-For"] == "req-429"
    assert retry["X-Okta-Retry-Count"] == "1"
    assert "X-Okta-Retry-Count" not in script.requests[0].headers


def test_429_longer_than_allowed_says_how_long(clock: Clock) -> None:
    now = int(clock.t)
    script = Script(
        okta_error(
            429,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
            "req-1",
            **{"Date": formatdate(now, usegmt=True), "X-Rate-Limit-Reset": str(now + 600)},
        )
    )
    with pytest.raises(oktaql.APIError) as err:
        script.client(RetryPolicy(max_rate_limit_wait=60)).send(Request("GET", URL))
    text = str(err.value)
    assert "HTTP 429 E0000047" in text and "req-1" in text
    assert "resets in 600 s" in text and "retry=RetryPolicy(max_rate_limit_wait=SECONDS)" in text
    assert len(script.requests) == 1 and clock.sleeps == []


def test_429_without_reset_backs_off_and_honours_retry_after(clock: Clock) -> None:
    script = Script(
        okta_error(429, "E0000047", "rate", "a"),
        okta_error(429, "E0000047", "rate", "b", **{"Retry-After": "3"}),
        ok(),
    )
    script.client(RetryPolicy(backoff_base=0.5, pace=False)).send(Request("GET", URL))
    assert len(script.requests) == 3
    assert 0.25 <= clock.sleeps[0] <= 0.5  # no reset header: exponential backoff
    assert clock.sleeps[1] == 3.0


def test_5xx_backs_off_exponentially_with_jitter_and_retry_headers(clock: Clock) -> None:
    script = Script(
        okta_error(503, "E0000009", "Service Unavailable", "first"),
        okta_error(502, "E0000009", "Bad Gateway", "second"),
        okta_error(500, "E0000009", "Internal Server Error", "third"),
        ok([{"id": "x"}]),
    )
    resp = script.client(RetryPolicy(backoff_base=0.1, backoff_max=10)).send(Request("GET", URL))
    assert resp.json() == [{"id": "x"}]
    for n, slept in enumerate(clock.sleeps):
        assert 0.1 * 2**n * 0.5 <= slept <= 0.1 * 2**n
    assert [r.headers.get("X-Okta-Retry-Count") for r in script.requests] == [None, "1", "2", "3"]
    # every retry points at the first answer's request id, as Okta's SDKs do
    assert {r.headers.get("X-Okta-Retry-For") for r in script.requests[1:]} == {"first"}


def test_backoff_is_capped(clock: Clock) -> None:
    script = Script(*[okta_error(503, "E0000009", "down", "r")] * 8, ok())
    policy = RetryPolicy(max_retries=10, backoff_base=1, backoff_max=2)
    script.client(policy).send(Request("GET", URL))
    assert max(clock.sleeps) <= 2


def test_retries_exhausted_names_request_status_code_summary_and_id(clock: Clock) -> None:
    script = Script(okta_error(503, "E0000009", "Service Unavailable", "oktareq123"))
    with pytest.raises(oktaql.APIError) as err:
        script.client(RetryPolicy(max_retries=4)).send(Request("GET", URL + "?limit=5"))
    text = str(err.value)
    assert text.startswith(f"GET {URL}?limit=5 failed: HTTP 503 E0000009: Service Unavailable")
    assert "[X-Okta-Request-Id: oktareq123]" in text
    assert text.endswith("(after 4 retries)")
    assert err.value.status == 503 and err.value.error_code == "E0000009"
    assert err.value.request_id == "oktareq123"
    assert len(script.requests) == 5


@pytest.mark.parametrize(
    "failure",
    [
        okta_error(500, "E0000009", "Internal Server Error", "r1"),
        okta_error(503, "E0000009", "Service Unavailable", "r1"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.ReadTimeout("timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteError("broken pipe"),
    ],
    ids=["500", "503", "dropped", "read-timeout", "reset", "write-error"],
)
def test_post_is_not_retried_when_okta_may_have_acted(clock: Clock, failure: Answer) -> None:
    script = Script(failure, ok())
    with pytest.raises(oktaql.OperationalError) as err:
        script.client().send(Request("POST", URL + "/0oa1/lifecycle/deactivate"))
    assert len(script.requests) == 1
    assert "not retried" in str(err.value) and "may have acted" in str(err.value)


def test_post_is_retried_when_okta_cannot_have_acted(clock: Clock) -> None:
    now = int(clock.t)
    script = Script(
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        okta_error(
            429,
            "E0000047",
            "rate",
            "r429",
            **{"Date": formatdate(now, usegmt=True), "X-Rate-Limit-Reset": str(now + 1)},
        ),
        httpx.Response(201, json={"id": "0oaNEW"}),
    )
    resp = script.client().send(
        Request("POST", URL, body={"label": "x"}, has_body=True, headers={})
    )
    assert resp.status_code == 201
    assert len(script.requests) == 4
    assert all(r.content == b'{"label": "x"}' for r in script.requests)  # same body each time


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
        httpx.ConnectError("refused"),
        okta_error(504, "E0000009", "Gateway Timeout", "r"),
    ],
    ids=["timeout", "dropped", "refused", "504"],
)
@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
def test_idempotent_requests_are_retried(clock: Clock, method: str, failure: Answer) -> None:
    script = Script(failure, failure, httpx.Response(204))
    assert script.client().send(Request(method, URL + "/0oa1")).status_code == 204
    assert len(script.requests) == 3


def test_connection_failures_exhausted_say_after_n_retries(clock: Clock) -> None:
    script = Script(httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(oktaql.OperationalError) as err:
        script.client(RetryPolicy(max_retries=2)).send(Request("GET", URL))
    assert "cannot connect" in str(err.value) and str(err.value).endswith("(after 2 retries)")
    assert len(script.requests) == 3


def test_dropped_delete_then_404_says_it_may_already_be_done(clock: Clock) -> None:
    script = Script(
        httpx.RemoteProtocolError("peer closed connection"),
        okta_error(
            404, "E0000007", "Not found: Resource not found: oar1 (OAuth2RefreshToken)", "r"
        ),
    )
    with pytest.raises(oktaql.APIError) as err:
        script.client().send(Request("DELETE", URL + "/0oa1/tokens/oar1"))
    assert "may already have deleted it" in str(err.value) and err.value.may_have_acted
    assert "(after 1 retry)" in str(err.value)


DROP = httpx.RemoteProtocolError("peer closed connection")
REFUSED = httpx.ConnectError("connection refused")


@pytest.mark.parametrize(
    ("method", "answers", "acted"),
    [
        ("POST", [DROP], True),  # the answer was cut: Okta may have acted
        ("POST", [okta_error(500, "E0000009", "Internal Server Error", "r")], True),
        ("POST", [okta_error(400, "E0000001", "Api validation failed", "r")], False),
        ("POST", [REFUSED], False),  # never reached the server
        ("POST", [okta_error(429, "E0000047", "API call exceeded rate limit", "r")], False),
        ("DELETE", [DROP], True),  # every retry cut too
        ("DELETE", [okta_error(503, "E0000009", "Service Unavailable", "r")], True),
        ("DELETE", [DROP, okta_error(400, "E0000001", "Api validation failed", "r")], True),
        ("DELETE", [REFUSED, okta_error(400, "E0000001", "Api validation failed", "r")], False),
    ],
)
def test_a_failure_says_whether_okta_may_have_acted(
    clock: Clock, method: str, answers: list[Answer], acted: bool
) -> None:
    """What the write report's "unknown" rests on: only a failure after which the request may
    have taken effect says so."""
    script = Script(*answers)
    policy = RetryPolicy(max_retries=2, backoff_base=0.001, max_rate_limit_wait=0)
    with pytest.raises(oktaql.OperationalError) as err:
        script.client(policy).send(Request(method, URL + "/0oa1/tokens/oar1"))
    assert err.value.may_have_acted is acted


def test_planning_never_loads_the_http_client() -> None:
    """EXPLAIN plans without httpx: planning imports the request models only."""
    import subprocess
    import sys

    code = (
        "import sys, oktaql.planning; "
        "print(sorted(m for m in sys.modules if m.startswith(('oktaql._http', 'httpx'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['oktaql._http', 'oktaql._http._models']"


def test_redirects_are_errors_not_followed(clock: Clock) -> None:
    script = Script(httpx.Response(302, headers={"Location": "https://evil.example/steal"}))
    with pytest.raises(oktaql.APIError) as err:
        script.client().send(Request("GET", URL))
    assert "redirect to https://evil.example/steal not followed" in str(err.value)
    assert [str(r.url) for r in script.requests] == [URL]


# --------------------------------------------------------------------------- pagination (unit)


def paged_server(pages: int, fail: dict[int, list[Answer]] | None = None) -> Script:
    """Pages 0..pages-1 of ``[{"id": "p<n>"}]`` linked by rel=next; ``fail[n]`` answers first."""
    fail = {k: list(v) for k, v in (fail or {}).items()}

    def answer(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("after", "0"))
        if fail.get(n):
            failure = fail[n].pop(0)
            if isinstance(failure, Exception):
                raise failure
            assert isinstance(failure, httpx.Response)
            return failure
        headers = {}
        if n + 1 < pages:
            headers["Link"] = f'<{URL}?after={n + 1}>; rel="next"'
        return ok([{"id": f"p{n}"}], **headers)

    return Script(answer)


def test_pagination_resumes_from_the_failed_page(clock: Clock) -> None:
    script = paged_server(
        5,
        {
            2: [okta_error(503, "E0000009", "down", "r"), httpx.ReadTimeout("slow")],
            4: [httpx.RemoteProtocolError("dropped")],
        },
    )
    bodies = [body for body, _ in script.client().pages(Request("GET", URL))]
    assert bodies == [[{"id": f"p{n}"}] for n in range(5)]
    asked = [r.url.params.get("after", "0") for r in script.requests]
    assert asked == ["0", "1", "2", "2", "2", "3", "4", "4"]  # never back to page 0


def test_next_link_repeating_a_page_is_an_error(clock: Clock) -> None:
    script = Script(ok([{"id": "a"}], Link=f'<{URL}?after=1>; rel="next"'))
    with pytest.raises(oktaql.OperationalError, match="repeats a page already read"):
        list(script.client().pages(Request("GET", URL)))
    assert len(script.requests) == 2


def test_empty_page_pointing_at_itself_ends_the_listing(clock: Clock) -> None:
    # Okta's System Log keeps a next link for polling; an empty page that repeats = caught up
    script = Script(
        ok([{"id": "a"}], Link=f'<{URL}?after=1>; rel="next"'),
        ok([], Link=f'<{URL}?after=1>; rel="next"'),
    )
    bodies = [b for b, _ in script.client().pages(Request("GET", URL))]
    assert bodies == [[{"id": "a"}], []]


def test_endless_empty_pages_stop(clock: Clock) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("after", "0"))
        return ok([], Link=f'<{URL}?after={n + 1}>; rel="next"')

    script = Script(answer)
    with pytest.raises(oktaql.OperationalError, match="empty pages in a row"):
        list(script.client().pages(Request("GET", URL)))
    assert len(script.requests) <= 4


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/api/v1/apps?after=1",
        "http://acme.okta.com/api/v1/apps?after=1",  # downgrade to plain http
        "https://acme.okta.com:8443/api/v1/apps?after=1",
        "https://user:pw@acme.okta.com/api/v1/apps?after=1",
        "//evil.example/api/v1/apps?after=1",  # scheme-relative
        "https://acme.okta.com.evil.example/api/v1/apps?after=1",
    ],
)
def test_next_link_to_another_origin_is_refused(clock: Clock, link: str) -> None:
    script = Script(ok([{"id": "a"}], Link=f'<{link}>; rel="next"'))
    with pytest.raises(oktaql.OperationalError, match="another origin"):
        list(script.client().pages(Request("GET", URL)))
    assert [str(r.url) for r in script.requests] == [URL]  # nothing sent there


def test_relative_and_default_port_next_links_are_followed(clock: Clock) -> None:
    script = Script(
        ok([1], Link='</api/v1/apps?after=1>; rel="next"'),
        ok([2], Link='<https://ACME.okta.com:443/api/v1/apps?after=2>; rel="next"'),
        ok([3]),
    )
    bodies = [b for b, _ in script.client().pages(Request("GET", URL))]
    assert bodies == [[1], [2], [3]]


# --------------------------------------------------------------------------- pacing (unit)


def limited(limit: int, remaining: int, reset: float, now: float, status: int = 200) -> Any:
    return httpx.Response(
        status,
        json=[],
        headers={
            "Date": formatdate(now, usegmt=True),
            "X-Rate-Limit-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(reset)),
        },
    )


def test_pacer_spreads_the_last_of_the_budget_until_reset(clock: Clock) -> None:
    start = clock.t
    client = Script(limited(100, 5, start + 10, start)).client(RetryPolicy(pace_reserve=8))
    client.send(Request("GET", URL))  # the answer says: 5 left, reset in 10 s
    assert clock.sleeps == []
    pacer, key = client.pacer, _pacing.family(URL)
    policy = client.retry
    for _ in range(5):  # five slots, evenly spread, none past the reset (nothing answers)
        pacer.acquire(key, policy)
    assert [round(s, 6) for s in clock.sleeps] == [2.0, 2.0, 2.0, 2.0]
    pacer.acquire(key, policy)  # nothing left: wait for the reset
    assert clock.t >= start + 10
    # a new window: nothing is known about it, so the next request goes at once
    before = len(clock.sleeps)
    pacer.acquire(key, policy)
    assert len(clock.sleeps) == before


def test_pacer_leaves_a_healthy_budget_alone(clock: Clock) -> None:
    start = clock.t
    client = Script(limited(600, 500, start + 60, start)).client()
    for _ in range(20):
        client.send(Request("GET", URL))
    assert clock.sleeps == []


def test_pacer_is_per_endpoint_family() -> None:
    family = _pacing.family
    assert family(URL + "/0oa1/tokens") == family(URL + "/0oa2/tokens?limit=5")
    assert family(URL + "/0oa1/tokens") != family(URL)
    assert family(URL + "/0oa1") != family("https://acme.okta.com/api/v1/users/00u1")
    assert family(URL) != family("https://other.okta.com/api/v1/apps")


def test_a_429_holds_back_the_other_threads(clock: Clock) -> None:
    start = clock.t
    client = Script(ok()).client()
    key = _pacing.family(URL)
    # one thread's answer: 429, the window resets in 4 s
    client.pacer.record(key, limited(10, 0, start + 4, start, status=429), None)
    client.send(Request("GET", URL + "/0oa2/tokens"))  # another family: not held
    assert clock.sleeps == []
    client.send(Request("GET", URL + "?limit=5"))  # same family: waits for the reset
    assert clock.t >= start + 4
    before = len(clock.sleeps)
    client.send(Request("GET", URL))  # new window, unknown budget: goes at once
    assert len(clock.sleeps) == before


# --------------------------------------------------------------------------- the emulator's chaos


def _get_all(emu: RunningEmulator, paths: list[str]) -> list[str]:
    out = []
    with httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS emulator-token"}) as c:
        for path in paths:
            try:
                out.append(str(c.get(path).status_code))
            except httpx.TransportError:
                out.append("dropped")
    return out


def test_faults_are_seeded_and_reproducible() -> None:
    paths = ["/api/v1/apps", "/api/v1/users", "/api/v1/groups"] * 8
    runs = []
    for seed in (5, 5, 6):
        with start_in_thread(EmulatorConfig(seed=seed, apps=2, fault_rate=0.4)) as emu:
            runs.append((_get_all(emu, paths), chaos_events(emu)))
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    statuses = runs[0][0]
    assert {"200"} < set(statuses) <= {"200", "500", "502", "503", "504", "dropped"}
    assert 0.15 < sum(s != "200" for s in statuses) / len(statuses) < 0.7


def test_fault_bodies_are_okta_errors_with_headers() -> None:
    with start_in_thread(EmulatorConfig(apps=1, fault_rate=1.0, fault_kinds=("503",))) as emu:
        resp = httpx.get(f"{emu.url}/api/v1/apps", headers={"Authorization": "SSWS emulator-token"})
    assert resp.status_code == 503
    body = resp.json()
    assert body["errorCode"] == "E0000009" and body["errorSummary"] == "Service Unavailable"
    assert body["errorId"].startswith("oae")
    for name in ("Date", "X-Okta-Request-Id", "X-Rate-Limit-Limit", "X-Rate-Limit-Reset"):
        assert resp.headers.get(name)


@pytest.mark.parametrize("kinds", [("500", "502", "503", "504"), ("drop",)])
def test_faulted_writes_change_nothing(kinds: tuple[str, ...]) -> None:
    cfg = EmulatorConfig(apps=2, tokens_per_app=3, fault_rate=1.0, fault_kinds=kinds)
    with start_in_thread(cfg) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)
        with httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS emulator-token"}) as c:
            for method, path in [
                ("DELETE", f"/api/v1/apps/{app}/tokens/{tokens[0]}"),
                ("DELETE", f"/api/v1/apps/{app}/tokens"),
                ("POST", f"/api/v1/apps/{app}/lifecycle/deactivate"),
            ]:
                try:
                    status = c.request(method, path).status_code
                    assert status >= 500
                except httpx.TransportError:
                    assert kinds == ("drop",)
        assert emu.org.token_ids(app) == tokens
        assert (emu.org.app(app) or {})["status"] == "ACTIVE"
        assert len(chaos_events(emu)) == 3


def test_drop_after_action_acts_then_cuts_the_answer() -> None:
    cfg = EmulatorConfig(
        apps=1,
        tokens_per_app=2,
        fault_rate=1.0,
        fault_kinds=("drop",),
        fault_drop_after_action=True,
    )
    with start_in_thread(cfg) as emu:
        app = emu.org.oidc_apps[0]["id"]
        first = emu.org.token_ids(app)[0]
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.delete(
                f"{emu.url}/api/v1/apps/{app}/tokens/{first}",
                headers={"Authorization": "SSWS emulator-token"},
            )
        assert first not in emu.org.token_ids(app)  # the server acted, the client never heard


class FaultOnlyFirst(httpx.HTTPTransport):
    """Real HTTP; after the first exchange the emulator's faults are switched off."""

    def __init__(self, config: EmulatorConfig):
        super().__init__()
        self.config = config

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        finally:
            self.config.fault_rate = 0.0


def test_sql_delete_cut_off_after_acting_is_retried_and_counted_as_done() -> None:
    cfg = EmulatorConfig(
        apps=1,
        tokens_per_app=3,
        fault_rate=1.0,
        fault_kinds=("drop",),
        fault_drop_after_action=True,
    )
    with start_in_thread(cfg) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)
        conn = connect(emu, transport=FaultOnlyFirst(emu.config))
        cur = conn.cursor()
        cur.execute(
            f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId = '{tokens[1]}'"
        )
        # the retry's 404 means the first try deleted it: a DELETE's goal, absence, is met
        assert cur.message == (
            "DELETE okta.apps.tokens: 1 request(s) sent (revoke_oauth2_token_for_application); "
            "1 already absent"
        )
        assert emu.org.token_ids(app) == [tokens[0], tokens[2]]  # exactly that one, once
        deletes = [h for m, _, h in emu.request_log if m == "DELETE"]
        assert [h.get("x-okta-retry-count") for h in deletes] == [None, "1"]


def test_sql_post_cut_off_after_acting_is_not_repeated() -> None:
    cfg = EmulatorConfig(
        apps=1,
        tokens_per_app=1,
        fault_rate=1.0,
        fault_kinds=("drop",),
        fault_drop_after_action=True,
    )
    with start_in_thread(cfg) as emu:
        app = emu.org.oidc_apps[0]["id"]
        conn = connect(emu, transport=FaultOnlyFirst(emu.config))
        with pytest.raises(oktaql.OperationalError) as err:
            rows(conn, f"EXEC okta.apps.applications.deactivate_application @appId = '{app}'")
        assert "not retried" in str(err.value) and "may have acted" in str(err.value)
        assert (emu.org.app(app) or {})["status"] == "INACTIVE"  # it did act
        assert [m for m, _, _ in emu.request_log] == ["POST"]  # and it was sent once


def test_sql_delete_through_5xx_faults_revokes_exactly_one_token() -> None:
    cfg = EmulatorConfig(
        seed=3, apps=2, tokens_per_app=5, fault_rate=0.6, fault_kinds=("500", "503", "504")
    )
    with start_in_thread(cfg) as emu:
        app = emu.org.oidc_apps[1]["id"]
        tokens = emu.org.token_ids(app)
        others = {a["id"]: emu.org.token_ids(a["id"]) for a in emu.org.oidc_apps if a["id"] != app}
        conn = connect(emu)
        rows(
            conn, f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId = '{tokens[2]}'"
        )
        assert emu.org.token_ids(app) == tokens[:2] + tokens[3:]
        assert {a: emu.org.token_ids(a) for a in others} == others
        assert_every_failure_retried_once(emu)


def test_stalled_read_times_out_and_is_retried() -> None:
    cfg = EmulatorConfig(apps=2, fault_rate=1.0, fault_kinds=("stall",), fault_stall_s=0.5)
    with start_in_thread(cfg) as emu:
        conn = connect(emu, timeout=0.2, transport=FaultOnlyFirst(emu.config))
        got = rows(conn, "SELECT id FROM okta.apps.applications")
        assert sorted(r[0] for r in got) == sorted(a["id"] for a in emu.org.apps)
        time.sleep(0.4)  # the stalled request is logged when the emulator gets to it
        gets = [h for m, _, h in emu.request_log if m == "GET"]
        assert sorted(str(h.get("x-okta-retry-count")) for h in gets) == ["1", "None"]


def test_rate_limit_is_per_endpoint_family(away_from_window_edge: Any) -> None:
    away_from_window_edge(3600.0)
    cfg = EmulatorConfig(apps=3, tokens_per_app=2, rate_limit=3, rate_window=3600.0)
    with start_in_thread(cfg) as emu:
        a, b, _ = (x["id"] for x in emu.org.oidc_apps)
        auth = {"Authorization": "SSWS emulator-token"}
        with httpx.Client(base_url=emu.url, headers=auth) as c:
            seen = [c.get("/api/v1/apps") for _ in range(3)]
            assert [r.headers["X-Rate-Limit-Remaining"] for r in seen] == ["2", "1", "0"]
            over = c.get("/api/v1/apps")
            assert over.status_code == 429
            assert over.json()["errorCode"] == "E0000047"
            assert over.headers["X-Rate-Limit-Limit"] == "3"
            assert over.headers["X-Rate-Limit-Remaining"] == "0"
            reset = int(over.headers["X-Rate-Limit-Reset"])
            assert reset % 3600 == 0 and 0 < reset - time.time() <= 3600
            assert over.headers["Date"].endswith("GMT")
            # another family has its own budget; ids of one family share theirs
            assert c.get("/api/v1/users").status_code == 200
            token_b = emu.org.token_ids(b)[0]
            assert c.delete(f"/api/v1/apps/{b}/tokens/{token_b}").status_code == 204
            tokens_b = emu.org.token_ids(b)
            assert [c.get(f"/api/v1/apps/{x}/tokens").status_code for x in (a, b, a)] == [200] * 3
            # a write over the limit is refused before it acts
            assert c.delete(f"/api/v1/apps/{b}/tokens").status_code == 429
            assert emu.org.token_ids(b) == tokens_b


def test_rate_window_resets() -> None:
    cfg = EmulatorConfig(apps=1, rate_limit=2, rate_window=1.0)
    with start_in_thread(cfg) as emu:
        with httpx.Client(base_url=emu.url, headers={"Authorization": "SSWS emulator-token"}) as c:
            statuses = []
            while 429 not in statuses:
                statuses.append(c.get("/api/v1/apps").status_code)
            reset = int(c.get("/api/v1/apps").headers["X-Rate-Limit-Reset"])
            time.sleep(max(0.0, reset - time.time()) + 0.05)
            assert c.get("/api/v1/apps").status_code == 200


def test_emulator_command_passes_the_chaos_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from oktaql import cli, emulator

    seen: dict[str, Any] = {}
    monkeypatch.setattr(emulator, "serve", lambda config, host, port: seen.update(config=config))
    args = ["emulator", "--fault-rate", "0.25", "--rate-limit", "50", "--rate-window", "2.5"]
    result = CliRunner().invoke(cli.main, args)
    assert result.exit_code == 0, result.output
    cfg = seen["config"]
    assert (cfg.fault_rate, cfg.rate_limit, cfg.rate_window) == (0.25, 50, 2.5)
    for bad in (["--fault-rate", "1.5"], ["--rate-limit", "0"], ["--rate-window", "0"]):
        assert CliRunner().invoke(cli.main, ["emulator", *bad]).exit_code != 0


# --------------------------------------------------------------------------- end to end: exact rows


TOKENS_SQL = "SELECT id FROM okta.apps.tokens WHERE appId = '{app}' AND limit = '20'"
JOIN_SQL = (
    "SELECT a.label, t.id FROM okta.apps.applications a "
    "JOIN okta.apps.tokens t ON t.appId = a.id ORDER BY a.label, t.id"
)


def join_truth(emu: RunningEmulator) -> list[tuple[str, str]]:
    return sorted((a["label"], t) for a in emu.org.oidc_apps for t in emu.org.token_ids(a["id"]))


@pytest.fixture
def faulty_paged() -> Iterator[RunningEmulator]:
    cfg = EmulatorConfig(
        seed=2, apps=1, tokens_per_app=400, fault_rate=0.2, rate_limit=12, rate_window=1.0
    )
    with start_in_thread(cfg) as emu:
        yield emu


def test_twenty_pages_through_faults_and_429s_lose_and_double_nothing(
    faulty_paged: RunningEmulator,
) -> None:
    emu = faulty_paged
    app = emu.org.oidc_apps[0]["id"]
    truth = emu.org.token_ids(app)
    assert len(truth) == 400
    conn = connect(emu, RetryPolicy(max_retries=8, backoff_base=0.001, pace=False))
    got = [r[0] for r in rows(conn, TOKENS_SQL.format(app=app))]
    assert got == truth  # same rows, same order, none twice
    kinds = {k for _, _, k in chaos_events(emu)}
    assert {"429", "drop"} <= kinds and kinds & {"500", "502", "503", "504"}  # (seed 2)
    assert_every_failure_retried_once(emu)
    assert any("x-okta-retry-for" in h for _, _, h in retried(emu))
    pages = {p for m, p, _ in emu.request_log if m == "GET"}
    assert len(pages) == math.ceil(400 / 20)  # every page asked for, none skipped


@pytest.mark.parametrize("pace", [True, False], ids=["paced", "unpaced"])
def test_fanout_join_through_faults_matches_a_clean_run(pace: bool) -> None:
    clean_cfg = EmulatorConfig(seed=3, apps=10, tokens_per_app=30)
    with start_in_thread(clean_cfg) as clean:
        clean_rows = rows(connect(clean), JOIN_SQL)
        assert clean_rows == join_truth(clean)
    cfg = EmulatorConfig(
        seed=3, apps=10, tokens_per_app=30, fault_rate=0.2, rate_limit=12, rate_window=1.0
    )
    with start_in_thread(cfg) as emu:
        policy = RetryPolicy(max_retries=8, backoff_base=0.001, pace=pace, pace_reserve=8)
        got = rows(connect(emu, policy), JOIN_SQL)
        assert got == clean_rows
        assert len(got) == len(set(got)) == 300
        events = chaos_events(emu)
        kinds = {k for _, _, k in events}
        assert "drop" in kinds and kinds & {"500", "502", "503", "504"}  # (seed 3)
        assert_every_failure_retried_once(emu)


@pytest.mark.parametrize("pace", [True, False], ids=["paced", "unpaced"])
def test_pacing_keeps_a_fanout_under_the_limit(pace: bool) -> None:
    cfg = EmulatorConfig(seed=2, apps=10, tokens_per_app=40, rate_limit=12, rate_window=1.0)
    with start_in_thread(cfg) as emu:
        policy = RetryPolicy(max_retries=8, backoff_base=0.001, pace=pace, pace_reserve=8)
        # pages of 20: 21+ calls against a limit of 12 (the largest pages would need only 11)
        sql = JOIN_SQL.replace("ON t.appId = a.id", "ON t.appId = a.id AND t.limit = '20'")
        assert sql != JOIN_SQL
        got = rows(connect(emu, policy), sql)
        assert got == join_truth(emu)
        throttled = [e for e in chaos_events(emu) if e[2] == "429"]
        if pace:
            assert throttled == []  # spread over the windows instead of running into 429s
        else:
            assert throttled  # the same fan-out unpaced trips the limit (and recovers)
