"""The seed page (StackQL's okta.apps.tokens reference) end to end, over loopback HTTP.

Every SELECT and DELETE example of the page, with the path parameters it dropped (appId,
tokenId) added, against the emulator's ground truth.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import oktaql
from oktaql.output import iso

COLUMNS = [
    "id",
    "_embedded",
    "_links",
    "clientId",
    "created",
    "expiresAt",
    "issuer",
    "lastUpdated",
    "scopes",
    "status",
    "userId",
]
SELECT_ALL = "SELECT\n" + ",\n".join(COLUMNS) + "\nFROM okta.apps.tokens\n"


def _connect(emu: Any, **kw: Any) -> oktaql.Connection:
    return oktaql.connect(org_url=emu.url, token=emu.config.token, **kw)


def _busiest_app(emu: Any) -> dict[str, Any]:
    return max(emu.org.oidc_apps, key=lambda a: emu.org.token_count(a["id"]))


def _as_api(row: tuple[Any, ...]) -> dict[str, Any]:
    """A result row in the API's JSON shape (timestamps back to Okta's text form)."""
    out = {}
    for name, value in zip(COLUMNS, row, strict=True):
        if name in ("created", "expiresAt", "lastUpdated") and value is not None:
            value = iso(value)
        if value is not None:
            out[name] = value
    return out


def _token_requests(emu: Any, app_id: str) -> list[str]:
    return [
        p
        for m, p, _ in emu.request_log
        if m == "GET" and p.startswith(f"/api/v1/apps/{app_id}/tokens")
    ]


def test_list_follows_every_page(emulator: Any) -> None:
    app = _busiest_app(emulator)
    truth = emulator.org.tokens_for_app(app["id"])
    assert len(truth) > 40  # several pages of 20 (the largest page, 200, would take one)
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    cur.execute(
        SELECT_ALL + "WHERE subdomain = 'ignored-with-org-url' -- required\n"
        "AND appId = {{ app }} AND limit = '20';",
        {"app": app["id"]},
    )
    assert [d[0] for d in cur.description] == COLUMNS
    rows = cur.fetchall()
    assert [_as_api(r) for r in rows] == truth
    pages = _token_requests(emulator, app["id"])
    assert len(pages) == math.ceil(len(truth) / 20)
    assert "after" not in pages[0]
    assert all("after=" in p for p in pages[1:])


def test_limit_parameter_sets_page_size(emulator: Any) -> None:
    app = _busiest_app(emulator)
    truth = emulator.org.token_ids(app["id"])
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}' AND limit = '5'")
    assert [r[0] for r in cur.fetchall()] == truth
    pages = _token_requests(emulator, app["id"])
    assert len(pages) == math.ceil(len(truth) / 5)
    assert all(parse_qs(urlsplit(p).query)["limit"] == ["5"] for p in pages)


def test_sql_limit_stops_paging_early(emulator: Any) -> None:
    app = _busiest_app(emulator)
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}' LIMIT 3")
    assert [r[0] for r in cur.fetchall()] == emulator.org.token_ids(app["id"])[:3]
    assert len(_token_requests(emulator, app["id"])) == 1


def test_local_filters_and_order_run_in_duckdb(emulator: Any) -> None:
    app = _busiest_app(emulator)
    truth = emulator.org.tokens_for_app(app["id"])
    user = truth[0]["userId"]
    want = sorted(t["id"] for t in truth if t["userId"] == user)
    cur = _connect(emulator).cursor()
    cur.execute(
        f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}' AND userId = '{user}' ORDER BY id"
    )
    assert [r[0] for r in cur.fetchall()] == want


def test_expand_scope_embeds_scopes(emulator: Any) -> None:
    app = _busiest_app(emulator)
    truth = emulator.org.tokens_for_app(app["id"], expand_scope=True)
    cur = _connect(emulator).cursor()
    cur.execute(SELECT_ALL + f"WHERE appId = '{app['id']}' AND expand = 'scope' AND limit = '50'")
    rows = [_as_api(r) for r in cur.fetchall()]
    assert rows == truth
    assert {s["name"] for s in rows[0]["_embedded"]["scopes"]} == set(rows[0]["scopes"])


def test_get_one_token(emulator: Any) -> None:
    app = _busiest_app(emulator)
    token = emulator.org.tokens_for_app(app["id"])[7]
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    cur.execute(
        SELECT_ALL + "WHERE appId = {{ a }} AND tokenId = {{ t }}",
        {"a": app["id"], "t": token["id"]},
    )
    assert [_as_api(r) for r in cur.fetchall()] == [token]
    assert _token_requests(emulator, app["id"]) == [
        f"/api/v1/apps/{app['id']}/tokens/{token['id']}"
    ]


def test_template_value_cannot_leave_its_string(emulator: Any) -> None:
    hostile = "x' OR appId = 'y"
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    with pytest.raises(oktaql.APIError) as info:
        cur.execute("SELECT id FROM okta.apps.tokens WHERE appId = '{{ v }}'", {"v": hostile})
    assert info.value.status == 404
    assert info.value.error_code == "E0000007"
    # the whole value travelled as one path segment
    assert [p for _, p, _ in emulator.request_log] == [
        "/api/v1/apps/x%27%20OR%20appId%20%3D%20%27y/tokens?limit=200"
    ]


def test_revoke_one_token(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app = _busiest_app(emu)
    before = emu.org.token_ids(app["id"])
    victim = before[3]
    cur = _connect(emu).cursor()
    cur.execute(
        f"DELETE FROM okta.apps.tokens WHERE subdomain = 'x' --required\n"
        f"AND appId = '{app['id']}' AND tokenId = '{victim}';"
    )
    assert cur.rowcount == 1
    assert cur.description is None
    assert emu.org.token_ids(app["id"]) == [t for t in before if t != victim]
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    assert victim not in [r[0] for r in cur.fetchall()]
    with pytest.raises(oktaql.APIError) as info:
        cur.execute(
            f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}' AND tokenId = '{victim}'"
        )
    assert info.value.status == 404


def test_revoke_all_tokens_of_one_app(fresh_emulator: Any) -> None:
    emu = fresh_emulator
    app, other = sorted(emu.org.oidc_apps, key=lambda a: -emu.org.token_count(a["id"]))[:2]
    other_before = emu.org.token_ids(other["id"])
    emu.reset_log()
    cur = _connect(emu).cursor()
    cur.execute(f"DELETE FROM okta.apps.tokens WHERE appId = '{app['id']}' --required;")
    assert [(m, p) for m, p, _ in emu.request_log] == [
        ("DELETE", f"/api/v1/apps/{app['id']}/tokens")
    ]
    assert emu.org.token_ids(app["id"]) == []
    assert emu.org.token_ids(other["id"]) == other_before
    cur.execute(f"SELECT count(*) FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    assert cur.fetchone() == (0,)


def test_explain_sends_nothing_and_hides_the_token(emulator: Any) -> None:
    app = _busiest_app(emulator)
    emulator.reset_log()
    cur = _connect(emulator).cursor()
    cur.execute(f"EXPLAIN DELETE FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    rows = cur.fetchall()
    assert emulator.request_log == []
    assert rows[0][3:5] == ("DELETE", f"{emulator.url}/api/v1/apps/{app['id']}/tokens")
    assert emulator.config.token not in repr(rows)
    assert '"SSWS ***"' in rows[0][5]


def test_wrong_token_is_a_clear_api_error(emulator: Any) -> None:
    cur = oktaql.connect(org_url=emulator.url, token="wrong").cursor()
    with pytest.raises(oktaql.APIError) as info:
        cur.execute("SELECT id FROM okta.apps.applications")
    err = info.value
    assert err.status == 401 and err.error_code == "E0000011"
    assert str(err).startswith(
        f"GET {emulator.url}/api/v1/apps?limit=200 failed: HTTP 401 E0000011: "
        "Invalid token provided"
    )
    assert "wrong" not in str(err)


def test_builtin_and_stackql_provider_agree(emulator: Any, stackql_registry: Any) -> None:
    app = _busiest_app(emulator)
    sql = SELECT_ALL + f"WHERE appId = '{app['id']}' AND expand = 'scope'"
    results = []
    for registry in (None, stackql_registry):
        cur = _connect(emulator, registry=registry).cursor()
        cur.execute(sql)
        results.append(([d[:2] for d in cur.description], cur.fetchall()))
    assert results[0] == results[1]


def test_dbapi_fetch_methods(emulator: Any) -> None:
    app = _busiest_app(emulator)
    ids = emulator.org.token_ids(app["id"])
    conn = _connect(emulator)
    cur = conn.cursor()
    with pytest.raises(oktaql.InterfaceError):
        cur.fetchone()
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    assert cur.fetchone() == (ids[0],)
    assert cur.fetchmany(2) == [(ids[1],), (ids[2],)]
    assert cur.fetchall() == [(i,) for i in ids[3:]]
    assert cur.fetchone() is None
    conn.close()
    with pytest.raises(oktaql.InterfaceError):
        cur.execute("SELECT 1")


def test_fetch_df_and_fetch_arrow(emulator: Any) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    app = _busiest_app(emulator)
    ids = emulator.org.token_ids(app["id"])
    cur = _connect(emulator).cursor()
    cur.execute(f"SELECT id, created FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    df = cur.fetch_df()
    assert list(df.columns) == ["id", "created"]
    assert list(df["id"]) == ids
    assert str(df["created"].dtype).startswith("datetime64")
    cur.execute(f"SELECT id FROM okta.apps.tokens WHERE appId = '{app['id']}'")
    table = cur.fetch_arrow()
    assert table.column("id").to_pylist() == ids
