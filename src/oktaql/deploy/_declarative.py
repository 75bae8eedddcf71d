"""Declarative resources: the object as it should be → a plan → exactly that plan applied.

``plan_resources`` reads live state in bulk (``_bulk``: one listing per type), finds each
resource's object (by the id the stack's record holds, else by ``match``), compares only the
fields the user wrote (``_diff``) and says per resource ``create`` / ``update`` (each field
old → new) / ``none`` / ``delete`` (removed from the manifest, created by this stack:
``_state``), with the exact requests apply sends. ``apply_changes`` plans again, refuses when
that plan differs from the one given ("state changed since plan"), then sends each request as
an EXEC of the provider's method through the executor, so writes get the same clients,
retries and rate-limit pacing as ``oktaql exec``.

Okta's state rules come from the provider's methods (``_kind``): a group rule starts out
INACTIVE (activate after create when ``lifecycle.status`` is ACTIVE), an ACTIVE rule is
deactivated, replaced and activated again, an ACTIVE app or zone is deactivated before delete.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from oktaql.deploy._bulk import LiveReader, narrowing
from oktaql.deploy._context import UNKNOWN, has_template, render_value, resource_context
from oktaql.deploy._diff import MISSING, diff, get_path, masked, overlay
from oktaql.deploy._kind import (
    SERVER_SET,
    Kind,
    check_exports,
    check_fields,
    check_match,
    kind_of,
)
from oktaql.deploy._model import Change, FieldChange, PlannedRequest, Resource, Stack, Where
from oktaql.deploy._schema_check import check_body
from oktaql.deploy._state import Owned, StackState, load_state, other_envs
from oktaql.errors import DeployError, Error
from oktaql.provider import Method

OnFailure = Literal["error", "ignore", "rollback"]


class _NewId:
    """The id of the object a resource's create makes, before it exists."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self) -> str:
        return UNKNOWN


@dataclass
class Op:
    purpose: str  # create | replace | delete | activate | deactivate
    method: Method
    params: dict[str, Any]
    body: Any = MISSING  # MISSING: the method's own (none, or {} for a POST that takes one)


@dataclass
class Planned:
    name: str
    change: Change
    ops: list[Op]
    kind: Kind | None = None
    resource: Resource | None = None
    live: dict[str, Any] | None = None
    parents: dict[str, str] = field(default_factory=dict)
    record: Owned | None = None  # the ownership record once applied (None: drop it)
    exports: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    name: str
    action: str
    status: Literal["done", "failed", "not done", "rolled back"]
    error: str | None = None


@dataclass
class ApplyReport:
    """Per resource what apply did; ``exports`` for resources after these."""

    outcomes: list[Outcome] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    writes: int = 0
    made: list[Planned] = field(default_factory=list)  # what this apply created, in order

    @property
    def ok(self) -> bool:
        return all(o.status == "done" for o in self.outcomes)


def _unknown(value: Any) -> bool:
    if isinstance(value, _NewId):
        return True
    if isinstance(value, str):
        return UNKNOWN in value
    if isinstance(value, dict):
        return any(_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_unknown(v) for v in value)
    return False


def _status(value: Any, where: Where) -> str | None:
    if value is None:
        return None
    text = str(value).upper()
    if text not in ("ACTIVE", "INACTIVE"):
        raise DeployError(f"lifecycle.status is {value!r}: write ACTIVE or INACTIVE", where)
    return text


