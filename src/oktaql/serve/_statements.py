"""What a client's statement is, before it runs: a session command the server answers itself
(BEGIN, SET, SHOW a setting, ...), a catalog query (run in DuckDB over the catalog), or an
oktaql statement (run by the client's session); and its ``$n`` parameters in oktaql's ``?``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from oktaql.errors import ProgrammingError

# Statements Postgres clients send on their own that change nothing oktaql has: transactions
# (every API call takes effect at once), session settings, prepared-statement bookkeeping
_TAGS = {
    "begin": "BEGIN",
    "start": "START TRANSACTION",
    "commit": "COMMIT",
    "end": "COMMIT",
    "rollback": "ROLLBACK",
    "abort": "ROLLBACK",
    "savepoint": "SAVEPOINT",
    "release": "RELEASE",
    "set": "SET",
    "reset": "RESET",
    "discard": "DISCARD ALL",
    "deallocate": "DEALLOCATE",
    "listen": "LISTEN",
    "unlisten": "UNLISTEN",
}
_FIRST_WORD = re.compile(r"\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*([A-Za-z_]+)", re.S)
_SET = re.compile(r"(?is)\s*set\s+(?:session\s+|local\s+)?([\w.]+)\s*(?:=|\bto\b)\s*(.*?)\s*;?\s*$")
_SHOW = re.compile(r"(?is)\s*show\s+(all|transaction\s+isolation\s+level|[\w.]+)\s*;?\s*$")


def first_word(sql: str) -> str:
    m = _FIRST_WORD.match(sql)
    return m.group(1).lower() if m else ""


@dataclass(frozen=True)
class Command:
    """A session command: its tag, the setting it sets (name, value), or the one it shows."""

    tag: str
    sets: tuple[str, str] | None = None
    shows: str | None = None


def session_command(sql: str, settings: dict[str, str]) -> Command | None:
    """The command ``sql`` is, or None when it is a statement to run. SHOW of a name that is
    not a setting is oktaql's (SHOW SERVICES IN okta)."""
    word = first_word(sql)
    if word == "show":
        m = _SHOW.match(sql)
        if m is None:
            return None
        name = re.sub(r"\s+", "_", m.group(1).lower())
        if name == "all" or name == "transaction_isolation_level" or name in settings:
            return Command("SHOW", shows=name)
        return None
    tag = _TAGS.get(word)
    if tag is None:
        return None
    if word == "set":
        m = _SET.match(sql)
        if m is not None:
            value = m.group(2).strip()
            if value[:1] in ("'", '"') and value[-1:] == value[:1]:
                value = value[1:-1]
            return Command(tag, sets=(m.group(1).lower(), value))
    return Command(tag)


def show_rows(name: str, settings: dict[str, str]) -> tuple[list[str], list[tuple[str, ...]]]:
    if name == "all":
        return ["name", "setting", "description"], [(k, v, "") for k, v in sorted(settings.items())]
    if name == "transaction_isolation_level":
        return ["transaction_isolation"], [
            (settings.get("transaction_isolation", "read committed"),)
        ]
    return [name], [(settings[name],)]


