"""Running a stack's ``.iql`` resources: build, plan, test and teardown, as stackql-deploy does.

Every query goes through :meth:`oktaql.session.Session.execute` (templates rendered as data,
the same retries and rate limits as ``exec``). Per resource (type ``resource``/``multi``):

* ``createorupdate``: skipped when ``statecheck`` passes, else run;
* else ``exists`` (count mode ``SELECT count(*) AS count``, or field mode ``SELECT id``, the row
  kept as ``{{ this.id }}``; without ``exists``, ``statecheck`` stands in): absent → ``create``;
  present → ``statecheck`` decides: in the desired state → nothing, else ``update``;
* after a write, ``statecheck`` (or ``exists``) is retried (``retries=N, retry_delay=S``) until
  it passes; then ``exports`` sets the names later resources read.

``query`` resources only export; ``script`` resources run a command (stdout JSON → exports);
``command`` resources run a statement on every build (:mod:`oktaql.deploy._command`);
``if`` skips a resource. Update is decided by ``statecheck`` first (never by ``exports``, which
often carries only ids and would miss drift). Pre-checks run once; retries are for after a write.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from oktaql.deploy._bulk import Listings
from oktaql.deploy._command import plan_command, run_command
from oktaql.deploy._context import (
    UNKNOWN,
    condition,
    render_value,
    resource_context,
    variables_in,
)
from oktaql.deploy._model import (
    Anchor,
    Change,
    FieldChange,
    PlannedRequest,
    Resource,
    Stack,
    Where,
)
from oktaql.deploy._refusals import REPLACE, explained
from oktaql.deploy._results import (
    ALL_ANCHORS,
    count_result,
    exists_result,
    first_line,
    read_key,
    reads_name,
    rows_of,
    unknowns,
)
from oktaql.errors import DeployError, Error

Echo = Callable[[str], None]


@dataclass
class Outcome:
    """What a run did to one resource."""

    name: str
    action: str  # created, updated, unchanged, skipped, exported, ran, deleted, absent, ...
    note: str = ""

    def __str__(self) -> str:
        return f"{self.name} ({self.action}{': ' + self.note if self.note else ''})"


@dataclass
class _State:
    """What a run knows: exports so far, what it created, what it read (for the digest)."""

    exports: dict[str, Any] = field(default_factory=dict)
    # what this run created, oldest first: an .iql resource with the context it was made in,
    # or a declarative one with the undo its engine gives (--on-failure rollback undoes both)
    created: list[tuple[Resource, dict[str, Any] | Callable[[], str | None]]] = field(
        default_factory=list
    )
    reads: list[Any] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)


class Runner:
    def __init__(
        self,
        stack: Stack,
        session: Any,
        echo: Echo,
        *,
        dry_run: bool = False,
        show_queries: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.stack = stack
        self.session = session
        self.echo = echo
        self.dry_run = dry_run
        self.show_queries = show_queries
        self.sleep = sleep
        self.state = _State()
        # rows each read of a plan returned, by resource, anchor and the values it reads: an
        # `apply --plan` that found the plan still true reuses them instead of reading again,
        # for each resource until it writes
        self._recorded: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self.replaying = False
        self._wrote: set[str] = set()
        self._live: Any = None  # listings read to show .iql updates' field changes
        # every listing of live state this run read, shared with the declarative engines
        self.listings = Listings()

    # --- contexts ---------------------------------------------------------------------------

    def context(self, r: Resource) -> dict[str, Any]:
        """What ``r``'s templates see: globals, stack_name/stack_env/resource_name, exports of
        the resources run so far, and its props (each seeing the ones above it)."""
        return resource_context(self.base_context(), r)

    def base_context(self) -> dict[str, Any]:
        """Globals, stack_name, stack_env and the exports so far: what every resource sees."""
        return {
            **self.stack.globals,
            "stack_name": self.stack.name,
            "stack_env": self.stack.env,
            **self.state.exports,
        }

    def skipped(self, r: Resource, ctx: dict[str, Any]) -> bool:
        if r.condition is None:
            return False
        where = Where(r.where.file, r.where.line, f"{r.where.key}.if")
        return not condition(r.condition, ctx, where)

    # --- statements -------------------------------------------------------------------------

    def _statements(self, anchor: Anchor) -> list[str]:
        from oktaql.parser import split_statements

        return split_statements(anchor.sql) or [anchor.sql]

    def shown(self, sql: str, ctx: dict[str, Any]) -> str:
        """A statement as it would run, rendered, secrets masked (protected values too)."""
        from oktaql import templates
        from oktaql._secrets import mask_sql

        try:
            text = templates.render(sql, ctx)
        except Error as exc:
            text = f"{sql}\n-- (cannot be rendered yet: {exc})"
        return str(self._masked(mask_sql(text)))

    def _show(self, r: Resource, anchor: Anchor, ctx: dict[str, Any], force: bool = False) -> None:
        if self.show_queries or force:
            for sql in self._statements(anchor):
                self.echo(f"-- {r.name}: {anchor.name}\n{self.shown(sql, ctx)}")

    def _execute(self, r: Resource, anchor: Anchor, sql: str, ctx: dict[str, Any]) -> Any:
        try:
            return self.session.execute(sql, ctx)
        except Error as exc:
            told = explained(exc, r, anchor, self.session)
            if self.state.secrets and self._masked(str(told)) != str(told):
                told = DeployError(self._masked(str(told)))
            # a write Okta may have carried out though it failed (its answer was cut off)
            told.may_have_acted = getattr(exc, "may_have_acted", False)  # type: ignore[attr-defined]
            raise told from None

    def select(self, r: Resource, anchor: Anchor, ctx: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of a read anchor (its last statement), as dicts; recorded for the digest."""
        key = (r.name, anchor.name, read_key(anchor, ctx))
        if self.replaying and r.name not in self._wrote and key in self._recorded:
            rows = self._recorded[key]
        else:
            self._show(r, anchor, ctx)
            rows = []
            for sql in self._statements(anchor):
                rows = rows_of(self.session, self._execute(r, anchor, sql, ctx))
            if not self.replaying:
                self._recorded.setdefault(key, rows)
        self.state.reads.append([r.name, anchor.name, rows])
        return rows

    def write(self, r: Resource, anchor: Anchor, ctx: dict[str, Any]) -> None:
        self._wrote.add(r.name)  # what it reads from now on is read live
        self._show(r, anchor, ctx)
        try:
            for sql in self._statements(anchor):
                result = self._execute(r, anchor, sql, ctx)
                rows_of(self.session, result)  # RETURNING rows are read (and scratch dropped)
        finally:  # what the run listed may be stale now (never worse than reading anew)
            self.listings.forget_all()

    def planned(
        self, r: Resource, anchor: Anchor, ctx: dict[str, Any]
    ) -> tuple[PlannedRequest, ...]:
        """The requests ``anchor`` would send, planned and not sent, secrets masked."""
        from oktaql._secrets import mask_json

        out: list[PlannedRequest] = []
        for sql in self._statements(anchor):
            plan = self.session.plan_sql(sql, ctx)
            for call in plan.writes():
                req = call.request
                body = self._masked(mask_json(req.body)) if req.has_body else None
                url = req.url.replace(quote(UNKNOWN), UNKNOWN)  # shown as written, not encoded
                out.append(PlannedRequest(req.method, self._masked(url), body))
        return tuple(out)

    def _masked(self, value: Any) -> Any:
        """``value`` with every protected export's value replaced by ``****``."""
        if isinstance(value, str):
            for secret in sorted(self.state.secrets, key=len, reverse=True):
                value = value.replace(secret, "****").replace(quote(secret, safe=""), "****")
            return value
        if isinstance(value, dict):
            return {k: self._masked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._masked(v) for v in value]
        return value

    # --- checks -----------------------------------------------------------------------------

    def exists(self, r: Resource, ctx: dict[str, Any], tries: int = 1, delay: float = 0) -> bool:
        """Whether ``r``'s object is there (its ``exists`` row kept as ``this``)."""
        anchor = r.queries["exists"]
        for attempt in range(max(tries, 1)):
            rows = self.select(r, anchor, ctx)
            found, this = exists_result(rows, anchor)
            if found:
                ctx["this"] = this
                return True
            if attempt + 1 < tries:
                self.sleep(delay)
        return False

    def statecheck(self, r: Resource, ctx: dict[str, Any], tries: int = 1) -> bool:
        anchor = r.queries["statecheck"]
        for attempt in range(max(tries, 1)):
            rows = self.select(r, anchor, ctx)
            if count_result(rows, anchor) >= 1:
                return True
            if attempt + 1 < tries:
                self.sleep(anchor.retry_delay)
        return False

    def export(self, r: Resource, ctx: dict[str, Any], required: bool = True) -> bool:
        """Run ``exports`` and keep its one row's columns under their exported names."""
        if not r.exports:
            return True
        anchor = r.queries.get("exports")
        if anchor is None:
            if required:
                raise DeployError(
                    f"resource '{r.name}' declares exports but {r.file} has no /*+ exports */ "
                    "anchor",
                    r.where,
                )
            return False
        rows: list[dict[str, Any]] = []
        for attempt in range(max(anchor.retries, 1)):
            rows = self.select(r, anchor, ctx)
            if rows:
                break
            if attempt + 1 < anchor.retries:
                self.sleep(anchor.retry_delay)
        if len(rows) != 1:
            if not required:
                return False
            raise DeployError(
                f"resource '{r.name}': the exports query returned {len(rows)} rows, not one",
                anchor.where,
            )
        row = rows[0]
        for column, alias in r.exports:
            if column not in row:
                raise DeployError(
                    f"resource '{r.name}': the exports query has no column {column!r} "
                    f"(it returns {', '.join(row) or 'none'})",
                    anchor.where,
                )
            self._set_export(r, alias, row[column])
        return True

    def _set_export(self, r: Resource, alias: str, value: Any) -> None:
        self.state.exports[alias] = value
        if alias in r.protected and value not in (None, "") and value != UNKNOWN:
            self.state.secrets.add(str(value))

    def placeholder_exports(self, r: Resource) -> None:
        for _, alias in r.exports:
            self.state.exports[alias] = UNKNOWN

    # --- deciding ---------------------------------------------------------------------------

    def decide(self, r: Resource, ctx: dict[str, Any]) -> tuple[str, str]:
        """(create | update | none, why), from reads only."""
        q = r.queries
        waiting = unknowns(r, ctx)
        if waiting:
            return "create", "reads " + ", ".join(sorted(waiting)) + ", known once created"
        if "createorupdate" in q:
            if "statecheck" in q and self.statecheck(r, ctx):
                return "none", "statecheck passes"
            if "exists" in q:
                return ("update" if self.exists(r, ctx) else "create"), "createorupdate"
            return "update", "createorupdate runs unless statecheck passes"
        if "exists" not in q:
            if self.statecheck(r, ctx):
                return "none", "statecheck passes"
            return "create", "statecheck fails (no exists anchor)"
        if not self.exists(r, ctx):
            return "create", "exists finds nothing"
        if "statecheck" not in q:
            return "none", "exists finds it (no statecheck)"
        if self.statecheck(r, ctx):
            return "none", "statecheck passes"
        if "update" not in q:
            raise DeployError(
                f"resource '{r.name}' exists but is not in the desired state, and {r.file} has "
                "no /*+ update */ anchor to fix it",
                r.where,
            )
        return "update", "statecheck fails"

    # --- build (one .iql resource) ------------------------------------------------------------

    def _build_one(self, r: Resource) -> Outcome:
        ctx = self.context(r)
        if self.skipped(r, ctx):
            return Outcome(r.name, "skipped", f"if {r.condition}")
        if r.type == "declarative":
            raise DeployError("declarative resources are built by the declarative engine", r.where)
        if r.type == "script":
            return self._script(r, ctx)
        if r.type == "query":
            if self.dry_run:
                self._show(r, r.queries["exports"], ctx, force=True)
                self.placeholder_exports(r)
                return Outcome(r.name, "exported", "dry run")
            self.export(r, ctx)
            return Outcome(r.name, "exported")
        if self.dry_run:
            ctx.setdefault("this", _Unknown())  # what exists would capture reads as unknown
            shown = ("exists", "statecheck", "create", "update", "createorupdate", "command")
            for name in (*shown, "exports"):
                if name in r.queries:
                    self._show(r, r.queries[name], ctx, force=True)
            self.placeholder_exports(r)
            return Outcome(r.name, "dry run", "nothing sent")
        waiting = unknowns(r, ctx, ALL_ANCHORS)
        if waiting:  # a resource above failed (--on-failure ignore): never send a placeholder
            missing = sorted(
                k
                for k, v in self.state.exports.items()
                if v == UNKNOWN
                and (k in waiting or any(reads_name(p, k) for p in r.props.values()))
            )
            raise DeployError(
                f"resource '{r.name}' not sent: it reads {', '.join(missing or sorted(waiting))}, "
                "which a resource above it failed to make",
                r.where,
            )
        if r.type == "command":
            return run_command(self, r, ctx)
        action, why = self.decide(r, ctx)
        q = r.queries
        ignore = r.type == "multi"  # stackql-deploy: a multi resource's write errors are ignored
        if action == "none":
            self.export(r, ctx)
            return Outcome(r.name, "unchanged", why)
        anchor = q.get("createorupdate") or q[action]
        try:
            self.write(r, anchor, ctx)
        except Error as exc:
            if action == "create" and getattr(exc, "may_have_acted", False):
                self.state.created.append((r, ctx))  # rollback looks for it with exists
            if not ignore:
                raise
        if action == "create":
            self.state.created.append((r, ctx))
        self._confirm(r, ctx, action)
        self.export(r, ctx)
        return Outcome(r.name, "created" if action == "create" else "updated")

    def _confirm(self, r: Resource, ctx: dict[str, Any], action: str) -> None:
        """After a write: exists (keeping ``this`` of what was made) and statecheck, retried
        with statecheck's retries= / retry_delay= until they pass, else an error."""
        q = r.queries
        timing = q.get("statecheck") or q.get("exists")
        if timing is None:
            return
        checks = [q[name] for name in ("exists", "statecheck") if name in q]
        for check in checks:
            if check.name == "exists":
                ok = self.exists(r, ctx, timing.retries, timing.retry_delay)
            else:
                ok = self.statecheck(r, ctx, timing.retries)
            if not ok:
                n = timing.retries
                raise DeployError(
                    f"resource '{r.name}': after the {action}, {check.name} still fails "
                    f"({n} attempt{'s' if n != 1 else ''}; raise retries= / retry_delay= on "
                    "the statecheck anchor if Okta is slow)",
                    check.where,
                )

    def _script(self, r: Resource, ctx: dict[str, Any]) -> Outcome:
        assert r.run is not None
        command = str(
            render_value(r.run, ctx, Where(r.where.file, r.where.line, f"{r.where.key}.run"))
        )
        if self.dry_run or self.show_queries:
            self.echo(f"-- {r.name}: run\n{command}")
        if self.dry_run:
            self.placeholder_exports(r)
            return Outcome(r.name, "dry run", "script not run")
        done = subprocess.run(command, shell=True, capture_output=True, text=True, check=False)  # noqa: S602 - the stack's own command
        self.listings.forget_all()  # a script may change anything
        if done.returncode != 0:
            raise DeployError(
                f"resource '{r.name}': the script exited with status {done.returncode}: "
                f"{(done.stderr or done.stdout).strip()[-500:]}",
                r.where,
            )
        if r.exports:
            try:
                values = json.loads(done.stdout)
            except ValueError:
                values = None
            if not isinstance(values, dict):
                raise DeployError(
                    f"resource '{r.name}' exports values, so its script must print one JSON "
                    "object on stdout",
                    r.where,
                )
            for column, alias in r.exports:
                if column not in values:
                    raise DeployError(
                        f"resource '{r.name}': the script printed no {column!r}", r.where
                    )
                self._set_export(r, alias, values[column])
        return Outcome(r.name, "ran")

    def rollback(self) -> list[Outcome]:
        """Delete what this run created, newest first: .iql resources with their delete
        anchor, declarative ones by their engine (deactivating first where Okta needs)."""
        out: list[Outcome] = []
        for r, made in reversed(self.state.created):
            if callable(made):  # declarative: its engine deletes it, deactivating first
                error = made()
                out.append(
                    Outcome(r.name, "deleted")
                    if error is None
                    else Outcome(r.name, "rollback failed", error.splitlines()[0])
                )
                continue
            if r.type == "command":  # what a command did has no undo: said, not hidden
                out.append(Outcome(r.name, "left in place", "a command is not undone"))
                continue
            ctx = made
            anchor = r.queries.get("delete")
            if anchor is None:
                out.append(Outcome(r.name, "left in place", "no /*+ delete */ anchor to undo it"))
                continue
            try:
                ctx = {**ctx, **self.state.exports}
                if "this" not in ctx and "exists" in r.queries and not self.exists(r, ctx):
                    out.append(Outcome(r.name, "absent", "exists finds nothing to undo"))
                    continue
                self.write(r, anchor, ctx)
                out.append(Outcome(r.name, "deleted"))
            except Error as exc:
                out.append(Outcome(r.name, "rollback failed", first_line(exc)))
        self.state.created.clear()
        return out

    # --- plan -------------------------------------------------------------------------------

    def plan_one(self, r: Resource) -> Change:
        ctx = self.context(r)
        if self.skipped(r, ctx):
            return Change(r.name, "none", note=f"skipped: if {r.condition}")
        if r.type == "script":
            self.placeholder_exports(r)
            return Change(r.name, "none", note="a script: runs on every build")
        if r.type == "query":
            if unknowns(r, ctx):
                self.placeholder_exports(r)
            else:
                self.export(r, ctx)
            return Change(r.name, "none", note="a query: exports only")
        if r.type == "command":
            return plan_command(self, r, ctx)
        action, why = self.decide(r, ctx)
        if action == "none":
            self.export(r, ctx)
            return Change(r.name, "none", note=why)
        anchor = r.queries.get("createorupdate") or r.queries[action]
        changes: tuple[FieldChange, ...] = ()
        try:
            requests = self.planned(r, anchor, ctx)
            note = why
        except Error as exc:
            requests, note = (), f"{why}; requests known at apply ({first_line(exc)})"
        else:
            if action == "update":
                changes, unknown = self.field_changes(anchor, ctx)
                if unknown:
                    note = f"{why}; .iql resources show actions only here: {unknown}"
        self.placeholder_exports(r) if action == "create" else self.export(r, ctx, required=False)
        return Change(r.name, action, changes, requests, note)  # type: ignore[arg-type]

    def field_changes(
        self, anchor: Anchor, ctx: dict[str, Any]
    ) -> tuple[tuple[FieldChange, ...], str | None]:
        """Each field an update sends whose live value differs, old → new; or why that can't
        be told. Only where it is certain: the anchor is one REPLACE/UPDATE of an org-level
        provider resource, ``exists`` captured the object's id (``SELECT id ...``), and the
        object is read from one listing of its type shared by every .iql update of the plan
        (what it costs: a listing per such type, no GET per resource)."""
        from oktaql.deploy._bulk import LiveReader
        from oktaql.deploy._diff import diff, masked
        from oktaql.deploy._kind import SERVER_SET, kind_of
        from oktaql.parser import blank_comments

        this = ctx.get("this")
        ident = (
            this.get("id") if isinstance(this, dict) and not isinstance(this, _Unknown) else None
        )
        if not ident:
            return (), "exists captures no id (SELECT id ...) to read the live object by"
        found = [
            (sql, m)
            for sql in self._statements(anchor)
            if (m := REPLACE.search(blank_comments(sql)[0])) is not None
        ]
        if len(found) != 1 or len(self._statements(anchor)) != 1:
            return (), f"the {anchor.name} anchor is not one REPLACE or UPDATE statement"
        sql, m = found[0]
        try:
            kind = kind_of(self.session.catalog, m.group(1), anchor.where)
        except DeployError:
            return (), f"{m.group(1)} can't be listed"
        if kind.parents:
            return (), f"{kind.id} is listed per {' and '.join(kind.parents)}"
        calls = list(self.session.plan_sql(sql, ctx).writes())
        if len(calls) != 1 or not isinstance(calls[0].request.body, dict):
            return (), "the update sends no one JSON object"
        if quote(str(ident), safe="") not in calls[0].request.url:
            return (), f"the update is not sent to the object exists found ({ident})"
        if self._live is None:
            self._live = LiveReader(self.session, self.listings)
        live = self._live.by_id(kind, {}, str(ident))
        if live is None:
            return (), f"{kind.id} {ident} is not in its listing"
        self.state.reads.append([kind.id, str(ident), live])  # the digest covers what it read
        body = {k: v for k, v in calls[0].request.body.items() if k not in SERVER_SET}
        return tuple(self._masked(masked(c)) for c in diff(body, live)), None

    def digest(self, changes: list[Change]) -> str:
        """What the plan was computed from: every row read, and the changes."""
        payload = json.dumps(
            {"reads": self.state.reads, "changes": [c.as_json() for c in changes]},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    # --- test -------------------------------------------------------------------------------

    def test_one(self, r: Resource) -> Outcome:
        ctx = self.context(r)
        if self.skipped(r, ctx):
            return Outcome(r.name, "skipped", f"if {r.condition}")
        if r.type == "script":
            return Outcome(r.name, "skipped", "a script")
        if r.type == "command":  # nothing to test (stackql-deploy's test skips it); its exports
            self.export(r, ctx, required=False)  # are read for the resources after it
            return Outcome(r.name, "skipped", "a command")
        if r.type == "query":
            self.export(r, ctx)
            return Outcome(r.name, "exported")
        q = r.queries
        if "statecheck" in q:
            if "exists" in q:
                self.exists(r, ctx)  # `this` for the statecheck
            ok = self.statecheck(r, ctx, q["statecheck"].retries)
        elif "exists" in q:
            ok = self.exists(r, ctx)
        else:
            ok = self.export(r, ctx, required=False)
        if ok:
            self.export(r, ctx, required=False)
            return Outcome(r.name, "pass")
        self.placeholder_exports(r)
        return Outcome(r.name, "FAIL", "not in the desired state")

    # --- teardown (one .iql resource; the stack's exports are read first, see _stack) -----------

    def _teardown_one(self, r: Resource) -> Outcome:
        if r.type not in ("resource", "multi"):
            return Outcome(r.name, "skipped", f"a {r.type}")
        try:
            ctx = self.context(r)
        except DeployError as exc:
            return Outcome(
                r.name, "skipped", f"cannot render it ({first_line(exc)}): already gone?"
            )
        if self.skipped(r, ctx):
            return Outcome(r.name, "skipped", f"if {r.condition}")
        anchor = r.queries.get("delete")
        if anchor is None:
            return Outcome(r.name, "skipped", "no /*+ delete */ anchor")
        if self.dry_run:
            ctx.setdefault("this", _Unknown())
            self._show(r, anchor, ctx, force=True)
            return Outcome(r.name, "dry run", "nothing sent")
        check = r.queries.get("exists") or r.queries.get("statecheck")
        needs = set(variables_in(anchor.sql, anchor.where))
        if check is not None:
            needs |= set(variables_in(check.sql, check.where))
        missing = sorted(v for v in needs if v not in ctx and v != "this")
        if missing:  # what it needs is exported by resources that are gone already
            return Outcome(r.name, "absent", f"{', '.join(missing)} not exported: already gone")
        if r.type == "resource" and check is not None:
            present = self.exists(r, ctx) if check.name == "exists" else self.statecheck(r, ctx)
            if not present:
                return Outcome(r.name, "absent", "nothing to delete")
        try:
            self.write(r, anchor, ctx)
        except Error:
            if r.type != "multi":
                raise
        if check is not None and check.name == "exists" and r.type == "resource":
            tries = max(check.postdelete_retries, 1)
            for attempt in range(tries):
                if not self.exists(r, ctx):
                    break
                if attempt + 1 < tries:
                    self.sleep(check.postdelete_retry_delay)
            else:
                raise DeployError(
                    f"resource '{r.name}': exists still finds it after the delete", check.where
                )
        return Outcome(r.name, "deleted")


class _Unknown(dict[str, Any]):
    """``this`` before anything was read: every field is a placeholder."""

    def __missing__(self, key: str) -> str:
        return UNKNOWN


__all__ = ["Outcome", "Runner", "first_line"]
