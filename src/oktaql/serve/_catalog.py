"""The Postgres catalog of the provider, as DuckDB tables, and the queries clients send it.

psql's ``\\dt``/``\\d``, SQLAlchemy's inspector and BI tools read ``pg_catalog`` and
``information_schema``. Their queries run in DuckDB, over tables this module fills from the
provider: a database per provider (``okta``), a schema per service (``apps``), a table per
resource (``tokens``) with its columns and their Postgres types, so ``okta.apps.tokens`` is the
same three-part name in a client's catalog as in a statement. DuckDB's own ``pg_catalog``
cannot be replaced, so a client's query is rewritten (its syntax tree, by sqlglot) to name
these tables (schema ``oq_pg``, ``oq_info``) and functions (DuckDB macros), then run; nothing
matches query text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from oktaql.serve import _types
from oktaql.serve._types import PgType

if TYPE_CHECKING:
    import duckdb

    from oktaql.catalog import Catalog

PG = "oq_pg"  # the schema standing for pg_catalog
INFO = "oq_info"  # and for information_schema
OWNER = "oktaql"
FIRST_OID = 16384  # below it Postgres keeps its own objects
NAMESPACES = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}


@dataclass(frozen=True)
class Table:
    oid: int
    provider: str
    schema: str
    name: str
    columns: tuple[tuple[str, PgType, str], ...]  # name, type, description
    duck_types: tuple[str, ...]  # each column's DuckDB type, as oktaql loads it
    description: str


def tables_of(catalog: Catalog) -> list[Table]:
    """Every resource with a SELECT, as a table: its columns, then its parameters that are not
    columns (``appId`` of ``okta.apps.tokens``: a WHERE names it), as text."""
    from oktaql._loading import duck_type

    out: list[Table] = []
    oid = FIRST_OID + 1000
    for pname in catalog.registry.provider_names():
        provider = catalog.registry.provider(pname)
        for sname in sorted(provider.services):
            for rname, res in sorted(provider.services[sname].resources.items()):
                if not res.methods_for("select"):
                    continue
                cols = [(c.name, _types.pg_type(duck_type(c)), c.description) for c in res.columns]
                ducks = [duck_type(c) for c in res.columns]
                names = {c[0] for c in cols}
                for m in res.methods_for("select"):
                    for p in m.params.values():
                        if p.location == "path" and p.name not in names:
                            names.add(p.name)
                            cols.append((p.name, _types.TEXT, p.description))
                            ducks.append("VARCHAR")
                out.append(
                    Table(oid, pname, sname, rname, tuple(cols), tuple(ducks), res.description)
                )
                oid += 1
    return out


def _schema_oids(tables: list[Table]) -> dict[str, int]:
    out = dict(NAMESPACES)
    for t in tables:
        out.setdefault(t.schema, FIRST_OID + len(out))
    return out


_DDL = f"""
CREATE SCHEMA {PG};
CREATE SCHEMA {INFO};
CREATE TABLE {PG}.pg_namespace (oid BIGINT, nspname VARCHAR, nspowner BIGINT, nspacl VARCHAR[]);
CREATE TABLE {PG}.pg_class (
  oid BIGINT, relname VARCHAR, relnamespace BIGINT, reltype BIGINT, reloftype BIGINT,
  relowner BIGINT, relam BIGINT, relfilenode BIGINT, reltablespace BIGINT, relpages INTEGER,
  reltuples FLOAT, relallvisible INTEGER, reltoastrelid BIGINT, relhasindex BOOLEAN,
  relisshared BOOLEAN, relpersistence VARCHAR, relkind VARCHAR, relnatts SMALLINT,
  relchecks SMALLINT, relhasrules BOOLEAN, relhastriggers BOOLEAN, relhassubclass BOOLEAN,
  relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, relispopulated BOOLEAN,
  relreplident VARCHAR, relispartition BOOLEAN, relrewrite BIGINT, relfrozenxid BIGINT,
  relminmxid BIGINT, relacl VARCHAR[], reloptions VARCHAR[], relpartbound VARCHAR,
  relhasoids BOOLEAN);
