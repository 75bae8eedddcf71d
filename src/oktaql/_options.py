"""The connection and engine options of every command that connects, defined once.

``@connection_options`` adds the same flags, with the same defaults, to ``oktaql exec`` and
``oktaql shell`` (the ``%%oktaql`` magic parses its line with them too) and hands the command one
:class:`ConnectionOptions`. :func:`connected` turns that into the session's
:class:`~oktaql._settings.Settings`: the profile (``config.resolve_connection``), the named
orgs, the in-process emulator, the retry policy. Only click and the standard library load here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

import click

from oktaql.errors import ConfigError

if TYPE_CHECKING:
    from oktaql._settings import Settings

from oktaql.output import OUTPUT_FORMATS

F = TypeVar("F", bound=Callable[..., Any])

output_option = click.option(
    "-o",
    "--output",
    type=click.Choice(OUTPUT_FORMATS),
    default="table",
    show_default=True,
    help="Output format (text: tab-separated values, no quoting).",
)
no_headers_option = click.option(
    "-H",
    "--no-headers",
    is_flag=True,
    help="Leave out the header line (table, text and csv).",
)


@dataclass(frozen=True)
class ConnectionOptions:
    """The flags of :func:`connection_options`, as given (before any profile is read)."""

    registry: str | None = None
    org_url: str | None = None
    org_url_explicit: bool = False  # on the command line, not from $OKTA_CLIENT_ORGURL
    profile: str | None = None
    emulator: bool = False
    persistent_cache: bool = False
    persistent_cache_max_mb: float = 256.0
    persistent_cache_max_days: float = 30.0
    variables: tuple[str, ...] = ()
    vars_files: tuple[str, ...] = ()
    db: str | None = None
    concurrency: int = 32
    max_retries: int = 4
    max_rate_limit_wait: float = 60.0
    no_pace: bool = False
    rate_share: float = 0.5
    cache_ttl: float = 0.0
    dry_run: bool = False


_FLAGS = [
    click.option(
        "--registry",
        type=click.Path(file_okay=False),
        help="Load providers from a StackQL registry folder instead of the built-in one.",
    ),
    click.option(
        "--org-url",
        envvar="OKTA_CLIENT_ORGURL",
        help="The whole org URL, e.g. https://acme.okta.com (default: the profile's, else "
        "$OKTA_CLIENT_ORGURL; else statements name the org with subdomain).",
    ),
    click.option(
        "--profile",
        help="A profile of the config file (org URL and token source); default: "
        "$OKTAQL_PROFILE, else default_profile.",
    ),
    click.option(
        "--emulator",
        is_flag=True,
        help="Run against an in-process emulated Okta org (seeded demo data).",
    ),
    click.option(
        "--var",
        "variables",
        multiple=True,
        metavar="NAME=VALUE",
        help="Fill {{ NAME }} in the SQL; repeatable.",
    ),
    click.option(
        "--vars-file",
        "vars_files",
        multiple=True,
        type=click.Path(dir_okay=False),
        help="Variables from a JSON or YAML mapping; repeatable, a later file wins, --var wins "
        "over files.",
    ),
    click.option(
        "--db",
        metavar="PATH",
        help="DuckDB file keeping views, materialized views and tables (default: <data "
        "dir>/oktaql.duckdb; ':memory:' keeps nothing).",
    ),
    click.option(
        "--concurrency",
        default=32,
        show_default=True,
        type=click.IntRange(min=1, max=64),
        help="Requests in flight at once when a join or IN list fans out (halved while Okta "
        "answers that the org has too many in flight).",
    ),
    click.option(
        "--max-retries",
        default=4,
        show_default=True,
        type=click.IntRange(min=0, max=20),
        help="Retries of a failed request (429, 5xx, timeouts, dropped connections; POST only "
        "when the server cannot have acted).",
    ),
    click.option(
        "--max-rate-limit-wait",
        default=60.0,
        show_default=True,
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="Longest wait for a rate limit to reset before giving up.",
    ),
    click.option(
        "--no-pace",
        is_flag=True,
        help="Do not slow down as X-Rate-Limit-Remaining runs low (by default a fan-out "
        "spreads the remaining budget until the reset), nor keep to --rate-share.",
    ),
    click.option(
        "--rate-share",
        default=0.5,
        show_default=True,
        type=click.FloatRange(min=0, max=1, min_open=True),
        metavar="SHARE",
        help="The most of each endpoint family's rate limit (X-Rate-Limit-Limit) one window "
        "may take, spread evenly once a fan-out outgrows it; the rest is left to the org's "
        "other traffic (1: all of it).",
    ),
    click.option(
        "--cache-ttl",
        default=0.0,
        show_default=True,
        type=click.FloatRange(min=0),
        metavar="SECONDS",
        help="Reuse identical GET responses for this long (writes invalidate them).",
    ),
    click.option(
        "--persistent-cache",
        is_flag=True,
        help="Keep GET responses on disk for later runs ($OKTAQL_CACHE_DIR/responses, this "
        "user's alone) and reuse them when Okta answers 304 to If-None-Match/If-Modified-Since "
        "(within --cache-ttl without asking); writes invalidate them. Off by default.",
    ),
    click.option(
        "--persistent-cache-max-mb",
        default=256.0,
        show_default=True,
        type=click.FloatRange(min=0),
        metavar="MB",
        help="Bound the persistent cache's folder: past it the least recently used pages go "
        "(0: no bound).",
    ),
    click.option(
        "--persistent-cache-max-days",
        default=30.0,
        show_default=True,
        type=click.FloatRange(min=0),
        metavar="DAYS",
        help="Remove persistent cache pages not used for this long (0: never).",
    ),
    click.option(
        "--dry-run",
        is_flag=True,
        help="Show the planned requests without sending them (every statement as EXPLAIN).",
    ),
]

_NAMES = [f.name for f in fields(ConnectionOptions) if f.name != "org_url_explicit"]


def connection_options(command: F) -> F:
    """Add the connection/engine flags; the command receives them as ``connection=``."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        given = {name: kwargs.pop(name) for name in _NAMES}
        source = ctx.get_parameter_source("org_url")
        explicit = source == click.core.ParameterSource.COMMANDLINE
        return command(
            *args, connection=ConnectionOptions(**given, org_url_explicit=explicit), **kwargs
        )

    decorated: Any = wrapper
    for flag in reversed(_FLAGS):
        decorated = flag(decorated)
    return decorated  # type: ignore[no-any-return]


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var NAME=VALUE`` pairs."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var {pair!r} is not NAME=VALUE (e.g. --var appId=0oa1b2c3)")
        out[name.strip()] = value
    return out


