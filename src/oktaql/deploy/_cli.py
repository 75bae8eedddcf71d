"""``oktaql deploy``: build, plan, apply, test, teardown, init and export a stack.

Every subcommand takes the connection flags of ``exec``; the stack is read and checked before
any request (:mod:`oktaql.deploy._manifest`). Errors leave through :mod:`oktaql._report`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from oktaql._options import ConnectionOptions, connected, connection_options
from oktaql.errors import DeployError

PLAN_FORMAT = 1

_stack_args = [
    click.argument("stack_dir", type=click.Path(file_okay=False)),
    click.argument("stack_env"),
]
_env_opts = [
    click.option(
        "-e",
        "--env",
        "env_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="An env var for the manifest's globals ({{ KEY }}); repeatable, wins over --env-file.",
    ),
    click.option(
        "--env-file",
        type=click.Path(dir_okay=False),
        help="KEY=VALUE lines for the globals (default: .env in the current directory, when "
        "present).",
    ),
    click.option(
        "--show-queries",
        is_flag=True,
        help="Print each query, rendered (secrets masked), before it runs.",
    ),
]
_output_file = click.option(
    "--output-file",
    type=click.Path(dir_okay=False),
    help="After a successful run, write the manifest's top-level exports (with stack_name, "
    "stack_env and elapsed_time) to FILE as one JSON object, as stackql-deploy does; "
    "protected exports are written as ****.",
)
_on_failure = click.option(
    "--on-failure",
    type=click.Choice(["error", "rollback", "ignore"]),
    default="error",
    show_default=True,
    help="When a resource fails: stop (error), undo what this run created in reverse order "
    "and stop (rollback), or go on with the next resource (ignore).",
)


def _stack_command(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_env_opts):
        fn = option(fn)
    for arg in reversed(_stack_args):
        fn = arg(fn)
    return connection_options(fn)


def _echo(text: str) -> None:
    from oktaql._report import echo

    echo(text)


@contextmanager
def _reported() -> Iterator[None]:
    from oktaql._report import exit_with, unexpected
    from oktaql.errors import Error

    try:
        yield
    except (Error, KeyboardInterrupt) as exc:  # Ctrl-C: exit 130, with what was done
        exit_with(exc)
    except Exception as exc:  # a bug of ours: one line, never a traceback
        exit_with(unexpected(exc))


def _env_vars(base: dict[str, Any], env_file: str | None, pairs: tuple[str, ...]) -> dict[str, Any]:
    from oktaql.deploy._manifest import parse_env_pairs, read_env_file

    values = dict(base)
    if env_file is not None:
        values.update(read_env_file(env_file))
    elif Path(".env").is_file():
        values.update(read_env_file(".env"))
    values.update(parse_env_pairs(pairs))
    return values


@contextmanager
def _running(
    connection: ConnectionOptions,
    stack_dir: str,
    stack_env: str,
    env_file: str | None,
    env_pairs: tuple[str, ...],
    show_queries: bool,
    dry_run: bool = False,
) -> Iterator[Any]:
    """The stack loaded and checked, and a runner on a session for it."""
    from oktaql._cancel import sigint_cancels
    from oktaql.deploy._manifest import load_stack
    from oktaql.deploy._stack import StackRunner as Runner
    from oktaql.session import Session

    with connected(connection) as target:
        settings = target.settings
        env_vars = _env_vars(dict(settings.variables or {}), env_file, env_pairs)
        if connection.db is None:  # deploy keeps nothing in DuckDB: no file to lock
            settings = dataclasses.replace(settings, db=None, variables={})
        else:
            settings = dataclasses.replace(settings, variables={})
        session = Session(settings)
        try:
            stack = load_stack(stack_dir, stack_env, env_vars, session.catalog)
            runner = Runner(stack, session, _echo, dry_run=dry_run, show_queries=show_queries)
            with sigint_cancels(session.cancel):
                yield runner
        finally:
            session.close()


@click.group("deploy")
def deploy_command() -> None:
    """Okta configuration as code: stackql-deploy stacks, planned and applied."""


@deploy_command.command("build")
@_on_failure
@_output_file
@_stack_command
def build_command(
    stack_dir: str,
    stack_env: str,
    env_pairs: tuple[str, ...],
    env_file: str | None,
    show_queries: bool,
    on_failure: str,
    output_file: str | None,
    connection: ConnectionOptions,
) -> None:
    """Create or update every resource of the stack, in order (--dry-run sends nothing and
    prints the rendered queries)."""
    with _reported():
        dry = connection.dry_run
        with _running(
            connection, stack_dir, stack_env, env_file, env_pairs, show_queries, dry
        ) as run:
            started = time.monotonic()
            outcomes = run.run_stack(on_failure)
            _summary(run.stack, outcomes, "build" + (" (dry run: nothing sent)" if dry else ""))
            _write_outputs(run, output_file, started, dry)


def _write_outputs(run: Any, path: str | None, started: float, dry: bool = False) -> None:
    if path is None:
        return
    if dry:
        click.echo(f"--output-file {path}: not written (dry run: nothing is known)", err=True)
        return
    doc = run.outputs(time.monotonic() - started)
    try:
        Path(path).write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DeployError(
            f"--output-file {path}: cannot write it ({exc.strerror or exc})"
        ) from None


def _summary(stack: Any, outcomes: list[Any], verb: str) -> None:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.action] = counts.get(o.action, 0) + 1
    parts = ", ".join(f"{n} {a}" for a, n in counts.items()) or "no resources"
    click.echo(f"{verb} of {stack.name} ({stack.env}): {parts}")


class _UsageError(click.UsageError):
    exit_code = 1  # plan --detailed-exitcode: 2 means "changes"


class _PlanCommand(click.Command):
    """``plan``: with --detailed-exitcode, a usage error (an unknown option, a stack dir that
    is a file) exits 1, not click's 2, which would read as "changes" and pass a CI check."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        detailed = "--detailed-exitcode" in args  # before parsing, which consumes args
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if detailed:
                raise _UsageError(exc.format_message(), exc.ctx) from None
            raise


