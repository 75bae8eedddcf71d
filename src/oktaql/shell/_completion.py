"""Tab completion: keywords, ``okta.<service>.<resource>`` names, columns and parameters of the
resources a statement names, method names after ``EXEC``, meta commands and their arguments."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from oktaql.errors import Error
from oktaql.output import OUTPUT_FORMATS
from oktaql.shell._commands import META_COMMANDS

KEYWORDS = (
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "BETWEEN",
    "AS", "ON", "JOIN", "LEFT", "INNER", "GROUP BY", "ORDER BY", "HAVING", "LIMIT", "OFFSET",
    "DISTINCT", "COUNT", "UNION ALL", "ASC", "DESC", "CASE", "WHEN", "THEN", "ELSE", "END",
    "INSERT INTO", "VALUES", "UPDATE", "REPLACE", "SET", "DELETE FROM", "RETURNING", "EXEC",
    "SHOW", "SERVICES", "RESOURCES", "METHODS", "PROVIDERS", "EXTENDED", "DESCRIBE",
    "TABLES", "VIEWS",
    "METHOD", "EXPLAIN", "CREATE VIEW", "CREATE MATERIALIZED VIEW", "DROP VIEW",
    "REFRESH MATERIALIZED VIEW", "WITH", "true", "false",
)  # fmt: skip


@dataclass
class Candidate:
    text: str
    start: int  # negative: how many characters before the cursor it replaces
    meta: str = ""


_WORD_BEFORE = re.compile(r"[@\w.$]*$")

_RESOURCE_REF = re.compile(
    r"(?i)\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b(?!\.)(?:\s+(?:AS\s+)?([A-Za-z_]\w*))?"
)

_EXEC_TARGET = re.compile(r"(?is)^\s*EXEC(?:UTE)?\s+([A-Za-z_]\w*\.\w+\.\w+\.\w+)")

_NOT_ALIAS = {
    "where", "join", "left", "inner", "on", "set", "group", "order", "limit", "and", "or",
    "union", "returning", "like", "having", "values", "select", "cross", "right", "full",
}  # fmt: skip


class CompletionSource:
    """What completion offers, from a provider registry (cached per name)."""

    def __init__(self, registry: Any, profile_names: Callable[[], list[str]] = list):
        self.registry = registry
        self.profile_names = profile_names
        self._res: dict[str, Any] = {}

    def providers(self) -> list[str]:
        try:
            return list(self.registry.provider_names())
        except Error:
            return []

    def services(self, provider: str) -> list[str]:
        try:
            return sorted(self.registry.provider(provider).services)
        except Error:
            return []

    def resources(self, provider: str, service: str) -> list[str]:
        try:
            svc = self.registry.provider(provider).services.get(service)
            return sorted(svc.resources) if svc is not None else []
        except Error:
            return []

    def resource(self, rid: str) -> Any | None:
        if rid in self._res:
            return self._res[rid]
        found = None
        parts = rid.split(".")
        if len(parts) == 3 and parts[0] in self.providers():
            try:
                svc = self.registry.provider(parts[0]).services.get(parts[1])
                found = svc.resources.get(parts[2]) if svc is not None else None
            except Error:
                found = None
        self._res[rid] = found
        return found


def _current_statement(text: str, cursor: int) -> tuple[str, str]:
    """(statement text up to the cursor, whole statement) around ``cursor``."""
    start = text.rfind(";", 0, cursor) + 1
    end = text.find(";", cursor)
    end = len(text) if end < 0 else end
    return text[start:cursor], text[start:end]


def _match(prefix: str, names: Iterable[str], start: int, meta: str) -> list[Candidate]:
    low = prefix.lower()
    return [Candidate(n, start, meta) for n in names if n.lower().startswith(low) and n != prefix]


def complete(text: str, cursor: int, source: CompletionSource) -> list[Candidate]:
    """Completion candidates for ``text`` with the cursor at ``cursor``."""
    before, stmt = _current_statement(text, cursor)
    if text.lstrip().startswith("."):
        return _complete_meta(text[:cursor], source)
    word = _WORD_BEFORE.search(before)
    prefix = word.group(0) if word else ""
    providers = source.providers()
    refs = [
        (f"{m.group(1)}.{m.group(2)}.{m.group(3)}", m.group(4))
        for m in _RESOURCE_REF.finditer(stmt)
        if m.group(1) in providers
    ]
    if "." in prefix:
        head, _, last = prefix.rpartition(".")
        parts = head.split(".")
        start = -len(last)
        if len(parts) == 1 and parts[0] in providers:
            return _match(last, source.services(parts[0]), start, "service")
        if len(parts) == 2 and parts[0] in providers:
            return _match(last, source.resources(parts[0], parts[1]), start, "resource")
        if len(parts) == 3 and parts[0] in providers:
            res = source.resource(head)
            return _match(last, sorted(res.methods), start, "method") if res is not None else []
        if len(parts) == 1:  # alias.column
            for rid, alias in refs:
                if alias and alias.lower() not in _NOT_ALIAS and alias == parts[0]:
                    res = source.resource(rid)
                    if res is not None:
                        return _match(last, [c.name for c in res.columns], start, "column")
        return []
    start = -len(prefix)
    exec_m = _EXEC_TARGET.match(stmt)
    out: list[Candidate] = []
    if exec_m:
        rid, _, mname = exec_m.group(1).rpartition(".")
        res = source.resource(rid)
        method = res.methods.get(mname) if res is not None else None
        if method is not None and (prefix.startswith("@") or not prefix):
            names = [f"@{p}" for p in method.params] + ["@@json"]
            out.extend(_match(prefix, names, start, "parameter"))
            if prefix.startswith("@"):
                return out
    if prefix.startswith("@"):
        return out
    seen: set[str] = set()
    for rid, _ in refs:
        res = source.resource(rid)
        if res is None:
            continue
        for c in res.columns:
            if c.name not in seen:
                seen.add(c.name)
                out.extend(_match(prefix, [c.name], start, f"column of {rid}"))
        for p in sorted(res.param_names):
            if p not in seen:
                seen.add(p)
                out.extend(_match(prefix, [p], start, f"parameter of {rid}"))
    out.extend(_match(prefix, providers, start, "provider"))
    lower = prefix[:1].islower()
    words = [k.lower() if lower else k for k in KEYWORDS]
    out.extend(_match(prefix, words, start, "keyword"))
    return out


def _complete_meta(before: str, source: CompletionSource) -> list[Candidate]:
    stripped = before.lstrip()
    if " " not in stripped:
        names = [*META_COMMANDS, ".exit"]
        return _match(stripped, names, -len(stripped), "command")
    cmd, _, arg = stripped.partition(" ")
    arg = arg.lstrip()
    if " " in arg:
        return []
    if cmd == ".output":
        return _match(arg, OUTPUT_FORMATS, -len(arg), "format")
    if cmd == ".timer":
        return _match(arg, ("on", "off"), -len(arg), "")
    if cmd == ".profile":
        try:
            names = source.profile_names()
        except Error:
            names = []
        return _match(arg, names, -len(arg), "profile")
    return []
