"""The Postgres catalog as DuckDB objects: ``pg_catalog``'s tables (schema ``oq_pg``), its
functions (macros), and ``information_schema``'s views (schema ``oq_info``).

DuckDB keeps a ``pg_catalog`` of its own that cannot be replaced, so these live in schemas of
their own and a client's query is rewritten to name them (:mod:`oktaql.serve._rewrite`). The
columns are those Postgres has that psql, SQLAlchemy and BI tools select.
"""

from __future__ import annotations

import re

PG = "oq_pg"  # the schema standing for pg_catalog
INFO = "oq_info"  # and for information_schema
OWNER = "oktaql"
FIRST_OID = 16384  # below it Postgres keeps its own objects
NAMESPACES = {"pg_catalog": 11, "public": 2200, "information_schema": 13000}

DDL = f"""
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
  datconnlimit INTEGER, dattablespace BIGINT, datacl VARCHAR[], datlocprovider VARCHAR DEFAULT 'c',
  daticulocale VARCHAR, daticurules VARCHAR, datcollversion VARCHAR, datfrozenxid BIGINT DEFAULT 0,
  datminmxid BIGINT DEFAULT 0);
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
EMPTY = {
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
    "pg_stat_user_tables": "relid schemaname relname seq_scan n_live_tup n_dead_tup",
}

# the oids Postgres gives its catalogs (a classoid in pg_description, '...'::regclass)
CATALOG_OIDS = {"pg_class": 1259, "pg_namespace": 2615, "pg_type": 1247, "pg_attribute": 1249,
                "pg_proc": 1255, "pg_database": 1262, "pg_constraint": 2606}  # fmt: skip
_CATALOG_VALUES = ", ".join(f"('{n}', {o})" for n, o in CATALOG_OIDS.items())

MACROS = f"""
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
CREATE MACRO {PG}.array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END;
CREATE MACRO {PG}.array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END;
CREATE MACRO {PG}.parse_ident(s) AS list_transform(string_split(s, '.'), lambda x: trim(x, '"')),
  (s, strict) AS list_transform(string_split(s, '.'), lambda x: trim(x, '"'));
CREATE MACRO {PG}.quote_ident(s) AS
  CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s
       ELSE '"' || replace(s, '"', '""') || '"' END;
CREATE MACRO {PG}.quote_literal(s) AS
  CASE WHEN contains(s::VARCHAR, chr(92))
       THEN 'E''' || replace(replace(s::VARCHAR, chr(92), chr(92) || chr(92)), '''', '''''')
            || ''''
       ELSE '''' || replace(s::VARCHAR, '''', '''''') || '''' END;
CREATE MACRO {PG}.quote_nullable(s) AS coalesce({PG}.quote_literal(s), 'NULL');
CREATE MACRO {PG}.regclass_in(x) AS coalesce(TRY_CAST(x AS BIGINT),
  (SELECT c.oid FROM {PG}.pg_class c JOIN {PG}.pg_namespace n ON n.oid = c.relnamespace
   WHERE {PG}.quote_ident(n.nspname) || '.' || {PG}.quote_ident(c.relname) = x::VARCHAR
      OR '"' || n.nspname || '"."' || c.relname || '"' = x::VARCHAR
      OR (NOT contains(x::VARCHAR, '"') AND n.nspname || '.' || c.relname = lower(x::VARCHAR))
      OR (n.nspname IN ('pg_catalog', 'public') AND ({PG}.quote_ident(c.relname) = x::VARCHAR
          OR (NOT contains(x::VARCHAR, '"') AND c.relname = lower(x::VARCHAR))))
   LIMIT 1),
  (SELECT k.o FROM (VALUES {_CATALOG_VALUES}) AS k(n, o)
   WHERE k.n = lower(x::VARCHAR) OR 'pg_catalog.' || k.n = lower(x::VARCHAR)));
"""

INFO_VIEWS = f"""
CREATE VIEW {PG}.pg_tables AS
  SELECT n.nspname AS schemaname, c.relname AS tablename, '{OWNER}' AS tableowner,
         NULL::VARCHAR AS tablespace, false AS hasindexes, false AS hasrules,
         false AS hastriggers, false AS rowsecurity
  FROM {PG}.pg_class c JOIN {PG}.pg_namespace n ON n.oid = c.relnamespace;
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


def json_build_object() -> str:
    """json_build_object(k1, v1, ...) as DuckDB's json_object, for up to 8 pairs."""
    overloads = []
    for n in range(1, 9):
        args = ", ".join(f"a{i}" for i in range(2 * n))
        pairs = ", ".join(f"a{2 * i}::VARCHAR, a{2 * i + 1}" for i in range(n))
        overloads.append(f"({args}) AS json_object({pairs})")
    return f"CREATE MACRO {PG}.json_build_object " + ", ".join(overloads) + ";"


# the tables above: a pg_catalog name outside them is left to DuckDB (its table functions)
TABLES = frozenset([*re.findall(rf"CREATE TABLE {PG}\.(\w+)", DDL), *EMPTY, "pg_tables"])


__all__ = [
    "TABLES",
    "DDL",
    "EMPTY",
    "INFO",
    "INFO_VIEWS",
    "MACROS",
    "OWNER",
    "PG",
    "json_build_object",
]
