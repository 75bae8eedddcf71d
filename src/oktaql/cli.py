"""The ``oktaql`` command line.

Heavy modules (DuckDB, sqlglot, httpx, the emulator) are imported inside the commands that need
them, so ``--help`` answers at once. Every error leaves through :func:`_fail`: one line on
stderr naming what is wrong, exit status 1, no traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from oktaql import __version__
from oktaql.errors import Error

OUTPUT_FORMATS = ("table", "json", "jsonl", "csv", "markdown")


def _fail(message: str, code: int = 1) -> NoReturn:
    from oktaql.output import visible

    # an error may quote API data: its control characters are shown, never sent to the terminal
    click.echo(f"error: {visible(message, lines=True)}", err=True)
    sys.exit(code)


def _parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            _fail(f"--var {pair!r} is not NAME=VALUE (e.g. --var appId=0oa1b2c3)")
        out[name.strip()] = value
    return out


@contextmanager
def _errors_reported() -> Iterator[None]:
    try:
        yield
    except Error as exc:
        _fail("\n".join([str(exc), *getattr(exc, "__notes__", ())]))
    except KeyboardInterrupt as exc:
        click.echo("\n".join(["interrupted", *getattr(exc, "__notes__", ())]), err=True)
        sys.exit(130)


class _LazyGroup(click.Group):
    """Subcommands that live in their own modules load only when they run."""

    lazy = {
        "config": "oktaql.config:config_command",
        "docs": "oktaql.docs:docs_command",
        "shell": "oktaql.shell:shell_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, _, attr = self.lazy[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="oktaql")
def main() -> None:
    """Query, deploy and manage Okta with SQL."""


@main.command("exec")
@click.argument("sql", required=False)
@click.option("-f", "--file", "sql_file", type=click.File("r"), help="Read the SQL from FILE ('-' for stdin).")
@click.option("-o", "--output", type=click.Choice(OUTPUT_FORMATS), default="table", show_default=True, help="Output format.")
@click.option("--registry", type=click.Path(file_okay=False), help="Load providers from a StackQL registry folder instead of the built-in one.")
@click.option("--org-url", envvar="OKTA_CLIENT_ORGURL", help="The whole org URL, e.g. https://acme.okta.com (default: $OKTA_CLIENT_ORGURL; else statements name the org with subdomain).")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Fill {{ NAME }} in the SQL; repeatable.")
@click.option("--emulator", is_flag=True, help="Run against an in-process emulated Okta org (seeded demo data).")
@click.option("--dry-run", is_flag=True, help="Show the planned requests without sending them (same as EXPLAIN).")
@click.option("--profile", help="A profile of the config file (org URL and token source); default: $OKTAQL_PROFILE, else default_profile.")
@click.option("--vars-file", "vars_files", multiple=True, type=click.Path(dir_okay=False), help="Variables from a JSON or YAML mapping; repeatable, a later file wins, --var wins over files.")
@click.option("--db", "db_path", metavar="PATH", help="DuckDB file keeping views, materialized views and tables (default: <data dir>/oktaql.duckdb; ':memory:' keeps nothing).")
@click.option("--concurrency", default=16, show_default=True, type=click.IntRange(min=1, max=64), help="Requests in flight at once when a join or IN list fans out.")
@click.option("--max-retries", default=4, show_default=True, type=click.IntRange(min=0, max=20), help="Retries of a failed request (429, 5xx, timeouts, dropped connections; POST only when the server cannot have acted).")
@click.option("--max-rate-limit-wait", default=60.0, show_default=True, type=click.FloatRange(min=0), metavar="SECONDS", help="Longest wait for a rate limit to reset before giving up.")
@click.option("--no-pace", is_flag=True, help="Do not slow down as X-Rate-Limit-Remaining runs low (by default a fan-out spreads the remaining budget until the reset).")
@click.option("--cache-ttl", default=0.0, show_default=True, type=click.FloatRange(min=0), metavar="SECONDS", help="Reuse identical GET responses for this long (writes invalidate them).")
@click.pass_context
def exec_command(
    ctx: click.Context,
    sql: str | None,
    sql_file: Any,
    output: str,
    registry: str | None,
    org_url: str | None,
    variables: tuple[str, ...],
    emulator: bool,
    dry_run: bool,
    profile: str | None,
    vars_files: tuple[str, ...],
    db_path: str | None,
    concurrency: int,
    max_retries: int,
    max_rate_limit_wait: float,
    no_pace: bool,
    cache_ttl: float,
) -> None:
    """Run SQL statements (as an argument, with -f FILE, or on stdin)."""
    if sql is not None and sql_file is not None:
        _fail("give the SQL either as an argument or with -f, not both")
    if sql is None:
        if sql_file is None:
            if sys.stdin.isatty():
                _fail("no SQL given: pass it as an argument, with -f FILE, or on stdin")
            sql_file = sys.stdin
        sql = sql_file.read()
    assert sql is not None
    values = _parse_vars(variables)
    with _errors_reported():
        from oktaql import dbapi, parser
        from oktaql.config import merge_vars, named_orgs, resolve_connection

        values = merge_vars(vars_files, values)  # --var > files > OKTAQL_VAR_<NAME>
        token = None
        running = None
        if emulator and profile:
            _fail("--emulator and --profile both name an org: give one")
        if emulator:
            from oktaql.emulator import EmulatorConfig, start_in_thread

            running = start_in_thread(EmulatorConfig())
            org_url, token = running.url, running.config.token
        else:
            settings = resolve_connection(
                profile,
                org_url,
                org_url_explicit=ctx.get_parameter_source("org_url")
                == click.core.ParameterSource.COMMANDLINE,
                need_token=not dry_run,  # EXPLAIN asks no password manager
            )
            org_url, token = settings.org_url, settings.token
        try:
            from oktaql.local import default_db_path

            conn = dbapi.connect(
                registry=registry,
                org_url=org_url,
                token=token,
                variables=values,
                db=db_path or default_db_path(),
                concurrency=concurrency,
                cache_ttl=cache_ttl,
                progress=sys.stderr.isatty() and output != "json",
                orgs=named_orgs(),
                retry=dbapi.RetryPolicy(
                    max_retries=max_retries,
                    max_rate_limit_wait=max_rate_limit_wait,
                    pace=not no_pace,
                    pace_reserve=concurrency,
                ),
            )
            try:
                statements = parser.split_statements(sql)
                if not statements:
                    _fail("no statement to run: the SQL is empty")
                for text in statements:
                    if dry_run:
                        text = "EXPLAIN " + text
                    _run_one(conn, text, output)
            finally:
                conn.close()
        finally:
            if running is not None:
                running.stop()


def _run_one(conn: Any, sql: str, fmt: str) -> None:
    from oktaql import output

    cur = conn.cursor()
    cur.execute(sql)
    if cur.description is None:
        if cur.message:
            click.echo(output.visible(cur.message, lines=True), err=True)
        if fmt == "json":
            click.echo("[]")
        return
    columns = [d[0] for d in cur.description]
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 10_000
    written = output.Written()
    try:
        # row by row: a batch (fetchmany) that fails part way would lose the rows it had read
        rows = iter(cur.fetchone, None)
        output.write(fmt, columns, rows, sys.stdout, width=width, written=written)
    except (Error, KeyboardInterrupt) as exc:
        # rows already out stay out (json writes none): say how far it got, after the error
        sys.stdout.flush()
        n, what = written.rows, "error" if isinstance(exc, Error) else "interruption"
        exc.add_note(f"{n} row{'' if n == 1 else 's'} written before the {what}")
        raise
    cur.close()


@main.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port to listen on (0 picks a free one).")
@click.option("--token", default="emulator-token", show_default=True, help="The API token the org accepts (send it as SSWS <token>).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the generated org data.")
@click.option("--apps", type=click.IntRange(min=0), help="Exactly N OIDC apps instead of the default org.")
@click.option("--tokens-per-app", type=click.IntRange(min=0), help="Exactly M refresh tokens per OIDC app.")
@click.option("--users", type=click.IntRange(min=0), help="Number of users.")
@click.option("--groups", type=click.IntRange(min=0), help="Number of groups.")
@click.option("--latency", "latency_ms", default=0.0, type=click.FloatRange(min=0), help="Milliseconds added to every response.")
@click.option("--fault-rate", default=0.0, type=click.FloatRange(0, 1), metavar="P", help="Share of requests answered 500/502/503/504 or cut off mid-response (seeded by --seed; a faulted write changes nothing).")
@click.option("--rate-limit", type=click.IntRange(min=1), metavar="N", help="Requests per window per endpoint family before 429 E0000047.")
@click.option("--rate-window", default=60.0, show_default=True, type=click.FloatRange(min=0, min_open=True), metavar="S", help="Seconds of a --rate-limit window.")
@click.option("--concurrency-limit", type=click.IntRange(min=1), metavar="N", help="Requests in flight at once; the N+1th gets 429 E0000047 (Okta's concurrency limit).")
@click.option("--oauth-client", "oauth_clients", multiple=True, metavar="ID=PUBLIC_KEY|auto", help="Register an OAuth 2.0 service app: its client id and public key file (PEM or JWK); 'auto' makes a throwaway one and prints its id and private key file. Repeatable.")
def emulator_command(
    host: str,
    port: int,
    token: str,
    seed: int,
    apps: int | None,
    tokens_per_app: int | None,
    users: int | None,
    groups: int | None,
    latency_ms: float,
    fault_rate: float,
    rate_limit: int | None,
    rate_window: float,
    concurrency_limit: int | None,
    oauth_clients: tuple[str, ...],
) -> None:
    """Serve a local emulated Okta org over HTTP (Okta's wire format, seeded data)."""
    if host not in ("127.0.0.1", "localhost", "::1") and not os.environ.get("OKTAQL_EMULATOR_ANY_HOST"):
        _fail("the emulator listens on loopback only (127.0.0.1, localhost or ::1)")
    from oktaql.emulator import EmulatorConfig, generate_client, public_key, serve

    clients: dict[str, Any] = {}
    for spec in oauth_clients:
        if spec.strip().lower() == "auto":
            import tempfile

            client_id, private_pem, public_jwk = generate_client()
            key_file = os.path.join(tempfile.mkdtemp(prefix="oktaql-emulator-"), f"{client_id}.pem")
            with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
                fh.write(private_pem)
            clients[client_id] = public_jwk
            click.echo(f"OAuth 2.0 service app (throwaway): client id {client_id}, private key file {key_file}")
            click.echo(f"  OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey OKTA_CLIENT_CLIENTID={client_id} OKTA_CLIENT_PRIVATEKEY={key_file}")
            continue
        client_id, eq, key_path = spec.partition("=")
        if not eq or not client_id.strip() or not key_path.strip():
            _fail(f"--oauth-client {spec!r}: write ID=PUBLIC_KEY_FILE or auto")
        try:
            clients[client_id.strip()] = public_key(key_path.strip())
        except (ValueError, OSError) as exc:
            _fail(f"--oauth-client {client_id.strip()}: {exc}")

    config = EmulatorConfig(
        token=token,
        seed=seed,
        apps=apps,
        tokens_per_app=tokens_per_app,
        users=users,
        groups=groups,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        rate_limit=rate_limit,
        rate_window=rate_window,
        concurrency_limit=concurrency_limit,
        oauth_clients=clients,
    )
    serve(config, host=host, port=port)


if __name__ == "__main__":  # pragma: no cover
    main()
