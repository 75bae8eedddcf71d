"""The System Log cursor, --since and what a sync reads (no network)."""

from __future__ import annotations

import datetime as dt
import sys

import pytest

from oktaql.errors import ConfigError
from oktaql.sync._cursor import LogCursor, latest, okta_instant, parse_since
from oktaql.sync._destinations import open_destination
from oktaql.sync._plan import DEFAULT_RESOURCES, parents_needed, plan_reads, read_for

T0 = dt.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(seconds=1)


def test_cursor_keeps_the_ids_of_its_last_instant_and_skips_them_next_time() -> None:
    c = LogCursor().advanced([("a", T0), ("b", T1), ("c", T1)])
    assert c == LogCursor("2024-01-01T00:00:01.123Z", frozenset({"b", "c"}))
    # the next read asks since that instant (inclusive): b and c come again, d is new
    page = [("b", T1), ("c", T1), ("d", T1)]
    assert c.fresh(page) == [2]
    c2 = c.advanced([page[2]])
    assert c2.ids == {"b", "c", "d"} and c2.published == c.published
    assert LogCursor.parse(c2.text()) == c2
    assert LogCursor.parse(None) == LogCursor()


def test_a_cursor_that_does_not_parse_says_how_to_reset_it() -> None:
    with pytest.raises(ConfigError, match="_oktaql_sync_state"):
        LogCursor.parse("{not json")


def test_since_takes_an_instant_or_a_span() -> None:
    now = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_since("90d", now) == "2026-09-02T12:00:00.000Z"
    assert parse_since("12h", now) == "2026-12-01T00:00:00.000Z"
    assert parse_since("2024-01-01", now) == "2024-01-01T00:00:00.000Z"
    assert parse_since("2024-01-01T05:00:00+02:00", now) == "2024-01-01T03:00:00.000Z"
    assert parse_since(None) is None
    with pytest.raises(ConfigError, match="--since 'soon'"):
        parse_since("soon")


def test_latest_last_updated() -> None:
    assert latest([T0, None, T1], None) == okta_instant(T1)
    assert latest([T0], "2030-01-01T00:00:00.000Z") == "2030-01-01T00:00:00.000Z"


def test_what_each_resource_reads() -> None:
    from oktaql.catalog import Catalog
    from oktaql.provider import open_registry
    from oktaql.registry_pull import pulled_registry

    catalog = Catalog(open_registry(pulled_registry()))
    reads = {r.resource: r for r in plan_reads(catalog, [], False)}
    assert set(reads) == set(DEFAULT_RESOURCES)
    assert reads["okta.logs.system_log_events"].sql(None) == (
        "SELECT * FROM okta.logs.system_log_events"
    )
    log = reads["okta.logs.system_log_events"]
    assert log.sql("2024-01-01T00:00:00.000Z", page_size=50, until="2024-02-01T00:00:00.000Z") == (
        "SELECT * FROM okta.logs.system_log_events WHERE since = '2024-01-01T00:00:00.000Z' "
        "AND until = '2024-02-01T00:00:00.000Z' AND limit = '50'"
    )
    # a window back from the cursor: Okta's search index lags
    assert reads["okta.users.users"].sql("2024-01-01T00:00:00.000Z") == (
        "SELECT * FROM okta.users.users WHERE search = 'lastUpdated ge \"2023-12-31T23:55:00.000Z\"'"
    )
    assert reads["okta.apps.tokens"].sql(None) == (
        "SELECT * FROM okta.apps.tokens WHERE appId IN (SELECT id FROM okta.apps.applications)"
    )
    # from the apps this run has read already, when it has
    assert reads["okta.apps.tokens"].sql(
        None, parent_tables={"okta.apps.applications": "_apps"}
    ) == ("SELECT * FROM okta.apps.tokens WHERE appId IN (SELECT id FROM _apps)")
    assert parents_needed(list(reads.values())) == {"okta.apps.applications": {"id"}}
    assert [r.resource for r in plan_reads(catalog, [], False)][0] == "okta.logs.system_log_events"
    assert reads["okta.apps.applications"].kind == "snapshot"
    # table names work as well as resource names; parents come first
    assert read_for(catalog, "okta_apps_tokens").resource == "okta.apps.tokens"
    order = [
        r.resource for r in plan_reads(catalog, ["okta.apps.tokens", "okta.users.users"], False)
    ]
    assert order == ["okta.users.users", "okta.apps.tokens"]
    with pytest.raises(ConfigError, match="needs userId"):
        read_for(catalog, "okta.users.factors")


def test_postgres_without_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError, match=r"pip install 'oktaql\[postgres\]'"):
        open_destination("postgresql://u@127.0.0.1/db")


def test_a_column_named_like_a_sync_column_is_left_out_and_the_others_keep_their_values() -> None:
    from oktaql.sync._table import TableSpec

    spec = TableSpec.of(
        "t", [("id", "VARCHAR"), ("_org", "VARCHAR"), ("ID", "VARCHAR"), ("doc", "JSON")]
    )
    assert spec.names == ["id", "doc"] and spec.key == "id"
    row = ("x1", "theirs", "X1", {"a": [1]})
    assert spec.row_values(row) == ["x1", '{"a":[1]}']
    assert spec.column_values([row]) == [["x1"], ['{"a":[1]}']]
    assert spec.index("doc") == 3
