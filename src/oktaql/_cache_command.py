"""``oktaql cache``: the persistent response cache's folder (``--persistent-cache``)."""

from __future__ import annotations

import click

from oktaql import _report
from oktaql.errors import Error


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    scaled, unit = n / 1024, "KB"
    for bigger in ("MB", "GB"):
        if scaled < 1024:
            break
        scaled, unit = scaled / 1024, bigger
    return f"{scaled:.1f} {unit} ({n} bytes)"


@click.group("cache", context_settings={"help_option_names": ["-h", "--help"]})
def cache_command() -> None:
    """The persistent response cache ($OKTAQL_CACHE_DIR/responses)."""


@cache_command.command("clear")
def cache_clear() -> None:
    """Remove every stored page of this user's response cache and say how much that freed."""
    from oktaql._persistent_cache import clear, default_dir

    folder = default_dir()
    try:
        freed = clear(folder)
    except Error as exc:
        _report.exit_with(exc)
    pages = "page" if freed.files == 1 else "pages"
    click.echo(f"removed {freed.files} {pages} ({_size(freed.bytes)}) from {folder}")
