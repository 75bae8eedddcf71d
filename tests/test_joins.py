"""Relational power: dependent joins, IN fan-out, the rest of SQL in DuckDB, two orgs at once."""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import oktaql


def _cur(emu: Any, **kw: Any) -> Any:
    return oktaql.connect(org_url=emu.url, token=emu.config.token, **kw).cursor()


def _all_tokens(emu: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(a["id"], t) for a in emu.org.apps for t in emu.org.tokens_for_app(a["id"])]


def test_join_applications_to_tokens(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "SELECT a.label, t.id, t.userId FROM okta.apps.applications a "
        "JOIN okta.apps.tokens t ON t.appId = a.id ORDER BY t.id"
    )
    labels = {a["id"]: a["label"] for a in emulator.org.apps}
    want = sorted(
        ((labels[app], t["id"], t["userId"]) for app, t in _all_tokens(emulator)),
        key=lambda r: r[1],
    )
    assert cur.fetchall() == want


def test_join_requests_once_per_distinct_app(emulator: Any) -> None:
    emulator.reset_log()
    cur = _cur(emulator)
    cur.execute(
        "SELECT count(*) FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id "
        "WHERE a.signOnMode = 'OPENID_CONNECT'"
    )
    assert cur.fetchone() == (
        sum(emulator.org.token_count(a["id"]) for a in emulator.org.oidc_apps),
    )
    first_pages = [p for m, p, _ in emulator.request_log if p.endswith("/tokens?limit=200")]
    # the local filter on the providing side also narrows the fan-out
    assert sorted(first_pages) == sorted(
        f"/api/v1/apps/{a['id']}/tokens?limit=200" for a in emulator.org.oidc_apps
    )


def test_left_join_keeps_apps_without_tokens(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "SELECT a.id, count(t.id) AS n FROM okta.apps.applications a "
        "LEFT JOIN okta.apps.tokens t ON t.appId = a.id "
        "WHERE a.signOnMode = 'OPENID_CONNECT' GROUP BY a.id ORDER BY a.id"
    )
    assert cur.fetchall() == sorted(
        (a["id"], emulator.org.token_count(a["id"])) for a in emulator.org.oidc_apps
    )


def test_in_list_fans_out(emulator: Any) -> None:
    apps = [a["id"] for a in emulator.org.oidc_apps[:3]]
    cur = _cur(emulator)
    cur.execute(
        f"SELECT appId, id FROM okta.apps.tokens WHERE appId IN ('{apps[0]}', '{apps[1]}', '{apps[2]}') ORDER BY appId, id"
    )
    want = sorted((a, t) for a in apps for t in emulator.org.token_ids(a))
    assert cur.fetchall() == want


def test_in_subquery_fans_out(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "SELECT id FROM okta.apps.tokens WHERE appId IN "
        "(SELECT id FROM okta.apps.applications WHERE label LIKE 'M%') ORDER BY id"
    )
    want = sorted(
        t
        for a in emulator.org.apps
        if a["label"].startswith("M")
        for t in emulator.org.token_ids(a["id"])
    )
    assert want and cur.fetchall() == [(t,) for t in want]


def test_scalar_subquery_feeds_a_parameter(emulator: Any) -> None:
    portal = next(a for a in emulator.org.apps if a["label"] == "Customer Portal")
    emulator.reset_log()
    cur = _cur(emulator)
    cur.execute(
        "SELECT id FROM okta.apps.tokens WHERE appId = "
        "(SELECT id FROM okta.apps.applications WHERE label = 'Customer Portal') ORDER BY id"
    )
    want = sorted(emulator.org.token_ids(portal["id"]))
    assert want and cur.fetchall() == [(t,) for t in want]
    token_calls = {t.partition("?")[0] for _, t, _ in emulator.request_log if "/tokens" in t}
    assert token_calls == {f"/api/v1/apps/{portal['id']}/tokens"}