CREATE TABLE {PG}.pg_attribute (
  attrelid BIGINT, attname VARCHAR, atttypid BIGINT, attstattarget INTEGER, attlen SMALLINT,
  attnum SMALLINT, attndims INTEGER, attcacheoff INTEGER, atttypmod INTEGER, attbyval BOOLEAN,
  attalign VARCHAR, attstorage VARCHAR, attcompression VARCHAR, attnotnull BOOLEAN,
  atthasdef BOOLEAN, atthasmissing BOOLEAN, attidentity VARCHAR, attgenerated VARCHAR,
  attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INTEGER, attcollation BIGINT,
  attacl VARCHAR[], attoptions VARCHAR[], attfdwoptions VARCHAR[], attmissingval VARCHAR);
CREATE TABLE {PG}.pg_type (
  oid BIGINT, typname VARCHAR, typnamespace BIGINT, typowner BIGINT, typlen SMALLINT,
  typbyval BOOLEAN, typtype VARCHAR, typcategory VARCHAR, typispreferred BOOLEAN,
  typisdefined BOOLEAN, typdelim VARCHAR, typrelid BIGINT, typsubscript VARCHAR,
  typelem BIGINT, typarray BIGINT, typinput VARCHAR, typoutput VARCHAR, typreceive VARCHAR,
  typsend VARCHAR, typmodin VARCHAR, typmodout VARCHAR, typanalyze VARCHAR, typalign VARCHAR,
  typstorage VARCHAR, typnotnull BOOLEAN, typbasetype BIGINT, typtypmod INTEGER,
  typndims INTEGER, typcollation BIGINT, typdefaultbin VARCHAR, typdefault VARCHAR,
  typacl VARCHAR[]);
CREATE TABLE {PG}.pg_description (objoid BIGINT, classoid BIGINT, objsubid INTEGER,
  description VARCHAR);
CREATE TABLE {PG}.pg_database (oid BIGINT, datname VARCHAR, datdba BIGINT, encoding INTEGER,
  datcollate VARCHAR, datctype VARCHAR, datistemplate BOOLEAN, datallowconn BOOLEAN,
  datconnlimit INTEGER, dattablespace BIGINT, datacl VARCHAR[]);
CREATE TABLE {PG}.pg_roles (oid BIGINT, rolname VARCHAR, rolsuper BOOLEAN, rolinherit BOOLEAN,
  rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, rolreplication BOOLEAN,
  rolconnlimit INTEGER, rolvaliduntil TIMESTAMPTZ, rolbypassrls BOOLEAN, rolconfig VARCHAR[]);
CREATE TABLE {PG}.pg_am (oid BIGINT, amname VARCHAR, amhandler VARCHAR, amtype VARCHAR);
CREATE TABLE {PG}.pg_tablespace (oid BIGINT, spcname VARCHAR, spcowner BIGINT);
CREATE TABLE {PG}.pg_settings (name VARCHAR, setting VARCHAR, unit VARCHAR, category VARCHAR,
  short_desc VARCHAR, context VARCHAR, vartype VARCHAR, source VARCHAR);
