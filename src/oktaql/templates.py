"""``{{ var }}`` placeholders and DB-API parameters: values go into SQL as data, never as code.

Where a placeholder stands is decided by sqlglot's tokenizer in the parser's dialect
(:data:`oktaql.parser.READ_DIALECT`), the rules the statement is then parsed with:

* inside a quoted string, a value gets its quotes doubled, so it can never end that string;
  inside ``"..."`` within a string (JSON text, an Okta filter) it gets JSON escapes as well;
* inside a quoted identifier (``"..."``, ```...```), its quotes are doubled;
* bare (``activate = {{ activate }}``), it becomes one SQL literal: numbers and booleans as
  they are, anything else a quoted string;
* inside a SQL comment, ``{{ }}``, ``{% %}`` and ``{# #}`` are text (a space is put after the
  brace: ``{ {``) and need no value.

Each rendered statement is then tokenized again and compared with the same rendering holding
neutral values: a value that changed any token outside its own literal is refused
(:class:`oktaql.TemplateError`), whatever the template did with ``{% %}``.

Templates are Jinja2 in an immutable sandbox, so a ``.sql`` file from a stranger can read the
variables it is given and use Jinja's statements (``{% if %}``, ``{% for %}``, ``{% set %}``,
macros), filters and tests, and nothing else: no globals (Jinja's ``range``, ``dict``,
``cycler``, ``joiner``, ``namespace`` and ``lipsum`` are removed), no attribute whose name starts
with ``_``, no ``include``/``import``/``extends``. It cannot run code, read files or the
environment, or reach the network, and each render has a budget
(:mod:`oktaql._template_limits`: loop steps, nested calls, characters built, widths, a
deadline), so a template that runs away fails fast with a :class:`oktaql.TemplateError`.

DB-API parameters (passed by :mod:`oktaql.dbapi` under the key :data:`PARAMETERS`): ``:name``
with a mapping, ``?`` with a sequence, each bound as a bare literal (a ``str`` always as a
string). A ``:name`` or ``?`` inside a string, identifier, comment or ``{{ }}``, or a ``::``
cast, is no parameter.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import json
import math
import re
import secrets
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from oktaql._sandbox import (
    missing_variable,
    only_marked_output,
    render_sandboxed,
    sandbox_environment,
)
from oktaql._template_limits import check_printable, check_values
from oktaql.errors import ProgrammingError, SQLSyntaxError, TemplateError

_CONSTRUCT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{\{|\{%|\{#", re.S)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_HYPHENATED = re.compile(r"^[A-Za-z_]\w*(?:-\w+)+$")
_WORD = re.compile(r"[A-Za-z_]\w*")
_NAME = re.compile(r"[A-Za-z_][\w-]*")
# Noncharacters mark each value in Jinja's output; neither source nor value may hold them.
_OPEN, _CLOSE = "\ufdd0", "\ufdd1"
_MARKED = re.compile(f"{_OPEN}(\\d+){_CLOSE}(.*?){_OPEN}{_CLOSE}", re.S)


#: The variables key under which DB-API parameters reach :func:`render` (a mapping for
#: ``:name``, a list for ``?``). It starts with NUL, which no command-line ``--var`` name can
#: hold, and is never a template variable.
PARAMETERS = "\0parameters"


def has_template(sql: str) -> bool:
    return "{{" in sql or "{%" in sql


# --- literals -------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _quote_in_string(value: Any) -> str:
    return _text(value).replace("'", "''")


def _quote_json_in_string(value: Any) -> str:
    """Inside "..." within a SQL string (JSON text, an Okta filter): JSON escapes, then SQL's."""
    return json.dumps(_text(value), ensure_ascii=False)[1:-1].replace("'", "''")


def _number(value: int | float | Decimal, name: str) -> str:
    if isinstance(value, int):
        if value.bit_length() > 4096:
            raise TemplateError(f"{name} is a number over 4096 bits: pass it as a string")
        return str(value)
    if not math.isfinite(value):
        raise TemplateError(f"{name} is {value}, not a finite number: pass a number or a string")
    return format(value, "f") if isinstance(value, Decimal) else repr(value)


