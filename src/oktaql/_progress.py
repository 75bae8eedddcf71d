"""A progress bar on stderr for long fan-outs (a terminal only: never in piped output)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PROGRESS_MIN_CALLS = 8


class _NoBar:
    def advance(self, rows: int) -> None:
        pass


class _Bar:
    def __init__(self, progress: Any, task: Any):
        self._progress = progress
        self._task = task
        self.rows = 0

    def advance(self, rows: int) -> None:
        self.rows += rows
        self._progress.update(self._task, advance=1, rows=self.rows)


@contextmanager
def progress_for(
    enabled: bool, scan: Any, total: int, console: Any = None
) -> Iterator[_NoBar | _Bar]:
    if not enabled:
        yield _NoBar()
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = console or Console(stderr=True)
    if not console.is_terminal:
        yield _NoBar()
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("requests, {task.fields[rows]} rows"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{scan.resource.id} ({scan.alias})", total=total, rows=0)
        yield _Bar(progress, task)
