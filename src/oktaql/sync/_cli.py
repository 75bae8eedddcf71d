"""``oktaql sync``: land Okta resources in DuckDB, PostgreSQL or Parquet, for one org or many.

Heavy modules load inside the command; ``--help`` answers at once.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import click

from oktaql import _report
from oktaql._options import ConnectionOptions, connection_options, no_headers_option, output_option
from oktaql.errors import ConfigError, Error

if TYPE_CHECKING:
    from collections.abc import Callable

    from oktaql._settings import Settings
    from oktaql.sync._run import Landed, OrgTarget


def default_destination() -> str:
    """The DuckDB file ``oktaql exec`` reads by default, so landed tables are there at once."""
    from oktaql.local import default_db_path

    return str(default_db_path())


def _split(text: str | None) -> list[str]:
    """A comma-separated list, each item once."""
    return list(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))


def _org_label(url: str | None) -> str:
    """``_org`` of an org named by URL alone: its host (``acme.okta.com``; ``:`` → ``_``)."""
    host = urlsplit(url or "").netloc or "default"
    return host.rpartition("@")[2].replace(":", "_")


def targets(connection: ConnectionOptions, orgs: list[str]) -> list[OrgTarget]:
    """The orgs of the run: each profile of ``--orgs``, else the one org the connection
    options name (``--profile``, ``--org-url``, ``--emulator``, the default profile)."""
    from oktaql._options import check_org_flags, resolve
    from oktaql.sync._run import OrgTarget

    check_org_flags(connection)
    if orgs:
        if connection.profile or connection.emulator or connection.org_url_explicit:
            raise ConfigError(
                "--orgs names the orgs: leave out --profile, --org-url and --emulator"
            )
        from oktaql.config import load_config

        known = load_config().profiles
        unknown = [o for o in orgs if o not in known]
        if unknown:
            raise ConfigError(
                f"--orgs: no profile {', '.join(map(repr, unknown))} in the config file "
                f"(profiles: {', '.join(sorted(known)) or 'none'}; oktaql config list shows them)"
            )
        return [OrgTarget(name, _settings_of(replace(connection, profile=name))) for name in orgs]
    if connection.emulator:
        raise ConfigError(
            "sync --emulator would land a throwaway org: run `oktaql emulator` and pass "
            "--org-url, or name profiles with --orgs"
        )
    target = resolve(connection, default_db=False)  # errors (no token...) before any read
    name = target.profile or _org_label(target.settings.org_url)
    if not target.settings.org_url:
        raise ConfigError(
            "sync needs an org: --org-url URL, --profile NAME, --orgs PROFILES, or a "
            "default_profile in the config file"
        )
    _check_single(target.settings, target.profile)
    return [OrgTarget(name, lambda: target.settings)]


def _check_single(settings: Settings, profile: str | None) -> None:
    """The one org of a run without --orgs: a bad URL or a missing token is the run's one
    error, said once, not a row per resource."""
    import os

    from oktaql.planning._requests import check_org_url
    from oktaql.session import TOKEN_ENV_VARS

    check_org_url(settings.org_url or "", "--org-url" if profile is None else "org_url")
    if not (
        settings.token
        or settings.oauth
        or settings.auth
        or any(map(os.environ.get, TOKEN_ENV_VARS))
    ):
        raise ConfigError(
            "no Okta API token for the org: set OKTA_API_TOKEN, or name a profile "
            "(--profile, --orgs) whose token_env or token_command gives one"
        )


def _settings_of(opts: ConnectionOptions) -> Callable[[], Settings]:
    """The settings of one profile, resolved on the org's own thread (its token command runs
    there, and a profile that fails fails that org alone)."""
    from oktaql._options import resolve

    def settings() -> Settings:
        found = resolve(opts, default_db=False).settings
        if not found.org_url:
            raise ConfigError(f"profile {opts.profile} has no org_url: add it to the config file")
        return found

    return settings


@click.command("sync")
@click.option(
    "--to",
    "to",
    metavar="URL",
    help="Where to land: a DuckDB file (default: the file `oktaql exec` reads), "
    "postgresql://USER@HOST/DB, or parquet:DIR (a hive-style dataset).",
)
@click.option(
    "--resources",
    metavar="LIST",
    help="Comma-separated resources (okta.users.users or okta_users_users); default: users, "
    "groups, apps, app tokens and the System Log.",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every resource a sync can read (children fanned out from their parent listing).",
)
@click.option(
    "--orgs",
    metavar="PROFILES",
    help="Comma-separated profiles of the config file, synced in parallel, each with its own "
    "session; _org is the profile name.",
)
@click.option(
    "--since",
    metavar="WHEN",
    help="Where a first System Log sync starts: an ISO 8601 instant or a span back from now "
    "(90d, 12h); later runs resume from the stored cursor.",
)
@click.option(
    "--full",
    is_flag=True,
    help="Read lastUpdated resources (users, groups) in full instead of what changed since "
    "the last run, marking vanished rows with _deleted_at (without it, deletions are marked "
    "from the landed System Log).",
)
@click.option(
    "--log-page-size",
    type=click.IntRange(1, 1000),
    metavar="N",
    help="System Log events per page, and per commit (default: Okta's largest, 1000).",
)
@output_option
@no_headers_option
@connection_options
def sync_command(
    to: str | None,
    resources: str | None,
    everything: bool,
    orgs: str | None,
    since: str | None,
    full: bool,
    log_page_size: int | None,
    output: str,
    no_headers: bool,
    connection: ConnectionOptions,
) -> None:
    """Land Okta resources in a DuckDB file, PostgreSQL or Parquet, incrementally."""
    try:
        summary = _sync(to, resources, everything, orgs, since, full, log_page_size, connection)
    except (Error, KeyboardInterrupt) as exc:
        if isinstance(exc, KeyboardInterrupt):
            exc.add_note("what committed before stays landed: run the same command to resume")
        _report.exit_with(exc)
    from oktaql import output as out
    from oktaql.sync._run import SUMMARY_COLUMNS

    rows = [r.row() for r in summary]
    out.write(output, list(SUMMARY_COLUMNS), iter(rows), sys.stdout, headers=not no_headers)
    failed = [r for r in summary if r.status in ("error", "skipped")]
    if failed:
        orgs_failed = sorted({r.org for r in failed})
        _report.echo(
            f"sync: {len(failed)} of {len(summary)} resource reads did not land "
            f"(org{'s' if len(orgs_failed) > 1 else ''} {', '.join(orgs_failed)}); "
            "the others did"
        )
        sys.exit(1)


def _sync(
    to: str | None,
    resources: str | None,
    everything: bool,
    orgs: str | None,
    since: str | None,
    full: bool,
    page_size: int | None,
    connection: ConnectionOptions,
) -> list[Landed]:
    from oktaql.sync._cursor import parse_since
    from oktaql.sync._destinations import open_destination
    from oktaql.sync._plan import plan_reads
    from oktaql.sync._run import Landed, RunOptions, sync_orgs

    if everything and resources:
        raise ConfigError("give --resources LIST or --all, not both")
    if resources is not None and not _split(resources):
        raise ConfigError(
            "--resources names no resource: give e.g. okta.users.users,okta.apps.tokens, or "
            "leave it out for the default set"
        )
    if orgs is not None and not _split(orgs):
        raise ConfigError("--orgs names no profile: give e.g. --orgs prod,preview")
    if connection.variables or connection.vars_files:
        raise ConfigError(
            "sync runs no statement of yours: --var and --vars-file have nothing to fill"
        )
    if connection.db:
        raise ConfigError(
            f"sync lands where --to says (--to {connection.db} for that DuckDB file); --db is "
            "the file oktaql exec keeps its views and tables in"
        )
    start = parse_since(since)
    found = targets(connection, _split(orgs))
    from oktaql.catalog import Catalog
    from oktaql.provider import open_registry
    from oktaql.registry_pull import pulled_registry

    if connection.registry:
        from pathlib import Path

        catalog = Catalog(open_registry(Path(connection.registry)))
    else:
        catalog = Catalog(open_registry(pulled_registry()))
    reads = plan_reads(catalog, _split(resources), everything)
    if connection.dry_run:
        import datetime as dt

        from oktaql.sync._cursor import okta_instant
        from oktaql.sync._run import LOG_SETTLE_SECONDS

        now = okta_instant(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=LOG_SETTLE_SECONDS))
        return [
            Landed(
                t.name,
                r.resource,
                "planned",
                message=r.sql(start, until=now) if r.kind == "log" else r.sql(None),
            )
            for t in found
            for r in reads
        ]
    dest = open_destination(to or default_destination())
    try:
        return sync_orgs(found, reads, dest, RunOptions(start, full, page_size))
    finally:
        dest.close()
