from __future__ import annotations

import io
from types import SimpleNamespace

from rich.console import Console

from oktaql._progress import _Bar, _NoBar, progress_for

SCAN = SimpleNamespace(resource=SimpleNamespace(id="okta.apps.tokens"), alias="t")


def test_no_bar_when_not_a_terminal() -> None:
    with progress_for(True, SCAN, 10, Console(file=io.StringIO(), force_terminal=False)) as bar:
        assert isinstance(bar, _NoBar)


def test_no_bar_when_disabled() -> None:
    with progress_for(False, SCAN, 10) as bar:
        assert isinstance(bar, _NoBar)


def test_bar_counts_requests_and_rows_on_a_terminal() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with progress_for(True, SCAN, 3, console) as bar:
        assert isinstance(bar, _Bar)
        for rows in (5, 7, 0):
            bar.advance(rows)
        assert bar.rows == 12
    assert "okta.apps.tokens (t)" in out.getvalue()
