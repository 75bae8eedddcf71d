"""Which queries are the catalog's, and rewriting them to read the catalog's DuckDB objects.

A client's query is a sqlglot tree (Postgres dialect); tables of ``pg_catalog`` and
``information_schema`` are renamed to ``oq_pg``/``oq_info``, their functions to the macros
there, Postgres-only syntax (collations, ``OPERATOR(pg_catalog.~)``, ``::regclass``) to what
DuckDB runs, and the client's own facts (current_database(), version()) become literals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from oktaql.serve._pg_schema import CATALOG_OIDS, INFO, PG, TABLES

if TYPE_CHECKING:
    import duckdb


# functions whose answer is the server's, not DuckDB's (DuckDB has its own version(), ...,
# and its format() is not Postgres's)
_SERVER_FUNCTIONS = {
    "format",
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
    # the client's settings (SET changes them): current_setting('x') is its value, a literal
    settings: Mapping[str, str] = field(default_factory=dict)


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
    tree = _folded(tree)
    _name_columns(tree)
    for collate in list(tree.find_all(exp.Collate)):  # DuckDB has no pg_catalog collations
        collate.replace(collate.this)

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
            return _function_in_from(node)
        if isinstance(node, exp.Table):
            db, name = node.db.lower(), node.name.lower()
            if db == "information_schema":
                node.set("db", exp.to_identifier(INFO))
                node.set("catalog", None)
            elif db == "pg_catalog" and name not in TABLES:
                node.set("db", None)  # pg_catalog.unnest(...), generate_series: DuckDB's own
            elif db == "pg_catalog" or (not db and name in TABLES):
                if not node.alias:
                    node.set("alias", exp.TableAlias(this=exp.to_identifier(name)))
                node.set("db", exp.to_identifier(PG))
                node.set("catalog", None)
            return node
        if isinstance(node, exp.Column) and not node.table and _is_bare_user(node):
            return exp.Literal.string(facts.user)  # Postgres's `user`: current_user
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
        if isinstance(node, _ARITHMETIC):
            for side in ("this", "expression"):
                _int4_literal(node.args.get(side))
            return node
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


# the names Postgres keeps for the SQL types' spellings (a cast's column is named by them)
_INTERNAL_TYPE_NAMES = {
    "bigint": "int8", "integer": "int4", "int": "int4", "smallint": "int2", "boolean": "bool",
    "double precision": "float8", "real": "float4", "decimal": "numeric",
    "character varying": "varchar", "character": "bpchar", "char": "bpchar",
    "timestamp with time zone": "timestamptz", "timestamp without time zone": "timestamp",
    "time without time zone": "time", "time with time zone": "timetz",
}  # fmt: skip


def _figured_name(node: exp.Expr) -> str | None:
    """The name Postgres gives a result column without an alias (its FigureColname): a
    function's name, a cast's operand's (else its type's), ``case``, ``array``, ``exists``, a
    subquery's column; None for a column (its own name already), ``?column?`` for the rest."""
    if isinstance(node, exp.Column | exp.Star):
        return None
    if isinstance(node, exp.Paren | exp.Bracket):
        return _figured_name(node.this) or "?column?"
    if isinstance(node, exp.Cast):
        inner = node.this
        if isinstance(inner, exp.Column):
            return inner.name
        named = _figured_name(inner)
        if named != "?column?":
            return named
        kind = _type_name(node.args["to"]).split("(")[0].strip()
        return _INTERNAL_TYPE_NAMES.get(kind, kind) or "?column?"
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _figured_name(node.expression)  # pg_catalog.format_type(...)
    if isinstance(node, exp.Case | exp.If):
        return "case"
    if isinstance(node, exp.Array):
        return "array"
    if isinstance(node, exp.Exists):
        return "exists"
    if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Query):
        first = node.this.selects[0] if node.this.selects else None
        if first is None:
            return "?column?"
        return first.alias_or_name if first.alias or isinstance(first, exp.Column) else (
            _figured_name(first) or "?column?"
        )  # fmt: skip
    if isinstance(node, exp.Func) and not isinstance(node, exp.Binary | exp.Connector):
        return _name(node) or "?column?"
    return "?column?"