class Engine:
    """One plan (and its apply) of a stack's declarative resources."""

    def __init__(
        self,
        session: Any,
        stack: Stack,
        context: Mapping[str, Any],
        reader: LiveReader | None = None,
        narrow_by: Sequence[Resource] = (),
    ):
        self.session = session
        # the resources whose matches narrow this engine's listings, besides those a plan is
        # of: a stack run gives its whole run of resources, so that every plan of some of
        # them (teardown's read of exports, a skipped one) asks for the same listing
        self.narrow_by = tuple(narrow_by)
        self.stack = stack
        self.context = dict(context)
        org = session.org_url
        if not org:
            raise DeployError(
                "deploy needs the org URL (--org-url or OKTA_CLIENT_ORGURL): the stack's "
                "ownership record is kept per org"
            )
        self.state: StackState = load_state(org, stack.name, stack.env)
        self.others = other_envs(org, stack.name, stack.env)
        # a stack run's reader shares its listings with the run's other parts
        self.reader = reader if reader is not None else LiveReader(session)
        self._kinds: dict[str, Kind] = {}
        self.writes = 0

    # --- planning -------------------------------------------------------------------------

    def kind(self, dotted: str, where: Where) -> Kind:
        k = self._kinds.get(dotted)
        if k is None:
            k = self._kinds[dotted] = kind_of(self.session.catalog, dotted, where)
        return k

    def plan(self, resources: Sequence[Resource], teardown: bool = False) -> list[Planned]:
        decl = [r for r in resources if r.type == "declarative" and r.declarative is not None]
        by_type: dict[str, list[dict[str, Any] | None]] = {}
        wanted: list[tuple[Kind, dict[str, Any]]] = []
        for r in decl:
            assert r.declarative is not None
            k = self.kind(r.declarative.resource, r.where)
            check_fields(k, r.declarative.desired, r.where)
            check_match(k, r.declarative.match, r.where)
            check_exports(k, r.exports, r.where)
            try:
                m = render_value(r.declarative.match, self.resource_context(r), r.where)
            except DeployError:
                m = None  # reads an export of a resource planned in this run
            self._check_rendered(k, r)
            by_type.setdefault(k.id, []).append(None if m is None or _unknown(m) else m)
            if m is not None and all(p in m and not _unknown(m[p]) for p in k.parents):
                wanted.append((k, {p: str(m[p]) for p in k.parents}))
        planned_names = {r.name for r in decl}
        for r in self.narrow_by:
            if r.name in planned_names or r.declarative is None:
                continue
            # only what its match narrows: a plan of the others is not stopped by it
            try:
                k = self.kind(r.declarative.resource, r.where)
            except Error:
                continue
            try:
                m = render_value(r.declarative.match, self.resource_context(r), r.where)
            except Error:
                m = None
            by_type.setdefault(k.id, []).append(None if m is None or _unknown(m) else m)
        held = {o.resource for o in self.state.resources.values()}
        for kid, matches in by_type.items():
            # an object the record holds may no longer match (renamed): read the whole type
            if kid not in held:
                self.reader.narrow[kid] = narrowing(self._kinds[kid], matches)
        names = {r.name for r in self.stack.resources}
        for n, o in self.state.resources.items():
            if n not in names and (o.created or teardown):
                wanted.append((self.kind(o.resource, Where("ownership record", key=n)), o.params))
        self.reader.prefetch(wanted)  # every listing the plan needs, read at once
        planned = []
        for r in decl:
            planned.append(self._plan_one(r, teardown))
            self.context.update(planned[-1].exports)  # later resources' templates read them
        gone = [  # newest first, as a teardown goes
            self._plan_removed(n, o, teardown)
            for n, o in reversed(self.state.resources.items())
            if n not in names
        ]
        return [*gone, *reversed(planned)] if teardown else [*planned, *gone]

    def resource_context(self, r: Resource) -> dict[str, Any]:
        """What ``r``'s match, desired and lifecycle see: as an .iql resource's queries do."""
        return resource_context(self.context, r)

    @staticmethod
    def _render(value: Any, ctx: dict[str, Any], where: Where, key: str) -> Any:
        return render_value(value, ctx, Where(where.file, where.line, key))

    def _check_rendered(self, kind: Kind, r: Resource, rendered: Any = MISSING) -> None:
        """What ``r``'s desired templates give, against the schema (its written text was
        checked before): ``rendered`` once the exports of the resources before it are known;
        MISSING: before any read, where the globals are all it reads."""
        d = r.declarative
        assert d is not None
        if not has_template(json.dumps(d.desired, default=str)):
            return
        if rendered is MISSING:
            try:
                rendered = render_value(d.desired, self.resource_context(r), r.where)
            except DeployError:
                return  # reads an export of a resource planned in this run: checked then
        check_body(kind.id, kind.methods_written, rendered, r.where, SERVER_SET)

    def _find(
        self, r: Resource, kind: Kind, match: dict[str, Any], parents: dict[str, str]
    ) -> dict[str, Any] | None:
        owned = self.state.resources.get(r.name)
        if owned is not None and owned.resource == kind.id and owned.params == parents:
            held = self.reader.by_id(kind, parents, owned.id)
            if held is not None:
                return held
        fields = {("id" if k == kind.id_param else k): v for k, v in match.items()}
        fields = {k: v for k, v in fields.items() if k not in kind.parents}
        if not fields:
            raise DeployError(
                f"match names no field of {kind.id} to find the object by (fields: "
                f"{', '.join(kind.columns)})",
                Where(r.where.file, r.where.line, "match"),
            )
        found = self.reader.matching(kind, parents, fields)
        if len(found) > 1:
            ids = ", ".join(str(o.get("id")) for o in found[:5])
            raise DeployError(
                f"match finds {len(found)} objects of {kind.id} ({ids}): make it name one",
                Where(r.where.file, r.where.line, "match"),
            )
        if not found:
            return None
        obj = found[0]
        env = self.others.get((kind.id, str(obj.get("id"))))
        if env is not None:
            raise DeployError(
                f"match finds {kind.id} {obj.get('id')}, which environment {env!r} of stack "
                f"{self.stack.name!r} holds: each environment manages its own objects (put "
                "{{ stack_env }} in the name it matches)",
                Where(r.where.file, r.where.line, "match"),
            )
        return obj

    def _plan_one(self, r: Resource, teardown: bool) -> Planned:
        d = r.declarative
        assert d is not None
        kind = self.kind(d.resource, r.where)
        ctx = self.resource_context(r)
        match = self._render(d.match, ctx, r.where, "match")
        desired = self._render(d.desired, ctx, r.where, "desired")
        self._check_rendered(kind, r, desired)
        lifecycle = self._render(d.lifecycle, ctx, r.where, "lifecycle")
        for key in lifecycle:
            if key != "status":
                raise DeployError(
                    f"lifecycle.{key}: only lifecycle.status is known",
                    Where(r.where.file, r.where.line, "lifecycle"),
                )
        want = _status(lifecycle.get("status"), r.where)
        if want is not None and not kind.has_lifecycle:
            raise DeployError(
                f"lifecycle.status: {kind.id} has no activate/deactivate method",
                Where(r.where.file, r.where.line, "lifecycle"),
            )
        missing = [p for p in kind.parents if p not in match]
        if missing:
            raise DeployError(
                f"{kind.id} is listed per {' and '.join(missing)}: put "
                + " and ".join(f"{p}" for p in missing)
                + " in match",
                Where(r.where.file, r.where.line, "match"),
            )
        parents = {p: match[p] for p in kind.parents}
        live = None
        if not _unknown(parents):
            parents = {p: str(v) for p, v in parents.items()}
            live = self._find(r, kind, match, parents)
        owned = self.state.resources.get(r.name)
        p = Planned(r.name, Change(r.name, "none"), [], kind, r, live, dict(parents))
        if teardown:
            if live is not None:  # later resources' matches may name its id
                p.exports = {a: self._export_value(live, c) for c, a in self._exports(p)}
            else:
                p.exports = {alias: UNKNOWN for _, alias in self._exports(p)}
            return self._plan_delete(p, owned, note="not found: nothing to delete")
        if live is None:
            return self._plan_create(p, match, desired, want, owned)
        return self._plan_update(p, desired, want, owned)

    def _plan_create(
        self,
        p: Planned,
        match: dict[str, Any],
        desired: dict[str, Any],
        want: str | None,
        owned: Owned | None,
    ) -> Planned:
        kind = p.kind
        assert kind is not None and kind.creator is not None
        params: dict[str, Any] = dict(p.parents)
        if kind.create_by_put:
            params[kind.id_param] = match.get(kind.id_param, match.get("id"))
        if want == "INACTIVE" and "activate" in kind.creator.params:
            params["activate"] = False
        p.ops.append(Op("create", kind.creator, params, desired))
        if kind.has_lifecycle:
            starts = (
                "INACTIVE" if kind.created_inactive or params.get("activate") is False else "ACTIVE"
            )
            if want is not None and starts != want:
                p.ops.append(self._lifecycle_op(kind, p.parents, _NewId(p.name), want))
        changes = [masked(FieldChange(k, None, v)) for k, v in desired.items()]
        if want is not None:
            changes.append(FieldChange("status", None, want))
        note = (
            f"the object the record held ({owned.id}) is gone: created again"
            if owned is not None
            else None
        )
        p.record = Owned(kind.id, "", dict(p.parents), created=True)
        p.exports = {alias: UNKNOWN for _, alias in self._exports(p)}
        p.change = Change(p.name, "create", tuple(changes), self._requests(p), note)
        return p

    def _plan_update(
        self, p: Planned, desired: dict[str, Any], want: str | None, owned: Owned | None
    ) -> Planned:
        kind, live = p.kind, p.live
        assert kind is not None and live is not None
        live_id = str(live.get("id"))
        changes = [masked(c) for c in diff(desired, live)]
        status = live.get("status")
        status_change = want is not None and status != want
        ids = {**p.parents, kind.id_param: live_id}
        fixed = sorted({c.field.split(".")[0] for c in changes} & kind.fixed)
        if fixed and kind.deleter is not None and kind.creator is not None:
            # the API can't change these in place: delete the object and create it again
            if kind.delete_needs_inactive and status == "ACTIVE":
                p.ops.append(self._lifecycle_op(kind, p.parents, live_id, "INACTIVE"))
            p.ops.append(Op("delete", kind.deleter, dict(ids)))
            params: dict[str, Any] = dict(p.parents)
            final = want or status
            if final == "INACTIVE" and "activate" in kind.creator.params:
                params["activate"] = False
            p.ops.append(Op("create", kind.creator, params, desired))
            starts = (
                "INACTIVE" if kind.created_inactive or params.get("activate") is False else "ACTIVE"
            )
            if kind.has_lifecycle and final in ("ACTIVE", "INACTIVE") and starts != final:
                p.ops.append(self._lifecycle_op(kind, p.parents, _NewId(p.name), str(final)))
            if status_change:
                changes.append(FieldChange("status", status, want))
            p.record = Owned(kind.id, live_id, dict(p.parents), created=True)
            p.exports = {alias: UNKNOWN for _, alias in self._exports(p)}
            note = f"{', '.join(fixed)} can't be changed in place: deleted and created again"
            p.change = Change(p.name, "update", tuple(changes), self._requests(p), note)
            return p
        if changes:
            if kind.replacer is None:
                raise DeployError(
                    f"{kind.id} can't be changed in place (no REPLACE method): "
                    + ", ".join(c.field for c in changes),
                    p.resource.where if p.resource else None,
                )
            final = want or status
            body = self._replace_body(kind, live, desired)
            if kind.replace_needs_inactive and status == "ACTIVE":
                p.ops.append(self._lifecycle_op(kind, p.parents, live_id, "INACTIVE"))
                p.ops.append(Op("replace", kind.replacer, dict(ids), body))
                if final == "ACTIVE":
                    p.ops.append(self._lifecycle_op(kind, p.parents, live_id, "ACTIVE"))
            else:
                p.ops.append(Op("replace", kind.replacer, dict(ids), body))
                if status_change and want is not None:
                    p.ops.append(self._lifecycle_op(kind, p.parents, live_id, want))
        elif status_change and want is not None:
            p.ops.append(self._lifecycle_op(kind, p.parents, live_id, want))
        if status_change:
            changes.append(FieldChange("status", status, want))
        created = owned is not None and owned.id == live_id and owned.created
        p.record = Owned(kind.id, live_id, dict(p.parents), created=created)
        p.exports = {alias: self._export_value(live, col) for col, alias in self._exports(p)}
        p.change = Change(p.name, "update" if p.ops else "none", tuple(changes), self._requests(p))
        return p

    def _plan_delete(self, p: Planned, owned: Owned | None, note: str) -> Planned:
        kind, live = p.kind, p.live
        assert kind is not None
        if live is None:
            p.change = Change(p.name, "none", note=note)
            return p
        if kind.deleter is None:
            raise DeployError(f"{kind.id} has no DELETE method: it can't be removed")
        live_id = str(live.get("id"))
        if kind.delete_needs_inactive and live.get("status") == "ACTIVE":
            p.ops.append(self._lifecycle_op(kind, p.parents, live_id, "INACTIVE"))
        p.ops.append(Op("delete", kind.deleter, {**p.parents, kind.id_param: live_id}))
        p.change = Change(p.name, "delete", (), self._requests(p))
        return p

    def _plan_removed(self, name: str, owned: Owned, teardown: bool) -> Planned:
        where = Where(str(self.stack.root / "stackql_manifest.yml"), None, f"resources.{name}")
        kind = self.kind(owned.resource, where)
        p = Planned(name, Change(name, "none"), [], kind, None, None, dict(owned.params))
        if not owned.created and not teardown:
            p.change = Change(
                name,
                "none",
                note=f"removed from the manifest; {kind.id} {owned.id} was not created by this "
                "stack, so it is left in place (and no longer managed)",
            )
            return p
        p.live = self.reader.by_id(kind, owned.params, owned.id)
        return self._plan_delete(p, owned, note=f"{kind.id} {owned.id} is already gone")

    def _lifecycle_op(self, kind: Kind, parents: dict[str, Any], ident: Any, to: str) -> Op:
        method = kind.activator if to == "ACTIVE" else kind.deactivator
        if method is None:
            raise DeployError(f"{kind.id} has no {'de' if to != 'ACTIVE' else ''}activate method")
        return Op(
            "activate" if to == "ACTIVE" else "deactivate",
            method,
            {**parents, kind.id_param: ident},
        )

    @staticmethod
    def _replace_body(kind: Kind, live: dict[str, Any], desired: dict[str, Any]) -> Any:
        """A replace sends the whole object: the live one's writable fields, the desired ones
        written over them (a field the user didn't write keeps its live value)."""
        assert kind.replacer is not None
        fields = kind.replacer.body_fields
        keep = {
            k: v
            for k, v in live.items()
            if k not in SERVER_SET
            and not (k in fields and fields[k].read_only)
            and (kind.replacer.body_open or k in fields)
        }
        return overlay(keep, desired)

    @staticmethod
    def _exports(p: Planned) -> list[tuple[str, str]]:
        return list(p.resource.exports) if p.resource is not None else []

    @staticmethod
    def _export_value(obj: dict[str, Any], column: str) -> Any:
        v = get_path(obj, column)
        return None if v is MISSING else v

    def _requests(self, p: Planned) -> tuple[PlannedRequest, ...]:
        from oktaql._secrets import mask_json, mask_url

        out = []
        for op in p.ops:
            req = self._write(op, shown=True).calls[0].request
            url = req.url.replace(quote(UNKNOWN, safe=""), UNKNOWN)
            body = mask_json(req.body) if req.has_body else None
            out.append(PlannedRequest(req.method, mask_url(url), body))
        return tuple(out)

    def _write(self, op: Op, shown: bool, new_id: str | None = None) -> Any:
        from oktaql.planning._writes import plan_exec

        params = {
            k: (
                new_id
                if isinstance(v, _NewId) and new_id
                else str(v)
                if isinstance(v, _NewId)
                else v
            )
            for k, v in op.params.items()
        }
        body = None if op.body is MISSING else json.dumps(op.body)
        return plan_exec(
            op.method.full_id,
            params,
            body,
            self.session.plan_context(),
            op.purpose in ("create", "replace"),
        )

    # --- applying -------------------------------------------------------------------------

    def apply(
        self,
        given: Sequence[Change],
        resources: Sequence[Resource],
        teardown: bool,
        on_failure: OnFailure,
    ) -> ApplyReport:
        fresh = self.plan(resources, teardown)
        self._check_unchanged(given, fresh)
        report = ApplyReport()
        made = report.made
        failed = False
        for p in fresh:
            if failed:
                report.outcomes.append(Outcome(p.name, p.change.action, "not done"))
                continue
            try:
                if p.ops and p.resource is not None and _unknown(p.change.as_json()):
                    p = self._replan(p, teardown)
                waiting = [
                    k
                    for op in p.ops
                    for k, v in [*op.params.items(), ("body", op.body)]
                    if not isinstance(v, _NewId) and v is not MISSING and _unknown(v)
                ]
                if waiting:  # an earlier resource that would give the value failed
                    raise DeployError(
                        f"{p.name}: not sent: its {', '.join(dict.fromkeys(waiting))} reads a "
                        "value an earlier resource did not produce"
                    )
                self._run(p, made)
                self.context.update(p.exports)
                report.exports.update(p.exports)
                report.outcomes.append(Outcome(p.name, p.change.action, "done"))
            except Error as exc:
                report.outcomes.append(Outcome(p.name, p.change.action, "failed", str(exc)))
                if on_failure != "ignore":
                    failed = True
            finally:
                self.state.save()
        if failed and on_failure == "rollback":
            self._rollback(made, report)
        report.writes = self.writes
        return report

    def _check_unchanged(self, given: Sequence[Change], fresh: list[Planned]) -> None:
        now = {p.name: p.change.as_json() for p in fresh}
        then = {c.name: c.as_json() for c in given}
        for name in sorted(set(now) | set(then)):
            a, b = then.get(name), now.get(name)
            if a == b or (a is None and b is not None and b["action"] == "none"):
                continue
            was = a["action"] if a else "absent"
            is_ = b["action"] if b else "absent"
            detail = f"planned {was}, now {is_}" if was != is_ else "its changes differ now"
            raise DeployError(
                f"state changed since plan: {name}: {detail}; run plan again (nothing was sent)"
            )

    def _replan(self, p: Planned, teardown: bool) -> Planned:
        """Once earlier resources exist, their ids fill this one's templates."""
        assert p.resource is not None
        again = self._plan_one(p.resource, teardown)
        if again.change.action != p.change.action:
            raise DeployError(
                f"state changed since plan: {p.name}: planned {p.change.action}, now "
                f"{again.change.action}; run plan again"
            )
        return again

    def _run(self, p: Planned, made: list[Planned]) -> None:
        new_id: str | None = None
        for op in p.ops:
            row = self._send(op, new_id)
            if op.purpose == "create":
                new_id = str(row.get("id")) if row else None
                if not new_id:
                    raise DeployError(f"{p.name}: the create answered no id")
                p.live = row
                if p.record is not None:
                    p.record.id = new_id
                    self.state.resources[p.name] = p.record
                    self.state.save()  # owned from the moment it exists
                made.append(p)
            elif op.purpose == "replace" and row:
                p.live = row
            elif op.purpose in ("activate", "deactivate") and p.live is not None:
                # what a rollback or a later step reads to decide whether to deactivate first
                p.live = {**p.live, "status": "ACTIVE" if op.purpose == "activate" else "INACTIVE"}
            elif op.purpose == "delete":
                self.state.resources.pop(p.name, None)
        if p.change.action == "delete" or (p.change.action == "none" and p.record is None):
            self.state.resources.pop(p.name, None)
        elif p.record is not None and p.record.id:
            self.state.resources[p.name] = p.record
        if p.live is not None:
            p.exports = {a: self._export_value(p.live, c) for c, a in self._exports(p)}

    def _send(self, op: Op, new_id: str | None) -> dict[str, Any] | None:
        from oktaql import _execute
        from oktaql._secrets import mask_error
        from oktaql.planning import Plan
        from oktaql.planning._steps import Send

        s = self.session
        write = self._write(op, shown=False, new_id=new_id)
        self.writes += len(write.calls)
        try:
            result = _execute.run(Plan((Send(write),)), s)
        except Error as exc:
            text = json.dumps(op.body) if op.body is not MISSING else ""
            raise mask_error(exc, text, {}) from None
        finally:
            self.reader.forget_type(op.method.resource_id)  # its listing is stale now
        if result.relation is None:
            return None
        try:
            cur = result.relation
            described = cur.description or []
            row = cur.fetchone()
        finally:
            s.drop_scratch(result.scratch)
        if row is None:
            return None
        out: dict[str, Any] = {}
        for (name, type_, *_), value in zip(described, row):
            if str(type_).upper() == "JSON" and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            out[name] = value
        return out

    def _rollback(self, made: list[Planned], report: ApplyReport) -> None:
        """Undo what this run created, newest first (deactivating first where Okta needs)."""
        for p in reversed(made):
            error = self.undo(p)
            if error is not None:
                report.outcomes.append(Outcome(p.name, "delete", "failed", f"rollback: {error}"))
                continue
            for o in report.outcomes:
                if o.name == p.name and o.status == "done":
                    o.status = "rolled back"

    def undo(self, p: Planned) -> str | None:
        """Delete the object ``p``'s create made (deactivating it first where Okta needs);
        the error's text when that fails, else None. Its ownership record goes with it."""
        kind = p.kind
        if kind is None or kind.deleter is None or p.record is None or not p.record.id:
            return None if kind is not None and kind.deleter is not None else "no DELETE method"
        live = dict(p.live or {}, id=p.record.id)
        undo = Planned(p.name, Change(p.name, "delete"), [], kind, None, live, p.parents)
        try:
            self._plan_delete(undo, p.record, note="")
            self._run(undo, [])
        except Error as exc:
            return str(exc)
        finally:
            self.state.save()  # a rolled-back object is no longer the stack's
        return None