@deploy_command.command("plan", cls=_PlanCommand)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when there is nothing to do, 2 when there are changes, 1 on error "
    "(as Terraform's).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help='table: one block per resource; json: {"resources": [{name, action, changes, requests}]}.',
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Save the plan to FILE, for `deploy apply --plan FILE`.",
)
@_stack_command
def plan_command(
    stack_dir: str,
    stack_env: str,
    env_pairs: tuple[str, ...],
    env_file: str | None,
    show_queries: bool,
    detailed_exitcode: bool,
    output: str,
    out_file: str | None,
    connection: ConnectionOptions,
) -> None:
    """Show what build would do, per resource, with the exact requests; sends no write."""
    code = 0
    with _reported():
        with _running(connection, stack_dir, stack_env, env_file, env_pairs, show_queries) as run:
            changes = run.plan()
            digest = run.digest(changes)
            if out_file is not None:
                _save_plan(out_file, run.stack, changes, digest, run.session.org_url)
            if output == "json":
                click.echo(json.dumps({"resources": [c.as_json() for c in changes]}, indent=2))
            else:
                _print_plan(changes)
        if detailed_exitcode and any(c.action != "none" for c in changes):
            code = 2
    sys.exit(code)


_MARKS = {"create": "+", "update": "~", "delete": "-", "none": "="}


def _print_plan(changes: list[Any]) -> None:
    from oktaql.output import visible

    counts = {"create": 0, "update": 0, "delete": 0, "none": 0}
    for c in changes:
        counts[c.action] = counts.get(c.action, 0) + 1
        note = f"  ({c.note})" if c.note else ""
        click.echo(visible(f"{_MARKS.get(c.action, '?')} {c.name}: {c.action}{note}"))
        for f in c.changes:
            old, new = json.dumps(f.old, default=str), json.dumps(f.new, default=str)
            click.echo(visible(f"    {f.field}: {old} -> {new}"))
        for r in c.requests:
            body = f" {json.dumps(r.body, default=str)}" if r.body is not None else ""
            click.echo(visible(f"    {r.method} {r.url}{body}"))
    click.echo(
        f"Plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['none']} unchanged."
    )


def _save_plan(path: str, stack: Any, changes: list[Any], digest: str, org: str | None) -> None:
    doc = {
        "oktaql_plan": PLAN_FORMAT,
        "org": org,  # the URL only: which org's state the plan read (never a credential)
        "stack": stack.name,
        "env": stack.env,
        "stack_digest": stack.digest,
        "state_digest": digest,
        "resources": [c.as_json() for c in changes],
    }
    try:
        Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"--out {path}: cannot write it ({exc.strerror or exc})") from None


