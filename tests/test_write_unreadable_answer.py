"""A write whose last call acted but whose answer cannot be read reports that call as done
(found by test_fuzz: the ledger looked for a call after the last one, IndexError)."""

from __future__ import annotations

import httpx
import pytest

import oktaql
from oktaql.errors import WriteIncomplete

INSERT = (
    "INSERT INTO okta.apps.applications (data__label, data__signOnMode) "
    "SELECT 'x', 'BOOKMARK' RETURNING id, label"
)


@pytest.mark.parametrize("body", [b"[" * 5000, b"{not json"])
def test_the_last_call_answered_unreadably_is_done(body: bytes) -> None:
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.method)
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    conn = oktaql.connect(
        org_url="https://acme.okta.com", token="x", transport=httpx.MockTransport(answer)
    )
    with pytest.raises(WriteIncomplete) as err:
        conn.cursor().execute(INSERT)
    assert sent == ["POST"]
    assert [c.index for c in err.value.done] == [1]
    assert err.value.pending == [] and err.value.unknown == []
    assert "not valid JSON" in str(err.value)