def _name_columns(tree: exp.Expr) -> None:
    """Alias the result columns as Postgres names them (DuckDB names an expression by its
    text): ``SELECT current_database()`` answers a column ``current_database``."""
    query: exp.Expr | None = tree
    while isinstance(query, exp.SetOperation):
        query = query.this  # a UNION's columns are its first query's
    if not isinstance(query, exp.Select):
        return
    for e in list(query.expressions):
        if isinstance(e, exp.Alias):
            continue
        named = _figured_name(e)
        if named is not None:
            e.replace(exp.alias_(e.copy(), named, quoted=True))


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def _int4_literal(node: exp.Expr | None) -> None:
    """An integer literal as Postgres types it (int4; int8 past its range): DuckDB gives a
    literal the other operand's type, so ``attnum - 1`` would stay a smallint."""
    if isinstance(node, exp.Literal) and not node.is_string and str(node.this).isdigit():
        kind = "INTEGER" if int(str(node.this)) < 2**31 else "BIGINT"
        node.replace(exp.cast(node.copy(), exp.DataType.build(kind)))


def _is_bare_user(node: exp.Column) -> bool:
    ident = node.this
    return isinstance(ident, exp.Identifier) and not ident.quoted and ident.name.lower() == "user"


# functions that are DuckDB table functions too: in FROM they give rows
_SET_RETURNING = (exp.ExplodingGenerateSeries, exp.GenerateSeries, exp.Unnest, exp.Explode)


def _function_in_from(node: exp.Table) -> exp.Expr:
    """A function in FROM as Postgres reads it: ``generate_series(...) AS i`` names its column
    ``i`` too (DuckDB would name it generate_series), and a scalar function
    (``string_to_array(...) s``) is one row whose column is the alias."""
    if node.db.lower() == "pg_catalog":
        node.set("db", None)  # pg_catalog.unnest(...): DuckDB's own
    alias = node.args.get("alias")
    if not isinstance(alias, exp.TableAlias) or alias.columns or not alias.name:
        return node
    name = exp.to_identifier(alias.name)
    if isinstance(node.this, _SET_RETURNING):
        node.set("alias", exp.TableAlias(this=name, columns=[name.copy()]))
        return node
    if isinstance(node.this, exp.StringToArray | exp.Split | exp.Array | exp.Anonymous):
        if isinstance(node.this, exp.Anonymous) and node.this.name.lower() not in _SCALARS:
            return node  # a DuckDB table function (unnest, range, ...)
        row = exp.select(exp.alias_(node.this.copy(), name.copy()))
        return exp.Subquery(this=row, alias=exp.TableAlias(this=name))
    return node


_SCALARS = {"string_to_array", "regexp_split_to_array", "current_schemas", "parse_ident"}


def _cast(node: exp.Cast) -> exp.Expr:
    name = _type_name(node.args["to"])
    if name in ("regproc", "regprocedure"):
        # a function by name, as text: pg_type's typinput / typoutput hold names (array_in)
        value = node.this
        if isinstance(value, exp.Literal) and value.is_string:
            return exp.Literal.string(str(value.this).split("(")[0].rsplit(".", 1)[-1])
        node.set("to", exp.DataType.build("VARCHAR"))
        return node
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
        if name == "regclass" and not isinstance(value, exp.Literal):
            # text (format('%I.%I', schema, table)::regclass) or an oid: the table's oid
            return exp.Anonymous(this=f"{PG}.regclass_in", expressions=[value])
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
    if name in CATALOG_OIDS and schema in (None, "pg_catalog"):
        return exp.Literal.number(CATALOG_OIDS[name])
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


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?(-?)(\d*)([sIL%])")