def _read_plan(path: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DeployError(f"--plan {path}: cannot read it ({exc.strerror or exc})") from None
    except ValueError:
        raise DeployError(f"--plan {path}: not a saved plan (not JSON)") from None
    if not isinstance(doc, dict) or doc.get("oktaql_plan") != PLAN_FORMAT:
        raise DeployError(f"--plan {path}: not a plan saved by `oktaql deploy plan --out`")
    return doc


@deploy_command.command("apply")
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False),
    help="A plan saved by `deploy plan --out FILE`: applied only if the stack and the live "
    "state are still what it was computed from.",
)
@_on_failure
@_output_file
@_stack_command
def apply_command(
    stack_dir: str,
    stack_env: str,
    env_pairs: tuple[str, ...],
    env_file: str | None,
    show_queries: bool,
    plan_file: str | None,
    on_failure: str,
    output_file: str | None,
    connection: ConnectionOptions,
) -> None:
    """Apply the stack (a saved plan only while live state still matches it)."""
    with _reported():
        saved = _read_plan(plan_file) if plan_file is not None else None
        dry = connection.dry_run
        started = time.monotonic()
        with _running(
            connection, stack_dir, stack_env, env_file, env_pairs, show_queries, dry
        ) as run:
            if saved is not None and not dry:
                stack = run.stack
                if (saved.get("stack"), saved.get("env")) != (stack.name, stack.env):
                    raise DeployError(
                        f"--plan {plan_file} is a plan of {saved.get('stack')} "
                        f"({saved.get('env')}), not {stack.name} ({stack.env})"
                    )
                org = run.session.org_url
                if saved.get("org") != org:
                    made = saved.get("org") or "an org it does not name (an older oktaql's plan)"
                    raise DeployError(
                        f"--plan {plan_file} was made against {made}, not {org}: "
                        "run plan against this org; nothing was sent"
                    )
                if saved.get("stack_digest") != stack.digest:
                    raise DeployError(
                        "the stack changed since plan (manifest, queries or env vars): run "
                        "plan again; nothing was sent"
                    )
                changes = run.plan()
                if run.digest(changes) != saved.get("state_digest"):
                    raise DeployError(
                        "state changed since plan: live objects the plan read differ now; run "
                        "plan again; nothing was sent"
                    )
                run.replay()  # what the plan read is reused: live state is read once
            outcomes = run.run_stack(on_failure)
            _summary(run.stack, outcomes, "apply")
            _write_outputs(run, output_file, started, dry)


@deploy_command.command("test")
@_output_file
@_stack_command
def test_command(
    stack_dir: str,
    stack_env: str,
    env_pairs: tuple[str, ...],
    env_file: str | None,
    show_queries: bool,
    output_file: str | None,
    connection: ConnectionOptions,
) -> None:
    """Check that every resource is in its desired state (exit 0), else exit 1."""
    with _reported():
        started = time.monotonic()
        with _running(connection, stack_dir, stack_env, env_file, env_pairs, show_queries) as run:
            outcomes = run.test_stack()
            for o in outcomes:
                click.echo(str(o))
            failed = [o.name for o in outcomes if o.action == "FAIL"]
            if failed:
                raise DeployError(
                    f"test of {run.stack.name} ({run.stack.env}): not in the desired state: "
                    + ", ".join(failed)
                )
            _summary(run.stack, outcomes, "test")
            _write_outputs(run, output_file, started)


@deploy_command.command("teardown")
@_on_failure
@_stack_command
def teardown_command(
    stack_dir: str,
    stack_env: str,
    env_pairs: tuple[str, ...],
    env_file: str | None,
    show_queries: bool,
    on_failure: str,
    connection: ConnectionOptions,
) -> None:
    """Delete the stack's resources in reverse order (their delete anchors)."""
    with _reported():
        dry = connection.dry_run
        with _running(
            connection, stack_dir, stack_env, env_file, env_pairs, show_queries, dry
        ) as run:
            outcomes = run.teardown_stack("ignore" if on_failure == "ignore" else "error")
            _summary(run.stack, outcomes, "teardown" + (" (dry run: nothing sent)" if dry else ""))


@deploy_command.command("init")
@click.argument("stack_dir", type=click.Path(file_okay=False))
def init_command(stack_dir: str) -> None:
    """Write a starter Okta stack (a group, as stackql-deploy's format) into STACK_DIR."""
    with _reported():
        from oktaql.deploy._starter import write_starter

        written = write_starter(Path(stack_dir))
        for path in written:
            click.echo(f"wrote {path}")
        click.echo(f"next: oktaql deploy plan {stack_dir} dev (see {stack_dir}/README.md)")


@deploy_command.command("export")
@click.option(
    "--resource",
    "resources",
    required=True,
    multiple=True,
    help="A provider resource whose objects to export, e.g. okta.groups.groups; repeatable "
    "(groups, their rules, apps and okta.apps.group_assignments in one stack: ids that name "
    "another exported object become references to its export).",
)
@click.option(
    "--where",
    "wheres",
    metavar="SQL",
    multiple=True,
    help="Only the objects this condition selects (a WHERE clause over the resource); with "
    "several --resource, write 'RESOURCE: SQL'; repeatable.",
)
@click.argument("out_dir", type=click.Path(file_okay=False))
@connection_options
def export_command(
    resources: tuple[str, ...],
    wheres: tuple[str, ...],
    out_dir: str,
    connection: ConnectionOptions,
) -> None:
    """Write a stack that reproduces existing objects (onboarding an org configured by hand)."""
    with _reported():
        from oktaql.deploy._export import export_stack
        from oktaql.session import Session

        with connected(connection) as target:
            settings = target.settings
            if connection.db is None:
                settings = dataclasses.replace(settings, db=None)
            session = Session(settings)
            try:
                written = export_stack(session, list(resources), list(wheres) or None, out_dir)
            finally:
                session.close()
        click.echo(f"wrote {written.path} ({written.resources} resources)")
        for note in written.notes:
            click.echo(f"note: {note}", err=True)
        click.echo(f"next: oktaql deploy plan {out_dir} STACK_ENV (it should show no change)")


__all__ = ["deploy_command"]
