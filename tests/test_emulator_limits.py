"""The emulator's concurrency limit, and fidelity fixes on apps (SAML settings, group assignments)."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

import oktaql.emulator
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, start_in_thread

TOKEN = "limits-token"
AUTH = {"Authorization": f"SSWS {TOKEN}"}


def test_request_over_the_concurrency_limit_is_429_with_okta_headers() -> None:
    config = EmulatorConfig(token=TOKEN, seed=3, latency_ms=400, concurrency_limit=2)
    with start_in_thread(config) as emu:
        answers: list[httpx.Response] = []

        def call() -> None:
            answers.append(httpx.get(emu.url + "/api/v1/apps?limit=1", headers=AUTH, timeout=10))

        slow = [threading.Thread(target=call) for _ in range(2)]
        for t in slow:
            t.start()
        time.sleep(0.2)  # both are in flight (400 ms each)
        extra = httpx.get(emu.url + "/api/v1/users?limit=1", headers=AUTH, timeout=10)
        for t in slow:
            t.join()
        assert [r.status_code for r in answers] == [200, 200]
        assert extra.status_code == 429
        body = extra.json()
        assert body["errorCode"] == "E0000047"
        assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
        assert extra.headers["X-Rate-Limit-Limit"] == "0"
        assert extra.headers["X-Rate-Limit-Remaining"] == "0"
        assert int(extra.headers["X-Rate-Limit-Reset"]) >= int(time.time())
        assert extra.elapsed.total_seconds() < 0.3  # refused at once, not after the latency
        # the refused request is logged; once the others are done, requests pass again
        assert emu.request_log[-1][1] == "/api/v1/users?limit=1"
        again = httpx.get(emu.url + "/api/v1/users?limit=1", headers=AUTH, timeout=10)
        assert again.status_code == 200
        assert again.headers["X-Rate-Limit-Limit"] == "600"


def test_emulator_command_passes_the_concurrency_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(oktaql.emulator, "serve", lambda config, **kw: seen.append(config))
    result = CliRunner().invoke(main, ["emulator", "--port", "0", "--concurrency-limit", "5"])
    assert result.exit_code == 0, result.output
    assert [c.concurrency_limit for c in seen] == [5]
    bad = CliRunner().invoke(main, ["emulator", "--concurrency-limit", "0"])
    assert bad.exit_code == 2 and "--concurrency-limit" in bad.output