def _format(node: exp.Expr) -> exp.Expr:
    """Postgres's ``format('%I.%I', a, b)`` as the concatenation it makes: ``%s`` the value as
    text (NULL: empty), ``%I`` quoted as an identifier, ``%L`` as a literal (NULL: ``NULL``),
    ``%n$`` the nth argument, a width pads (``-``: on the right). A format that is not a
    literal stays as it is."""
    fmt = node.this if isinstance(node, exp.Format) else None
    args = list(node.expressions)
    if isinstance(node, exp.Anonymous):
        fmt, args = (args[0] if args else None), args[1:]
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        return node
    text = str(fmt.this)
    parts: list[exp.Expr] = []
    at, following = 0, 0
    for m in _FORMAT_SPEC.finditer(text):
        if m.start() > at:
            parts.append(exp.Literal.string(text[at : m.start()]))
        at = m.end()
        position, left, width, kind = m.groups()
        if kind == "%":
            parts.append(exp.Literal.string("%"))
            continue
        index = int(position) - 1 if position else following
        following = index + 1
        if index >= len(args):
            return node  # too few arguments: Postgres's own error is DuckDB's
        value: exp.Expr = exp.cast(args[index].copy(), exp.DataType.build("VARCHAR"))
        if kind == "s":
            value = exp.Coalesce(this=value, expressions=[exp.Literal.string("")])
        else:
            macro = "quote_ident" if kind == "I" else "quote_nullable"
            value = exp.Anonymous(this=f"{PG}.{macro}", expressions=[value])
        if width:
            pad = "rpad" if left else "lpad"
            value = exp.Anonymous(
                this=pad, expressions=[value, exp.Literal.number(width), exp.Literal.string(" ")]
            )
        parts.append(value)
    if at < len(text):
        parts.append(exp.Literal.string(text[at:]))
    if not parts:
        return exp.Literal.string("")
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p, safe=True)
    return exp.Paren(this=out)


def _function(node: exp.Func, facts: ClientFacts, macros: set[str]) -> exp.Expr:
    name = _name(node)
    if isinstance(node, exp.Format) or name == "format":
        return _format(node)
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
    setting = _setting_named(node) if name == "current_setting" else None
    if setting is not None and setting in facts.settings:
        return exp.Literal.string(facts.settings[setting])
    if name == "pg_backend_pid":
        return exp.Literal.number(facts.process_id)
    if name in macros:
        args = list(node.args.get("expressions") or [a for a in node.args.values() if
                    isinstance(a, exp.Expr)])  # fmt: skip
        return exp.Anonymous(this=f"{PG}.{name}", expressions=args)
    return node


def _setting_named(node: exp.Func) -> str | None:
    args = node.expressions if isinstance(node, exp.Anonymous) else [node.this]
    first = args[0] if args else None
    if isinstance(first, exp.Literal) and first.is_string:
        return str(first.this).lower()
    return None


def macro_names(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE schema_name = ?", [PG]
    ).fetchall()
    return {str(r[0]) for r in rows}


def _folded(tree: exp.Expr) -> exp.Expr:
    """A copy of ``tree`` with its unquoted names lower-cased, as Postgres folds them:
    ``SELECT x AS TABLE_CAT`` answers a column ``table_cat``."""
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    return normalize_identifiers(tree.copy(), dialect="postgres")


def output_names(tree: exp.Expr) -> Iterator[str]:
    """The column names of a SELECT, for the empty answer of a catalog query DuckDB cannot run
    (it reads a catalog oktaql has no rows for)."""
    tree = _folded(tree)
    _name_columns(tree)
    while isinstance(tree, exp.SetOperation):
        tree = tree.this
    if isinstance(tree, exp.Query):
        for i, e in enumerate(tree.selects, start=1):
            yield e.alias_or_name or f"column{i}"


def empty_catalog_answer(tree: exp.Expr) -> list[str]:
    return list(output_names(tree))


__all__ = [
    "ClientFacts",
    "empty_catalog_answer",
    "is_catalog_query",
    "macro_names",
    "translate",
]
