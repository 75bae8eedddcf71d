"""Folders and files only this user can write: where parsed providers and pulled ones are kept.

What oktaql reads back from these places decides which requests it sends (a provider's paths,
servers and parameters), so a folder or file another account can write is not used: whoever
can write it could steer the token. The rule is ssh's: owned by this user, and neither group-
nor world-writable. Windows has ACLs instead of modes; there every path passes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_CHECKS = hasattr(os, "getuid")


def is_private(st: os.stat_result) -> bool:
    """Owned by this user and writable by no one else."""
    if not _CHECKS:
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def private_dir(path: Path) -> Path | None:
    """``path`` as a folder only this user can write, made (mode 0700) when missing.

    None when it cannot be made, or exists and fails :func:`is_private` (another owner, group-
    or world-writable, not a folder): the caller then does without it or picks another place.
    """
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or not is_private(st):
        return None
    return path


def failing_dir(path: Path) -> str | None:
    """Why ``path`` (an existing folder) fails :func:`is_private`, or None when it passes."""
    try:
        st = path.stat()
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if is_private(st):
        return None
    if st.st_uid != os.getuid():
        return f"belongs to another user (uid {st.st_uid})"
    return f"is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