@dataclass(frozen=True)
class Target:
    """Where a command connects: its settings and the profile (or "emulator") it names."""

    settings: Settings
    profile: str | None


def check_org_flags(opts: ConnectionOptions) -> None:
    """Two flags that each name an org are a mistake, never a silent choice."""
    if opts.emulator and opts.profile:
        raise ConfigError("--emulator and --profile both name an org: give one")
    if opts.emulator and opts.org_url and opts.org_url_explicit:
        raise ConfigError("--emulator and --org-url both name an org: give one")


def _org_url_note(url: str | None) -> str | None:
    """The URL to use and, when it ended in Okta's API path, a note saying it was dropped."""
    if url and url.rstrip("/").endswith("/api/v1"):
        from oktaql import _report

        _report.echo(
            f"note: the org URL is the site, not its API: using {url.rstrip('/')[:-7]!r} "
            f"(requests add /api/v1 themselves)"
        )
        return url.rstrip("/")[:-7]
    return url


def resolve(
    opts: ConnectionOptions,
    *,
    emulator: Any = None,
    progress: bool = False,
    default_db: bool = True,
) -> Target:
    """The settings ``opts`` name; ``emulator`` is the running emulator when ``--emulator``."""
    from oktaql._http import RetryPolicy
    from oktaql._settings import Settings
    from oktaql.config import merge_vars, named_orgs, resolve_connection
    from oktaql.local import default_db_path

    check_org_flags(opts)
    values = merge_vars(opts.vars_files, parse_vars(opts.variables))  # --var > files > env
    org_url: str | None
    token: str | None
    profile: str | None
    if opts.emulator:
        org_url, token, profile = emulator.url, emulator.config.token, "emulator"
    else:
        found = resolve_connection(
            opts.profile,
            opts.org_url,
            org_url_explicit=opts.org_url_explicit,
            need_token=not opts.dry_run,  # EXPLAIN asks no password manager
        )
        # the flag's, $OKTA_CLIENT_ORGURL's or the profile's
        org_url, token = _org_url_note(found.org_url), found.token
        profile = found.profile.name if found.profile else None
    db = opts.db or (str(default_db_path()) if default_db else None)
    settings = Settings.of(
        registry=opts.registry,
        org_url=org_url,
        token=token,
        variables=values,
        db=db,
        persistent_cache=opts.persistent_cache,
        persistent_cache_max_mb=opts.persistent_cache_max_mb,
        persistent_cache_max_days=opts.persistent_cache_max_days,
        concurrency=opts.concurrency,
        cache_ttl=opts.cache_ttl,
        progress=progress,
        orgs=named_orgs(),
        retry=RetryPolicy(
            max_retries=opts.max_retries,
            max_rate_limit_wait=opts.max_rate_limit_wait,
            pace=not opts.no_pace,
            pace_reserve=opts.concurrency,
            rate_share=opts.rate_share,
        ),
        notice=_report_notice,
    )
    return Target(settings, profile)


def _report_notice(text: str) -> None:
    """A command's notes (how long a paced fan-out takes) go to stderr."""
    from oktaql import _report

    _report.echo(f"note: {text}")


@contextmanager
def connected(opts: ConnectionOptions, *, progress: bool = False) -> Iterator[Target]:
    """:func:`resolve`, with the in-process emulator running while the block runs."""
    check_org_flags(opts)
    running = None
    if opts.emulator:
        from oktaql.emulator import EmulatorConfig, start_in_thread

        running = start_in_thread(EmulatorConfig())
    try:
        yield resolve(opts, emulator=running, progress=progress)
    finally:
        if running is not None:
            running.stop()


__all__ = [
    "OUTPUT_FORMATS",
    "ConnectionOptions",
    "Target",
    "check_org_flags",
    "connected",
    "connection_options",
    "no_headers_option",
    "output_option",
    "parse_vars",
    "resolve",
]
