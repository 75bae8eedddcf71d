"""The shell's history file: ``$XDG_DATA_HOME/oktaql/history``, only the user may read it, and
secrets are masked before a line is stored (the one rule of :mod:`oktaql._secrets`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from oktaql._secrets import mask_sql


def default_history_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "oktaql" / "history"


def file_history(path: Path, echo: Callable[..., None]) -> Any:
    """A prompt_toolkit history kept in ``path`` (mode 0600), secrets masked; None (with a
    warning) when the file cannot be made."""
    from prompt_toolkit.history import FileHistory

    class _History(FileHistory):
        def store_string(self, string: str) -> None:
            super().store_string(mask_sql(string))

    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
        return _History(str(path))
    except OSError as exc:
        echo(f"warning: no history file ({path}: {exc.strerror})", err=True)
        return None
