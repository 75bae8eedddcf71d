"""Statement text: is the input complete, its first keyword, is a planned write bulk, a row in full."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

DESTRUCTIVE = ("DELETE", "UPDATE", "REPLACE", "EXEC", "EXECUTE")


def statement_complete(text: str) -> bool:
    """Whether the input is ready to run: a meta command, or SQL whose last significant
    character (outside strings and comments) is ``;``. Empty input counts as complete."""
    s = text.strip()
    if not s or s.startswith(".") or s.lower() in ("quit", "exit", "help", r"\q"):
        return True
    last = ""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in ("'", '"', "`"):
            j = i + 1
            while True:
                if j >= n:
                    return False  # inside an unterminated string
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            last = ch
            i = j + 1
            continue
        if text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                return False  # inside an unterminated comment
            i = j + 2
            continue
        if not ch.isspace():
            last = ch
        i += 1
    return last == ";"


def first_word(sql: str) -> str:
    """The statement's first keyword, upper case, comments skipped."""
    from oktaql.parser import blank_comments

    blanked, _ = blank_comments(sql)
    m = re.match(r"\s*([A-Za-z_]+)", blanked)
    return m.group(1).upper() if m else ""


def _is_json_like(value: Any) -> bool:
    return isinstance(value, dict | list)


def format_row(columns: Sequence[str], row: Sequence[Any]) -> str:
    """One row in full: ``column: value`` lines, JSON values pretty-printed, every value as
    the output formats show it (control characters made visible)."""
    from oktaql.output import json_text, scalar_text, visible

    width = max((len(c) for c in columns), default=0)
    lines = []
    for name, value in zip(columns, row):
        if _is_json_like(value):
            text = json_text(value, indent=2)  # JSON escapes its own control characters
            text = text.replace("\n", "\n" + " " * (width + 2))
        elif value is None:
            text = "NULL"
        else:
            text = visible(scalar_text(value))
        lines.append(f"{visible(name).ljust(width)}: {text}")
    return "\n".join(lines)
