"""Exceptions → what the user reads: the one place that decides message, exit status and hint.

Used by ``oktaql exec``/``shell``/``docs``/``config`` and the ``%%oktaql`` magic. Every text goes
through :func:`oktaql.output.visible` (an error may quote API data: its control characters are
shown, never sent to the terminal). A bug of ours (any exception that is not an
:class:`oktaql.Error`) becomes one :class:`oktaql.InternalError` line, never a traceback.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal, NoReturn

from oktaql.errors import Error, InternalError

Surface = Literal["cli", "python"]

# settings an error may name, as each surface spells them: the message is written for the
# Python API (the keyword a caller of connect() sets); on the command line, the flag
_SETTING_NAMES: dict[str, dict[Surface, str]] = {
    "retry=RetryPolicy(max_rate_limit_wait=SECONDS)": {
        "cli": "--max-rate-limit-wait SECONDS",
        "python": "retry=RetryPolicy(max_rate_limit_wait=SECONDS)",
    },
    "retry=RetryPolicy(max_retries=N)": {
        "cli": "--max-retries N",
        "python": "retry=RetryPolicy(max_retries=N)",
    },
    "rate_share=SHARE": {"cli": "--rate-share SHARE", "python": "rate_share=SHARE"},
    "concurrency=N": {"cli": "--concurrency N", "python": "concurrency=N"},
}

INTERRUPTED = 130  # what a shell reports for SIGINT


@dataclass(frozen=True)
class Report:
    """What to print (without the ``error:`` prefix), the exit status, and an optional hint."""

    message: str
    code: int = 1
    hint: str | None = None

    def lines(self) -> str:
        head = "interrupted" if self.code == INTERRUPTED else "error"
        text = self.message if head == "interrupted" else f"error: {self.message}"
        return text + (f"\nhint: {self.hint}" if self.hint else "")


def unexpected(exc: BaseException) -> InternalError:
    """A bug of ours, as the one error type that says so."""
    return InternalError(f"unexpected {type(exc).__name__}: {exc}")


def report(exc: BaseException, surface: Surface = "cli") -> Report:
    """How ``exc`` is shown on ``surface``."""
    from oktaql.output import visible

    if isinstance(exc, KeyboardInterrupt):
        notes = getattr(exc, "__notes__", ())
        return Report(visible("\n".join(["interrupted", *notes]), lines=True), INTERRUPTED)
    if not isinstance(exc, Error):
        exc = unexpected(exc)
    text = "\n".join([str(exc), *getattr(exc, "__notes__", ())])
    for name, spelled in _SETTING_NAMES.items():
        text = text.replace(name, spelled[surface])
    hint = getattr(exc, "hint", None)
    return Report(
        visible(text, lines=True),
        1,
        visible(hint, lines=True) if isinstance(hint, str) and hint else None,
    )


def echo(text: str) -> None:
    """One message on stderr, control characters made visible."""
    from oktaql.output import visible

    sys.stdout.flush()  # rows already written come first
    print(visible(text, lines=True), file=sys.stderr, flush=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Leave the command: ``error: message`` on stderr, exit status ``code``."""
    echo(f"error: {message}")
    sys.exit(code)


def exit_with(exc: BaseException) -> NoReturn:
    """Leave the command the way ``exc`` says (message on stderr, its exit status)."""
    found = report(exc, "cli")
    sys.stdout.flush()
    print(found.lines(), file=sys.stderr, flush=True)
    sys.exit(found.code)


__all__ = ["INTERRUPTED", "Report", "echo", "exit_with", "fail", "report", "unexpected"]
