"""``{{ var }}`` placeholders in SQL, rendered with Jinja2 and escaped for where they stand.

A placeholder inside a quoted SQL string gets its quotes doubled, so a value can never end
the string it was put in. A bare placeholder (``activate = {{ activate }}``) becomes a SQL
literal: numbers and booleans as they are, anything else as a quoted string. A variable with
no value is an error naming it, never an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from oktaql.errors import TemplateError

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.S)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_HYPHENATED = re.compile(r"^[A-Za-z_]\w*(?:-\w+)+$")
_SIMPLE = re.compile(r"^[A-Za-z_][\w-]*$")


def has_template(sql: str) -> bool:
    return "{{" in sql or "{%" in sql


def _quote_in_string(value: Any) -> str:
    return _text(value).replace("'", "''")


def _quote_json_in_string(value: Any) -> str:
    """Inside "..." within a SQL string (JSON text, an Okta filter): JSON escapes, then SQL's."""
    return json.dumps(_text(value), ensure_ascii=False)[1:-1].replace("'", "''")


def _bare_literal(value: Any) -> str:
    if value is None:
        return "NULL"  # a bare value of None is SQL's NULL, never the text "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = _text(value)
    if _NUMBER.match(text) or text.lower() in ("true", "false", "null"):
        return text
    return "'" + text.replace("'", "''") + "'"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return str(value)


def _mark_contexts(sql: str) -> str:
    """Wrap each placeholder in the escaping filter its SQL context needs."""
    out: list[str] = []
    i, n = 0, len(sql)
    quote: str | None = None
    inner_dq = False  # inside "..." within a single-quoted string: JSON text or an Okta filter
    while i < n:
        if sql.startswith("{{", i):
            m = _PLACEHOLDER.match(sql, i)
            if not m:
                raise TemplateError(f"unclosed '{{{{' at offset {i}: close it with '}}}}'")
            expr = m.group(1).strip() or '""'
            if _HYPHENATED.match(expr):  # {{ OktaAccessGateway-Agent }} names a variable
                expr = "__vars__[" + repr(expr) + "]"
            if quote == "'":
                filt = "_sql_json_in_string" if inner_dq else "_sql_in_string"
            else:
                filt = "_sql_ident" if quote == '"' else "_sql_bare"
            out.append("{{ (" + expr + ") | " + filt + " }}")
            i = m.end()
            continue
        ch = sql[i]
        if quote:
            if ch == quote:
                if i + 1 < n and sql[i + 1] == quote:
                    out.append(ch * 2)
                    i += 2
                    continue
                quote = None
            elif quote == "'" and ch == "\\" and i + 1 < n:
                out.append(sql[i : i + 2])  # an escaped character inside JSON text
                i += 2
                continue
            elif quote == "'" and ch == '"':
                inner_dq = not inner_dq
        elif ch in ("'", '"'):
            quote = ch
            inner_dq = False
        elif sql.startswith("--", i) or sql.startswith("/*", i):
            # a commented-out placeholder must not demand a value: defuse it
            if sql[i + 1] == "-":
                j = sql.find("\n", i)
                j = n if j < 0 else j
            else:
                j = sql.find("*/", i + 2)
                j = n if j < 0 else j + 2
            out.append(sql[i:j].replace("{{", "{ {").replace("{%", "{ %"))
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _make_env() -> Any:
    import jinja2  # only statements with placeholders pay for Jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
    )
    env.filters["_sql_in_string"] = _quote_in_string
    env.filters["_sql_json_in_string"] = _quote_json_in_string
    env.filters["_sql_bare"] = _bare_literal
    env.filters["_sql_ident"] = lambda v: _text(v).replace('"', '""')
    return env


_ENV: Any = None


def render(sql: str, variables: Mapping[str, Any]) -> str:
    """Fill the placeholders of ``sql`` from ``variables``; SQL without placeholders is returned as is."""
    if not has_template(sql):
        return sql
    marked = _mark_contexts(sql)
    blanked = _mark_comments_only(sql)
    for m in _PLACEHOLDER.finditer(blanked):
        name = m.group(1).strip()
        if _SIMPLE.match(name) and name not in variables:
            raise TemplateError(
                f"template variable {name} has no value: pass it with --var {name}=VALUE"
            )
    import jinja2

    global _ENV
    if _ENV is None:
        _ENV = _make_env()
    try:
        return _ENV.from_string(marked).render(**dict(variables), __vars__=dict(variables))
    except jinja2.UndefinedError as exc:
        name = _undefined_name(str(exc))
        hint = f"--var {name}=VALUE" if name else "--var NAME=VALUE"
        raise TemplateError(
            f"template variable {name or '?'!s} has no value: pass it with {hint}"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise TemplateError(f"template error: {exc}") from None


def _undefined_name(message: str) -> str | None:
    m = re.search(r"'([^']+)' is undefined", message)
    return m.group(1) if m else None


def _mark_comments_only(sql: str) -> str:
    """``sql`` with commented-out placeholders defused (they need no value)."""
    return re.sub(r"--[^\n]*|/\*.*?\*/", lambda m: m.group(0).replace("{{", "{ {"), sql, flags=re.S)
