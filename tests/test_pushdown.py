"""Filter pushdown: SQL predicates become Okta filter/search expressions; results are unchanged."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import oktaql

CASES = [
    # (sql, parameter, expression pushed)
    (
        "SELECT id FROM okta.users.users WHERE status = 'ACTIVE' ORDER BY id",
        "search",
        'status eq "ACTIVE"',
    ),
    (
        "SELECT id FROM okta.users.users WHERE profile->>'$.login' LIKE 'a%' ORDER BY id",
        "search",
        'profile.login sw "a" and (status lt "DEPROVISIONED" or status gt "DEPROVISIONED")',
    ),
    (
        "SELECT id FROM okta.users.users WHERE json_extract(profile, '$.lastName') = 'Lovelace' "
        "OR status = 'SUSPENDED' ORDER BY id",
        "search",
        '(profile.lastName eq "Lovelace" or status eq "SUSPENDED") and (status lt "DEPROVISIONED" or status gt "DEPROVISIONED")',
    ),
    (
        "SELECT id FROM okta.users.users WHERE lastUpdated > '2024-01-15' AND status <> 'STAGED' ORDER BY id",
        "search",
        # text `<>` stays local: Okta's `ne` is case-insensitive, a subset of SQL's
        'lastUpdated gt "2024-01-15T00:00:00.000Z" and (status lt "DEPROVISIONED" or status gt "DEPROVISIONED")',
    ),
    (
        "SELECT id FROM okta.groups.groups WHERE profile->>'$.name' LIKE 'E%' ORDER BY id",
        "search",
        'profile.name sw "E"',
    ),
    (
        "SELECT id, label FROM okta.apps.applications WHERE status = 'INACTIVE' ORDER BY id",
        "filter",
        'status eq "INACTIVE"',
    ),
    # `name` is a column of the apps' subtypes (polymorphic columns), and one the spec lists
    (
        "SELECT id, label FROM okta.apps.applications WHERE name = 'oidc_client' ORDER BY id",
        "filter",
        'name eq "oidc_client"',
    ),
    # from the spec's own words: "only the `eq` operator on either the `status` or `type`"
    (
        "SELECT id FROM okta.logstreams.log_streams WHERE type = 'aws_eventbridge' ORDER BY id",
        "filter",
        'type eq "aws_eventbridge"',
    ),
]


@pytest.mark.parametrize("provider", ["built-in", "stackql"])
@pytest.mark.parametrize(("sql", "param", "expression"), CASES)
def test_pushdown_keeps_results_and_sends_the_expression(
    emulator: Any, sql: str, param: str, expression: str, provider: str, request: Any
) -> None:
    """The filter capabilities are facts of Okta's operations: StackQL's provider, which
    carries none, gets the same pushdown as the built-in one."""
    registry = request.getfixturevalue("stackql_registry") if provider == "stackql" else None
    results = []
    sent = []
    for pushdown in (False, True):
        emulator.reset_log()
        cur = oktaql.connect(
            org_url=emulator.url, token=emulator.config.token, pushdown=pushdown, registry=registry
        ).cursor()
        cur.execute(sql)
        results.append(cur.fetchall())
        sent.append([parse_qs(urlsplit(p).query).get(param) for _, p, _ in emulator.request_log])
    assert results[0] == results[1]
    assert results[0], "the case should select something"
    assert sent[0] == [None]
    assert sent[1][0] == [expression]
    cur.execute("EXPLAIN " + sql)
    assert cur.fetchone()[7].endswith(f"filter pushed to the API: {expression}")


def test_apps_filter_only_takes_what_okta_accepts(emulator: Any) -> None:
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute("EXPLAIN SELECT id FROM okta.apps.applications WHERE label = 'Salesforce'")
    assert "filter=" not in cur.fetchone()[4]


def test_a_bound_search_is_left_alone(emulator: Any) -> None:
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    cur.execute(
        "EXPLAIN SELECT id FROM okta.users.users WHERE search = 'status eq \"STAGED\"' AND status = 'ACTIVE'"
    )
    assert parse_qs(urlsplit(cur.fetchone()[4]).query)["search"] == ['status eq "STAGED"']


def test_users_search_takes_no_ne_as_okta(emulator: Any) -> None:
    # Okta's spec: "The ne (not equal) operator isn't supported" in a user search; the
    # emulator refuses it as Okta does, so a planner that sent it would fail here
    cur = oktaql.connect(org_url=emulator.url, token=emulator.config.token).cursor()
    with pytest.raises(oktaql.APIError) as err:
        cur.execute("SELECT id FROM okta.users.users WHERE search = 'status ne \"STAGED\"'")
    assert err.value.status == 400 and err.value.error_code == "E0000031"
    cur.execute(
        "SELECT count(*) FROM okta.users.users "
        'WHERE search = \'(status lt "STAGED" or status gt "STAGED")\''
    )
    assert cur.fetchone()[0] > 0
