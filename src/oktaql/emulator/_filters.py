"""Okta ``filter`` / ``search`` expression parser and evaluator.

Okta list endpoints accept a small SCIM-like expression language::

    status eq "ACTIVE" and (profile.login sw "a" or profile.email co "example")
    profile.title pr
    lastUpdated gt "2024-03-01T00:00:00.000Z"

This module turns such a string into a predicate over a JSON-shaped ``dict``.
It is a hand-written recursive-descent parser so that the emulator has no
dependency beyond the standard library and so that every syntax error carries
a precise, human-readable position (the emulator reports it in the
``errorCauses`` of an ``E0000031`` error body).

Grammar (keywords and operators are case-insensitive, as in SCIM)::

    expr     := or_expr
    or_expr  := and_expr ("or" and_expr)*
    and_expr := unary ("and" unary)*
    unary    := "not" "(" expr ")" | primary
    primary  := "(" expr ")" | path "pr" | path OP literal
    OP       := eq | ne | sw | co | ew | gt | ge | lt | le
    path     := IDENT ("." IDENT)*
    literal  := STRING | NUMBER | true | false | null

Comparison semantics (chosen to match Okta's observable behaviour closely
enough for tests, and documented so callers can rely on them):

* string ``eq``/``ne``/``sw``/``co``/``ew`` are case-insensitive (SCIM's
  default for non-``caseExact`` attributes);
* ``gt``/``ge``/``lt``/``le`` compare numbers numerically and strings
  lexicographically, which orders Okta's ISO-8601 timestamps correctly;
* a path that resolves to a list matches if any element matches (used for
  computed multi-valued attributes such as ``user.id`` on apps);
* a missing attribute never satisfies a comparison (``ne`` is ``not eq``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MISSING", "FilterError", "Predicate", "compile_filter", "resolve_path"]

Predicate = Callable[[Mapping[str, Any]], bool]

# An attribute resolver lets a resource expose computed attributes (e.g. an
# app's ``user.id``) without materialising them on every object.
Resolver = Callable[[Mapping[str, Any], tuple[str, ...]], Any]

_COMPARISON_OPS = frozenset({"eq", "ne", "sw", "co", "ew", "gt", "ge", "lt", "le"})
MISSING = object()


class FilterError(ValueError):
    """The expression does not parse; ``position`` is a 0-based offset."""

    def __init__(self, message: str, position: int | None = None):
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{message}{where}")


# --------------------------------------------------------------------- lexer

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<path>[A-Za-z_$][A-Za-z0-9_$\-]*(?:\.[A-Za-z_$][A-Za-z0-9_$\-]*)*)
    """,
    re.VERBOSE,
)

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class _Tok:
    __slots__ = ("kind", "text", "value", "pos")

    def __init__(self, kind: str, text: str, value: Any, pos: int):
        self.kind = kind
        self.text = text
        self.value = value
        self.pos = pos


def _unescape(body: str, pos: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]  # the regex guarantees a character follows a backslash
        if nxt == "u":
            hexdigits = body[i + 2 : i + 6]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", hexdigits):
                raise FilterError("invalid \\u escape in string literal", pos + i)
            out.append(chr(int(hexdigits, 16)))
            i += 6
        elif nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            raise FilterError(f"invalid escape \\{nxt} in string literal", pos + i)
    return "".join(out)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == '"':
                raise FilterError("unterminated string literal", pos)
            raise FilterError(f"unexpected character {text[pos]!r}", pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "string":
            tokens.append(_Tok("literal", raw, _unescape(raw[1:-1], pos + 1), pos))
        elif kind == "number":
            num: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Tok("literal", raw, num, pos))
        elif kind == "path":
            low = raw.lower()
            if low in ("true", "false"):
                tokens.append(_Tok("literal", raw, low == "true", pos))
            elif low == "null":
                tokens.append(_Tok("literal", raw, None, pos))
            else:
                tokens.append(_Tok("word", raw, low, pos))
        elif kind in ("lparen", "rparen"):
            tokens.append(_Tok(kind, raw, raw, pos))
        pos = m.end()
    tokens.append(_Tok("end", "", None, len(text)))
    return tokens


