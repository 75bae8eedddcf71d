"""Server-side cursors: ``DECLARE c CURSOR FOR query``, ``FETCH n FROM c``, ``MOVE``, ``CLOSE``.

What psycopg's named cursors (``conn.cursor(name=...)``) and SQLAlchemy's
``stream_results=True`` send. A cursor is a portal of the connection (the protocol's Describe
of portal ``c`` answers its columns); its query runs once, at DECLARE, and each FETCH reads the
next rows of the same result as the client asks for them: a streamed query pages from the API
only as far as it is fetched, a materialized one is read from DuckDB in batches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from oktaql.serve._engine import StatementError

_NAME = r'(?:"((?:[^"]|"")+)"|([A-Za-z_][\w$]*))'
_DECLARE = re.compile(
    rf"(?is)\s*declare\s+{_NAME}\s+((?:binary\s+|insensitive\s+|(?:no\s+)?scroll\s+|asensitive\s+)*)"
    r"cursor\s+((?:with(?:out)?\s+hold\s+)?)for\s+(.*?)\s*;?\s*$"
)
# PostgreSQL's fetch_args: NEXT, PRIOR, FIRST, LAST, ABSOLUTE n, RELATIVE n, n, ALL,
# FORWARD [n | ALL], BACKWARD [n | ALL]; FROM / IN before the name is optional
_SIGNED = r"[+-]?\s*\d+"
_FETCH = re.compile(
    rf"(?is)\s*(fetch|move)\s+(?:(?:(next|prior|first|last|all)|(absolute|relative)\s+({_SIGNED})|"
    rf"(forward|backward)(?:\s+(all|{_SIGNED}))?|({_SIGNED}))\s+)?"
    rf"(?:(?:from|in)\s+)?{_NAME}\s*;?\s*$"
)
_CLOSE = re.compile(rf"(?is)\s*close\s+(?:(all)|{_NAME})\s*;?\s*$")


@dataclass(frozen=True)
class Declare:
    name: str
    query: str
    hold: bool  # WITH HOLD: it outlives the transaction
    scroll: bool = False  # SCROLL: it may move backward (its rows are kept)


@dataclass(frozen=True)
class Fetch:
    name: str
    direction: str  # forward, backward, absolute, relative
    count: int | None  # None: ALL (forward / backward only)
    move: bool  # MOVE: skip the rows, answer how many


@dataclass(frozen=True)
class Close:
    name: str | None  # None: CLOSE ALL


def _name(quoted: str | None, bare: str | None) -> str:
    if quoted is not None:
        return quoted.replace('""', '"')
    return (bare or "").lower()


def _int(text: str) -> int:
    return int(text.replace(" ", "").replace("\t", "").replace("\n", ""))


def _direction(m: re.Match[str]) -> tuple[str, int | None]:
    word, kind, number, way, amount, bare = (m.group(i) for i in range(2, 8))
    word = (word or "").lower()
    if word in ("", "next"):
        direction, count = ("forward", _int(bare)) if bare else ("forward", 1)
    elif word == "prior":
        direction, count = "backward", 1
    elif word == "first":
        direction, count = "absolute", 1
    elif word == "last":
        direction, count = "absolute", -1
    else:
        direction, count = "forward", None  # ALL
    if kind:
        direction, count = kind.lower(), _int(number)
    elif way:
        direction = way.lower()
        count = 1 if not amount else None if amount.lower() == "all" else _int(amount)
    if direction in ("forward", "backward") and count is not None and count < 0:
        direction, count = ("backward" if direction == "forward" else "forward"), -count
    return direction, count


def parse(sql: str) -> Declare | Fetch | Close | None:
    """The cursor command ``sql`` is, or None when it is none."""
    head = sql.lstrip()[:8].lower()
    if head.startswith("declare"):
        m = _DECLARE.match(sql)
        if m is None:
            return None
        hold = m.group(4).strip().lower().startswith("with ")
        options = " ".join(m.group(3).lower().split())
        scroll = "scroll" in options.split() and "no scroll" not in options
        return Declare(_name(m.group(1), m.group(2)), m.group(5), hold, scroll)
    if head.startswith(("fetch", "move")):
        m = _FETCH.match(sql)
        if m is None:
            return None
        direction, count = _direction(m)
        move = m.group(1).lower() == "move"
        return Fetch(_name(m.group(8), m.group(9)), direction, count, move)
    if head.startswith("close"):
        m = _CLOSE.match(sql)
        if m is None:
            return None
        return Close(None if m.group(1) else _name(m.group(2), m.group(3)))
    return None


SCROLL_ROWS = 1_000_000  # most rows a SCROLL cursor keeps (in the server's memory)


class Position:
    """Where a cursor stands over its rows, moved as PostgreSQL moves a portal (pquery.c's
    fetch semantics, reimplemented): ``pos`` is the current row's number (0: before the
    first), ``at_end`` after the last. A NO SCROLL cursor reads its source once, forward; a
    SCROLL cursor keeps every row read (at most :data:`SCROLL_ROWS`) to move back over."""

    def __init__(self, rows: Iterator[Any], scroll: bool, limit: int = SCROLL_ROWS):
        self.source = rows
        self.scroll = scroll
        self.limit = limit
        self.kept: list[Any] = []  # SCROLL: row n is kept[n - 1]
        self.done = False  # the source is exhausted
        self.at_start, self.at_end, self.pos = True, False, 0

    def _row(self, number: int) -> tuple[bool, Any]:
        if self.scroll and number <= len(self.kept):
            return True, self.kept[number - 1]
        if self.done:
            return False, None
        try:
            row = next(self.source)
        except StopIteration:
            self.done = True
            return False, None
        if self.scroll:
            if len(self.kept) >= self.limit:
                raise StatementError(
                    "54000",
                    f"a SCROLL cursor keeps at most {self.limit} rows in the server's memory",
                    hint="declare it NO SCROLL (forward only) or narrow its query",
                )
            self.kept.append(row)
        return True, row

    def forward(self, count: int | None) -> Iterator[Any]:
        """The next ``count`` rows (None: all), the position moving as each is taken."""
        if self.at_end or (count is not None and count <= 0):
            return
        taken = 0
        while count is None or taken < count:
            found, row = self._row(self.pos + 1)
            if not found:
                break
            taken += 1
            self.pos += 1
            self.at_start = False
            yield row
        if count is None or taken < count:
            self.at_end = True

    def backward(self, count: int | None) -> list[Any]:
        self._refuse_backward()
        if self.at_start or (count is not None and count <= 0):
            return []
        start = self.pos + 1 if self.at_end else self.pos
        want = start - 1 if count is None else min(count, start - 1)
        rows = [self.kept[n - 1] for n in range(start - 1, start - 1 - want, -1)]
        if rows and self.at_end:
            self.at_end = False
            self.pos += 1
        if count is None or len(rows) < count:
            self.at_start, self.pos = True, 0
        else:
            self.pos -= len(rows)
        return rows

    def _refuse_backward(self) -> None:
        if not self.scroll:
            raise StatementError(
                "55000",
                "cursor can only scan forward",
                hint="Declare it with SCROLL option to enable backward scan.",
            )

    def rewind(self) -> None:
        if self.at_start and not self.at_end:
            return  # not moved yet: no NO SCROLL error
        self._refuse_backward()
        self.at_start, self.at_end, self.pos = True, False, 0

    def _skip(self, count: int | None) -> None:
        for _ in self.forward(count):
            pass

    def fetch(self, direction: str, count: int | None, move: bool) -> Iterable[Any] | int:
        """FETCH's rows (the last forward read lazily), or MOVE's count."""
        if direction == "absolute":
            assert count is not None
            if count > 0:
                if count - 1 <= self.pos // 2:
                    self.rewind()
                    if count > 1:
                        self._skip(count - 1)
                else:
                    pos = self.pos + 1 if self.at_end else self.pos
                    if count <= pos:
                        self.backward(pos - count + 1)
                    elif count > pos + 1:
                        self._skip(count - pos - 1)
                return self._answer(True, 1, move)
            if count < 0:
                self._skip(None)
                if count < -1:
                    self.backward(-count - 1)
                return self._answer(False, 1, move)
            self.rewind()
            return self._answer(True, 0, move)
        if direction == "relative":
            assert count is not None
            if count > 0:
                if count > 1:
                    self._skip(count - 1)
                return self._answer(True, 1, move)
            if count < 0:
                if count < -1:
                    self.backward(-count - 1)
                return self._answer(False, 1, move)
            direction = "forward"
        forward = direction == "forward"
        if count == 0:  # the current row again, if the cursor is on one
            on_row = not self.at_start and not self.at_end
            if move:
                return 1 if on_row else 0
            if on_row:
                self.backward(1)
                count, forward = 1, True
        if not forward and count is None and move:  # MOVE BACKWARD ALL: a rewind
            moved = self.pos - 1 if self.pos > 0 and not self.at_end else self.pos
            self.rewind()
            return moved
        return self._answer(forward, count, move)

    def _answer(self, forward: bool, count: int | None, move: bool) -> Iterable[Any] | int:
        rows: Iterable[Any] = self.forward(count) if forward else self.backward(count)
        if move:
            return sum(1 for _ in rows)
        return rows


__all__ = ["SCROLL_ROWS", "Close", "Declare", "Fetch", "Position", "parse"]
