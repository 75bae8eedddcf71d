"""OAuth 2.0 service apps through oktaql.connect(oauth=...) and the Okta SDKs' variables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import oktaql

pytest.importorskip("joserfc")


@pytest.fixture
def org() -> Iterator[tuple[Any, str, str]]:
    from oktaql.emulator import EmulatorConfig, start_in_thread
    from oktaql.emulator._oauth import generate_client

    client_id, private_pem, public_jwk = generate_client()
    config = EmulatorConfig(
        token="unused",
        oauth_clients={client_id: public_jwk},
        oauth_scopes={client_id: ["okta.apps.read"]},
    )
    with start_in_thread(config) as emu:
        yield emu, client_id, private_pem


def test_service_app_reads_with_read_scope(org: tuple[Any, str, str]) -> None:
    emu, client_id, key = org
    conn = oktaql.connect(org_url=emu.url, oauth={"client_id": client_id, "private_key": key})
    cur = conn.cursor()
    cur.execute(
        "SELECT count(*) FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    )
    assert cur.fetchone() == (sum(emu.org.token_count(a["id"]) for a in emu.org.apps),)
    token_requests = [p for m, p, _ in emu.request_log if p.startswith("/oauth2/v1/token")]
    assert len(token_requests) == 1  # one token for the whole fan-out
    auths = {
        h.get("authorization", "").split(" ")[0]
        for _, p, h in emu.request_log
        if p.startswith("/api/")
    }
    assert auths == {"Bearer"}
    cur.execute("EXPLAIN SELECT id FROM okta.apps.applications")
    assert '"Bearer ***"' in cur.fetchone()[5]
    assert key not in repr(conn.session.__dict__)


def test_write_without_manage_scope_names_it(org: tuple[Any, str, str]) -> None:
    emu, client_id, key = org
    app = emu.org.oidc_apps[0]["id"]
    cur = oktaql.connect(
        org_url=emu.url, oauth={"client_id": client_id, "private_key": key}
    ).cursor()
    with pytest.raises(oktaql.APIError) as info:
        cur.execute(f"DELETE FROM okta.apps.tokens WHERE appId = '{app}'")
    assert "okta.apps.manage" in str(info.value)
    assert emu.org.token_count(app) > 0


def test_okta_sdk_environment_variables(
    org: tuple[Any, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    emu, client_id, key = org
    key_file = tmp_path / "key.pem"
    key_file.write_text(key)
    monkeypatch.setenv("OKTA_CLIENT_AUTHORIZATIONMODE", "PrivateKey")
    monkeypatch.setenv("OKTA_CLIENT_CLIENTID", client_id)
    monkeypatch.setenv("OKTA_CLIENT_PRIVATEKEY", str(key_file))
    monkeypatch.setenv("OKTA_CLIENT_ORGURL", emu.url)
    cur = oktaql.connect().cursor()
    cur.execute("SELECT count(*) FROM okta.apps.applications")
    assert cur.fetchone() == (len(emu.org.apps),)


def test_every_api_family_needs_its_own_scope(org: tuple[Any, str, str]) -> None:
    emu, client_id, key = org  # granted okta.apps.read only
    cur = oktaql.connect(
        org_url=emu.url, oauth={"client_id": client_id, "private_key": key}
    ).cursor()
    for sql, scope in [
        ("SELECT uuid FROM okta.logs.system_log_events", "okta.logs.read"),
        ("SELECT id FROM okta.zones.network_zones", "okta.networkZones.read"),
        ("SELECT id FROM okta.trustedorigins.trusted_origins", "okta.trustedOrigins.read"),
    ]:
        with pytest.raises(oktaql.APIError) as info:
            cur.execute(sql)
        # asked for up front, the scope is refused at the token endpoint (400 invalid_scope);
        # either way the message names it
        assert info.value.status in (400, 403) and scope in str(info.value), sql
