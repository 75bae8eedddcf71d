"""A whole stack, in manifest order: ``.iql`` resources by :class:`~oktaql.deploy._iql.Runner`,
runs of declarative resources by their engine (:mod:`oktaql.deploy._declarative`, planned
together so each type is listed once), exports passed along from one to the next.

A build or teardown that stops raises one error saying per resource what is done and not done
(and, with ``--on-failure rollback``, what was undone).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

from oktaql.deploy._bulk import LiveReader
from oktaql.deploy._iql import Outcome, Runner, first_line
from oktaql.deploy._model import Change, Resource, Stack
from oktaql.errors import DeployError, Error


class StackRunner(Runner):
    """Build, plan, test and teardown of every resource of a stack, as ``oktaql deploy`` does:
    ``StackRunner(stack, session, echo)`` (``echo`` gets one progress line per resource;
    ``dry_run=``, ``show_queries=``), then :meth:`plan` (a list of :class:`Change`, reads
    only), :meth:`run_stack` (build; ``on_failure`` error, rollback or ignore), :meth:`test_stack`
    or :meth:`teardown_stack` (lists of outcomes); a run that stops raises a
    :class:`~oktaql.errors.DeployError` saying per resource what is done and not done."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._engines: dict[str, Any] = {}  # the engine that planned each declarative run
        self.listings.full = shared_types(self._groups(self.stack.resources))

    def _groups(self, resources: tuple[Resource, ...]) -> Iterator[tuple[bool, list[Resource]]]:
        """Runs of declarative resources (planned together: one listing per type) and single
        .iql resources, in manifest order."""
        group: list[Resource] = []
        for r in resources:
            if r.type == "declarative":
                group.append(r)
                continue
            if group:
                yield True, group
                group = []
            yield False, [r]
        if group:
            yield True, group

    def replay(self) -> None:
        """After a plan found still true (``apply --plan``): build from what it read, each
        read reused once more until its resource writes (declarative: its engine's listings),
        so live state is read once."""
        self.state.exports.clear()
        self.state.reads.clear()
        self.replaying = True

    def _engine(
        self, group: list[Resource] | None = None, reads: list[Resource] | None = None
    ) -> Any:
        """The declarative engine of ``group`` (kept for replaying: the plan's own then), or
        one that plans some of ``reads``. Either way its listings are narrowed by every
        resource of the run, whichever of them a plan is of, so each part of one command
        (teardown's exports, then its plan) asks for the same listing."""
        if group and self.replaying and group[0].name in self._engines:
            engine = self._engines[group[0].name]
            engine.context = self.base_context()
            return engine
        try:
            from oktaql.deploy._declarative import Engine
        except ImportError:
            raise DeployError(
                "declarative resources (resource:, match:, desired:) are not supported yet"
            ) from None
        # the run's listings, not the engine's own: a type the stack reads in several places
        # (two runs of declarative resources, an .iql update) is listed once
        engine = Engine(
            self.session,
            self.stack,
            self.base_context(),
            LiveReader(self.session, self.listings),
            narrow_by=group or reads or (),
        )
        if group:
            self._engines.setdefault(group[0].name, engine)
        return engine

    def _active(self, group: list[Resource]) -> tuple[list[Resource], list[Resource]]:
        """The resources of ``group`` whose ``if`` holds, and those it skips."""
        keep: list[Resource] = []
        skip: list[Resource] = []
        for r in group:
            try:
                ctx = self.context(r)
            except DeployError:  # its props read an export of this run's plan: not skipped
                ctx = {**self.base_context(), "resource_name": r.name}
            (skip if self.skipped(r, ctx) else keep).append(r)
        return keep, skip

    def plan(self) -> list[Change]:
        changes: list[Change] = []
        seen: set[str] = set()
        for declarative, group in self._groups(self.stack.resources):
            if not declarative:
                changes.append(self.plan_one(group[0]))
                continue
            keep, skip = self._active(group)
            changes += [Change(r.name, "none", note=f"skipped: if {r.condition}") for r in skip]
            for planned in self._engine(group).plan(keep):
                if planned.name not in seen:  # a removed resource's delete, once
                    seen.add(planned.name)
                    changes.append(planned.change)
                    self.state.exports.update(planned.exports)
        return changes

    def run_stack(self, on_failure: str = "error") -> list[Outcome]:
        """Build every resource in order (``.iql`` here, declarative by their engine). Ctrl-C
        stops it with the same report of what is done and not done, as a note."""
        outcomes: list[Outcome] = []
        groups = list(self._groups(self.stack.resources))
        n = 0
        try:
            for n, (declarative, group) in enumerate(groups):  # noqa: B007 - read on Ctrl-C
                if declarative:
                    self._build_declarative(group, groups[n + 1 :], outcomes, on_failure)
                else:
                    self._build_iql(group[0], groups[n + 1 :], outcomes, on_failure)
        except KeyboardInterrupt as exc:
            done = {o.name for o in outcomes}
            rest = [r for _, g in groups[n:] for r in g if r.name not in done]
            stopped = _BuildStopped(self.stack, rest[0] if rest else None, None, outcomes, rest, [])
            exc.add_note(str(stopped))
            raise
        failures = [o for o in outcomes if o.action == "failed"]
        if failures:
            first = next(r for r in self.stack.resources if r.name == failures[0].name)
            raise _BuildStopped(
                self.stack, first, DeployError(failures[0].note), outcomes, (), [],
                ignored=len(failures),
            )  # fmt: skip
        return outcomes

    def _build_iql(
        self, r: Resource, later: list[Any], outcomes: list[Outcome], on_failure: str
    ) -> None:
        try:
            outcome = self._build_one(r)
        except Error as exc:
            outcomes.append(Outcome(r.name, "failed", first_line(exc)))
            if on_failure == "ignore":
                self.echo(f"{r.name}: failed, going on (--on-failure ignore): {exc}")
                self.placeholder_exports(r)
                return
            rest = tuple(x for _, g in later for x in g)
            rolled = self.rollback() if on_failure == "rollback" else []
            raise _BuildStopped(self.stack, r, exc, outcomes, rest, rolled) from None
        outcomes.append(outcome)
        self.echo(str(outcome))

    def _build_declarative(
        self, group: list[Resource], later: list[Any], outcomes: list[Outcome], on_failure: str
    ) -> None:
        keep, skip = self._active(group)
        outcomes += [Outcome(r.name, "skipped", f"if {r.condition}") for r in skip]
        if self.dry_run:
            for r in keep:
                self.placeholder_exports(r)
                outcomes.append(
                    Outcome(r.name, "dry run", "declarative: `deploy plan` shows its requests")
                )
            return
        engine = self._engine(group)
        # rollback is the whole run's (both kinds, newest first), not this engine's alone
        own = "error" if on_failure == "rollback" else on_failure
        planned = engine.plan(keep)
        self._show_requests(planned)
        report = engine.apply([p.change for p in planned], keep, False, own)
        for made in report.made:
            if made.resource is not None:
                self.state.created.append((made.resource, functools.partial(engine.undo, made)))
        self.state.exports.update(report.exports)
        for o in report.outcomes:
            label = {"done": _DONE.get(o.action, o.action)}.get(o.status, o.status)
            outcomes.append(Outcome(o.name, label, o.error or ""))
            self.echo(str(outcomes[-1]))
        if not report.ok and on_failure != "ignore":
            bad = next(o for o in report.outcomes if o.status == "failed")
            at = next((r for r in keep if r.name == bad.name), keep[0])
            rest = tuple(r for _, g in later for r in g)
            rolled = self.rollback() if on_failure == "rollback" else []
            raise _BuildStopped(
                self.stack, at, DeployError(bad.error or "failed"), outcomes, rest, rolled
            )

    def test_stack(self) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for declarative, group in self._groups(self.stack.resources):
            if not declarative:
                outcomes.append(self.test_one(group[0]))
                continue
            keep, skip = self._active(group)
            outcomes += [Outcome(r.name, "skipped", f"if {r.condition}") for r in skip]
            for planned in self._engine(reads=group).plan(keep):
                self.state.exports.update(planned.exports)
                ok = planned.change.action == "none"
                outcomes.append(
                    Outcome(
                        planned.name,
                        "pass" if ok else "FAIL",
                        "" if ok else f"plan says {planned.change.action}",
                    )
                )
        return outcomes

    def teardown_stack(self, on_failure: str = "error") -> list[Outcome]:
        if not self.dry_run:
            self.collect_exports()
        outcomes: list[Outcome] = []
        groups = list(self._groups(self.stack.resources))
        n = 0
        try:
            for n, (declarative, group) in enumerate(reversed(groups)):
                if not declarative:
                    r = group[0]
                    try:
                        outcomes.append(self._teardown_one(r))
                    except Error as exc:
                        outcomes.append(Outcome(r.name, "failed", first_line(exc)))
                        if on_failure == "ignore":
                            self.echo(
                                f"{r.name}: delete failed, going on (--on-failure ignore): {exc}"
                            )
                            continue
                        rest = tuple(
                            x for _, g in list(reversed(groups))[n + 1 :] for x in reversed(g)
                        )
                        raise _BuildStopped(
                            self.stack, r, exc, outcomes, rest, [], verb="teardown"
                        ) from None
                    self.echo(str(outcomes[-1]))
                    continue
                keep, skip = self._active(group)
                outcomes += [Outcome(r.name, "skipped", f"if {r.condition}") for r in skip]
                if self.dry_run:
                    outcomes += [Outcome(r.name, "dry run", "nothing sent") for r in keep]
                    continue
                engine = self._engine(reads=group)
                planned = engine.plan(keep, teardown=True)
                self._show_requests(planned)
                report = engine.apply([p.change for p in planned], keep, True, on_failure)
                for o in report.outcomes:
                    label = {"done": "deleted" if o.action == "delete" else "absent"}.get(
                        o.status, o.status
                    )
                    outcomes.append(Outcome(o.name, label, o.error or ""))
                    self.echo(str(outcomes[-1]))
                if not report.ok and on_failure != "ignore":
                    bad = next(o for o in report.outcomes if o.status == "failed")
                    at = next((r for r in keep if r.name == bad.name), keep[0])
                    rest = tuple(x for _, g in list(reversed(groups))[n + 1 :] for x in reversed(g))
                    raise _BuildStopped(
                        self.stack,
                        at,
                        DeployError(bad.error or "failed"),
                        outcomes,
                        rest,
                        [],
                        verb="teardown",
                    )
        except KeyboardInterrupt as exc:
            done = {o.name for o in outcomes}
            left = [
                r for _, g in list(reversed(groups))[n:] for r in reversed(g) if r.name not in done
            ]
            exc.add_note(
                str(
                    _BuildStopped(
                        self.stack,
                        left[0] if left else None,
                        None,
                        outcomes,
                        left,
                        [],
                        verb="teardown",
                    )
                )
            )
            raise
        failures = [o for o in outcomes if o.action == "failed"]
        if failures:  # --on-failure ignore went on; the run still failed
            first = next(r for r in self.stack.resources if r.name == failures[0].name)
            raise _BuildStopped(
                self.stack, first, DeployError(failures[0].note), outcomes, (), [],
                verb="teardown", ignored=len(failures),
            )  # fmt: skip
        return outcomes

    def _show_requests(self, planned: list[Any]) -> None:
        """--show-queries for declarative resources: the requests each will send, as planned
        (secrets masked; an id made earlier in this run reads <known after apply>)."""
        if not self.show_queries:
            return
        for p in planned:
            for req in p.change.requests:
                body = "" if req.body is None else " " + json.dumps(req.body, default=str)
                self.echo(f"-- {p.name}: {p.change.action}\n{req.method} {req.url}{body}")

    def outputs(self, elapsed: float) -> dict[str, Any]:
        """What ``--output-file`` writes (stackql-deploy's stack exports): stack_name and
        stack_env, each name the manifest's ``exports`` lists, then elapsed_time. A protected
        export is written as ``****``: secrets never leave in output."""
        import datetime

        known = {**self.stack.globals, **self.state.exports}
        protected = {a for r in self.stack.resources for a in r.protected}
        out: dict[str, Any] = {"stack_name": self.stack.name, "stack_env": self.stack.env}
        for name in self.stack.exports:
            if name not in known:
                raise DeployError(
                    f"exports: {name!r} has no value after this run (was its resource skipped "
                    "by its if?); --output-file was not written"
                )
            out[name] = "****" if name in protected else known[name]
        out["elapsed_time"] = str(datetime.timedelta(seconds=elapsed))
        return out

    def collect_exports(self) -> None:
        """Teardown first reads every resource's exports (ids the delete queries use); a
        resource already gone exports nothing."""
        for declarative, group in self._groups(self.stack.resources):
            if declarative:
                # planned with the run's other resources' matches too: the listing read here
                # is the one the teardown plan asks for, not a narrower one read again
                keep, _ = self._active([r for r in group if r.exports])
                if keep:
                    try:
                        for planned in self._engine(reads=group).plan(keep):
                            self.state.exports.update(planned.exports)
                    except Error:
                        pass
                continue
            r = group[0]
            if r.type == "script" or not r.exports:
                continue
            try:
                ctx = self.context(r)
                if self.skipped(r, ctx):
                    continue
                if "exists" in r.queries:
                    self.exists(r, ctx)
                self.export(r, ctx, required=False)
            except Error:
                continue