def _bare_literal(value: Any, name: str = "the value") -> str:
    """A template value standing bare: its text read as a number, boolean or null if it is one."""
    if value is None:
        return "NULL"  # a bare value of None is SQL's NULL, never the text "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(value, name)
    text = _text(value)
    if _NUMBER.match(text) or text.lower() in ("true", "false", "null"):
        return text
    return "'" + text.replace("'", "''") + "'"


def parameter_literal(value: Any, name: str) -> str:
    """A DB-API parameter as a SQL literal: typed by Python, so a ``str`` is always a string."""
    if value is None or isinstance(value, bool):
        return _bare_literal(value)
    if isinstance(value, int | float | Decimal):
        return _number(value, name)
    if isinstance(value, str | dt.date | dt.time):  # datetime is a date
        text = value if isinstance(value, str) else value.isoformat()
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, dict | list | tuple):
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ProgrammingError(f"{name} cannot be sent as JSON: {exc}") from None
        return "'" + text.replace("'", "''") + "'"
    raise ProgrammingError(
        f"{name} is a {type(value).__name__}: bind str, int, float, Decimal, bool, "
        "None, a date/time, or a dict/list (sent as JSON text)"
    )


def _ident(value: Any, quote: str, name: str) -> str:
    return _text(value).replace(quote, quote * 2)


# --- where each placeholder stands ----------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    kind: str  # string | json | ident | bare | param
    name: str  # what errors call it: "template variable x", "parameter :x", "parameter ?2"
    quote: str = ""  # an identifier's opening quote

    def escape(self, value: Any) -> str:
        if self.kind == "string":
            return _quote_in_string(value)
        if self.kind == "json":
            return _quote_json_in_string(value)
        if self.kind == "ident":
            return _ident(value, self.quote, self.name)
        if self.kind == "param":
            return parameter_literal(value, self.name)
        return _bare_literal(value, self.name)

    def neutral(self, payload: str) -> str:
        """A harmless stand-in of the same literal kind, to compare token streams with."""
        if self.kind not in ("bare", "param"):
            return "x"
        if payload.startswith("'"):
            return "'x'"
        if payload.startswith("-"):
            return "-0"
        return "0" if payload[:1].isdigit() else payload  # true, false, NULL as they are


@dataclass
class _State:
    slots: list[_Slot]
    emitted: list[tuple[_Slot, str]] = field(default_factory=list)  # each value rendered


_STATE: contextvars.ContextVar[_State] = contextvars.ContextVar("oktaql_template_state")


def _emit(value: Any, index: int) -> str:
    """The filter every placeholder is rendered through: escape, record, mark."""
    state = _STATE.get()
    slot = state.slots[index]
    check_printable(value, slot.name)  # a list the template built of itself, ten times over
    check_values(len(state.emitted))  # each is tokenized and compared after rendering
    payload = slot.escape(value)
    if _OPEN in payload or _CLOSE in payload:
        raise TemplateError(f"{slot.name} holds U+FDD0 or U+FDD1, characters oktaql reserves")
    state.emitted.append((slot, payload))
    return f"{_OPEN}{len(state.emitted) - 1}{_CLOSE}{payload}{_OPEN}{_CLOSE}"


def _tokens(sql: str) -> list[Any]:
    """sqlglot's tokens of ``sql`` in the parser's dialect; _Unterminated at a stray quote."""
    from sqlglot.errors import TokenError

    dialect, lexer = _lexer()
    tokenizer = lexer(dialect=dialect)
    try:
        return tokenizer.tokenize(sql)
    except TokenError:
        done = tokenizer.tokens
        at = done[-1].end + 1 if done else 0
        at += len(sql[at:]) - len(sql[at:].lstrip())
        raise _Unterminated(at) from None