# -------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str, resolver: Resolver, refused: frozenset[str] = frozenset()):
        self.toks = _tokenize(text)
        self.i = 0
        self.resolver = resolver
        self.refused = refused  # operators this endpoint does not take (users search: ne)

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.value in words

    def parse(self) -> Predicate:
        if self.peek().kind == "end":
            raise FilterError("empty expression", 0)
        pred = self.parse_or()
        tok = self.peek()
        if tok.kind != "end":
            raise FilterError(f"unexpected {tok.text!r}", tok.pos)
        return pred

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.is_word("or"):
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: any(p(obj) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.is_word("and"):
            self.take()
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda obj: all(p(obj) for p in parts)

    def parse_unary(self) -> Predicate:
        # ``not`` is only an operator when followed by "("; otherwise it is an
        # attribute name (nothing stops a profile attribute being called "not").
        if self.is_word("not") and self.toks[self.i + 1].kind == "lparen":
            self.take()
            inner = self.parse_primary()
            return lambda obj: not inner(obj)
        return self.parse_primary()

    def parse_primary(self) -> Predicate:
        tok = self.take()
        if tok.kind == "lparen":
            inner = self.parse_or()
            close = self.take()
            if close.kind != "rparen":
                raise FilterError("expected ')'", close.pos)
            return inner
        if tok.kind != "word":
            what = "end of expression" if tok.kind == "end" else repr(tok.text)
            raise FilterError(f"expected an attribute name, found {what}", tok.pos)
        if tok.value in ("and", "or"):
            raise FilterError(f"unexpected operator {tok.text!r}", tok.pos)
        path = tuple(tok.text.split("."))
        op_tok = self.take()
        if op_tok.kind != "word" or (op_tok.value not in _COMPARISON_OPS and op_tok.value != "pr"):
            what = "end of expression" if op_tok.kind == "end" else repr(op_tok.text)
            raise FilterError(f"expected an operator after {tok.text!r}, found {what}", op_tok.pos)
        if op_tok.value in self.refused:
            raise FilterError(f"the {op_tok.text!r} operator is not supported here", op_tok.pos)
        resolver = self.resolver
        if op_tok.value == "pr":
            return lambda obj: _present(resolver(obj, path))
        lit = self.take()
        if lit.kind != "literal":
            what = "end of expression" if lit.kind == "end" else repr(lit.text)
            raise FilterError(f"expected a value after {op_tok.text!r}, found {what}", lit.pos)
        return _comparison(op_tok.value, path, lit.value, resolver)


# ---------------------------------------------------------------- evaluation


def resolve_path(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """Walk ``path`` through nested dicts; ``MISSING`` when absent."""
    cur: Any = obj
    for part in path:
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        else:
            return MISSING
    return cur


def _present(value: Any) -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare_one(op: str, actual: Any, expected: Any) -> bool:
    if actual is MISSING:
        return False
    if op == "eq":
        return _fold(actual) == _fold(expected)
    if op in ("sw", "co", "ew"):
        if not isinstance(actual, str) or not isinstance(expected, str):
            return False
        a, e = actual.lower(), expected.lower()
        if op == "sw":
            return a.startswith(e)
        if op == "ew":
            return a.endswith(e)
        return e in a
    # Ordering: only like-with-like (bool is excluded from numbers on purpose).
    if actual is None or expected is None:
        return False
    a_num = isinstance(actual, int | float) and not isinstance(actual, bool)
    e_num = isinstance(expected, int | float) and not isinstance(expected, bool)
    if a_num != e_num or (
        not a_num and not (isinstance(actual, str) and isinstance(expected, str))
    ):
        return False
    if op == "gt":
        return actual > expected
    if op == "ge":
        return actual >= expected
    if op == "lt":
        return actual < expected
    return actual <= expected  # "le"


def _comparison(op: str, path: tuple[str, ...], expected: Any, resolver: Resolver) -> Predicate:
    if op == "ne":
        positive = _comparison("eq", path, expected, resolver)
        return lambda obj: not positive(obj)

    def pred(obj: Mapping[str, Any]) -> bool:
        actual = resolver(obj, path)
        if isinstance(actual, list):
            return any(_compare_one(op, item, expected) for item in actual)
        return _compare_one(op, actual, expected)

    return pred


def compile_filter(
    text: str, resolver: Resolver | None = None, refused: frozenset[str] = frozenset()
) -> Predicate:
    """Parse ``text`` into a predicate; raises :class:`FilterError` on bad syntax or an
    operator in ``refused``."""
    return _Parser(text, resolver or resolve_path, refused).parse()