def test_scalar_subquery_of_many_values_fails_before_any_call(emulator: Any) -> None:
    emulator.reset_log()
    cur = _cur(emulator)
    n = len(emulator.org.oidc_apps)
    assert n > 1
    with pytest.raises(oktaql.ProgrammingError) as info:
        cur.execute(
            "SELECT id FROM okta.apps.tokens WHERE appId = "
            "(SELECT id FROM okta.apps.applications WHERE signOnMode = 'OPENID_CONNECT')"
        )
    assert str(info.value) == (
        "okta.apps.tokens: appId = (SELECT id FROM okta.apps.applications "
        "WHERE signOnMode = 'OPENID_CONNECT') "
        f"gives {n} values; a scalar subquery must give one: write appId IN (SELECT ...) "
        "to read them all"
    )
    assert not [t for _, t, _ in emulator.request_log if "/tokens" in t]


def test_three_way_join_tokens_to_users(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "SELECT t.id, u.profile->>'$.login' AS login FROM okta.apps.applications a "
        "JOIN okta.apps.tokens t ON t.appId = a.id "
        "JOIN okta.users.users u ON u.id = t.userId ORDER BY t.id"
    )
    logins = {u["id"]: u["profile"]["login"] for u in emulator.org.users}
    want = sorted(
        ((t["id"], logins[t["userId"]]) for _, t in _all_tokens(emulator)), key=lambda r: r[0]
    )
    assert cur.fetchall() == want


def test_cte_group_by_and_window(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "WITH t AS (SELECT a.label, tok.userId FROM okta.apps.applications a "
        "JOIN okta.apps.tokens tok ON tok.appId = a.id) "
        "SELECT label, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r "
        "FROM t GROUP BY label ORDER BY n DESC, label"
    )
    labels = {a["id"]: a["label"] for a in emulator.org.apps}
    counts = Counter(labels[app] for app, _ in _all_tokens(emulator))
    rows = cur.fetchall()
    assert [(lbl, n) for lbl, n, _ in rows] == sorted(
        counts.items(), key=lambda kv: (-kv[1], kv[0])
    )
    assert rows[0][2] == 1


def test_json_functions_sqlite_and_duckdb_style(emulator: Any) -> None:
    user = emulator.org.users[0]
    cur = _cur(emulator)
    cur.execute(
        "SELECT json_extract(profile, '$.login'), profile->>'$.email', "
        "json_extract_string(profile, '$.firstName') FROM okta.users.users WHERE id = {{ u }}",
        {"u": user["id"]},
    )
    p = user["profile"]
    assert cur.fetchall() == [(p["login"], p["email"], p["firstName"])]


def test_union_all_of_two_orgs() -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    with (
        start_in_thread(EmulatorConfig(token="east-t", seed=1)) as east,
        start_in_thread(EmulatorConfig(token="west-t", seed=2)) as west,
    ):
        conn = oktaql.connect(orgs={"east": (east.url, "east-t"), "west": (west.url, "west-t")})
        cur = conn.cursor()
        cur.execute(
            "SELECT 'east' AS org, label FROM okta.apps.applications WHERE subdomain = 'east' "
            "UNION ALL "
            "SELECT 'west' AS org, label FROM okta.apps.applications WHERE subdomain = 'west' "
            "ORDER BY org, label"
        )
        want = sorted(
            [("east", a["label"]) for a in east.org.apps]
            + [("west", a["label"]) for a in west.org.apps]
        )
        assert cur.fetchall() == want
        # each org saw only its own token
        assert {h.get("authorization") for _, _, h in east.request_log} == {"SSWS east-t"}
        assert {h.get("authorization") for _, _, h in west.request_log} == {"SSWS west-t"}


def test_results_never_depend_on_timing() -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    sql = "SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    with start_in_thread(EmulatorConfig(token="t", apps=6, tokens_per_app=3, latency_ms=20)) as emu:
        runs = []
        for concurrency in (1, 6):
            cur = oktaql.connect(org_url=emu.url, token="t", concurrency=concurrency).cursor()
            cur.execute(sql)
            runs.append(cur.fetchall())
        assert runs[0] == runs[1]
        assert len(runs[0]) == 18