"""

# catalogs a client may read that describe nothing oktaql has: indexes, constraints,
# inheritance, triggers, policies, ... (empty, with the columns clients select)
_EMPTY = {
    "pg_index": "indexrelid indrelid indnatts indisunique indisprimary indisexclusion "
    "indimmediate indisclustered indisvalid indisreplident indkey indcollation indclass "
    "indoption indexprs indpred indnkeyatts indnullsnotdistinct",
    "pg_constraint": "oid conname connamespace contype condeferrable condeferred convalidated "
    "conrelid contypid conindid confrelid confupdtype confdeltype confmatchtype conislocal "
    "coninhcount connoinherit conkey confkey conbin conparentid",
    "pg_inherits": "inhrelid inhparent inhseqno inhdetachpending",
    "pg_trigger": "oid tgrelid tgname tgfoid tgtype tgenabled tgisinternal tgconstraint "
    "tgparentid tgdeferrable tginitdeferred tgnargs",
    "pg_policy": "oid polname polrelid polcmd polpermissive polroles polqual polwithcheck",
    "pg_statistic_ext": "oid stxrelid stxname stxnamespace stxowner stxkeys stxkind stxstattarget",
    "pg_publication": "oid pubname pubowner puballtables pubinsert pubupdate pubdelete "
    "pubtruncate pubviaroot",
    "pg_publication_rel": "oid prpubid prrelid prqual prattrs",
    "pg_publication_namespace": "oid pnpubid pnnspid",
    "pg_attrdef": "oid adrelid adnum adbin",
    "pg_rewrite": "oid rulename ev_class ev_type is_instead ev_qual ev_action",
    "pg_foreign_table": "ftrelid ftserver ftoptions",
    "pg_partitioned_table": "partrelid partstrat partnatts partdefid partattrs",
    "pg_sequence": "seqrelid seqtypid seqstart seqincrement seqmax seqmin seqcache seqcycle",
    "pg_extension": "oid extname extowner extnamespace extrelocatable extversion",
    "pg_proc": "oid proname pronamespace proowner prolang prokind proretset prorettype "
    "proargtypes proargnames prosrc",
    "pg_collation": "oid collname collnamespace collprovider collcollate collctype",
    "pg_enum": "oid enumtypid enumsortorder enumlabel",
    "pg_range": "rngtypid rngsubtype",
    "pg_depend": "classid objid objsubid refclassid refobjid refobjsubid deptype",
    "pg_event_trigger": "oid evtname evtevent evtowner evtfoid evtenabled",
    "pg_foreign_server": "oid srvname srvowner srvfdw",
    "pg_foreign_data_wrapper": "oid fdwname fdwowner",
    "pg_matviews": "schemaname matviewname matviewowner definition",
    "pg_views": "schemaname viewname viewowner definition",
    "pg_shdescription": "objoid classoid description",
    "pg_locks": "locktype database relation pid mode granted",
    "pg_stat_activity": "datid datname pid usename application_name client_addr state query",
    "pg_language": "oid lanname lanowner",
    "pg_cast": "oid castsource casttarget castfunc castcontext castmethod",
    "pg_opclass": "oid opcmethod opcname opcnamespace",
    "pg_operator": "oid oprname oprnamespace oprleft oprright oprresult",
    "pg_aggregate": "aggfnoid aggkind",
    "pg_auth_members": "roleid member grantor admin_option",
}

_MACROS = f"""
CREATE MACRO {PG}.format_type(t, m) AS
  (SELECT CASE WHEN typname = 'varchar' THEN 'character varying'
               WHEN typname = 'timestamptz' THEN 'timestamp with time zone'
               WHEN typname = 'int8' THEN 'bigint' WHEN typname = 'int4' THEN 'integer'
               WHEN typname = 'int2' THEN 'smallint' WHEN typname = 'float8'
               THEN 'double precision' WHEN typname = 'bool' THEN 'boolean'
               ELSE typname END FROM {PG}.pg_type WHERE oid = t);
CREATE MACRO {PG}.pg_get_userbyid(x) AS '{OWNER}';
CREATE MACRO {PG}.pg_table_is_visible(x) AS true;
CREATE MACRO {PG}.pg_type_is_visible(x) AS true;
CREATE MACRO {PG}.pg_function_is_visible(x) AS true;
CREATE MACRO {PG}.pg_get_expr(a, b) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_get_indexdef(a) AS NULL::VARCHAR, (a, b, c) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_get_constraintdef(a) AS NULL::VARCHAR, (a, b) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_get_viewdef(a) AS NULL::VARCHAR, (a, b) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_get_partkeydef(a) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_get_statisticsobjdef_columns(a) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_encoding_to_char(x) AS 'UTF8';
CREATE MACRO {PG}.pg_relation_size(x) AS 0::BIGINT, (x, y) AS 0::BIGINT;
CREATE MACRO {PG}.pg_total_relation_size(x) AS 0::BIGINT;
CREATE MACRO {PG}.pg_size_pretty(x) AS '0 bytes';
CREATE MACRO {PG}.has_table_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO {PG}.has_schema_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO {PG}.has_database_privilege(a, b) AS true, (a, b, c) AS true;
CREATE MACRO {PG}.has_column_privilege(a, b, c) AS true, (a, b, c, d) AS true;
CREATE MACRO {PG}.obj_description(o) AS
  (SELECT description FROM {PG}.pg_description WHERE objoid = o AND objsubid = 0),
  (o, c) AS (SELECT description FROM {PG}.pg_description WHERE objoid = o AND objsubid = 0);
