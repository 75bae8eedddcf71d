"""SQL text → statements.

StackQL's dialect is SQLite-flavoured SQL plus a few statements of its own. Standard statements
(SELECT, INSERT, UPDATE, DELETE) are parsed by sqlglot (SQLite dialect, as StackQL's docs write
them); EXEC, SHOW, DESCRIBE and REGISTRY are parsed here. Before either, comments are blanked out
(keeping every offset, so errors point at the right line and column) and the quirks found in
StackQL's docs are normalised: bare hyphenated header names (``AND If-Match = '...'``), an
``UPDATE ... SET`` with nothing to set, ``REPLACE`` written like ``UPDATE``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.sqlite import SQLite
from sqlglot.errors import ParseError, TokenError

from oktaql.errors import NotSupportedError, SQLSyntaxError

# Interval text sqlglot reads in full: a number, optionally one unit ('90', '1 day')
_SIMPLE_INTERVAL = re.compile(r"[+-]?\d+(\.\d+)?(\s*[A-Za-z]+)?")


class OktaQL(SQLite):
    """StackQL's SQLite-flavoured SQL as it runs here: in DuckDB.

    SQLite's reading stays where StackQL's docs rely on it (``json_extract`` gives text), but
    what DuckDB users write must not change meaning on the way: ``[1, 2]`` is a list (SQLite
    reads a quoted name), ``a[1]`` is DuckDB's 1-based index, ``strftime`` keeps its arguments
    in the order written (DuckDB takes both orders; SQLite's reading swapped them), and an
    interval's text is kept whole (sqlglot keeps only ``'1 day'`` of ``'1 day 02:03:04.5'``).
    """

    INDEX_OFFSET = 1

    class Tokenizer(SQLite.Tokenizer):
        IDENTIFIERS: ClassVar[list[str | tuple[str, str]]] = ['"', "`"]

    class Parser(SQLite.Parser):  # type: ignore[misc,valid-type]  # a class sqlglot assigns
        FUNCTIONS: ClassVar[dict[str, Any]] = {
            **SQLite.Parser.FUNCTIONS,
            "STRFTIME": lambda args: exp.Anonymous(this="strftime", expressions=args),
        }

        def _parse_interval_span(self, this: Any, parse_function_unit: bool = True) -> Any:
            if (
                this is not None
                and this.is_string
                and not _SIMPLE_INTERVAL.fullmatch(this.name.strip())
            ):
                return self.expression(exp.Interval(this=this))
            return super()._parse_interval_span(this, parse_function_unit)


READ_DIALECT = OktaQL


@dataclass
class Statement:
    sql: str  # the statement's text, comments blanked
    hints: set[str] = field(default_factory=set)


@dataclass
class Query(Statement):
    ast: exp.Expression = field(default=None)  # type: ignore[assignment]


@dataclass
class Insert(Statement):
    ast: exp.Insert = field(default=None)  # type: ignore[assignment]


@dataclass
class Update(Statement):
    ast: exp.Update = field(default=None)  # type: ignore[assignment]
    replace: bool = False


@dataclass
class Delete(Statement):
    ast: exp.Delete = field(default=None)  # type: ignore[assignment]


@dataclass
class Exec(Statement):
    target: str = ""  # okta.svc.res.method
    args: dict[str, Any] = field(default_factory=dict)
    json_body: str | None = None


@dataclass
class Show(Statement):
    what: str = ""  # providers | services | resources | methods | tables | views
    target: str | None = None
    like: str | None = None
    extended: bool = False


@dataclass
class Describe(Statement):
    target: str = ""
    extended: bool = False
    method: bool = False


@dataclass
class CreateView(Statement):
    name: str = ""
    query: exp.Expression = field(default=None)  # type: ignore[assignment]
    body_sql: str = ""
    materialized: bool = False
    or_replace: bool = False


@dataclass
class DropView(Statement):
    name: str = ""
    materialized: bool = False
    if_exists: bool = False


@dataclass
class RefreshView(Statement):
    name: str = ""


@dataclass
class Local(Statement):
    """A statement for DuckDB itself (CREATE TABLE, INSERT INTO a user table, DROP TABLE...);
    provider tables inside it are fetched first."""

    ast: exp.Expression = field(default=None)  # type: ignore[assignment]


@dataclass
class Registry(Statement):
    action: str = ""  # list | pull | remove
    provider: str | None = None
    version: str | None = None


@dataclass
class ShowInsert(Statement):
    target: str = ""
    required_only: bool = False


@dataclass
class Explain(Statement):
    inner: Statement = field(default=None)  # type: ignore[assignment]


# --- lexical helpers ------------------------------------------------------------------------


def _quoted_run(sql: str, i: int) -> tuple[int, bool]:
    """(the offset just past the quoted run opening at ``sql[i]``, whether its closing quote
    is there); doubled quotes escape."""
    quote, j, n = sql[i], i + 1, len(sql)
    while j < n:
        if sql[j] == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1, True
        j += 1
    return n, False


def _string_end(sql: str, i: int) -> int:
    return _quoted_run(sql, i)[0]


def blank_comments(sql: str) -> tuple[str, set[str]]:
    """Replace comments by spaces (newlines kept) and collect ``/*+ HINT */`` hints."""
    out = list(sql)
    hints: set[str] = set()
    i, n = 0, len(sql)
    while i < n:
        if sql[i] in ("'", '"', "`"):
            i = _string_end(sql, i)
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            body = sql[i + 2 : j - 2]
            if body.startswith("+"):
                hints.update(h.upper() for h in re.findall(r"[A-Za-z_]+", body[1:]))
        else:
            i += 1
            continue
        for k in range(i, j):
            if out[k] != "\n":
                out[k] = " "
        i = j
    return "".join(out), hints


def _outside_strings(sql: str) -> list[tuple[int, int, bool]]:
    """Segments (start, end, is_string) of ``sql``."""
    segs: list[tuple[int, int, bool]] = []
    i, start, n = 0, 0, len(sql)
    while i < n:
        if sql[i] in ("'", '"', "`"):
            if start < i:
                segs.append((start, i, False))
            end = _string_end(sql, i)
            segs.append((i, end, True))
            i = start = end
            continue
        i += 1
    if start < n:
        segs.append((start, n, False))
    return segs


def split_statements(sql: str) -> list[str]:
    """Split on ``;`` outside strings and comments; empty statements are dropped."""
    blanked, _ = blank_comments(sql)
    parts: list[str] = []
    last = 0
    for start, end, is_str in _outside_strings(blanked):
        if is_str:
            continue
        for k in range(start, end):
            if blanked[k] == ";":
                parts.append(sql[last:k])
                last = k + 1
    parts.append(sql[last:])
    return [p for p in parts if blank_comments(p)[0].strip()]


# Names StackQL's docs write bare that SQL would misread: header parameters (`If-Match = 'x'`,
# `OktaAccessGateway-Agent` in an INSERT column list) and JWK fields such as `x5t#S256`.
_HYPHEN_COMPARED = re.compile(
    r"(?<![\w.@$\"])([A-Za-z_]\w*(?:-[A-Za-z_]\w*)+)(?=\s*(?:=|<>|!=|\bIN\b|\bin\b))"
)
_HEADER_NAME = re.compile(r"(?<![\w@$\"-])([A-Za-z_]\w*(?:-[A-Za-z_]\w*)+)(?![\w-])")
_HASH_NAME = re.compile(r"(?<![\w.@$\"])([A-Za-z_]\w*#\w+)")


def _quote_odd_names(sql: str) -> str:
    """``If-Match = 'x'`` → ``"If-Match" = 'x'``; ``x5t#S256`` → ``"x5t#S256"``."""
    pieces = []
    for start, end, is_str in _outside_strings(sql):
        seg = sql[start:end]
        if not is_str:
            seg = _HYPHEN_COMPARED.sub(r'"\1"', seg)
            seg = _HEADER_NAME.sub(r'"\1"', seg)
            seg = _HASH_NAME.sub(r'"\1"', seg)
        pieces.append(seg)
    return "".join(pieces)


def _first_word(sql: str) -> tuple[str, int]:
    m = re.match(r"\s*([A-Za-z_]+)", sql)
    if not m:
        return "", 0
    return m.group(1).upper(), m.end()


def _position(sql: str, offset: int) -> tuple[int, int]:
    line = sql.count("\n", 0, offset) + 1
    col = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, col


def syntax_error(message: str, sql: str, offset: int) -> SQLSyntaxError:
    line, col = _position(sql, offset)
    return SQLSyntaxError(message, sql, line, col)


# --- entry point ----------------------------------------------------------------------------


def _check_strings_closed(sql: str) -> None:
    """An unclosed quote is reported where it opens, not as the fragment a tokenizer saw."""
    blanked, _ = blank_comments(sql)
    for start, _end, is_str in _outside_strings(blanked):
        if is_str and not _quoted_run(blanked, start)[1]:
            quote = blanked[start]
            kind = "string" if quote == "'" else "quoted name"
            raise syntax_error(
                f"unterminated {kind}: the {quote} opened here is never closed", sql, start
            )


def parse(sql: str) -> Statement:
    """Parse exactly one statement (a trailing ``;`` is fine)."""
    _check_strings_closed(sql)
    parts = split_statements(sql)
    if not parts:
        raise SQLSyntaxError("empty statement: nothing to run")
    if len(parts) > 1:
        raise SQLSyntaxError(
            f"{len(parts)} statements given where one was expected: run them one at a time"
        )
    text, hints = blank_comments(parts[0])
    return _parse_one(text, hints)


def _parse_one(text: str, hints: set[str]) -> Statement:
    word, end = _first_word(text)
    if word == "EXPLAIN":
        inner_text = " " * end + text[end:]
        inner = _parse_one(inner_text, hints)
        return Explain(sql=text, hints=hints, inner=inner)
    if word in ("SELECT", "WITH", "VALUES") or text.lstrip().startswith("("):
        ast = _sqlglot(text)
        if not isinstance(ast, exp.Query):
            raise syntax_error("expected a query", text, 0)
        return Query(sql=text, hints=hints, ast=ast)
    if word == "INSERT":
        ast = _sqlglot(text)
        assert isinstance(ast, exp.Insert)
        target = ast.this.this if isinstance(ast.this, exp.Schema) else ast.this
        if isinstance(target, exp.Table) and not target.args.get("catalog"):
            return Local(sql=text, hints=hints, ast=ast)  # a user table
        return Insert(sql=text, hints=hints, ast=ast)
    if word in ("UPDATE", "REPLACE"):
        body = text
        if word == "REPLACE":
            # StackQL's REPLACE reads like UPDATE; sqlglot knows REPLACE only as MySQL's INSERT
            start = text.upper().find("REPLACE")
            body = text[:start] + "UPDATE " + text[start + len("REPLACE") :]
        # docs write `SET -- No updatable properties` and then WHERE: sqlglot reads an empty
        # SET as an Update without assignments, which the planner sends with no body fields
        ast = _sqlglot(body)
        if not isinstance(ast, exp.Update):
            raise syntax_error(f"expected {word} <resource> SET ... WHERE ...", text, 0)
        return Update(sql=text, hints=hints, ast=ast, replace=word == "REPLACE")
    if word == "DELETE":
        ast = _sqlglot(text)
        assert isinstance(ast, exp.Delete)
        return Delete(sql=text, hints=hints, ast=ast)
    if word in ("EXEC", "EXECUTE"):
        return _parse_exec(text, end, hints)
    if word == "SHOW":
        m = re.match(r"(?is)\s*SHOW\s+INSERT\s+INTO\s+([\w.]+)\s*$", text)
        if m:
            return ShowInsert(
                sql=text, hints=hints, target=m.group(1), required_only="REQUIRED" in hints
            )
        return _parse_show(text, end, hints)
    if word in ("DESCRIBE", "DESC"):
        return _parse_describe(text, end, hints)
    if word == "CREATE":
        return _parse_create(text, hints)
    if word == "DROP":
        m = re.match(r"(?is)\s*DROP\s+(MATERIALIZED\s+)?VIEW\s+(IF\s+EXISTS\s+)?([\w.]+)\s*$", text)
        if m:
            return DropView(
                sql=text,
                hints=hints,
                name=m.group(3),
                materialized=bool(m.group(1)),
                if_exists=bool(m.group(2)),
            )
        return Local(sql=text, hints=hints, ast=_sqlglot(text))
    if word == "REFRESH":
        m = re.match(r"(?is)\s*REFRESH\s+MATERIALIZED\s+VIEW\s+([\w.]+)\s*$", text)
        if not m:
            raise syntax_error("expected REFRESH MATERIALIZED VIEW <name>", text, 0)
        return RefreshView(sql=text, hints=hints, name=m.group(1))
    if word == "REGISTRY":
        m = re.match(
            r"(?is)\s*REGISTRY\s+(LIST|PULL|REMOVE)\b(?:\s+([\w-]+))?(?:\s+([\w.-]+))?\s*$", text
        )
        if not m:
            raise syntax_error(
                "expected REGISTRY LIST [provider], REGISTRY PULL <provider> [version] or "
                "REGISTRY REMOVE <provider> [version]",
                text,
                0,
            )
        action = m.group(1).lower()
        if action in ("pull", "remove") and not m.group(2):
            verb = action.upper()
            raise syntax_error(
                f"REGISTRY {verb} needs a provider, e.g. REGISTRY {verb} okta", text, 0
            )
        return Registry(
            sql=text, hints=hints, action=action, provider=m.group(2), version=m.group(3)
        )
    if word in ("PURGE", "NOP"):
        raise NotSupportedError(f"{word} statements are not supported")
    if not word:
        raise syntax_error("expected a statement such as SELECT, INSERT, DELETE or EXEC", text, 0)
    off = len(text) - len(text.lstrip())
    raise syntax_error(
        f"unknown statement {word!r}: expected SELECT, INSERT, UPDATE, REPLACE, DELETE, EXEC, "
        "SHOW, DESCRIBE or EXPLAIN",
        text,
        off,
    )


def _sqlglot(text: str) -> exp.Expression:
    prepared = _quote_odd_names(text)
    try:
        asts = sqlglot.parse(prepared, read=READ_DIALECT)
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        desc = str(err.get("description") or exc).split("\n")[0]
        line, col = err.get("line"), err.get("col")
        if line and col:
            raise SQLSyntaxError(f"syntax error: {desc}", text, int(line), int(col)) from None
        raise SQLSyntaxError(f"syntax error: {desc}") from None
    except TokenError as exc:
        raise SQLSyntaxError(f"syntax error: {exc}") from None
    found = [a for a in asts if isinstance(a, exp.Expression)]
    if len(found) != 1:
        raise SQLSyntaxError("expected exactly one statement")
    return found[0]


# --- StackQL's own statements ---------------------------------------------------------------

_NAME = re.compile(r"\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)")
_WS_COMMA = re.compile(r"[\s,]*")


def _read_value(text: str, i: int) -> tuple[Any, int]:
    """A literal at ``text[i:]``: quoted string, number, boolean, null or bare word."""
    n = len(text)
    while i < n and text[i].isspace():
        i += 1
    if i >= n:
        raise syntax_error("expected a value", text, i)
    ch = text[i]
    if ch in ("'", '"'):
        j = i + 1
        buf = []
        while j < n:
            if text[j] == ch:
                if j + 1 < n and text[j + 1] == ch:
                    buf.append(ch)
                    j += 2
                    continue
                return "".join(buf), j + 1
            buf.append(text[j])
            j += 1
        raise syntax_error("unterminated string", text, i)
    m = re.compile(r"-?\d+(\.\d+)?(?![\w.])").match(text, i)
    if m:
        return (float(m.group(0)) if m.group(1) else int(m.group(0))), m.end()
    m = re.compile(r"[A-Za-z_][\w.-]*").match(text, i)
    if m:
        word = m.group(0)
        low = word.lower()
        if low in ("true", "false"):
            return low == "true", m.end()
        if low == "null":
            return None, m.end()
        return word, m.end()
    raise syntax_error("expected a value (a quoted string, number, true, false or null)", text, i)


def _parse_exec(text: str, i: int, hints: set[str]) -> Exec:
    m = _NAME.match(text, i)
    if not m:
        raise syntax_error("EXEC needs a method: EXEC okta.<service>.<resource>.<method>", text, i)
    target = m.group(1)
    i = m.end()
    args: dict[str, Any] = {}
    json_body: str | None = None
    n = len(text)
    while True:
        i = _WS_COMMA.match(text, i).end()  # type: ignore[union-attr]
        if i >= n:
            break
        if text.startswith("@@", i):
            nm = re.compile(r"@@(\w+)\s*=").match(text, i)
            if not nm or nm.group(1).lower() != "json":
                raise syntax_error("expected @@json = '<request body>'", text, i)
            value, i = _read_value(text, nm.end())
            json_body = value if isinstance(value, str) else str(value)
            continue
        if text[i] != "@":
            raise syntax_error("expected an argument such as @name = 'value'", text, i)
        nm = re.compile(r"@([A-Za-z_][\w-]*)\s*=").match(text, i)
        if not nm:
            raise syntax_error("expected @name = value", text, i)
        name = nm.group(1)
        if name in args:
            raise syntax_error(f"argument @{name} given twice", text, i)
        args[name], i = _read_value(text, nm.end())
    return Exec(sql=text, hints=hints, target=target, args=args, json_body=json_body)


def _parse_show(text: str, i: int, hints: set[str]) -> Show:
    rest = text[i:]
    local = re.match(r"(?is)\s*(TABLES|VIEWS)(?:\s+LIKE\s+'((?:[^']|'')*)')?\s*$", rest)
    if local:  # the session's own tables and views (the DuckDB file), as Steampipe lists them
        pattern = local.group(2).replace("''", "'") if local.group(2) is not None else None
        return Show(sql=text, hints=hints, what=local.group(1).lower(), like=pattern)
    m = re.match(
        r"(?is)\s*(EXTENDED\s+)?(PROVIDERS|SERVICES|RESOURCES|METHODS)\b"
        r"(?:\s+(?:IN|FROM)\s+([\w.]+))?(?:\s+LIKE\s+'((?:[^']|'')*)')?\s*$",
        rest,
    )
    if not m:
        raise syntax_error(
            "expected SHOW [EXTENDED] PROVIDERS | SERVICES IN <provider> | "
            "RESOURCES IN <provider>.<service> | METHODS IN <provider>.<service>.<resource> "
            "| TABLES | VIEWS [LIKE 'pattern']",
            text,
            i,
        )
    like = m.group(4).replace("''", "'") if m.group(4) is not None else None
    return Show(
        sql=text,
        hints=hints,
        what=m.group(2).lower(),
        target=m.group(3),
        like=like,
        extended=bool(m.group(1)),
    )


def _parse_describe(text: str, i: int, hints: set[str]) -> Describe:
    m = re.match(r"(?is)\s*(EXTENDED\s+)?(METHOD\s+)?([\w.]+)\s*$", text[i:])
    if not m:
        raise syntax_error("expected DESCRIBE [EXTENDED] <provider>.<service>.<resource>", text, i)
    return Describe(
        sql=text, hints=hints, target=m.group(3), extended=bool(m.group(1)), method=bool(m.group(2))
    )


_CREATE_VIEW = re.compile(
    r"(?is)\s*CREATE\s+(OR\s+REPLACE\s+)?(MATERIALIZED\s+)?VIEW\s+([\w.]+)\s+AS\s+"
)


def _parse_create(text: str, hints: set[str]) -> Statement:
    m = _CREATE_VIEW.match(text)
    if m:
        body = " " * m.end() + text[m.end() :]  # keep offsets for error positions
        query = _sqlglot(body)
        if not isinstance(query, exp.Query):
            raise syntax_error("a view's body must be a query (SELECT ...)", text, m.end())
        return CreateView(
            sql=text,
            hints=hints,
            name=m.group(3),
            query=query,
            body_sql=text[m.end() :].strip(),
            materialized=bool(m.group(2)),
            or_replace=bool(m.group(1)),
        )
    return Local(sql=text, hints=hints, ast=_sqlglot(text))