def parse_postgres(sql: str) -> exp.Expr | None:
    """The statement as Postgres reads it, or None when sqlglot cannot (oktaql's own
    statements: SHOW SERVICES, EXEC, ...)."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    try:
        trees = sqlglot.parse(sql, read="postgres")
    except (ParseError, TokenError, ValueError):
        quoted = _keyword_aliases_quoted(sql)
        if quoted == sql:
            return None
        try:  # Metabase's `... AS select, ... AS table`: a keyword as an alias after AS
            trees = sqlglot.parse(quoted, read="postgres")
        except (ParseError, TokenError, ValueError):
            return None
    if len(trees) != 1 or trees[0] is None or isinstance(trees[0], exp.Command):
        return None
    return trees[0]


def _keyword_aliases_quoted(sql: str) -> str:
    """``expr AS select`` → ``expr AS "select"``: Postgres takes any keyword as an alias after
    AS, sqlglot does not."""
    import sqlglot
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.tokenize(sql, read="postgres")
    except (TokenError, ValueError):
        return sql
    plain = (TokenType.VAR, TokenType.IDENTIFIER, TokenType.STRING, TokenType.NUMBER)
    spans = [
        (t.start, t.end + 1, t.text)
        for before, t in zip(tokens, tokens[1:], strict=False)
        if before.token_type == TokenType.ALIAS
        and t.token_type not in plain
        and t.text.isidentifier()
    ]
    for start, end, text in reversed(spans):
        sql = sql[:start] + '"' + text.lower() + '"' + sql[end:]
    return sql


def qualify(sql: str, tables: dict[tuple[str, str], str]) -> str:
    """``FROM apps.tokens`` (schema.table, as BI tools write a table their catalog listed) →
    ``FROM okta.apps.tokens``: a two-part name after FROM, JOIN or a comma that is a table of
    the catalog gets its provider (``tables`` maps (schema, table) to it). Anything else,
    and a statement that does not tokenize, is left as it is."""
    import sqlglot
    from sqlglot.errors import TokenError
    from sqlglot.tokens import TokenType

    try:
        tokens = sqlglot.tokenize(sql, read="postgres")
    except (TokenError, ValueError):
        return sql
    names = (TokenType.VAR, TokenType.IDENTIFIER)
    before = (TokenType.FROM, TokenType.JOIN, TokenType.COMMA)
    inserts: list[tuple[int, str]] = []
    for i in range(1, len(tokens) - 2):
        t, dot, name = tokens[i], tokens[i + 1], tokens[i + 2]
        if tokens[i - 1].token_type not in before or t.token_type not in names:
            continue
        if dot.token_type != TokenType.DOT or name.token_type not in names:
            continue
        if i + 3 < len(tokens) and tokens[i + 3].token_type == TokenType.DOT:
            continue  # already three parts
        provider = tables.get((t.text, name.text))
        if provider is not None:
            inserts.append((t.start, provider + "."))
    for at, text in reversed(inserts):
        sql = sql[:at] + text + sql[at:]
    return sql


def positional(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """``$1 … $n`` (Postgres) → ``?`` in order of appearance, with the values in that order;
    a ``$`` inside a string, a quoted name or a comment is text."""
    out: list[str] = []
    values: list[Any] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            out.append(sql[i : j + 1])
            i = j + 1
            continue
        if sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out.append(sql[i:j])
            i = j
            continue
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(sql[i:j])
            i = j
            continue
        m = re.compile(r"\$(\d+)").match(sql, i) if ch == "$" else None
        if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            k = int(m.group(1))
            if not 1 <= k <= len(params):
                raise ProgrammingError(f"${k}: the statement was bound {len(params)} parameter(s)")
            out.append("?")
            values.append(params[k - 1])
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out), values


def offset_of(sql: str, line: int, col: int) -> int:
    """The 0-based character offset of 1-based ``line``/``col`` in ``sql``."""
    start = 0
    for _ in range(line - 1):
        nl = sql.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    return min(start + col - 1, len(sql))


def position_in(original: str, ran: str, offset: int) -> int:
    """Where ``offset`` of ``ran`` (the client's statement as oktaql ran it: providers added
    to two-part names, ``$n`` as ``?`` then bound, EXPLAIN before it) falls in ``original``,
    as the 1-based character position an ErrorResponse carries."""
    import difflib

    if original == ran:
        return offset + 1
    matcher = difflib.SequenceMatcher(None, original, ran, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if b + size > offset:  # in this block, or in text inserted just before it
            return a + max(0, offset - b) + 1 if offset >= b else a + 1
    return len(original) + 1


def parameter_count(sql: str) -> int:
    """The highest ``$n`` of a statement (what Parse declares when its types are not given)."""
    found = 0
    for m in re.finditer(r"(?<![\w$])\$(\d+)", _outside_quotes(sql)):
        found = max(found, int(m.group(1)))
    return found


def _outside_quotes(sql: str) -> str:
    return re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", " ", sql, flags=re.S)


__all__ = [
    "Command",
    "first_word",
    "offset_of",
    "parameter_count",
    "parse_postgres",
    "position_in",
    "positional",
    "qualify",
    "session_command",
    "show_rows",
]