CREATE MACRO {PG}.col_description(o, n) AS
  (SELECT description FROM {PG}.pg_description WHERE objoid = o AND objsubid = n);
CREATE MACRO {PG}.shobj_description(o, c) AS NULL::VARCHAR;
CREATE MACRO {PG}.current_setting(n) AS
  (SELECT setting FROM {PG}.pg_settings WHERE name = lower(n)),
  (n, missing_ok) AS (SELECT setting FROM {PG}.pg_settings WHERE name = lower(n));
CREATE MACRO {PG}.pg_is_in_recovery() AS false;
CREATE MACRO {PG}.to_regtype(n) AS (SELECT oid FROM {PG}.pg_type WHERE typname = n);
CREATE MACRO {PG}.to_regclass(n) AS
  (SELECT c.oid FROM {PG}.pg_class c JOIN {PG}.pg_namespace s ON s.oid = c.relnamespace
   WHERE c.relname = n OR s.nspname || '.' || c.relname = n LIMIT 1);
CREATE MACRO {PG}.pg_get_serial_sequence(t, c) AS NULL::VARCHAR;
CREATE MACRO {PG}.pg_collation_is_visible(x) AS true;
CREATE MACRO {PG}.pg_relation_is_publishable(x) AS false;
CREATE MACRO {PG}.pg_postmaster_start_time() AS now();
CREATE MACRO {PG}.txid_current() AS 1::BIGINT;
CREATE MACRO {PG}.pg_current_xact_id() AS 1::BIGINT;
CREATE MACRO {PG}.array_length_pg(a, d) AS len(a);
CREATE MACRO {PG}.quote_ident(s) AS
  CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s
       ELSE '"' || replace(s, '"', '""') || '"' END;
"""

_INFO_VIEWS = f"""
CREATE VIEW {INFO}.schemata AS
  SELECT d.datname AS catalog_name, n.nspname AS schema_name, '{OWNER}' AS schema_owner,
         NULL::VARCHAR AS default_character_set_catalog, NULL::VARCHAR AS sql_path
  FROM {PG}.pg_namespace n, {PG}.pg_database d;
CREATE VIEW {INFO}.tables AS
  SELECT d.datname AS table_catalog, n.nspname AS table_schema, c.relname AS table_name,
         'BASE TABLE' AS table_type, NULL::VARCHAR AS self_referencing_column_name,
         NULL::VARCHAR AS reference_generation, NULL::VARCHAR AS user_defined_type_catalog,
         NULL::VARCHAR AS user_defined_type_schema, NULL::VARCHAR AS user_defined_type_name,
         'NO' AS is_insertable_into, 'NO' AS is_typed, NULL::VARCHAR AS commit_action
  FROM {PG}.pg_class c JOIN {PG}.pg_namespace n ON n.oid = c.relnamespace, {PG}.pg_database d;
CREATE VIEW {INFO}.columns AS
  SELECT d.datname AS table_catalog, n.nspname AS table_schema, c.relname AS table_name,
         a.attname AS column_name, a.attnum::INTEGER AS ordinal_position,
         NULL::VARCHAR AS column_default, 'YES' AS is_nullable,
         {PG}.format_type(a.atttypid, a.atttypmod) AS data_type,
         NULL::INTEGER AS character_maximum_length, NULL::INTEGER AS character_octet_length,
         NULL::INTEGER AS numeric_precision, NULL::INTEGER AS numeric_precision_radix,
         NULL::INTEGER AS numeric_scale, NULL::INTEGER AS datetime_precision,
         NULL::VARCHAR AS interval_type, d.datname AS udt_catalog, 'pg_catalog' AS udt_schema,
         t.typname AS udt_name, 'NO' AS is_identity, 'NEVER' AS is_generated,
         'NO' AS is_updatable, NULL::VARCHAR AS collation_name, NULL::VARCHAR AS domain_name
  FROM {PG}.pg_attribute a JOIN {PG}.pg_class c ON c.oid = a.attrelid
  JOIN {PG}.pg_namespace n ON n.oid = c.relnamespace
  JOIN {PG}.pg_type t ON t.oid = a.atttypid, {PG}.pg_database d;