@functools.cache
def _lexer() -> tuple[Any, Any]:
    """The dialect's tokenizer, minus its habit of reading everything after EXPLAIN, SHOW or
    REPLACE as one string: oktaql's parser reads those statements token by token."""
    from sqlglot.dialects.dialect import Dialect

    from oktaql.parser import READ_DIALECT

    dialect = Dialect.get_or_raise(READ_DIALECT)

    class Lexer(dialect.tokenizer_class):  # type: ignore[name-defined,misc]
        COMMANDS: ClassVar[set[Any]] = set()

    return dialect, Lexer


class _Unterminated(Exception):
    def __init__(self, offset: int):
        self.offset = offset


def _token_at(tokens: list[Any], starts: list[int], start: int, end: int) -> Any:
    """The token holding ``[start, end)``; None in a gap (a comment); else an error."""
    k = bisect_right(starts, start) - 1
    if k >= 0 and tokens[k].end >= end - 1:
        return tokens[k]
    if (k < 0 or tokens[k].end < start) and (k + 1 >= len(tokens) or tokens[k + 1].start >= end):
        return None
    raise TemplateError("cannot tell where a {{ }} placeholder stands: put spaces around it")


def _in_double_quotes(text: str) -> bool:
    inside, i = False, 0
    while i < len(text):
        if inside and text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            inside = not inside
        i += 1
    return inside


def _slot_for(probe: str, tok: Any, start: int, name: str) -> _Slot:
    from sqlglot.tokens import TokenType

    if tok.token_type == TokenType.STRING:
        inner = _in_double_quotes(probe[tok.start + 1 : start])
        return _Slot("json" if inner else "string", name)
    if "STRING" in tok.token_type.name:
        kind = tok.token_type.name.lower().replace("_", " ")
        raise TemplateError(f"{name} stands inside a {kind} literal: use a plain '...' string")
    if tok.token_type == TokenType.IDENTIFIER and probe[tok.start] in '"`':
        return _Slot("ident", name, probe[tok.start])
    return _Slot("bare", name)


_ENDS = {"VAR", "IDENTIFIER", "STRING", "NUMBER", "R_BRACKET", "R_PAREN", "R_BRACE"}


def _parameters(probe: str, tokens: list[Any], held: list[tuple[int, int]]) -> list[Any]:
    """``(start, end, name)`` of each ``:name`` (name) or ``?`` (None) token, in order."""
    from sqlglot.tokens import TokenType

    found: list[tuple[int, int, str | None]] = []
    for k, tok in enumerate(tokens):
        nxt: Any = tokens[k + 1] if k + 1 < len(tokens) else None
        touching = nxt is not None and nxt.start == tok.end + 1
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            if touching and nxt.token_type == TokenType.NUMBER:
                raise ProgrammingError(
                    "numbered parameters (?1, ?2) are not supported: write ? in order, "
                    "or :name with a mapping"
                )
            found.append((tok.start, tok.end + 1, None))
        elif tok.token_type == TokenType.COLON and touching:
            word = probe[nxt.start : nxt.end + 1]
            inside = any(a <= nxt.end and nxt.start < b for a, b in held)
            prev = tokens[k - 1] if k else None
            # a colon right after a value is a struct's or a slice's: {'k':v}, list[1:n]
            after_value = (
                prev is not None and prev.end + 1 == tok.start and prev.token_type.name in _ENDS
            )
            if _WORD.fullmatch(word) and not inside and not after_value:
                found.append((tok.start, nxt.end + 1, word))
    return found


def _bind(found: list[Any], params: Any) -> list[tuple[Any, _Slot]]:
    """The value and slot of each parameter; ProgrammingError when they do not match."""
    named = [n for _, _, n in found if n is not None]
    qmarks = len(found) - len(named)
    if named and qmarks:
        raise ProgrammingError("the statement mixes ? and :name parameters: use one style")
    if isinstance(params, Mapping):
        if qmarks:
            raise ProgrammingError(
                f"the statement has {qmarks} ? parameter(s) but a mapping was given: "
                "pass a sequence for ?, or write :name"
            )
        missing = [n for n in dict.fromkeys(named) if n not in params]
        if missing:
            raise ProgrammingError(
                f"parameter :{missing[0]} has no value: add {missing[0]!r} to the parameters"
            )
        out = [(params[n], _Slot("param", f"parameter :{n}")) for n in named]
    else:
        if named:
            raise ProgrammingError(
                f"the statement has :{named[0]} but a sequence was given: "
                "pass a mapping for :name, or write ?"
            )
        if qmarks != len(params):
            raise ProgrammingError(
                f"the statement has {qmarks} ? parameter(s) but {len(params)} value(s) were given"
            )
        out = [(v, _Slot("param", f"parameter ?{i + 1}")) for i, v in enumerate(params)]
    for value, slot in out:
        parameter_literal(value, slot.name)  # a value that cannot be bound fails before rendering
    return out


