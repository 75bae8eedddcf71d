"""Server-side cursors: ``DECLARE c CURSOR FOR query``, ``FETCH n FROM c``, ``MOVE``, ``CLOSE``.

What psycopg's named cursors (``conn.cursor(name=...)``) and SQLAlchemy's
``stream_results=True`` send. A cursor is a portal of the connection (the protocol's Describe
of portal ``c`` answers its columns); its query runs once, at DECLARE, and each FETCH reads the
next rows of the same result as the client asks for them: a streamed query pages from the API
only as far as it is fetched, a materialized one is read from DuckDB in batches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = r'(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))'
_DECLARE = re.compile(
    rf"(?is)\s*declare\s+{_NAME}\s+((?:binary\s+|insensitive\s+|(?:no\s+)?scroll\s+|asensitive\s+)*)"
    r"cursor\s+((?:with(?:out)?\s+hold\s+)?)for\s+(.*?)\s*;?\s*$"
)
_FETCH = re.compile(
    rf"(?is)\s*(fetch|move)\s+(?:(next|forward|all|\d+|forward\s+all|forward\s+\d+|"
    rf"backward|prior|first|last|absolute\s+-?\d+|relative\s+-?\d+|backward\s+\S+|-\d+)\s+)?"
    rf"(?:(?:from|in)\s+)?{_NAME}\s*;?\s*$"
)
_CLOSE = re.compile(rf"(?is)\s*close\s+(?:(all)|{_NAME})\s*;?\s*$")


@dataclass(frozen=True)
class Declare:
    name: str
    query: str
    hold: bool  # WITH HOLD: it outlives the transaction


@dataclass(frozen=True)
class Fetch:
    name: str
    count: int | None  # None: ALL
    move: bool  # MOVE: skip the rows, answer how many
    direction: str  # forward, or what oktaql does not support (backward, absolute, ...)


@dataclass(frozen=True)
class Close:
    name: str | None  # None: CLOSE ALL


def _name(quoted: str | None, bare: str | None) -> str:
    if quoted is not None:
        return quoted.replace('""', '"')
    return (bare or "").lower()


def parse(sql: str) -> Declare | Fetch | Close | None:
    """The cursor command ``sql`` is, or None when it is none."""
    head = sql.lstrip()[:8].lower()
    if head.startswith("declare"):
        m = _DECLARE.match(sql)
        if m is None:
            return None
        hold = m.group(4).strip().lower().startswith("with ")
        return Declare(_name(m.group(1), m.group(2)), m.group(5), hold)
    if head.startswith(("fetch", "move")):
        m = _FETCH.match(sql)
        if m is None:
            return None
        how = " ".join((m.group(2) or "next").lower().split())
        move = m.group(1).lower() == "move"
        name = _name(m.group(3), m.group(4))
        if how in ("next", "forward"):
            return Fetch(name, 1, move, "forward")
        if how in ("all", "forward all"):
            return Fetch(name, None, move, "forward")
        number = how.removeprefix("forward ").strip()
        if number.isdigit():
            return Fetch(name, int(number), move, "forward")
        return Fetch(name, 0, move, how)
    if head.startswith("close"):
        m = _CLOSE.match(sql)
        if m is None:
            return None
        return Close(None if m.group(1) else _name(m.group(2), m.group(3)))
    return None


__all__ = ["Close", "Declare", "Fetch", "parse"]