def shared_types(groups: Iterator[tuple[bool, list[Resource]]]) -> set[str]:
    """The provider resources more than one part of a stack reads in bulk (each run of
    declarative resources; each .iql update whose field changes a plan shows): listed whole,
    once, for all of them, rather than narrowed once per part."""
    from oktaql.deploy._refusals import REPLACE
    from oktaql.parser import blank_comments

    readers: dict[str, int] = {}
    for declarative, group in groups:
        if declarative:
            types = {r.declarative.resource.lower() for r in group if r.declarative is not None}
        else:
            types = {
                m.group(1).lower()
                for name in ("update", "createorupdate")
                if name in group[0].queries
                and (m := REPLACE.search(blank_comments(group[0].queries[name].sql)[0]))
            }
        for t in types:
            readers[t] = readers.get(t, 0) + 1
    return {t for t, n in readers.items() if n > 1}


_DONE = {"create": "created", "update": "updated", "none": "unchanged", "delete": "deleted"}


class _BuildStopped(DeployError):
    """A build or teardown stopped: the cause, then what is done and not done."""

    def __init__(
        self,
        stack: Stack,
        at: Resource | None,
        cause: Error | None,  # None: interrupted (Ctrl-C)
        outcomes: list[Outcome],
        rest: tuple[Resource, ...] | list[Resource] | Iterator[Resource],
        rolled: list[Outcome],
        *,
        verb: str = "build",
        ignored: int = 0,
    ):
        self.cause = cause
        self.outcomes = outcomes
        self.rolled_back = rolled
        name = at.name if at is not None else "the end"
        if cause is None:
            head = f"{verb} of {stack.name} ({stack.env}) interrupted before '{name}'"
        elif ignored:
            head = (
                f"{verb} of {stack.name} ({stack.env}): {ignored} resource(s) failed "
                f"(--on-failure ignore); first, '{name}': {cause}"
            )
        else:
            head = f"{verb} of {stack.name} ({stack.env}) stopped at '{name}': {cause}"
        lines = [head]
        # a declarative resource after a failed one in the same group is "not done" already
        done = [o for o in outcomes if o.action not in ("failed", "not done")]
        failed = [o for o in outcomes if o.action in ("failed", "not done")]
        if done:
            lines.append("done: " + ", ".join(str(o) for o in done))
        not_done = [o.name for o in failed] + [x.name for x in rest]
        if not_done:
            lines.append("not done: " + ", ".join(not_done))
        if rolled:
            lines.append(
                "rolled back (--on-failure rollback): " + ", ".join(str(o) for o in rolled)
            )
        elif verb == "build" and not ignored and any(o.action == "created" for o in outcomes):
            lines.append("what was created stays (--on-failure rollback undoes it)")
        DeployError.__init__(self, "\n".join(lines))


__all__ = ["StackRunner"]