# --- rendering ------------------------------------------------------------------------------


def render(sql: str, variables: Mapping[Any, Any]) -> str:
    """Fill the placeholders (and DB-API parameters) of ``sql``; plain SQL is returned as is."""
    params = variables.get(PARAMETERS)
    if params is None and not has_template(sql):
        return sql
    values = {k: v for k, v in variables.items() if k != PARAMETERS}
    if _OPEN in sql or _CLOSE in sql:
        raise TemplateError("the statement holds U+FDD0 or U+FDD1, characters oktaql reserves")
    constructs = list(_CONSTRUCT.finditer(sql))
    # The probe: each construct replaced by a word no text can predict, then tokenized.
    nonce = str(secrets.randbelow(10**12))
    parts: list[str] = []
    held: list[tuple[int, int]] = []
    offsets: list[tuple[int, int]] = []  # (probe offset, source offset) of each text chunk
    pos = length = 0
    for i, m in enumerate(constructs):
        offsets.append((length, pos))
        chunk = sql[pos : m.start()]
        sentinel = f"oktaql{nonce}_{i}_"
        parts += [chunk, sentinel]
        held.append((length + len(chunk), length + len(chunk) + len(sentinel)))
        length += len(chunk) + len(sentinel)
        pos = m.end()
    offsets.append((length, pos))
    probe = "".join(parts) + sql[pos:]
    try:
        tokens = _tokens(probe)
    except _Unterminated as exc:
        raise _unterminated(sql, _source_offset(offsets, exc.offset)) from None
    starts = [t.start for t in tokens]

    slots: list[_Slot] = []
    edits: list[tuple[int, int, str]] = []  # (probe start, end, Jinja text)
    for m, (a, b) in zip(constructs, held, strict=True):
        tok = _token_at(tokens, starts, a, b)
        text = m.group(0)
        if tok is None:  # in a comment: text, needing no value
            defused = re.sub(r"\{(?=[{%#]|$)", "{ ", text)  # no Jinja delimiter is left
            edits.append((a, b, defused))
        elif not text.startswith("{{") or len(text) < 4 or not text.endswith("}}"):
            if len(text) == 2:
                line, col = _position(sql, m.start())
                closer = {"{{": "}}", "{%": "%}", "{#": "#}"}[text]
                raise TemplateError(
                    f"unclosed '{text}' at line {line}, column {col}: close it with '{closer}'"
                )
            edits.append((a, b, text))  # {% ... %} and {# ... #} go to Jinja as written
        else:
            expr, left, right = _expression(text[2:-2])
            name = f"template variable {expr}" if _NAME.fullmatch(expr) else f"{{{{ {expr} }}}}"
            if _HYPHENATED.match(expr):  # {{ OktaAccessGateway-Agent }} names a variable
                if expr not in values:
                    raise missing_variable(expr)
                expr = "__vars__[" + repr(expr) + "]"
            slots.append(_slot_for(probe, tok, a, name))
            jinja = f"{{{{{left} ({expr}) | _oktaql({len(slots) - 1}) {right}}}}}"
            edits.append((a, b, jinja))
    bound: list[Any] = []
    if params is not None:
        for (a, b, _), (value, slot) in zip(
            found := _parameters(probe, tokens, held), _bind(found, params), strict=True
        ):
            slots.append(slot)
            edits.append((a, b, f"{{{{ __params__[{len(bound)}] | _oktaql({len(slots) - 1}) }}}}"))
            bound.append(value)
    if not slots and not constructs:
        return sql  # parameters were given, the statement has none (checked by _bind)
    edits.sort()
    source, last = [], 0
    for a, b, text in edits:
        source += [probe[last:a], text]
        last = b
    source.append(probe[last:])

    state = _State(slots)
    context = {**values, "__vars__": values, "__params__": bound}
    reset = _STATE.set(state)
    try:
        out = _jinja("".join(source), context)
    finally:
        _STATE.reset(reset)
    return _checked(out, state)


