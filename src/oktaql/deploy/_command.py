"""stackql-deploy's ``type: command`` resources: a statement run on every build.

A command has no ``exists`` or ``statecheck``: build renders its ``/*+ command */`` query (or
its inline ``sql:``) with the resource's props and runs it, retried as its anchor's
``retries=`` / ``retry_delay=`` say, then runs ``/*+ exports */`` if it has one. ``test`` and
``teardown`` run no command (as stackql-deploy's), and a rollback does not undo one. A plan
shows it as an ``update`` every time (it always sends), with the exact requests it would send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from oktaql.deploy._model import Change, Resource
from oktaql.deploy._results import first_line, unknowns
from oktaql.errors import DeployError, Error

if TYPE_CHECKING:
    from oktaql.deploy._iql import Outcome, Runner

EVERY_BUILD = "a command: runs on every build"


def run_command(runner: Runner, r: Resource, ctx: dict[str, Any]) -> Outcome:
    """Build one command resource (not a dry run: the caller shows it then)."""
    from oktaql.deploy._iql import Outcome

    anchor = r.queries["command"]
    tries = max(anchor.retries, 1)
    for attempt in range(tries):
        try:
            runner.write(r, anchor, ctx)
            break
        except Error as exc:
            if attempt + 1 >= tries:
                if tries == 1:
                    raise
                raise DeployError(f"{exc} (attempt {tries} of {tries})") from None
            runner.echo(
                f"{r.name}: the command failed (attempt {attempt + 1} of {tries}), again in "
                f"{anchor.retry_delay:g}s: {first_line(exc)}"
            )
            runner.sleep(anchor.retry_delay)
    runner.state.created.append((r, ctx))  # a rollback says it is left in place
    runner.export(r, ctx)
    return Outcome(r.name, "ran")


def plan_command(runner: Runner, r: Resource, ctx: dict[str, Any]) -> Change:
    """What build would send for a command: always something (it has no check to pass)."""
    anchor = r.queries["command"]
    runner._show(r, anchor, ctx)  # --show-queries: the statement, rendered and masked
    try:
        requests = runner.planned(r, anchor, ctx)
        note = EVERY_BUILD
    except Error as exc:
        requests, note = (), f"{EVERY_BUILD}; requests known at apply ({first_line(exc)})"
    waiting = unknowns(r, ctx, ("command",))
    if waiting and requests:
        note = f"{EVERY_BUILD}; reads {', '.join(sorted(waiting))}, known at apply"
    # what it exports is read after it runs: not known before
    runner.placeholder_exports(r)
    return Change(r.name, "update", (), requests, note)


__all__ = ["EVERY_BUILD", "plan_command", "run_command"]