def plan_resources(
    session: Any, stack: Stack, resources: Sequence[Resource], context: Mapping[str, Any]
) -> list[Change]:
    """The plan of ``resources``' declarative ones (plus deletes of resources this stack
    created that the manifest no longer has); sends only reads. ``context`` is what their
    templates see besides their own props and ``resource_name``: the stack's globals,
    ``stack_name``, ``stack_env`` and the exports of resources before them."""
    return [p.change for p in Engine(session, stack, context).plan(resources)]


def plan_teardown(
    session: Any, stack: Stack, resources: Sequence[Resource], context: Mapping[str, Any]
) -> list[Change]:
    """Deletes of every declarative resource found, in reverse order, deactivating first."""
    return [p.change for p in Engine(session, stack, context).plan(resources, teardown=True)]


def apply_changes(
    session: Any,
    stack: Stack,
    changes: Sequence[Change],
    context: Mapping[str, Any],
    *,
    resources: Sequence[Resource] | None = None,
    teardown: bool = False,
    on_failure: OnFailure = "error",
) -> ApplyReport:
    """Apply ``changes`` (a plan of :func:`plan_resources`, or :func:`plan_teardown` with
    ``teardown``) if live state still gives the same plan, else refuse naming the resource
    ("state changed since plan") before sending anything. ``resources`` default to the
    stack's declarative resources (pass the ones planned when some were left out)."""
    if resources is None:
        resources = [r for r in stack.resources if r.type == "declarative"]
    engine = Engine(session, stack, context)
    return engine.apply(changes, resources, teardown, on_failure)


__all__ = ["ApplyReport", "Outcome", "apply_changes", "plan_resources", "plan_teardown"]
