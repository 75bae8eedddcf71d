"""Writes that stop early say what they did, per call; revokes converge when run again.

Against the emulator over real HTTP: Ctrl-C in the middle of a revoke (raised by a transport
right after the emulator answered the 15th call, or a real SIGINT to ``oktaql exec``), a
multi-row INSERT refused at its third row, an answer cut off after the org acted (the emulator's
``fault_drop_after_action``), and a revoke re-run over tokens already gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import oktaql
from oktaql import RetryPolicy, errors
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

QUICK = RetryPolicy(max_retries=8, backoff_base=0.001, backoff_max=0.01)
REVOKE = "revoke_oauth2_token_for_application"


class Hook(httpx.HTTPTransport):
    """Real HTTP to the emulator; ``hook(n, request, send)`` runs the n-th request (1-based)."""

    def __init__(self, hook: Callable[[int, httpx.Request, Callable[[], httpx.Response]], Any]):
        super().__init__()
        self.hook = hook
        self.n = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.n += 1
        response: httpx.Response = self.hook(
            self.n, request, lambda: super(Hook, self).handle_request(request)
        )
        return response


def connect(emu: RunningEmulator, **kw: Any) -> oktaql.Connection:
    return oktaql.connect(org_url=emu.url, token=emu.config.token, retry=QUICK, **kw)


def revoke_sql(app: str, tokens: list[str]) -> str:
    ids = ", ".join(f"'{t}'" for t in tokens)
    return f"DELETE FROM okta.apps.tokens WHERE appId = '{app}' AND tokenId IN ({ids})"


def sent(emu: RunningEmulator, method: str) -> list[str]:
    return [path for m, path, _ in emu.request_log if m == method]


def profile(login: str) -> str:
    return f'{{"firstName":"A","lastName":"B","email":"{login}","login":"{login}"}}'.replace(
        "'", "''"
    )


def insert_users(logins: list[str]) -> str:
    rows = ", ".join(f"('{profile(login)}')" for login in logins)
    return f"INSERT INTO okta.users.users (data__profile) VALUES {rows} RETURNING id, status"


# --------------------------------------------------------------------------- stopped early


def test_ctrl_c_in_a_revoke_reports_each_token_done_unknown_or_not_done() -> None:
    with start_in_thread(EmulatorConfig(apps=1, tokens_per_app=200)) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)

        def ctrl_c_on_15th(n: int, request: httpx.Request, send: Callable[[], Any]) -> Any:
            response = send()  # the org acts...
            if n == 15:
                raise KeyboardInterrupt  # ...and Ctrl-C lands before its answer is read
            return response

        conn = connect(emu, transport=Hook(ctrl_c_on_15th))
        with pytest.raises(oktaql.WriteIncomplete) as info:
            conn.cursor().execute(revoke_sql(app, tokens))
        err = info.value
        assert isinstance(err.cause, KeyboardInterrupt) and err.interrupted
        assert [c.ids for c in err.done] == [{"appId": app, "tokenId": t} for t in tokens[:14]]
        assert [(c.index, c.ids["tokenId"], c.note) for c in err.unknown] == [
            (15, tokens[14], "in flight at the interruption")
        ]
        assert [c.ids["tokenId"] for c in err.pending] == tokens[15:]
        assert [c.index for c in err.pending] == list(range(16, 201))
        assert {c.method for c in err.done + err.unknown + err.pending} == {"DELETE"}
        assert len(sent(emu, "DELETE")) == 15  # nothing was sent after the interruption
        assert emu.org.token_ids(app) == tokens[15:]
        text = str(err).splitlines()
        assert text[0] == (
            "DELETE okta.apps.tokens interrupted: 14 done, 1 unknown, 185 not done, "
            "of 200 request(s)"
        )
        url = f"{emu.url}/api/v1/apps/{app}/tokens/"
        assert text[1:3] == ["done:", f"  #1 DELETE {url}{tokens[0]}"]
        assert f"  #15 DELETE {url}{tokens[14]} (in flight at the interruption)" in text
        assert text[-1] == f"  #200 DELETE {url}{tokens[199]}"
        assert len(text) == 1 + 3 + 200  # the summary, three headings, one line per token


def test_sigint_to_exec_prints_what_was_revoked_and_exits_130() -> None:
    config = EmulatorConfig(apps=1, tokens_per_app=200, latency_ms=25)
    with start_in_thread(config) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)
        env = {**os.environ, "OKTA_API_TOKEN": config.token}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from oktaql.cli import main; main()",
                "exec",
                "--org-url",
                emu.url,
                revoke_sql(app, tokens),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(sent(emu, "DELETE")) < 14 and time.monotonic() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        time.sleep(0.2)  # a request in flight at the signal is answered by now
        assert proc.returncode == 130, stderr
        lines = stderr.splitlines()
        head = lines[0]
        assert head.startswith("DELETE okta.apps.tokens interrupted: "), stderr
        listed: dict[str, list[str]] = {}
        section = ""
        for line in lines[1:]:
            if not line.startswith("  "):
                section = line.split(" ")[0].rstrip(":")
                continue
            listed.setdefault(section, []).append(line.split()[2].rsplit("/", 1)[1])
        done, unknown, pending = (listed.get(k, []) for k in ("done", "unknown", "not"))
        assert done + unknown + pending == tokens  # every token, once, in order
        assert len(done) + len(unknown) >= 14 and len(unknown) <= 1
        assert head.endswith(
            f"{len(done)} done, {len(unknown)} unknown, {len(pending)} not done, of 200 request(s)"
        )
        left = set(emu.org.token_ids(app))
        assert not left & set(done) and set(pending) <= left  # the report is the org's state
        deletes = sent(emu, "DELETE")
        assert len(done) <= len(deletes) <= len(done) + len(unknown)


def test_a_refused_row_of_an_insert_keeps_the_created_rows_and_their_ids() -> None:
    with start_in_thread(EmulatorConfig()) as emu:
        taken = emu.org.users[0]["profile"]["login"]
        logins = ["ann@example.com", "bob@example.com", taken, "dee@example.com"]
        with pytest.raises(oktaql.WriteIncomplete) as info:
            connect(emu).cursor().execute(insert_users(logins))
        err = info.value
        created = [u for u in emu.org.users if u["profile"]["login"] in logins[:2]]
        ids = [u["id"] for u in sorted(created, key=lambda u: logins.index(u["profile"]["login"]))]
        assert [c.ids for c in err.done] == [{"id": i} for i in ids]
        assert [c.row["profile"]["login"] for c in err.done] == logins[:2]
        assert (err.columns, err.rows) == (["id", "status"], [(i, "PROVISIONED") for i in ids])
        assert [(c.index, c.note) for c in err.pending] == [(3, "failed"), (4, "")]
        assert err.unknown == []
        assert isinstance(err.cause, oktaql.APIError) and err.cause.status == 400
        assert len(sent(emu, "POST")) == 3  # the fourth was never sent
        assert f"  #1 POST {emu.url}/api/v1/users -> id {ids[0]}" in str(err).splitlines()
        assert str(err).splitlines()[1] == f"error: {err.cause}"


def test_an_insert_whose_answer_is_cut_after_the_org_acted_is_unknown_not_repeated() -> None:
    with start_in_thread(
        EmulatorConfig(fault_kinds=("drop",), fault_drop_after_action=True)
    ) as emu:

        def cut_the_second(n: int, request: httpx.Request, send: Callable[[], Any]) -> Any:
            emu.config.fault_rate = 1.0 if n == 2 else 0.0
            return send()

        logins = ["ann@example.com", "bob@example.com", "cy@example.com"]
        with pytest.raises(oktaql.WriteIncomplete) as info:
            connect(emu, transport=Hook(cut_the_second)).cursor().execute(insert_users(logins))
        err = info.value
        by_login = {u["profile"]["login"]: u["id"] for u in emu.org.users}
        assert [c.ids for c in err.done] == [{"id": by_login[logins[0]]}]
        assert [(c.index, c.note) for c in err.unknown] == [(2, "its answer was lost")]
        assert logins[1] in by_login  # it did act: unknown, not "not done"
        assert [(c.index, c.note) for c in err.pending] == [(3, "")]
        assert logins[2] not in by_login
        assert len(sent(emu, "POST")) == 2  # the cut POST was not sent again
        assert err.rows == [(by_login[logins[0]], "PROVISIONED")]
        assert "Okta may have acted" in str(err)


# --------------------------------------------------------------------------- DELETE converges


def test_a_revoke_whose_answers_are_cut_after_acting_completes_and_counts_the_absent() -> None:
    config = EmulatorConfig(
        seed=5,
        apps=1,
        tokens_per_app=20,
        fault_rate=0.3,
        fault_kinds=("drop",),
        fault_drop_after_action=True,
    )
    with start_in_thread(config) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)
        cur = connect(emu).cursor()
        cur.execute(revoke_sql(app, tokens))
        drops = [path for _, path, kind in emu.app.state.chaos.events if kind == "drop"]
        cut = len(set(drops))  # tokens whose first answer was lost: the retry finds them gone
        assert cut >= 3
        assert cur.message == (
            f"DELETE okta.apps.tokens: 20 request(s) sent ({REVOKE}); {cut} already absent"
        )
        assert len(sent(emu, "DELETE")) == 20 + len(drops)  # each cut answer retried once
        assert emu.org.token_ids(app) == []


def test_running_a_revoke_again_converges() -> None:
    with start_in_thread(EmulatorConfig(apps=1, tokens_per_app=5)) as emu:
        app = emu.org.oidc_apps[0]["id"]
        tokens = emu.org.token_ids(app)
        cur = connect(emu).cursor()
        cur.execute(revoke_sql(app, tokens[1:3]))  # a first run that got through two
        cur.execute(revoke_sql(app, tokens))
        assert (
            cur.message
            == f"DELETE okta.apps.tokens: 5 request(s) sent ({REVOKE}); 2 already absent"
        )
        assert emu.org.token_ids(app) == []
        cur.execute(revoke_sql(app, tokens))
        assert (
            cur.message
            == f"DELETE okta.apps.tokens: 5 request(s) sent ({REVOKE}); 5 already absent"
        )
        assert len(sent(emu, "DELETE")) == 2 + 5 + 5


def _not_found(summary: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"errorCode": "E0000007", "errorSummary": summary, "errorCauses": []}
        return httpx.Response(404, json=body)

    return answer


def test_a_404_for_the_endpoint_itself_is_an_error_not_absence() -> None:
    org = "https://acme.okta.com"
    unknown_path = _not_found("Not found: Resource not found: /api/v1/apps/a/tokens/t (URI)")
    conn = oktaql.connect(
        org_url=org, token="t0ken-value", transport=httpx.MockTransport(unknown_path)
    )
    with pytest.raises(oktaql.APIError) as one:
        conn.cursor().execute(revoke_sql("a", ["t"]))
    assert type(one.value) is oktaql.APIError and one.value.status == 404
    with pytest.raises(oktaql.APIError) as two:  # nothing changed: the error, and a note
        conn.cursor().execute(revoke_sql("a", ["t", "u"]))
    assert type(two.value) is oktaql.APIError and two.value.__notes__ == [
        "nothing was changed: the write stopped at request 1 of 2, before any took effect"
    ]
    gone = _not_found("Not found: Resource not found: t (OAuth2RefreshToken)")
    conn = oktaql.connect(org_url=org, token="t0ken-value", transport=httpx.MockTransport(gone))
    cur = conn.cursor()
    cur.execute(revoke_sql("a", ["t"]))
    assert cur.message == f"DELETE okta.apps.tokens: 1 request(s) sent ({REVOKE}); 1 already absent"


def test_write_incomplete_is_an_operational_error_exported_at_the_top() -> None:
    assert issubclass(oktaql.WriteIncomplete, oktaql.OperationalError)
    assert "WriteIncomplete" in oktaql.__all__
    assert "WriteIncomplete" in (errors.__doc__ or "")


def test_an_accepted_call_whose_wait_fails_is_unknown() -> None:
    """/*+ AWAIT */: a 202 was accepted (the org acts); when polling it cannot go on, the
    outcome is unknown, not "not done"."""
    seen: list[str] = []

    def accepted(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(202, headers={"Location": "https://elsewhere.example/jobs/j1"})

    conn = oktaql.connect(
        org_url="https://acme.okta.com",
        token="t0ken-value",
        transport=httpx.MockTransport(accepted),
    )
    with pytest.raises(oktaql.WriteIncomplete) as info:
        conn.cursor().execute(
            "EXEC /*+ AWAIT */ okta.apps.applications.activate_application @appId = '0oa1'"
        )
    err = info.value
    assert [(c.index, c.ids, c.note) for c in err.unknown] == [
        (1, {"appId": "0oa1"}, "accepted (202); not awaited to its end")
    ]
    assert err.done == err.pending == []
    assert "another origin" in str(err.cause)
    assert seen == ["POST https://acme.okta.com/api/v1/apps/0oa1/lifecycle/activate"]


def test_exec_prints_the_report_of_a_refused_insert_on_stderr() -> None:
    with start_in_thread(EmulatorConfig()) as emu:
        taken = emu.org.users[0]["profile"]["login"]
        env = {**os.environ, "OKTA_API_TOKEN": emu.config.token}
        sql = insert_users(["ann@example.com", taken])
        out = subprocess.run(
            [sys.executable, "-c", "from oktaql.cli import main; main()", "exec"]
            + ["--org-url", emu.url, sql],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        (ann,) = [u["id"] for u in emu.org.users if u["profile"]["login"] == "ann@example.com"]
        assert out.returncode == 1 and out.stdout == ""
        assert out.stderr.splitlines()[0] == (
            "error: INSERT okta.users.users stopped by an error: 1 done, 0 unknown, 1 not done, "
            "of 2 request(s)"
        )
        assert out.stderr.splitlines()[2:] == [
            "done:",
            f"  #1 POST {emu.url}/api/v1/users -> id {ann}",
            "not done:",
            f"  #2 POST {emu.url}/api/v1/users (failed)",
        ]


def test_the_report_never_repeats_a_secret_the_server_echoed() -> None:
    """A server that echoes a submitted password in its error: the report (which quotes the
    error) masks it as every error does."""
    calls: list[str] = []

    def echo(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if len(calls) == 1:
            return httpx.Response(200, json={"id": "00u1", "status": "STAGED"})
        body = {"errorCode": "E0000001", "errorSummary": "password S3cret-pw-81 is too weak"}
        return httpx.Response(400, json=body)

    conn = oktaql.connect(
        org_url="https://acme.okta.com", token="t0ken-value", transport=httpx.MockTransport(echo)
    )
    sql = (
        "INSERT INTO okta.users.users (data__profile, data__credentials) VALUES "
        """('{"login": "a@example.com"}', '{"password": {"value": "S3cret-pw-81"}}'), """
        """('{"login": "b@example.com"}', '{"password": {"value": "S3cret-pw-81"}}')"""
    )
    with pytest.raises(oktaql.WriteIncomplete) as info:
        conn.cursor().execute(sql)
    assert calls == ["POST", "POST"]
    assert [c.ids for c in info.value.done] == [{"id": "00u1"}]
    assert "S3cret-pw-81" not in str(info.value)
    assert "error: POST https://acme.okta.com/api/v1/users failed: HTTP 400" in str(info.value)
    # the error it keeps is masked too: a caller printing .cause shows no secret either
    cause = info.value.cause
    assert isinstance(cause, oktaql.APIError)
    assert "S3cret-pw-81" not in str(cause) and "S3cret-pw-81" not in str(cause.error_summary)