def _expression(inner: str) -> tuple[str, str, str]:
    """The expression of ``{{ inner }}`` and Jinja's whitespace control marks around it."""
    left = "-" if inner.startswith("-") else ""
    right = "-" if inner.endswith("-") and len(inner) > len(left) else ""
    expr = inner[len(left) : len(inner) - len(right)].strip()
    return expr or '""', left, right


def _source_offset(offsets: list[tuple[int, int]], at: int) -> int:
    k = max(bisect_right([p for p, _ in offsets], at) - 1, 0)
    return offsets[k][1] + at - offsets[k][0]


def _position(sql: str, offset: int) -> tuple[int, int]:
    return sql.count("\n", 0, offset) + 1, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def _unterminated(sql: str, offset: int) -> SQLSyntaxError:
    line, col = _position(sql, offset)
    start = sql[offset : offset + 2]
    what = {"/*": "comment", "'": "string", '"': "quoted name", "`": "quoted name"}.get(
        start if start == "/*" else start[:1], "quote or comment"
    )
    return SQLSyntaxError(f"unterminated {what}: close it", sql, line, col)


def _jinja(source: str, context: dict[str, Any]) -> str:
    return render_sandboxed(lambda: _compiled(source), context)


@functools.lru_cache(maxsize=256)  # executemany and loops render one statement many times
def _compiled(source: str) -> Any:
    global _ENV
    if _ENV is None:
        _ENV = sandbox_environment(_emit)
    only_marked_output(_ENV, source)
    return _ENV.from_string(source)


_ENV: Any = None


# --- the check after rendering --------------------------------------------------------------


def _checked(out: str, state: _State) -> str:
    """Jinja's output with the marks taken out, once every value is proven to stay in its literal."""
    pieces: list[tuple[str, _Slot | None]] = []
    seen: set[int] = set()
    last = 0
    for m in _MARKED.finditer(out):
        seq, payload = int(m.group(1)), m.group(2)
        if seq in seen or seq >= len(state.emitted) or state.emitted[seq][1] != payload:
            raise TemplateError("a {% filter %} or macro changed a value after it was escaped")
        seen.add(seq)
        slot = state.emitted[seq][0]
        pieces += [(out[last : m.start()], None), (payload, slot)]
        last = m.end()
    pieces.append((out[last:], None))
    if any(_OPEN in t or _CLOSE in t for t, s in pieces if s is None):
        raise TemplateError("a {% filter %} or macro changed a value after it was escaped")
    real, real_spans = _assemble(pieces, neutral=False)
    if not real_spans:
        return real
    neutral, neutral_spans = _assemble(pieces, neutral=True)
    bad = _escaping_slot(real, real_spans, neutral, neutral_spans)
    if bad is not None:
        raise TemplateError(
            f"the value of {bad.name} would change the statement outside its own literal: "
            "refused (check the quotes around the placeholder)"
        )
    return real


