"""Metabase's field sync and the JDBC driver's type look-ups, verbatim, through psycopg
against oktaql serve over TCP; the Postgres functions they use (format's %I/%L/%s,
text ::regclass, col_description, quote_literal) answer as a real PostgreSQL does.

Metabase's PostgreSQL driver (describe-fields, describe-fks, describe-indexes, as its sync sends
them in recent versions: describe-fields is one UNION ALL of information_schema.columns and
pg_catalog's materialized views' attributes; the schemas are $n parameters), pgjdbc's
TypeInfoCache (what Metabase and DBeaver run for a type they have not cached, such as jsonb)
and its getColumns / getPrimaryKeys are the client's input here: the SQL text they send.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

import oktaql
from oktaql._settings import Settings
from oktaql.emulator import EmulatorConfig, RunningEmulator
from oktaql.emulator import start_in_thread as start_emulator
from oktaql.serve import RunningServer, ServeConfig, start_in_thread

TOKEN = "test-token"

FIELDS_COLUMNS = (
    'SELECT "c"."column_name" AS "name", CASE WHEN "c"."udt_schema" IN (\'public\', '
    '\'pg_catalog\') THEN FORMAT(\'%s\', "c"."udt_name") ELSE FORMAT(\'"%s"."%s"\', '
    '"c"."udt_schema", "c"."udt_name") END AS "database-type", "c"."ordinal_position" - 1 AS '
    '"database-position", "c"."table_schema" AS "table-schema", "c"."table_name" AS '
    '"table-name", "pk"."column_name" IS NOT NULL AS "pk?", COL_DESCRIPTION(CAST(CAST('
    'FORMAT(\'%I.%I\', CAST("c"."table_schema" AS TEXT), CAST("c"."table_name" AS TEXT)) '
    'AS REGCLASS) AS OID), "c"."ordinal_position") AS "field-comment", (("column_default" IS '
    "NULL) OR (LOWER(\"column_default\") = 'null')) AND (\"is_nullable\" = 'NO') AND NOT "
    '((("column_default" IS NOT NULL) AND ("column_default" LIKE \'%nextval(%\')) OR '
    '("is_identity" <> \'NO\')) AS "database-required", (("column_default" IS NOT NULL) AND '
    "(\"column_default\" LIKE '%nextval(%')) OR (\"is_identity\" <> 'NO') AS "
    '"database-is-auto-increment" FROM "information_schema"."columns" AS "c" LEFT JOIN (SELECT '
    '"tc"."table_schema", "tc"."table_name", "kc"."column_name" FROM '
    '"information_schema"."table_constraints" AS "tc" INNER JOIN '
    '"information_schema"."key_column_usage" AS "kc" ON ("tc"."constraint_name" = '
    '"kc"."constraint_name") AND ("tc"."table_schema" = "kc"."table_schema") AND '
    '("tc"."table_name" = "kc"."table_name") WHERE "tc"."constraint_type" = \'PRIMARY KEY\') AS '
    '"pk" ON ("c"."table_schema" = "pk"."table_schema") AND ("c"."table_name" = '
    '"pk"."table_name") AND ("c"."column_name" = "pk"."column_name") WHERE c.table_schema !~ '
    '\'^information_schema|catalog_history|pg_\' AND ("c"."table_schema" IN ($1, $2))'
)
FIELDS_MATVIEWS = (
    'SELECT "pa"."attname" AS "name", CASE WHEN "ptn"."nspname" IN (\'public\', \'pg_catalog\') '
    'THEN FORMAT(\'%s\', "pt"."typname") ELSE FORMAT(\'"%s"."%s"\', "ptn"."nspname", '
    '"pt"."typname") END AS "database-type", "pa"."attnum" - 1 AS "database-position", '
    '"pn"."nspname" AS "table-schema", "pc"."relname" AS "table-name", FALSE AS "pk?", NULL AS '
    '"field-comment", FALSE AS "database-required", FALSE AS "database-is-auto-increment" FROM '
    '"pg_catalog"."pg_class" AS "pc" INNER JOIN "pg_catalog"."pg_namespace" AS "pn" ON '
    '"pn"."oid" = "pc"."relnamespace" INNER JOIN "pg_catalog"."pg_attribute" AS "pa" ON '
    '"pa"."attrelid" = "pc"."oid" INNER JOIN "pg_catalog"."pg_type" AS "pt" ON "pt"."oid" = '
    '"pa"."atttypid" INNER JOIN "pg_catalog"."pg_namespace" AS "ptn" ON "ptn"."oid" = '
    '"pt"."typnamespace" WHERE ("pc"."relkind" = \'m\') AND ("pa"."attnum" >= 1) AND '
    '("pn"."nspname" IN ($1, $2))'
)
ORDER = ' ORDER BY "table-schema" ASC, "table-name" ASC, "database-position" ASC'
FIELDS = FIELDS_COLUMNS + " UNION ALL " + FIELDS_MATVIEWS.replace("$1, $2", "$3, $4") + ORDER
FKS = (
    'SELECT "fk_ns"."nspname" AS "fk-table-schema", "fk_table"."relname" AS "fk-table-name", '
    '"fk_column"."attname" AS "fk-column-name", "pk_ns"."nspname" AS "pk-table-schema", '
    '"pk_table"."relname" AS "pk-table-name", "pk_column"."attname" AS "pk-column-name" FROM '
    '"pg_constraint" AS "c" INNER JOIN "pg_class" AS "fk_table" ON "c"."conrelid" = '
    '"fk_table"."oid" INNER JOIN "pg_namespace" AS "fk_ns" ON "c"."connamespace" = '
    '"fk_ns"."oid" INNER JOIN "pg_attribute" AS "fk_column" ON "c"."conrelid" = '
    '"fk_column"."attrelid" INNER JOIN "pg_class" AS "pk_table" ON "c"."confrelid" = '
    '"pk_table"."oid" INNER JOIN "pg_namespace" AS "pk_ns" ON "pk_table"."relnamespace" = '
    '"pk_ns"."oid" INNER JOIN "pg_attribute" AS "pk_column" ON "c"."confrelid" = '
    '"pk_column"."attrelid" WHERE fk_ns.nspname !~ \'^information_schema|catalog_history|pg_\' '
    'AND ("c"."contype" = \'f\'::char) AND ("fk_column"."attnum" = ANY(c.conkey)) AND '
    '("pk_column"."attnum" = ANY(c.confkey)) AND ("fk_ns"."nspname" IN ($1, $2)) '
    'ORDER BY "fk-table-schema" ASC, "fk-table-name" ASC'
)
INDEXES = (
    'SELECT "tmp"."table-schema", "tmp"."table-name", TRIM(BOTH \'"\' FROM '
    'PG_CATALOG.PG_GET_INDEXDEF("tmp"."ci_oid", "tmp"."pos", FALSE)) AS "field-name" FROM '
    '(SELECT "n"."nspname" AS "table-schema", "ct"."relname" AS "table-name", "ci"."oid" AS '
    '"ci_oid", (INFORMATION_SCHEMA._PG_EXPANDARRAY("i"."indkey")).n AS "pos" FROM '
    '"pg_catalog"."pg_class" AS "ct" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON '
    '"ct"."relnamespace" = "n"."oid" INNER JOIN "pg_catalog"."pg_index" AS "i" ON "ct"."oid" = '
    '"i"."indrelid" INNER JOIN "pg_catalog"."pg_class" AS "ci" ON "ci"."oid" = "i"."indexrelid" '
    'WHERE (PG_CATALOG.PG_GET_EXPR("i"."indpred", "i"."indrelid") IS NULL) AND n.nspname !~ '
    '\'^information_schema|catalog_history|pg_\' AND ("n"."nspname" IN ($1, $2))) AS "tmp" '
    'WHERE "tmp"."pos" = 1'
)
JDBC_TYPE = (
    "SELECT typinput='pg_catalog.array_in'::regproc as is_array, typtype, typname, pg_type.oid "
    "  FROM pg_catalog.pg_type   LEFT JOIN (select ns.oid as nspoid, ns.nspname, r.r           "
    "from pg_namespace as ns           join ( select s.r, (current_schemas(false))[s.r] as "
    "nspname                    from generate_series(1, array_upper(current_schemas(false), 1))"
    " as s(r) ) as r          using ( nspname )        ) as sp     ON sp.nspoid = typnamespace "
    " WHERE pg_type.oid = $1  ORDER BY sp.r, pg_type.oid DESC"
)
JDBC_PGTYPE = (
    "SELECT n.nspname = ANY(current_schemas(true)), n.nspname, t.typname FROM "
    "pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE "
    "t.oid = $1"
)

# pgjdbc's DatabaseMetaData.getColumns and getPrimaryKeys, as it sends them for apps.tokens
JDBC_COLUMNS = (
    "SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype "
    "= 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER "
    "(PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as "
    "attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, "
    "def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace"
    " n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a "
    "ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN "
    "pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN "
    "pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN"
    " pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN "
    "pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE "
    "c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped  AND n.nspname "
    "LIKE 'apps' AND c.relname LIKE 'tokens') c WHERE true  ORDER BY nspname,c.relname,attnum "
)
JDBC_PKS = (
    "SELECT result.TABLE_CAT, result.TABLE_SCHEM, result.TABLE_NAME, result.COLUMN_NAME, "
    "result.KEY_SEQ, result.PK_NAME FROM (SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM,   "
    "ct.relname AS TABLE_NAME, a.attname AS COLUMN_NAME,   "
    "(information_schema._pg_expandarray(i.indkey)).n AS KEY_SEQ, ci.relname AS PK_NAME,   "
    "information_schema._pg_expandarray(i.indkey) AS KEYS, a.attnum AS A_ATTNUM FROM "
    "pg_catalog.pg_class ct   JOIN pg_catalog.pg_attribute a ON (ct.oid = a.attrelid)   JOIN "
    "pg_catalog.pg_namespace n ON (ct.relnamespace = n.oid)   JOIN pg_catalog.pg_index i ON ( "
    "a.attrelid = i.indrelid)   JOIN pg_catalog.pg_class ci ON (ci.oid = i.indexrelid) WHERE "
    "true  AND n.nspname = E'apps' AND ct.relname = E'tokens' AND i.indisprimary ) result where "
    " result.A_ATTNUM = (result.KEYS).x  ORDER BY result.table_name, result.pk_name, "
    "result.key_seq"
)

# at connect: pgjdbc's session set-up, Metabase's can-connect? probe (SELECT 1), the isolation
# level and time zone it reads, and two settings drivers read through current_setting
CONNECT = [
    ("SELECT 1", [(1,)]),
    ("SET extra_float_digits = 3", None),
    ("SET application_name = 'Metabase v0.55.1'", None),
    ("SHOW TRANSACTION ISOLATION LEVEL", [("read committed",)]),
    ("show timezone", [("UTC",)]),
    ("SELECT current_setting('server_version_num')::int >= 90400", [(True,)]),
    ("SELECT current_setting('standard_conforming_strings')", [("on",)]),
]

# Postgres functions the catalog answers as PostgreSQL does: the same query on both sides
FUNCTIONS = [
    "SELECT format('%s|%I|%L|%L|%%|%2$s|%-5s|%5s|', 'a b', 'Tab', 'it''s', NULL, 'x', 'y')",
    "SELECT format('%I.%I', 'pg_catalog', 'pg_class')::regclass::oid = 'pg_class'::regclass::oid",
    "SELECT quote_literal('a\\b'), quote_literal('it''s'), quote_nullable(NULL), quote_nullable(1)",
    "SELECT format('%s', NULL) = '', format('x%sy', 3), format('%1$s %1$I', 'Ab')",
    "SELECT quote_ident('abc'), quote_ident('aBc'), quote_ident('a b')",
    "SELECT col_description('pg_class'::regclass, 999), obj_description(0, 'pg_class')",
    # the names of unnamed columns
    "SELECT 1, true, NULL, pg_catalog.quote_ident('x'), (SELECT 1 AS one), CASE WHEN true THEN "
    "1 END, 'a'::text, 2::int8, current_user = current_user, ARRAY[1, 2], Upper('a') AS Up",
]

FIELD_COLUMNS = [
    ("name", 25), ("database-type", 25), ("database-position", 23), ("table-schema", 25),
    ("table-name", 25), ("pk?", 16), ("field-comment", 25), ("database-required", 16),
    ("database-is-auto-increment", 16),
]  # fmt: skip


@pytest.fixture(scope="module")
def org() -> Iterator[RunningEmulator]:
    with start_emulator(EmulatorConfig(token=TOKEN)) as emu:
        yield emu


@pytest.fixture(scope="module")
def server(org: RunningEmulator) -> Iterator[RunningServer]:
    settings = Settings.of(org_url=org.url, token=TOKEN, db=":memory:")
    with start_in_thread(settings, ServeConfig(port=0)) as running:
        yield running


@pytest.fixture()
def conn(server: RunningServer) -> Iterator[psycopg.Connection[Any]]:
    dsn = f"host=127.0.0.1 port={server.port} dbname=okta user=metabase"
    with psycopg.connect(dsn, autocommit=True) as c:
        yield c


SCHEMAS = ["apps", "groups"]  # what Metabase syncs here: its parameters $1, $2


def _jdbc(conn: psycopg.Connection[Any], sql: str, params: list[Any]) -> psycopg.Cursor[Any]:
    """``sql`` with its ``$n`` parameters as the JDBC driver sends them (Parse, Bind)."""
    return psycopg.RawCursor(conn).execute(sql, params)


def _columns(cur: psycopg.Cursor[Any]) -> list[tuple[str, int]]:
    return [(d.name, d.type_code) for d in cur.description or []]


def _provider_columns(org: RunningEmulator, dotted: str) -> list[tuple[str, str, str]]:
    """A resource's columns, then its path parameters that are not columns (as the catalog
    lists them): name, Postgres type name, description."""
    from oktaql._loading import duck_type
    from oktaql.serve._types import pg_type

    with oktaql.connect(org_url=org.url, token=TOKEN) as c:
        res = c.session.catalog.resource(dotted)
    out = [(col.name, pg_type(duck_type(col)).name, col.description) for col in res.columns]
    for m in res.methods_for("select"):
        for p in m.params.values():
            if p.location == "path" and p.name not in {n for n, _, _ in out}:
                out.append((p.name, "text", p.description))
    return out


def test_metabase_connects(conn: psycopg.Connection[Any]) -> None:
    for sql, want in CONNECT:
        cur = conn.execute(sql)
        if want is not None:
            assert cur.fetchall() == want, sql


def test_metabase_describe_fields(conn: psycopg.Connection[Any], org: RunningEmulator) -> None:
    cur = _jdbc(conn, FIELDS, [*SCHEMAS, *SCHEMAS])
    assert _columns(cur) == FIELD_COLUMNS
    rows = cur.fetchall()
    assert {r[3] for r in rows} == {"apps", "groups"}
    keys = [(r[3], r[4], r[2]) for r in rows]
    assert keys == sorted(keys)  # ORDER BY schema, table, position
    tokens = [r for r in rows if r[3:5] == ("apps", "tokens")]
    want = _provider_columns(org, "okta.apps.tokens")
    assert [(r[0], r[1], r[6]) for r in tokens] == want
    assert [r[2] for r in tokens] == list(range(len(want)))  # 0-based positions
    assert all(r[5:] == (False, r[6], False, False) for r in tokens)  # no keys, all nullable
    assert ("appId", "text") in [(r[0], r[1]) for r in tokens]  # the parameter a WHERE binds
    # the two halves alone answer the same (no materialized views: the second is empty)
    alone = _jdbc(conn, FIELDS_COLUMNS + ORDER, SCHEMAS).fetchall()
    assert alone == rows
    cur = _jdbc(conn, FIELDS_MATVIEWS + ORDER, SCHEMAS)
    assert _columns(cur) == [(n, 23 if n == "database-position" else t) for n, t in FIELD_COLUMNS]
    assert cur.fetchall() == []


def test_metabase_describe_fks_answers_none(conn: psycopg.Connection[Any]) -> None:
    cur = _jdbc(conn, FKS, SCHEMAS)
    assert [n for n, _ in _columns(cur)] == [
        "fk-table-schema", "fk-table-name", "fk-column-name",
        "pk-table-schema", "pk-table-name", "pk-column-name",
    ]  # fmt: skip
    assert cur.fetchall() == []


def test_metabase_describe_indexes_answers_none(conn: psycopg.Connection[Any]) -> None:
    cur = _jdbc(conn, INDEXES, SCHEMAS)
    assert [n for n, _ in _columns(cur)] == ["table-schema", "table-name", "field-name"]
    assert cur.fetchall() == []  # no indexes


def test_jdbc_type_lookups(conn: psycopg.Connection[Any]) -> None:
    pg = conn.pgconn
    for sql, want in [
        (JDBC_TYPE, [[b"f", b"b", b"jsonb", b"3802"]]),
        (JDBC_PGTYPE, [[b"t", b"pg_catalog", b"jsonb"]]),
    ]:
        res = pg.exec_params(sql.encode(), [b"3802"], [23])
        assert res.status == psycopg.pq.ExecStatus.TUPLES_OK, res.error_message
        got = [[res.get_value(r, c) for c in range(res.nfields)] for r in range(res.ntuples)]
        assert got == want
    res = pg.exec_params(JDBC_PGTYPE.encode(), [b"3802"], [23])
    assert [res.fname(i) for i in range(res.nfields)] == [b"?column?", b"nspname", b"typname"]


def test_catalog_functions(conn: psycopg.Connection[Any]) -> None:
    got = conn.execute(
        "SELECT col_description(format('%I.%I', 'apps', 'tokens')::regclass, 1), "
        "col_description('apps.tokens'::regclass, 999), "
        "col_description(format('%I.%I', 'apps', 'nothing')::regclass, 1), "
        "format('%I.%I', 'apps', 'tokens')::regclass::oid = 'apps.tokens'::regclass::oid, "
        "'Apps.Tokens'::text::regclass::oid = 'apps.tokens'::regclass::oid, "
        "obj_description('apps.tokens'::regclass, 'pg_class') IS NOT NULL"
    ).fetchall()
    assert got == [("Id of the refresh token.", None, None, True, True, True)]


def _answers(conn: psycopg.Connection[Any]) -> list[tuple[list[str], list[tuple[Any, ...]]]]:
    out = []
    for sql in FUNCTIONS:
        cur = conn.execute(sql)
        out.append(([d.name for d in cur.description or []], cur.fetchall()))
    return out


def test_catalog_functions_answer_as_postgres(
    conn: psycopg.Connection[Any], postgres_url: str
) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as real:
        want = _answers(real)
    assert _answers(conn) == want


def test_jdbc_get_columns_and_primary_keys(
    conn: psycopg.Connection[Any], org: RunningEmulator
) -> None:
    cur = conn.execute(JDBC_COLUMNS)
    names = [n for n, _ in _columns(cur)]
    assert names == [
        "nspname", "relname", "attname", "atttypid", "attnotnull", "atttypmod", "attlen",
        "typtypmod", "attnum", "attidentity", "attgenerated", "adsrc", "description",
        "typbasetype", "typtype",
    ]  # fmt: skip
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    from oktaql.serve._types import BY_OID

    want = _provider_columns(org, "okta.apps.tokens")
    got = [(r["attname"], BY_OID[r["atttypid"]].name, r["description"]) for r in rows]
    assert got == want
    assert [r["attnum"] for r in rows] == list(range(1, len(want) + 1))
    assert {(r["adsrc"], r["attidentity"], r["attnotnull"]) for r in rows} == {(None, None, False)}
    cur = conn.execute(JDBC_PKS)
    assert [n for n, _ in _columns(cur)] == [
        "table_cat", "table_schem", "table_name", "column_name", "key_seq", "pk_name",
    ]  # fmt: skip
    assert cur.fetchall() == []  # no primary keys
