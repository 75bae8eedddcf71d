"""Every statement kind of StackQL's dialect, against the emulator where it has the endpoint."""

from __future__ import annotations

from typing import Any

import pytest

import oktaql


def _cur(emu: Any, **kw: Any) -> Any:
    return oktaql.connect(org_url=emu.url, token=emu.config.token, **kw).cursor()


def _rows(cur: Any) -> list[dict[str, Any]]:
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_insert_replace_lifecycle_delete_an_app(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    cur = _cur(emu)
    cur.execute(
        """
        INSERT INTO okta.apps.applications (data__label, data__signOnMode, data__settings, activate)
        SELECT 'Payroll', 'BOOKMARK', '{"app": {"url": "https://payroll.example.com", "requestIntegration": false}}', false
        RETURNING id, label, status, signOnMode;
        """
    )
    (created,) = _rows(cur)
    assert (
        created["label"] == "Payroll"
        and created["status"] == "INACTIVE"
        and created["signOnMode"] == "BOOKMARK"
    )
    app_id = created["id"]
    assert emu.org.app(app_id)["settings"]["app"]["url"] == "https://payroll.example.com"

    cur.execute(
        "REPLACE okta.apps.applications SET data__label = 'Payroll v2', data__signOnMode = 'BOOKMARK', "
        'data__settings = \'{"app": {"url": "https://payroll2.example.com"}}\' '
        f"WHERE appId = '{app_id}' RETURNING label"
    )
    assert cur.fetchall() == [("Payroll v2",)]
    assert emu.org.app(app_id)["label"] == "Payroll v2"

    cur.execute(f"EXEC okta.apps.applications.activate_application @appId = '{app_id}'")
    assert emu.org.app(app_id)["status"] == "ACTIVE"
    with pytest.raises(oktaql.APIError) as info:
        cur.execute(f"DELETE FROM okta.apps.applications WHERE appId = '{app_id}'")
    assert info.value.status == 403 and info.value.error_code == "E0000056"
    cur.execute(
        f"EXEC okta.apps.applications.deactivate_application @appId = '{app_id}' --required"
    )
    cur.execute(f"DELETE FROM okta.apps.applications WHERE appId = '{app_id}'")
    assert cur.rowcount == 1
    assert app_id not in [a["id"] for a in emu.org.apps]


def test_insert_validation_error_names_the_field(fresh_emulator: Any) -> None:
    cur = _cur(fresh_emulator)
    with pytest.raises(oktaql.APIError) as info:
        cur.execute("INSERT INTO okta.apps.applications (data__signOnMode) SELECT 'BOOKMARK'")
    assert info.value.status == 400 and info.value.error_code == "E0000001"
    assert "label" in str(info.value)


def test_show_statements(emulator: Any, stackql_registry: Any) -> None:
    cur = oktaql.connect(registry=stackql_registry).cursor()
    cur.execute("SHOW PROVIDERS")
    folder = str(stackql_registry / "src" / "okta" / "v00.00.00000")
    assert cur.fetchall() == [("okta", "v00.00.00000", "--registry", folder)]
    cur.execute("SHOW SERVICES IN okta")
    services = cur.fetchall()
    assert len(services) == 55 and ("okta.apps", "apps", "apps API") in services
    cur.execute("SHOW RESOURCES IN okta.apps LIKE '%tok%'")
    assert cur.fetchall() == [("tokens", "okta.apps.tokens")]
    cur.execute("SHOW METHODS IN okta.apps.tokens")
    assert cur.fetchall() == [
        (
            "list_oauth2_tokens_for_application",
            "subdomain, appId",
            "expand, after, limit",
            "SELECT",
        ),
        ("revoke_oauth2_tokens_for_application", "subdomain, appId", "", "DELETE"),
        ("get_oauth2_token_for_application", "subdomain, appId, tokenId", "expand", "SELECT"),
        ("revoke_oauth2_token_for_application", "subdomain, appId, tokenId", "", "DELETE"),
    ]
    cur.execute("SHOW EXTENDED METHODS IN okta.apps.tokens LIKE 'get%'")
    (row,) = cur.fetchall()
    assert row[4:6] == ("GET", "/api/v1/apps/{appId}/tokens/{tokenId}")


def test_describe(stackql_registry: Any) -> None:
    for registry in (None, stackql_registry):
        cur = oktaql.connect(registry=registry).cursor()
        cur.execute("DESCRIBE okta.apps.tokens")
        assert cur.fetchall() == [
            ("id", "string"),
            ("_embedded", "object"),
            ("_links", "object"),
            ("clientId", "string"),
            ("created", "string (date-time)"),
            ("expiresAt", "string (date-time)"),
            ("issuer", "string"),
            ("lastUpdated", "string (date-time)"),
            ("scopes", "array"),
            ("status", "string"),
            ("userId", "string"),
        ]
        cur.execute("DESCRIBE EXTENDED okta.apps.tokens")
        assert all(len(r) == 3 and r[2] for r in cur.fetchall())
        cur.execute("DESCRIBE METHOD okta.apps.tokens.get_oauth2_token_for_application")
        params = {r[0]: r[1:5] for r in cur.fetchall() if r[1] == "parameter"}
        assert params["appId"] == ("parameter", "string", True, "path")
        assert params["tokenId"] == ("parameter", "string", True, "path")
        assert params["expand"] == ("parameter", "string", False, "query")


def test_typed_columns_in_duckdb(emulator: Any) -> None:
    app = max(emulator.org.oidc_apps, key=lambda a: emulator.org.token_count(a["id"]))
    cur = _cur(emulator)
    cur.execute(
        f"SELECT id, created, scopes, _links FROM okta.apps.tokens WHERE appId = '{app['id']}' LIMIT 1"
    )
    assert [d[1] for d in cur.description] == [
        "VARCHAR",
        "TIMESTAMP WITH TIME ZONE",
        "JSON",
        "JSON",
    ]
    cur.execute(
        f"SELECT count(*) FROM okta.apps.tokens WHERE appId = '{app['id']}' "
        "AND created < TIMESTAMP '2100-01-01' AND json_array_length(scopes) > 0"
    )
    assert cur.fetchone() == (emulator.org.token_count(app["id"]),)


def test_header_parameters_are_sent_as_headers(fresh_emulator: Any, stackql_registry: Any) -> None:
    emu = fresh_emulator
    cur = _cur(emu, registry=stackql_registry)
    emu.reset_log()
    cur.execute(
        "INSERT INTO okta.apps.applications (data__label, data__signOnMode, OktaAccessGateway-Agent) "
        "SELECT 'Gate', 'BOOKMARK', 'agent-7' RETURNING label"
    )
    assert cur.fetchall() == [("Gate",)]
    ((method, path, headers),) = emu.request_log
    assert (method, path) == ("POST", "/api/v1/apps")
    assert headers["oktaaccessgateway-agent"] == "agent-7"