def _assemble(
    pieces: list[tuple[str, _Slot | None]], neutral: bool
) -> tuple[str, list[tuple[int, int, _Slot]]]:
    texts = [s.neutral(t) if neutral and s else t for t, s in pieces]
    # the first character after each piece (one pass back, not a scan from every literal)
    following = [""] * len(texts)
    for i in range(len(texts) - 2, -1, -1):
        following[i] = texts[i + 1][:1] or following[i + 1]
    out: list[str] = []
    spans: list[tuple[int, int, _Slot]] = []
    length = 0
    before = ""  # the last character written
    for i, (text, (_, slot)) in enumerate(zip(texts, pieces, strict=True)):
        if slot is not None and slot.kind in ("bare", "param"):
            # a space where the literal would otherwise fuse with its neighbour (1 -{{ -5 }})
            after = following[i]
            if before and not before.isspace() and before not in "(,=":
                out.append(" ")
                length += 1
            spans.append((length, length + len(text), slot))
            if after and not after.isspace() and after not in "),;":
                text += " "
        elif slot is not None:
            spans.append((length, length + len(text), slot))
        out.append(text)
        length += len(text)
        before = text[-1:] or before
    return "".join(out), spans


def _escaping_slot(
    real: str,
    real_spans: list[tuple[int, int, _Slot]],
    neutral: str,
    neutral_spans: list[tuple[int, int, _Slot]],
) -> _Slot | None:
    """The slot whose value changed the tokens outside its literal (None: no such value).

    Both texts are read as the parser reads them: comments blanked first, then sqlglot."""
    from oktaql.parser import blank_comments

    try:
        theirs = _tokens(blank_comments(neutral)[0])
    except _Unterminated:
        theirs = None  # the template's own text does not tokenize
    try:
        ours = _tokens(blank_comments(real)[0])
    except _Unterminated as exc:
        if theirs is None:
            raise _unterminated(real, exc.offset) from None
        return _nearest(real_spans, exc.offset)
    if theirs is None:
        return real_spans[0][2]  # a value made a broken statement whole: nothing to trust
    starts = [t.start for t in ours]
    for start, end, slot in real_spans:
        if not _contained(real, ours, starts, start, end, slot):
            return slot
    in_real, in_neutral = _in_spans(real_spans), _in_spans(neutral_spans)
    for a, b in zip(ours, theirs, strict=False):
        in_a, in_b = in_real(a), in_neutral(b)
        if a.token_type != b.token_type or in_a != in_b or (not in_a and a.text != b.text):
            return _nearest(real_spans, a.start)
    if len(ours) != len(theirs):
        return _nearest(real_spans, ours[min(len(ours), len(theirs)) - 1].start if ours else 0)
    return None


def _contained(
    sql: str, tokens: list[Any], starts: list[int], start: int, end: int, slot: _Slot
) -> bool:
    """Whether the value at ``[start, end)`` lies inside one literal of its slot's kind."""
    from sqlglot.tokens import TokenType

    k = bisect_right(starts, start - 1) - 1  # the last token opening before the value
    if slot.kind in ("string", "json", "ident"):
        if k < 0:
            return False
        tok = tokens[k]
        want, quote = (
            (TokenType.IDENTIFIER, slot.quote) if slot.kind == "ident" else (TokenType.STRING, "'")
        )
        return tok.token_type == want and sql[tok.start] == quote and tok.end >= end
    literal = {TokenType.NUMBER, TokenType.STRING, TokenType.TRUE, TokenType.FALSE}
    literal |= {TokenType.NULL, TokenType.DASH}
    if k >= 0 and tokens[k].end >= start:
        return False  # a token from before runs into the value
    inside = tokens[k + 1 : bisect_left(starts, end)]  # the tokens opening within the value
    return bool(inside) and all(t.end < end and t.token_type in literal for t in inside)


def _in_spans(spans: list[tuple[int, int, _Slot]]) -> Any:
    """Whether a token overlaps one of ``spans`` (in order, none overlapping another, so the
    last one opening before the token's end reaches furthest): a bisect, not a scan."""
    starts = [s for s, _, _ in spans]

    def overlaps(tok: Any) -> bool:
        m = bisect_right(starts, tok.end)
        return m > 0 and spans[m - 1][1] > tok.start

    return overlaps


def _nearest(spans: list[tuple[int, int, _Slot]], offset: int) -> _Slot:
    before = [s for s in spans if s[0] <= offset]
    return (before[-1] if before else spans[0])[2]


__all__ = ["PARAMETERS", "has_template", "parameter_literal", "render"]
