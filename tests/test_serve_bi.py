"""oktaql serve and the catalog queries BI tools send, verbatim, through psycopg.

Grafana's PostgreSQL data source (its table list and a table's columns, with the search_path
subquery), Metabase's sync (describe-database: its tables), DBeaver's navigator (schemas, a
schema's tables, a table's columns): each must list okta's services, resources and columns.
The texts are those the tools send (Grafana's pkg/tsdb and postgresMetaQuery.ts, Metabase's
sync as v0.55.1 sends it, captured, DBeaver's PostgreSchema/PostgreTableColumn).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from oktaql._settings import Settings
from oktaql.emulator import EmulatorConfig
from oktaql.emulator import start_in_thread as start_emulator
from oktaql.serve import RunningServer, ServeConfig, start_in_thread

TOKEN = "test-token"

# Grafana: which schemas the search_path names
_SEARCH_PATH = """
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )"""

GRAFANA_TABLES = f"""SELECT
    CASE WHEN {_SEARCH_PATH}
      THEN quote_ident(table_name)
      ELSE quote_ident(table_schema) || '.' || quote_ident(table_name)
    END AS "table"
    FROM information_schema.tables
    WHERE quote_ident(table_schema) NOT IN ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
    ORDER BY CASE WHEN {_SEARCH_PATH} THEN 0 ELSE 1 END, 1"""


def grafana_columns(table: str) -> str:
    t = "'" + table.replace("'", "''") + "'"
    return f"""
		SELECT quote_ident(column_name) AS "column", data_type AS "type"
			FROM information_schema.columns
			WHERE
			CASE WHEN array_length(parse_ident({t}), 1) = 2
				THEN quote_ident(table_schema) = (parse_ident({t}))[1]
				AND quote_ident(table_name) = (parse_ident({t}))[2]
				ELSE quote_ident(table_name) = (parse_ident({t}))[1]
				AND {_SEARCH_PATH}
			END
		"""


GRAFANA_VERSION = "SELECT current_setting('server_version_num')::int/100 as version"

# Metabase's sync as v0.55.1 sends it (a captured session): schemas, privileges, tables
METABASE_SCHEMAS = (
    'SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM '
    "pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR "
    "nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR "
    "nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  "
    'ORDER BY "TABLE_SCHEM"'
)
_OBJECT = (
    "'\"' || replace(t.schemaname, '\"', '\"\"') || '\"' || '.' || '\"' || "
    "replace(t.objectname, '\"', '\"\"') || '\"'"
)
METABASE_PRIVILEGES = f"""with table_privileges as (
         select
           NULL as role,
           t.schemaname as schema,
           t.objectname as table,
           pg_catalog.has_any_column_privilege(current_user, {_OBJECT},  'update') as update,
           pg_catalog.has_any_column_privilege(current_user, {_OBJECT},  'select') as select,
           pg_catalog.has_any_column_privilege(current_user, {_OBJECT},  'insert') as insert,
           pg_catalog.has_table_privilege(     current_user, {_OBJECT},  'delete') as delete
         from (
           select schemaname, tablename as objectname from pg_catalog.pg_tables
           union
           select schemaname, viewname as objectname from pg_catalog.pg_views
           union
           select schemaname, matviewname as objectname from pg_catalog.pg_matviews
         ) t
         where t.schemaname !~ '^pg_'
           and t.schemaname <> 'information_schema'
           and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
        )
        select t.*
        from table_privileges t"""
METABASE_TABLES = (
    'SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN \'r\' '
    "THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN "
    "'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS \"type\", "
    '"d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM '
    '"pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON '
    '"c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON '
    '("c"."oid" = "d"."objoid") AND ("d"."objsubid" = \'0\') AND ("d"."classoid" = '
    '\'pg_class\'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON '
    '("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE '
    '("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ \'^pg_\') AND ("n"."nspname" <> '
    "'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND (\"n\".\"nspname\" "
    'IN (\'apps\', \'groups\')) ORDER BY "type" ASC, "schema" ASC, "name" ASC'
)
METABASE_SESSION = [
    "SET extra_float_digits = 2",
    "SET application_name = 'Metabase v0.55.1 [f8f63fdf-d8f8-4573-86ea-4fe4a9548041]'",
    "SHOW TRANSACTION ISOLATION LEVEL",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
    "show timezone",
]

METABASE_ENUMS = (
    "SELECT nspname, typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE t.oid IN (SELECT DISTINCT enumtypid FROM pg_enum e)"
)

DBEAVER_SCHEMAS = (
    "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 "
    "AND d.classoid='pg_namespace'::regclass\n ORDER BY nspname"
)

DBEAVER_TABLES = (
    "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as "
    "partition_expr,  pg_catalog.pg_get_partkeydef(c.oid) as partition_key \n"
    "FROM pg_catalog.pg_class c\n"
    "LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 "
    "AND d.classoid='pg_class'::regclass\n"
    "WHERE c.relnamespace=%s AND c.relkind not in ('i','I','c')"
)

DBEAVER_COLUMNS = (
    "SELECT c.relname,a.*,pg_catalog.pg_get_expr(ad.adbin, ad.adrelid, true) as def_value,"
    "dsc.description,dep.objid\nFROM pg_catalog.pg_attribute a\n"
    "INNER JOIN pg_catalog.pg_class c ON (a.attrelid=c.oid)\n"
    "LEFT OUTER JOIN pg_catalog.pg_attrdef ad ON (a.attrelid=ad.adrelid AND a.attnum = ad.adnum)\n"
    "LEFT OUTER JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = "
    "dsc.objsubid)\nLEFT OUTER JOIN pg_depend dep on dep.refobjid = a.attrelid AND "
    "dep.deptype = 'i' and dep.refobjsubid = a.attnum and dep.classid = dep.refclassid\n"
    "WHERE NOT a.attisdropped AND c.relkind not in ('i','I','c') AND c.oid=%s\n"
    "ORDER BY a.attnum"
)


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with start_emulator(EmulatorConfig(token=TOKEN)) as emu:
        settings = Settings.of(org_url=emu.url, token=TOKEN, db=":memory:")
        with start_in_thread(settings, ServeConfig(port=0)) as running:
            yield running


@pytest.fixture()
def conn(server: RunningServer) -> Iterator[psycopg.Connection[Any]]:
    dsn = f"host=127.0.0.1 port={server.port} dbname=okta user=grafana"
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


def test_grafana_lists_the_tables_and_a_table_s_columns(conn: psycopg.Connection[Any]) -> None:
    assert conn.execute(GRAFANA_VERSION).fetchall() == [(1600,)]
    tables = [t for (t,) in conn.execute(GRAFANA_TABLES).fetchall()]
    # outside the search_path: schema-qualified, as the query builder then writes them in FROM
    assert {"apps.applications", "apps.tokens", "users.users", "groups.groups"} <= set(tables)
    assert tables == sorted(tables)
    columns = conn.execute(grafana_columns("apps.tokens")).fetchall()
    assert columns[:2] == [("id", "text"), ("_embedded", "jsonb")]
    assert ("created", "timestamp with time zone") in columns
    assert ('"appId"', "text") in columns  # quote_ident: a name with capitals is quoted
    # the builder's query over the listed name answers
    assert conn.execute("SELECT id FROM apps.applications ORDER BY id LIMIT 1").fetchall()


def test_metabase_sync_lists_the_tables(conn: psycopg.Connection[Any]) -> None:
    for command in METABASE_SESSION:
        conn.execute(command)
    schemas = [schema for schema, _ in conn.execute(METABASE_SCHEMAS).fetchall()]
    assert {"apps", "groups", "users"} <= set(schemas) and schemas == sorted(schemas)
    privileges = conn.execute(METABASE_PRIVILEGES).fetchall()
    assert (None, "apps", "tokens", True, True, True, True) in privileges
    rows = conn.execute(METABASE_TABLES).fetchall()
    names = [(schema, name) for schema, name, *_ in rows]
    assert ("apps", "tokens") in names and ("groups", "groups") in names
    assert {schema for schema, _ in names} == {"apps", "groups"}
    assert names == sorted(names)
    row = next(r for r in rows if r[:2] == ("apps", "tokens"))
    assert row[2] == "TABLE" and "refresh tokens" in row[3]
    assert conn.execute(METABASE_ENUMS).fetchall() == []


def test_dbeaver_navigator_lists_schemas_tables_and_columns(
    conn: psycopg.Connection[Any],
) -> None:
    cur = conn.execute(DBEAVER_SCHEMAS)
    names = [d.name for d in cur.description or []]
    schemas = {r[names.index("nspname")]: r[0] for r in cur.fetchall()}
    assert {"apps", "users", "groups", "pg_catalog", "public"} <= set(schemas)
    cur = conn.execute(DBEAVER_TABLES, (schemas["apps"],))
    names = [d.name for d in cur.description or []]
    tables = {r[names.index("relname")]: r[0] for r in cur.fetchall()}
    assert {"applications", "tokens"} <= set(tables)
    cur = conn.execute(DBEAVER_COLUMNS, (tables["tokens"],))
    names = [d.name for d in cur.description or []]
    rows = cur.fetchall()
    cols = [r[names.index("attname")] for r in rows]
    assert cols[:2] == ["id", "_embedded"] and "appId" in cols
    described = dict((r[names.index("attname")], r[names.index("description")]) for r in rows)
    assert described["id"] == "Id of the refresh token."
    assert described["appId"] == "Id of the app integration."  # the parameter's own