CREATE VIEW {INFO}.views AS
  SELECT NULL::VARCHAR AS table_catalog, NULL::VARCHAR AS table_schema,
         NULL::VARCHAR AS table_name, NULL::VARCHAR AS view_definition WHERE false;
CREATE VIEW {INFO}.table_constraints AS
  SELECT NULL::VARCHAR AS constraint_catalog, NULL::VARCHAR AS constraint_schema,
         NULL::VARCHAR AS constraint_name, NULL::VARCHAR AS table_catalog,
         NULL::VARCHAR AS table_schema, NULL::VARCHAR AS table_name,
         NULL::VARCHAR AS constraint_type WHERE false;
CREATE VIEW {INFO}.key_column_usage AS
  SELECT NULL::VARCHAR AS constraint_catalog, NULL::VARCHAR AS constraint_schema,
         NULL::VARCHAR AS constraint_name, NULL::VARCHAR AS table_catalog,
         NULL::VARCHAR AS table_schema, NULL::VARCHAR AS table_name,
         NULL::VARCHAR AS column_name, NULL::INTEGER AS ordinal_position WHERE false;
CREATE VIEW {INFO}.routines AS
  SELECT NULL::VARCHAR AS routine_catalog, NULL::VARCHAR AS routine_schema,
         NULL::VARCHAR AS routine_name, NULL::VARCHAR AS routine_type WHERE false;
