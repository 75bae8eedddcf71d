"""/*+ AWAIT */ and /*+ SHOWRESULTS */ hints, against a scripted transport."""

from __future__ import annotations

import httpx

import oktaql


def test_await_polls_an_accepted_operation_until_done() -> None:
    seen: list[str] = []
    polls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.method == "POST":
            return httpx.Response(
                202,
                headers={"Location": "/api/v1/jobs/j1"},
                json={"id": "j1", "status": "IN_PROGRESS"},
            )
        polls["n"] += 1
        status = "IN_PROGRESS" if polls["n"] < 3 else "COMPLETED"
        return httpx.Response(
            200 if status == "COMPLETED" else 202, json={"id": "j1", "status": status}
        )

    conn = oktaql.connect(
        org_url="http://127.0.0.1:9", token="t", transport=httpx.MockTransport(handler)
    )
    cur = conn.cursor()
    cur.execute("EXEC /*+ AWAIT */ okta.apps.applications.activate_application @appId = '0oa1'")
    assert seen == ["POST /api/v1/apps/0oa1/lifecycle/activate"] + ["GET /api/v1/jobs/j1"] * 3
    seen.clear()
    cur.execute("EXEC okta.apps.applications.activate_application @appId = '0oa1'")
    assert seen == ["POST /api/v1/apps/0oa1/lifecycle/activate"]


def test_showresults_returns_the_exec_response() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": "ok", "n": 2})

    cur = oktaql.connect(
        org_url="http://127.0.0.1:9", token="t", transport=httpx.MockTransport(handler)
    ).cursor()
    cur.execute("EXEC okta.apps.applications.deactivate_application @appId = '0oa1'")
    assert cur.description is None
    cur.execute(
        "EXEC /*+ SHOWRESULTS */ okta.apps.applications.deactivate_application @appId = '0oa1'"
    )
    cols = [d[0] for d in cur.description]
    assert dict(zip(cols, cur.fetchone(), strict=True)) == {"result": "ok", "n": 2}
