"""Which values are secrets, and how they are masked wherever oktaql shows or stores text.

One rule, used by EXPLAIN/``--dry-run`` (request bodies), the shell's history file and
``.vars``, and ``oktaql config list``:

* A member is secret by its *name* (:func:`is_secret_name`): the last word of the name is a
  credential word (``password``, ``secret``, ``token``, ``answer``, ``passCode``, ``privateKey``,
  ``apiKey``, ...). The words come from Okta's management API: every property it marks
  ``format: password`` (``password``, ``value`` of a password), the secrets it marks
  ``writeOnly`` (``answer``, ``secretKey``, ``tokenSigningKey``, ``serviceAccountJson``, a Splunk
  ``token``, an auth scheme's ``value``) and those it describes as secrets without a flag
  (``client_secret``, ``sharedSecret``, ``privateKey``, ``passCode``, ``adminPassword``, API
  ``token``s). Names that only mention a secret (``tokenId``, ``passwordExpiration``,
  ``token_endpoint_auth_method``) are not secret: the last word decides.
* By *position*, as Okta's credential objects nest them: ``value`` anywhere below a secret
  member (``password.value``, ``password.hash.value``), the ``value`` of an ``authScheme`` or
  of a ``{key, value}`` header pair whose key names a credential header, and the private members
  of a JSON Web Key (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``, ``oth``, ``k``; RFC 7518).
* By *shape*, wherever it stands: Okta API tokens, JWTs, ``SSWS``/``Bearer``/``Basic``
  credentials and PEM private keys.

A secret scalar becomes ``"***"``; ``true``/``false``/``null`` carry nothing and stay, and so
does every non-secret member, so a masked body still shows what the request does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from oktaql.errors import APIError, SQLSyntaxError

REDACTED = "***"

# the last word (or last two words, joined) of a secret member's name
_SECRET_LAST_WORD = frozenset(
    {"password", "passwd", "pwd", "passphrase", "secret", "token", "answer", "assertion", "cookie"}
)
_SECRET_LAST_TWO = frozenset(
    {"passcode", "privatekey", "secretkey", "signingkey", "apikey", "aeskey", "otpcode"}
)
_SECRET_WHOLE = frozenset({"serviceaccountjson"})  # FCM's writeOnly service-account key file
# a {key, value} pair (hook headers) whose key is one of these carries a credential in value
_CREDENTIAL_HEADERS = frozenset({"authorization", "proxyauthorization", "cookie", "setcookie"})
_JWK_PRIVATE = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# members that hold credential objects (credentials, data__credentials): a string given for one
# that is not JSON is masked whole
_CREDENTIAL_CONTAINER = frozenset({"credential", "credentials"})

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_TOKEN_SHAPES = (
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.S
    ),
    re.compile(r"(?<![\w-])00[A-Za-z0-9_-]{40}(?![\w-])"),  # an Okta API (SSWS) token
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),  # a JWT
)
_AUTH_SCHEME = re.compile(r"(?i)\b(SSWS|Bearer|Basic|DPoP)(\s+)([A-Za-z0-9._~+/=-]{6,})")
# what tells a credential from a word after the scheme ("Basic authentication"): a digit, a
# symbol, or a capital letter past the first character, as base64 and API tokens have
_CREDENTIAL_CHARS = re.compile(r"[0-9._~+/=-]|.[A-Z]")
_TEMPLATE_ONLY = re.compile(r"\s*\{\{\s*([\w.]+)\s*\}\}\s*")
# a value shorter than this is not searched for in error messages (it would hit other words)
_MIN_SCRUB = 4


@dataclass
class _Found:
    """What masking removed: secret values, and the template variables that fill secrets."""

    values: set[str] = field(default_factory=set)
    templates: set[str] = field(default_factory=set)


def bare_name(name: str) -> str:
    """``name`` without quotes, ``@``/``@@``, a table qualifier and the ``data__`` prefix of
    StackQL body columns: ``"t"."data__password"`` → ``password``."""
    bare = name.strip("@\"'` ")
    bare = bare.rsplit(".", 1)[-1].strip("\"'`")
    return bare[6:] if bare.lower().startswith("data__") else bare


def _words(name: str) -> list[str]:
    return [w.lower() for part in re.split(r"[\W_]+", name) for w in _WORD.findall(part)]


def is_secret_name(name: str) -> bool:
    """True for ``password``, ``data__password``, ``client_secret``, ``apiToken``, ``@idToken``,
    ``passCode``, ``privateKey``, ``x-api-key``; False for ``tokenId``, ``tokenType``,
    ``token_endpoint_auth_method``, ``refreshTokenLifetimeMinutes``, ``passwordExpiration``."""
    words = _words(bare_name(name))
    if not words:
        return False
    if "".join(words) in _SECRET_WHOLE or words[-1] in _SECRET_LAST_WORD:
        return True
    return words[-1] in _SECRET_LAST_TWO or "".join(words[-2:]) in _SECRET_LAST_TWO


def holds_secrets(name: str) -> bool:
    """A secret name, or one that holds credential objects (``data__credentials``)."""
    words = _words(bare_name(name))
    return is_secret_name(name) or (bool(words) and words[-1] in _CREDENTIAL_CONTAINER)


def _secret_member(key: str, parent: str | None, siblings: Mapping[str, Any]) -> bool:
    """Whether member ``key`` of an object (itself member ``parent`` of its container) holds a
    secret, judged by name and by its place in the object."""
    if is_secret_name(key):
        return True
    if key == "value":
        if parent is not None and "".join(_words(bare_name(parent))) == "authscheme":
            return True
        label = siblings.get("key", siblings.get("name"))
        if isinstance(label, str) and (
            is_secret_name(label) or "".join(_words(label)) in _CREDENTIAL_HEADERS
        ):
            return True
    return key in _JWK_PRIVATE and "kty" in siblings


def mask_text(text: str) -> str:
    """``text`` with credential-shaped substrings (API tokens, JWTs, ``SSWS``/``Bearer``
    values, PEM private keys) replaced by ``***``."""
    for shape in _TOKEN_SHAPES:
        text = shape.sub(REDACTED, text)
    return _AUTH_SCHEME.sub(
        lambda m: (
            m.group(1) + m.group(2) + REDACTED
            if _CREDENTIAL_CHARS.search(m.group(3))
            else m.group(0)
        ),
        text,
    )


def _looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


# --- JSON values -------------------------------------------------------------------------------


def mask_json(value: Any, name: str | None = None) -> Any:
    """A copy of a JSON-able ``value`` (a request body) with every secret masked, at any depth.

    ``name`` is what holds the value (a column such as ``data__credentials``), if anything."""
    secret = name is not None and is_secret_name(name)
    return _mask_value(value, bare_name(name) if name else None, secret, secret)


def _mask_value(value: Any, key: str | None, secret: bool, under_secret: bool) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            s = _secret_member(str(k), key, value)
            out[k] = _mask_value(v, str(k), s or (under_secret and k == "value"), under_secret or s)
        return out
    if isinstance(value, list | tuple):
        return [_mask_value(v, key, secret, under_secret) for v in value]
    if value is None or isinstance(value, bool):
        return value
    if secret:
        return REDACTED
    if isinstance(value, str):
        if _looks_like_json(value):
            value = mask_json_text(value)
        return mask_text(value)
    return value


# --- JSON text, masked in place ------------------------------------------------------------------

_JSON_TOKEN = re.compile(
    r'(?P<ws>\s+)|(?P<str>"(?:[^"\\]|\\.)*(?:"|\\?\Z))|(?P<punct>[{}\[\]:,])|(?P<atom>[^\s{}\[\]:,"]+)',
    re.S,
)
_MAX_DEPTH = 64


class _Node:
    """A parsed JSON value with the span of each scalar in the source text."""

    __slots__ = ("kind", "start", "end", "members", "items", "value")

    def __init__(self, kind: str, start: int = 0, end: int = 0, value: Any = None) -> None:
        self.kind = kind  # "obj", "arr", "leaf", or "rest" (unparsed text, too deep)
        self.start, self.end, self.value = start, end, value
        self.members: list[tuple[str, _Node]] = []
        self.items: list[_Node] = []


def _tokens(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _JSON_TOKEN.finditer(text):
        kind = m.lastgroup or "atom"
        if kind != "ws":
            out.append((kind, m.start(), m.end()))
    return out


def _leaf_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.strip('"')


def _parse(text: str, toks: list[tuple[str, int, int]], i: int, depth: int) -> tuple[_Node, int]:
    """The value at token ``i`` (tolerant: stray tokens are skipped, an unclosed container ends
    with the text) and the index after it."""
    kind, start, end = toks[i]
    if depth > _MAX_DEPTH:
        return _Node("rest", start, len(text)), len(toks)
    word = text[start:end]
    if kind == "punct" and word in "{[":
        node = _Node("obj" if word == "{" else "arr", start)
        i += 1
        key: str | None = None
        while i < len(toks):
            k, s, e = toks[i]
            w = text[s:e]
            if k == "punct" and w in "}]":
                return node, i + 1
            if k == "punct" and w in ",:":
                i += 1
                continue
            if node.kind == "obj" and key is None:
                key = str(_leaf_value(w)) if k == "str" else w
                i += 1
                if i < len(toks) and text[toks[i][1] : toks[i][2]] == ":":
                    continue
                key = None  # a key without a value: skip it
                continue
            child, i = _parse(text, toks, i, depth + 1)
            if node.kind == "obj":
                node.members.append((key or "", child))
                key = None
            else:
                node.items.append(child)
        return node, i
    if kind == "punct":  # a stray ':' ',' '}' or ']' where a value belongs
        return _Node("leaf", start, start, None), i + 1
    return _Node("leaf", start, end, _leaf_value(word)), i + 1


def _spans(
    node: _Node,
    key: str | None,
    secret: bool,
    under: bool,
    out: list[tuple[int, int]],
    found: _Found | None,
) -> None:
    """Collect the spans of secret scalars below ``node`` (same rule as :func:`mask_json`)."""
    if node.kind == "rest":
        if secret or under:
            out.append((node.start, node.end))
        return
    if node.kind == "obj":
        siblings = {k: (c.value if c.kind == "leaf" else {}) for k, c in node.members}
        for k, child in node.members:
            s = _secret_member(k, key, siblings)
            _spans(child, k, s or (under and k == "value"), under or s, out, found)
    elif node.kind == "arr":
        for child in node.items:
            _spans(child, key, secret, under, out, found)
    elif secret and node.end > node.start and node.value not in (True, False, None):
        tmpl = _TEMPLATE_ONLY.fullmatch(node.value) if isinstance(node.value, str) else None
        if tmpl is None:
            out.append((node.start, node.end))
        elif found is not None:
            found.templates.add(tmpl.group(1))
    elif not secret and isinstance(node.value, str) and _looks_like_json(node.value):
        out.append((node.start, -node.end))  # a JSON document inside a JSON string


def mask_json_text(text: str, name: str | None = None, *, found: _Found | None = None) -> str:
    """JSON ``text`` (tolerantly parsed: a typo does not stop masking) with each secret value
    replaced by ``"***"`` in place, the rest of the text as it was. ``name`` is what holds the
    text (an ``@@json`` parameter, a ``data__credentials`` column)."""
    toks = _tokens(text)
    if not toks:
        return text
    secret = name is not None and is_secret_name(name)
    key = bare_name(name) if name else None
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(toks):  # several values (or stray text) in one string: each is judged
        node, i = _parse(text, toks, i, 0)
        _spans(node, key, secret, secret, spans, found)
    for start, end in sorted(spans, reverse=True):
        if end < 0:  # nested JSON text: mask it, then write it back as a JSON string
            inner = _leaf_value(text[start:-end])
            masked = mask_json_text(str(inner), found=found)
            if masked != inner:
                text = text[:start] + json.dumps(masked, ensure_ascii=False) + text[-end:]
        else:
            if found is not None:
                found.values.add(str(_leaf_value(text[start:end])))
            text = text[:start] + f'"{REDACTED}"' + text[end:]
    return text


# --- SQL text ------------------------------------------------------------------------------------

_SQL_TOKEN = re.compile(
    r"""(?P<ws>\s+)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<str>'(?:[^']|'')*(?:'|\Z))
    |(?P<quoted>"(?:[^"]|"")*(?:"|\Z)|`[^`]*(?:`|\Z))
    |(?P<word>@{0,2}[A-Za-z_][\w$#]*)
    |(?P<op>==|<>|!=|:=|[=(),;])
    |(?P<tmpl>\{\{\s*[\w.]+\s*\}\})
    |(?P<other>.)""",
    re.S | re.X,
)
_ASSIGN_OPS = frozenset({"=", "==", "<>", "!=", ":="})
_ASSIGN_WORDS = frozenset({"LIKE", "ILIKE", "GLOB", "IN"})
# words that end the value expression of an assignment at their level
_CLAUSE_WORDS = frozenset(
    {
        "AND", "OR", "WHERE", "FROM", "SET", "WHEN", "THEN", "ELSE", "END", "ON", "JOIN",
        "SELECT", "GROUP", "ORDER", "LIMIT", "HAVING", "RETURNING", "UNION", "VALUES", "AS",
    }
)  # fmt: skip
_INSERT_END = frozenset({"FROM", "WHERE", "GROUP", "ORDER", "LIMIT", "UNION", "RETURNING"})
_SET_META = re.compile(r"(?s)^(\s*\.set\s+)(\S+)(\s+)(.+)$")


def _mask_literal(inner: str, name: str | None, found: _Found | None) -> str:
    """The new content of a string literal held by ``name`` (a column or parameter)."""
    tmpl = _TEMPLATE_ONLY.fullmatch(inner)
    if tmpl:  # a {{ placeholder }}: its value is filled later and never stored
        if found is not None and name is not None and holds_secrets(name):
            found.templates.add(tmpl.group(1))
        return inner
    if _looks_like_json(inner):
        return mask_json_text(inner, name, found=found)
    if name is not None and holds_secrets(name) and inner:
        if found is not None:
            found.values.add(inner.replace("''", "'"))
        return REDACTED
    return inner


class _Insert:
    """Where the literals of ``INSERT INTO t (cols) SELECT ...``/``VALUES (...)`` go."""

    def __init__(self) -> None:
        self.columns: list[str] = []
        self.phase = "name"  # name, columns, after, select, values, done
        self.index: int | None = None

    def column(self) -> str | None:
        if self.index is None or self.phase not in ("select", "values"):
            return None
        return self.columns[self.index] if self.index < len(self.columns) else None


def mask_sql(text: str, *, found: _Found | None = None) -> str:
    """SQL ``text`` (or a shell meta command) with secret values replaced by ``***``, for the
    history file.

    Masked: a string assigned to or compared with a secret name (``data__password = '...'``,
    ``@client_secret = '...'``, ``token IN ('...')``, ``.set apiToken ...``), or given for an
    INSERT column with one; a non-JSON string for a credentials column; the secrets inside JSON
    text wherever a string holds it (``@@json``, ``data__credentials``), at any depth, by the
    rules of :func:`mask_json`; and anything shaped like a credential.
    """
    m = _SET_META.match(text)
    if m:
        value = m.group(4)
        quoted = len(value) >= 2 and value[0] == value[-1] and value[0] in "'\""
        inner = value[1:-1] if quoted else value
        masked = _mask_literal(inner, m.group(2), found)
        if masked != inner:
            value = value[0] + masked + value[-1] if quoted else masked
        return mask_text(m.group(1) + m.group(2) + m.group(3) + value)

    out: list[str] = []
    depth = 0
    held: list[tuple[int, str]] = []  # (level, name) of the assignments being read
    recent: list[tuple[str, str]] = []  # the last significant tokens of the statement
    insert: _Insert | None = None
    count = 0  # significant tokens of the statement so far
    for tm in _SQL_TOKEN.finditer(text):
        kind = tm.lastgroup or "other"
        tok = tm.group()
        if kind in ("ws", "comment"):
            out.append(tok)
            continue
        upper = tok.upper()
        if kind == "str" or (kind == "quoted" and recent and recent[-1][1] in _ASSIGN_OPS):
            q = tok[0]
            closed = len(tok) >= 2 and tok.endswith(q)
            inner = tok[1:-1] if closed else tok[1:]
            name = held[-1][1] if held else (insert.column() if insert else None)
            tok = q + _mask_literal(inner, name, found) + (q if closed else "")
        elif kind == "tmpl":  # a bare {{ placeholder }} becomes a literal when rendered
            name = held[-1][1] if held else (insert.column() if insert else None)
            _mask_literal(tok, name, found)
        elif kind == "op":
            if tok in _ASSIGN_OPS and recent and recent[-1][0] in ("word", "quoted"):
                held.append((depth, recent[-1][1]))
            elif tok == "(":
                depth += 1
                if insert and insert.phase == "name":
                    insert.phase = "columns"
                elif insert and insert.phase == "values" and depth == 1:
                    insert.index = 0
            elif tok == ")":
                depth = max(depth - 1, 0)
                held = [h for h in held if h[0] <= depth]
                if insert and insert.phase == "columns" and depth == 0:
                    insert.phase = "after"
                elif insert and insert.phase == "values" and depth == 0:
                    insert.index = None
            elif tok == ",":
                held = [h for h in held if h[0] < depth]
                if insert and insert.index is not None:
                    if (insert.phase, depth) in (("select", 0), ("values", 1)):
                        insert.index += 1
            elif tok == ";":
                depth, held, recent, insert, count = 0, [], [], None, 0
                out.append(tok)
                continue
        elif kind == "word":
            lead = count == 0 or (count == 1 and recent[-1][1].upper() == "EXPLAIN")
            if upper == "INSERT" and lead:
                insert = _Insert()
            if upper in _ASSIGN_WORDS:
                named = [r for r in recent if r[1].upper() != "NOT"]
                if named and named[-1][0] in ("word", "quoted"):
                    held.append((depth, named[-1][1]))
            elif upper in _CLAUSE_WORDS:
                held = [h for h in held if h[0] < depth]
            if insert and depth == 0:
                if upper in ("SELECT", "VALUES", "WITH") and insert.phase == "name":
                    insert.phase = "done"  # no column list: nothing to map
                elif upper == "SELECT" and insert.phase == "after":
                    insert.phase, insert.index = "select", 0
                elif upper == "VALUES" and insert.phase == "after":
                    insert.phase = "values"
                elif upper in _INSERT_END and insert.phase == "select":
                    insert.phase = "done"
            if insert and insert.phase == "columns" and depth == 1:
                insert.columns.append(tok)
        elif kind == "quoted" and insert and insert.phase == "columns" and depth == 1:
            insert.columns.append(tok)
        count += 1
        recent = [*recent[-3:], (kind, tok if kind != "str" else "")]
        out.append(tok)
    return mask_text("".join(out))


# --- errors --------------------------------------------------------------------------------------


def secret_values(sql: str, variables: Mapping[str, Any] | None = None) -> list[str]:
    """The secret values a statement carries (longest first): what :func:`mask_sql` masks, the
    values of the template variables that fill a secret, and of secret-named variables."""
    found = _Found()
    mask_sql(sql, found=found)
    variables = variables or {}
    for name, value in variables.items():
        if is_secret_name(name) or name in found.templates:
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                found.values.add(str(value))
        if isinstance(value, str) and _looks_like_json(value):
            mask_json_text(value, name, found=found)
        elif isinstance(value, Mapping | list):
            mask_json_text(json.dumps(value, default=str), name, found=found)
    values = {v for v in found.values if len(v) >= _MIN_SCRUB and v != REDACTED}
    return sorted(values, key=lambda v: (-len(v), v))


def scrub(text: str, values: list[str]) -> str:
    """``text`` with each of ``values`` (as written, SQL-quoted or JSON-escaped) and anything
    shaped like a credential replaced by ``***``."""
    for value in values:
        for form in dict.fromkeys((value, value.replace("'", "''"), json.dumps(value)[1:-1])):
            text = text.replace(form, REDACTED)
    return mask_text(text)


_E = TypeVar("_E", bound=BaseException)


def mask_error(exc: _E, sql: str, variables: Mapping[str, Any] | None = None) -> _E:
    """``exc`` (raised running ``sql``) with the statement's secrets masked in its message and
    in what it carries (the SQL it quotes, an API error's summary and body); returned for
    ``raise``. An error quoting a fragment (``got "CONCAT('S3cret', ...)"``) or a server echoing
    a submitted value shows ``***`` instead."""
    values = secret_values(sql, variables)
    exc.args = tuple(scrub(a, values) if isinstance(a, str) else a for a in exc.args)
    if isinstance(exc, SQLSyntaxError) and exc.sql:
        exc.sql = scrub(mask_sql(exc.sql), values)
    if isinstance(exc, APIError):
        if exc.error_summary:
            exc.error_summary = scrub(exc.error_summary, values)
        if exc.body is not None:
            masked = mask_json(exc.body)
            try:
                masked = json.loads(scrub(json.dumps(masked, default=str), values))
            except ValueError:  # a value that was JSON syntax: the name-based masking stands
                pass
            exc.body = masked
    cause = getattr(exc, "cause", None)  # a WriteIncomplete keeps the error that stopped it
    if isinstance(cause, Exception) and cause is not exc:
        mask_error(cause, sql, variables)
    return exc


# --- URLs ----------------------------------------------------------------------------------------


def mask_url(url: str) -> str:
    """``url`` with any ``user:password@`` replaced by ``***@``, for display."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url) if "@" not in url else REDACTED
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{REDACTED}@{host}"))


__all__ = [
    "REDACTED",
    "bare_name",
    "holds_secrets",
    "is_secret_name",
    "mask_error",
    "mask_json",
    "mask_json_text",
    "mask_sql",
    "mask_text",
    "mask_url",
    "scrub",
    "secret_values",
]