"""


def _json_build_object() -> str:
    """json_build_object(k1, v1, ...) as DuckDB's json_object, for up to 8 pairs."""
    overloads = []
    for n in range(1, 9):
        args = ", ".join(f"a{i}" for i in range(2 * n))
        pairs = ", ".join(f"a{2 * i}::VARCHAR, a{2 * i + 1}" for i in range(n))
        overloads.append(f"({args}) AS json_object({pairs})")
    return f"CREATE MACRO {PG}.json_build_object " + ", ".join(overloads) + ";"


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _insert(con: duckdb.DuckDBPyConnection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``sql`` (an INSERT with ``?`` placeholders in one VALUES row) for every row, as one
    statement of literal rows: DuckDB's executemany costs a round of its own per row."""
    if not rows:
        return
    head, sep, row = sql.partition("VALUES")
    parts = row.strip().split("?")
    values = []
    for r in rows:
        assert len(r) == len(parts) - 1
        values.append("".join(p + _literal(v) for p, v in zip(parts, r, strict=False)) + parts[-1])
    con.execute(head + sep + " " + ", ".join(values))


class CatalogDatabase:
    """One in-memory DuckDB holding the catalog, shared by every client (read-only once
    built); each query runs on a cursor of its own."""

    def __init__(self, catalog: Catalog, settings: dict[str, str]):
        import duckdb

        self.tables = tables_of(catalog)
        self.providers = set(catalog.registry.provider_names())
        self.schemas = {t.schema for t in self.tables}
        # (schema, table) → its provider: what a two-part name in a statement means
        self.qualified = {(t.schema, t.name): t.provider for t in self.tables}
        self._lock = threading.Lock()
        con = duckdb.connect(":memory:")
        con.execute(_DDL)
        for name, cols in _EMPTY.items():
            defs = ", ".join(f"{c} VARCHAR" if c.endswith("name") else f"{c} BIGINT" for c in
                             cols.split())  # fmt: skip
            con.execute(f"CREATE TABLE {PG}.{name} ({defs})")
        con.execute(_MACROS)
        con.execute(_json_build_object())
        self._fill(con, settings)
        con.execute(_INFO_VIEWS)
        self._shapes(con)
        from oktaql.serve._engine import confine

        confine(con, None)  # a catalog query is a client's SQL too
        self.con = con

    def _shapes(self, con: duckdb.DuckDBPyConnection) -> None:
        """Every resource as an empty DuckDB table of its columns, in a database named for its
        provider: a statement's result columns are known without running it (Describe)."""
        from oktaql._loading import quote_ident as q

        for provider in sorted(self.providers):
            con.execute(f"ATTACH ':memory:' AS {q(provider)}")
        for schema in sorted({(t.provider, t.schema) for t in self.tables}):
            con.execute(f"CREATE SCHEMA {q(schema[0])}.{q(schema[1])}")
        for t in self.tables:
            cols = ", ".join(
                f"{q(name)} {duck}"
                for (name, _, _), duck in zip(t.columns, t.duck_types, strict=True)
            )
            con.execute(f"CREATE TABLE {q(t.provider)}.{q(t.schema)}.{q(t.name)} ({cols})")

    def _fill(self, con: duckdb.DuckDBPyConnection, settings: dict[str, str]) -> None:
        oids = _schema_oids(self.tables)
        _insert(
            con,
            f"INSERT INTO {PG}.pg_namespace VALUES (?, ?, 10, NULL)",
            [(oid, name) for name, oid in oids.items()],
        )
        classes, attrs, notes = [], [], []
        for t in self.tables:
            classes.append((t.oid, t.name, oids[t.schema], len(t.columns)))
            if t.description:
                notes.append((t.oid, 0, t.description))
            for i, (col, kind, note) in enumerate(t.columns, start=1):
                attrs.append((t.oid, col, kind.oid, kind.size, i))
                if note:
                    notes.append((t.oid, i, note))
        _insert(
            con,
            f"INSERT INTO {PG}.pg_class (oid, relname, relnamespace, reltype, reloftype, "
            "relowner, relam, relfilenode, reltablespace, relpages, reltuples, relallvisible, "
            "reltoastrelid, relhasindex, relisshared, relpersistence, relkind, relnatts, "
            "relchecks, relhasrules, relhastriggers, relhassubclass, relrowsecurity, "
            "relforcerowsecurity, relispopulated, relreplident, relispartition, relrewrite, "
            "relfrozenxid, relminmxid, relhasoids) VALUES (?, ?, ?, 0, 0, 10, 2, 0, 0, 0, -1, "
            "0, 0, false, false, 'p', 'r', ?, 0, false, false, false, false, false, true, 'd', "
            "false, 0, 0, 0, false)",
            classes,
        )
        _insert(
            con,
            f"INSERT INTO {PG}.pg_attribute VALUES (?, ?, ?, -1, ?, ?, 0, -1, -1, false, 'i', "
            "'x', '', false, false, false, '', '', false, true, 0, 0, NULL, NULL, NULL, NULL)",
            attrs,
        )
        _insert(con, f"INSERT INTO {PG}.pg_description VALUES (?, 1259, ?, ?)", notes)
        _insert(
            con,
            f"INSERT INTO {PG}.pg_type (oid, typname, typnamespace, typowner, typlen, typbyval, "
            "typtype, typcategory, typispreferred, typisdefined, typdelim, typrelid, typelem, "
            "typarray, typalign, typstorage, typnotnull, typbasetype, typtypmod, typndims, "
            "typcollation) VALUES (?, ?, 11, 10, ?, ?, 'b', ?, false, true, ',', 0, 0, 0, 'i', "
            "'x', false, 0, -1, 0, 0)",
            [(t.oid, t.name, t.size, t.size > 0, t.category) for t in _types.ALL_TYPES],
        )
        _insert(
            con,
            f"INSERT INTO {PG}.pg_database VALUES (?, ?, 10, 6, 'C', 'C', false, true, -1, "
            "1663, NULL)",
            [(FIRST_OID - 1 - i, p) for i, p in enumerate(sorted(self.providers))],
        )
        con.execute(
            f"INSERT INTO {PG}.pg_roles VALUES (10, '{OWNER}', false, true, false, false, "
            "true, false, -1, NULL, false, NULL)"
        )
        con.execute(f"INSERT INTO {PG}.pg_am VALUES (2, 'heap', 'heap_tableam_handler', 't')")
        con.execute(f"INSERT INTO {PG}.pg_tablespace VALUES (1663, 'pg_default', 10)")
        _insert(
            con,
            f"INSERT INTO {PG}.pg_settings VALUES (?, ?, NULL, 'oktaql', '', 'user', "
            "'string', 'default')",
            [(k.lower(), v) for k, v in settings.items()],
        )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self.con.cursor()


# --- which queries are the catalog's, and rewriting them --------------------------------------

# functions whose answer is the server's, not DuckDB's (DuckDB has its own version(), ...)
_SERVER_FUNCTIONS = {
    "version",
    "current_database",
    "current_catalog",
    "current_schema",
    "current_user",
    "session_user",
    "user",
    "current_schemas",
    "pg_backend_pid",
    "inet_server_addr",
    "inet_server_port",
}


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return str(node.sql_name()).lower() if isinstance(node, exp.Func) else ""


def is_catalog_query(tree: exp.Expr, providers: set[str], macros: set[str]) -> bool:
    """A query of the catalog: it reads pg_catalog or information_schema, or calls a catalog
    function, and names no provider's table."""
    if not isinstance(tree, exp.Query):
        return False  # a COPY, a CREATE, a SET: never run in the catalog's DuckDB
    tables = list(tree.find_all(exp.Table))
    if any(t.catalog.lower() in providers for t in tables):
        return False
    for t in tables:
        db = t.db.lower()
        if db in ("pg_catalog", "information_schema") or (not db and t.name.startswith("pg_")):
            return True
    for node in tree.find_all(exp.Func):
        name = _name(node)
        if name in macros or name in _SERVER_FUNCTIONS or name.startswith("pg_"):
            return True
    return any(
        isinstance(n, exp.CurrentSchema | exp.CurrentUser | exp.CurrentSchemas)
        for n in tree.find_all(exp.Func)
    )


@dataclass(frozen=True)
class ClientFacts:
    """What a client's own queries answer: current_database(), current_user, version()."""

    database: str
    user: str
    version: str
    process_id: int


_OPERATORS = {"~": exp.RegexpLike, "~*": exp.RegexpILike, "=": exp.EQ, "<>": exp.NEQ}
_OID_TYPES = {"regclass", "regtype", "regproc", "regprocedure", "regnamespace", "regrole", "oid",
              "regoper", "xid", "cid", "tid"}  # fmt: skip
_TEXT_TYPES = {"name", "text", "char", '"char"', "bpchar", "varchar", "character varying"}


def _type_name(to: exp.Expr) -> str:
    if isinstance(to, exp.DataType) and isinstance(to.args.get("kind"), exp.Dot):
        return str(to.args["kind"].expression.name).lower()
    if isinstance(to, exp.ObjectIdentifier | exp.DataType):
        text = to.sql("postgres").lower()
        return text.rsplit(".", 1)[-1].strip('"')
    return ""


def translate(tree: exp.Expr, facts: ClientFacts, macros: set[str]) -> str:
    """The client's catalog query as DuckDB SQL over the oq_pg / oq_info tables."""
    tree = tree.copy()
    for collate in list(tree.find_all(exp.Collate)):  # DuckDB has no pg_catalog collations
        collate.replace(collate.this)

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table):
            db, name = node.db.lower(), node.name.lower()
            if db == "information_schema":
                node.set("db", exp.to_identifier(INFO))
                node.set("catalog", None)
            elif db == "pg_catalog" or (not db and name.startswith("pg_")):
                if not node.alias:
                    node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
                node.set("db", exp.to_identifier(PG))
                node.set("catalog", None)
            return node
        if isinstance(node, exp.Column) and node.args.get("db") is not None:
            node.set("db", None)  # pg_catalog.pg_class.relname: the table's alias is its name
            node.set("catalog", None)
            return node
        if isinstance(node, exp.Operator):
            op = str(node.args.get("operator", "")).rsplit(".", 1)[-1].strip()
            cls = _OPERATORS.get(op)
            if cls is not None:
                return cls(this=node.this, expression=node.expression)
            if op == "!~":
                return exp.Not(this=exp.RegexpLike(this=node.this, expression=node.expression))
            return node
        if isinstance(node, exp.Cast):
            return _cast(node)
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            if isinstance(node.this, exp.Identifier) and node.this.name.lower() == "pg_catalog":
                return rewrite(node.expression)
            return node
        if isinstance(node, exp.Func):
            return _function(node, facts, macros)
        return node

    # a replaced node's own children are not visited again: repeat until nothing changes
    text = ""
    for _ in range(5):
        tree = tree.transform(rewrite)
        new = str(tree.sql(dialect="duckdb"))
        if new == text:
            break
        text = new
    return text


