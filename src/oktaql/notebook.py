"""Jupyter/IPython: the ``%%oktaql`` cell magic.

::

    %load_ext oktaql.notebook

    app_id = "0oa1abcdEFGH2345ijk6"

    %%oktaql --profile prod -o tokens
    SELECT id, userId, created FROM okta.apps.tokens WHERE appId = '{{ app_id }}'

``{{ name }}`` placeholders are filled from the notebook's variables (escaped for where they
stand, as everywhere in oktaql). The cell's last statement that returns rows gives the cell's
value: a pandas DataFrame when pandas is installed, else a list of dicts; ``-o NAME`` also stores
it in the notebook variable NAME. Other statements print their status line.

Options: exec's connection and engine options, with exec's defaults (``--profile NAME``,
``--org-url URL``, ``--registry DIR``, ``--emulator``, ``--db PATH``, ``--cache-ttl``, ...;
:mod:`oktaql._options`), and ``-o/--out NAME``. One connection per distinct set of options is
kept for the kernel's life, so views and tables made in one cell are there in the next (and, in
the ``--db`` file, in ``oktaql exec`` and ``oktaql shell``).

IPython is imported by nothing here: the module loads without it, and :func:`run_cell` is the
whole magic, callable with any namespace.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import click

from oktaql import _report
from oktaql._options import ConnectionOptions, connection_options
from oktaql.errors import Error

_CONNECTIONS: dict[ConnectionOptions, Any] = {}
_EMULATOR: list[Any] = []


class MagicUsageError(ValueError):
    """The magic's option line is wrong."""


@dataclass(frozen=True)
class MagicOptions:
    """The magic's line: where to connect, and the variable to store the result in."""

    connection: ConnectionOptions
    out: str | None = None


@click.command("%%oktaql", add_help_option=False)
@click.option("-o", "--out", metavar="NAME", help="Also store the result in variable NAME.")
@connection_options
def _line(out: str | None, connection: ConnectionOptions) -> MagicOptions:
    return MagicOptions(connection, out)


def parse_line(line: str) -> MagicOptions:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise MagicUsageError(f"%%oktaql: the option line does not parse ({exc})") from None
    try:
        opts: MagicOptions = _line.main(words, prog_name="%%oktaql", standalone_mode=False)
    except click.UsageError as exc:
        raise MagicUsageError(f"%%oktaql: {exc.format_message()}") from None
    if opts.out is not None and not opts.out.isidentifier():
        raise MagicUsageError(f"%%oktaql: -o needs a Python variable name, not {opts.out!r}")
    return opts


def _connection(opts: ConnectionOptions) -> Any:
    conn = _CONNECTIONS.get(opts)
    if conn is not None:
        return conn
    import oktaql
    from oktaql._options import check_org_flags, resolve

    check_org_flags(opts)
    if opts.emulator and not _EMULATOR:
        from oktaql.emulator import EmulatorConfig, start_in_thread

        _EMULATOR.append(start_in_thread(EmulatorConfig()))
    target = resolve(opts, emulator=_EMULATOR[0] if opts.emulator else None)
    conn = oktaql.connect(settings=target.settings)
    _CONNECTIONS[opts] = conn
    return conn


def close_all() -> None:
    """Close the kept connections (and the emulator ``--emulator`` started)."""
    for conn in _CONNECTIONS.values():
        conn.close()
    _CONNECTIONS.clear()
    while _EMULATOR:
        _EMULATOR.pop().stop()


def _namespace_vars(user_ns: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user_ns.items() if not k.startswith("_")}


def _pandas() -> Any:
    """pandas when it is installed, else None (a seam for tests)."""
    try:
        import pandas
    except ImportError:
        return None
    return pandas


def _frame(columns: list[str], rows: list[tuple[Any, ...]]) -> Any:
    pandas = _pandas()
    if pandas is None:
        return [dict(zip(columns, row, strict=False)) for row in rows]
    return pandas.DataFrame.from_records(rows, columns=columns)


def run_cell(line: str, cell: str, user_ns: MutableMapping[str, Any]) -> Any:
    """The ``%%oktaql`` magic: run the cell's statements, ``{{ name }}`` from ``user_ns``.

    Returns the last row-returning statement's rows (DataFrame, else list of dicts), or None.
    """
    from oktaql import parser

    opts = parse_line(line)
    statements = parser.split_statements(cell)
    if not statements:
        raise MagicUsageError("%%oktaql: the cell has no statement")
    conn = _connection(opts.connection)
    variables = _namespace_vars(user_ns)
    result: Any = None
    for sql in statements:
        cur = conn.cursor()
        try:
            cur.execute(sql, variables)
            if cur.description is not None:
                columns = [d[0] for d in cur.description]
                result = _frame(columns, cur.fetchall())
            if cur.message:
                print(cur.message)
        finally:
            cur.close()
    if opts.out is not None:
        user_ns[opts.out] = result
    return result


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext oktaql.notebook``: registers the ``%%oktaql`` cell magic."""

    def oktaql(line: str, cell: str) -> Any:
        try:
            return run_cell(line, cell, ipython.user_ns)
        except (Error, MagicUsageError) as exc:
            try:
                from IPython.core.error import UsageError
            except ImportError:  # pragma: no cover - IPython is what calls us
                raise exc from None
            text = str(exc) if isinstance(exc, MagicUsageError) else _report.report(exc).message
            raise UsageError(text) from None

    ipython.register_magic_function(oktaql, magic_kind="cell", magic_name="oktaql")


def unload_ipython_extension(ipython: Any) -> None:
    close_all()


__all__ = [
    "MagicOptions",
    "MagicUsageError",
    "close_all",
    "load_ipython_extension",
    "parse_line",
    "run_cell",
]