def test_explain_shows_dependent_steps(emulator: Any) -> None:
    cur = _cur(emulator)
    cur.execute(
        "EXPLAIN SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
    )
    rows = cur.fetchall()
    assert rows[0][2:5] == ("list_applications", "GET", f"{emulator.url}/api/v1/apps?limit=200")
    assert rows[1][2:5] == (
        "list_oauth2_tokens_for_application",
        "GET",
        f"{emulator.url}/api/v1/apps/{{appId}}/tokens?limit=200",
    )
    assert rows[1][7].startswith("once per distinct value of appId from a.id")
    assert rows[2][2] == "local"


def test_mutual_dependency_is_an_error(emulator: Any) -> None:
    cur = _cur(emulator)
    with pytest.raises(oktaql.PlanError, match="depend on each other in a cycle"):
        cur.execute(
            "SELECT 1 FROM okta.apps.tokens t JOIN okta.apps.tokens u ON t.appId = u.id AND u.appId = t.id"
        )


def test_parameters_fed_by_one_row_take_the_combinations_that_occur(emulator: Any) -> None:
    a, b = sorted(emulator.org.oidc_apps, key=lambda x: emulator.org.token_count(x["id"]))[-2:]
    emulator.reset_log()
    cur = _cur(emulator)
    cur.execute(
        "SELECT g.id, g.userId FROM okta.apps.tokens t "
        "JOIN okta.apps.tokens g ON g.appId = t.appId AND g.tokenId = t.id "
        f"WHERE t.appId IN ('{a['id']}', '{b['id']}') ORDER BY g.id"
    )
    want = sorted(
        (tok["id"], tok["userId"])
        for app in (a, b)
        for tok in emulator.org.tokens_for_app(app["id"])
    )
    assert cur.fetchall() == want
    gets = [p for m, p, _ in emulator.request_log if m == "GET" and "/tokens/" in p]
    assert len(gets) == len(want)  # one per (appId, tokenId) that occurs, not the product


def _memberships(emu: Any) -> list[tuple[str, str]]:
    listed = [u for u in emu.org.user_docs() if u["status"] != "DEPROVISIONED"]
    return sorted((u["id"], g["id"]) for u in listed for g in emu.org.groups_of_user(u["id"]))


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT u.id, g.id FROM okta.users.users u JOIN okta.users.user_groups g ON g.id = u.id",
        "SELECT g.param__id, g.id FROM okta.users.user_groups g "
        "WHERE g.id IN (SELECT id FROM okta.users.users)",
    ],
)
def test_a_parameter_named_like_a_column_binds_and_is_not_refiltered(
    emulator: Any, sql: str
) -> None:
    # user_groups takes the user as path parameter `id`; its rows are groups with their own
    # `id`: in ON/WHERE the name means the parameter (StackQL's rule), the select list's g.id
    # is the group's, and the user each row was read for is recorded as param__id
    want = _memberships(emulator)
    assert len(want) > 10
    cur = _cur(emulator)
    cur.execute(sql + " ORDER BY 1, 2")
    assert cur.fetchall() == want


def test_a_literal_parameter_named_like_a_column_binds_only(emulator: Any) -> None:
    user = next(
        u for u in emulator.org.user_docs() if len(emulator.org.groups_of_user(u["id"])) > 1
    )
    cur = _cur(emulator)
    cur.execute(f"SELECT id FROM okta.users.user_groups WHERE id = '{user['id']}' ORDER BY id")
    assert cur.fetchall() == sorted((g["id"],) for g in emulator.org.groups_of_user(user["id"]))


def test_an_instant_from_a_column_is_sent_in_oktas_form(emulator: Any) -> None:
    # published is TIMESTAMPTZ: the value read back is a datetime, and goes out as Okta
    # writes instants, not as Python prints them ('2024-01-01 00:30:00+00:00')
    first = min(e["published"] for e in emulator.org.log_events_between())
    emulator.reset_log()
    cur = _cur(emulator)
    cur.execute(
        "SELECT count(*) FROM okta.logs.system_log_events "
        "WHERE since = (SELECT min(published) FROM okta.logs.system_log_events)"
    )
    cur.fetchall()
    sent = {
        q["since"][0]
        for _, p, _ in emulator.request_log
        if (q := parse_qs(urlsplit(p).query)).get("since")
    }
    assert sent == {first}