def _cast(node: exp.Cast) -> exp.Expr:
    name = _type_name(node.args["to"])
    if name in _OID_TYPES:
        value = node.this
        if name == "regclass" and isinstance(value, exp.Literal) and value.is_string:
            return _regclass(str(value.this))
        if name == "regtype" and isinstance(value, exp.Literal) and value.is_string:
            sub = (
                exp.select("oid")
                .from_(f"{PG}.pg_type")
                .where(exp.column("typname").eq(exp.Literal.string(str(value.this))))
            )
            return exp.Subquery(this=sub)
        node.set("to", exp.DataType.build("BIGINT"))  # in place: its operand is visited next
        return node
    if name in _TEXT_TYPES:
        node.set("to", exp.DataType.build("VARCHAR"))
        return node
    if name in ("int2vector", "oidvector", "_oid", "_text", "aclitem[]"):
        return node.this
    return node


def _regclass(text: str) -> exp.Expr:
    parts = [p.strip('"') for p in re.split(r"\.(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text)]
    name = parts[-1]
    schema = parts[-2] if len(parts) > 1 else None
    where: exp.Expr = exp.column("relname", "c").eq(exp.Literal.string(name))
    if schema is not None:
        where = where.and_(exp.column("nspname", "n").eq(exp.Literal.string(schema)))
    sub = (
        exp.select("c.oid")
        .from_(f"{PG}.pg_class AS c")
        .join(f"{PG}.pg_namespace AS n", on="n.oid = c.relnamespace")
        .where(where)
        .limit(1)
    )
    return exp.Subquery(this=sub)


def _function(node: exp.Func, facts: ClientFacts, macros: set[str]) -> exp.Expr:
    name = _name(node)
    if name == "version":
        return exp.Literal.string(facts.version)
    if name in ("current_database", "current_catalog"):
        return exp.Literal.string(facts.database)
    if isinstance(node, exp.CurrentSchema) or name == "current_schema":
        return exp.Literal.string("public")
    if isinstance(node, exp.CurrentUser) or name in ("current_user", "session_user", "user"):
        return exp.Literal.string(facts.user)
    if isinstance(node, exp.CurrentSchemas) or name == "current_schemas":
        return exp.Array(
            expressions=[exp.Literal.string("pg_catalog"), exp.Literal.string("public")]
        )
    if name == "pg_backend_pid":
        return exp.Literal.number(facts.process_id)
    if name in macros:
        args = list(node.args.get("expressions") or [a for a in node.args.values() if
                    isinstance(a, exp.Expr)])  # fmt: skip
        return exp.Anonymous(this=f"{PG}.{name}", expressions=args)
    return node


def macro_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE schema_name = ?", [PG]
    ).fetchall()
    return {str(r[0]) for r in rows}


def output_names(tree: exp.Expr) -> Iterator[str]:
    """The column names of a SELECT, for the empty answer of a catalog query DuckDB cannot run
    (it reads a catalog oktaql has no rows for)."""
    if isinstance(tree, exp.Query):
        for i, e in enumerate(tree.selects, start=1):
            yield e.alias_or_name or f"column{i}"


def empty_catalog_answer(tree: exp.Expr) -> list[str]:
    return list(output_names(tree))


__all__ = [
    "INFO",
    "PG",
    "CatalogDatabase",
    "ClientFacts",
    "Table",
    "empty_catalog_answer",
    "is_catalog_query",
    "macro_names",
    "tables_of",
    "translate",
]
