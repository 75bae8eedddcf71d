"""Progress of long fan-outs: a bar with an ETA on stderr (a terminal only: never in piped
output), and, when the rate-limit share will make a fan-out take a while, a note saying so up
front ("~840 calls; at 50% of 600/min this takes ~3 min").

The note goes to the session's ``notice`` hook (:class:`oktaql._settings.Settings`; the CLI's
prints it on stderr), or to stderr when the session shows progress, else nowhere. It is given
when the fan-out starts if the client already knows the endpoint family's budget, else as soon
as the first call is answered (that answer tells it), and only when the estimate is longer
than :data:`NOTICE_SECONDS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oktaql._http import HTTPClient
    from oktaql.session import Session

PROGRESS_MIN_CALLS = 8
NOTICE_SECONDS = 5.0  # a fan-out the budget makes longer than this says so up front
_ASK = 3  # calls answered after which a budget still unknown is not asked for again


class _Note:
    """Says, once, how long the fan-out will take at the share of the budget."""

    def __init__(self, client: HTTPClient, url: str, total: int, say: Callable[[str], None]):
        self._client, self._url, self._total, self._say = client, url, total, say
        self.done = 0
        self.given: str | None = None
        self._asked = 0

    def check(self) -> None:
        if self.given is not None or self._asked > _ASK:
            return
        self._asked += 1
        est = self._client.estimate(self._url, self._total - self.done)
        if est is None:
            return
        self._asked = _ASK + 1  # known: asked once only
        if est.seconds > NOTICE_SECONDS:
            self.given = est.describe()
            self._say(self.given)


class _NoBar:
    def __init__(self, note: _Note | None = None):
        self.note = note

    def advance(self, rows: int) -> None:
        if self.note is not None:
            self.note.done += 1
            self.note.check()


class _Bar(_NoBar):
    def __init__(self, progress: Any, task: Any, note: _Note | None = None):
        super().__init__(note)
        self._progress = progress
        self._task = task
        self.rows = 0

    def advance(self, rows: int) -> None:
        self.rows += rows
        self._progress.update(self._task, advance=1, rows=self.rows)
        super().advance(rows)


@contextmanager
def progress_for(
    enabled: bool,
    scan: Any,
    total: int,
    console: Any = None,
    *,
    session: Session | None = None,
    calls: Sequence[Any] | None = None,
) -> Iterator[_NoBar]:
    """The bar of a fan-out of ``total`` calls (``enabled``: the session shows progress and
    the fan-out is large enough). With ``session`` and the ``calls``, the note on how long the
    rate-limit share makes it take, whether or not the bar shows."""
    note = _note_for(session, scan, calls, total) if session is not None and calls else None
    if note is not None:
        note.check()
    if not enabled:
        yield _NoBar(note)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield _NoBar(note)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests, {task.fields[rows]} rows"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{scan.resource.id} ({scan.alias})", total=total, rows=0)
        yield _Bar(progress, task, note)


def _note_for(session: Session, scan: Any, calls: Sequence[Any], total: int) -> _Note | None:
    from oktaql import _report
    from oktaql.errors import Error

    say = session.settings.notice
    if say is None:
        if not session.progress:
            return None
        say = lambda text: _report.echo(f"note: {text}")  # noqa: E731
    req = calls[0].request
    try:
        client = session.http(scan.resource.id.split(".")[0], req.url, req.org)
    except Error:
        return None  # the fan-out's first request reports it
    return _Note(client, req.url, total, say)
