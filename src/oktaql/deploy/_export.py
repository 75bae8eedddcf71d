"""Existing objects → a declarative stack that reproduces them (onboarding a hand-made org).

``export_stack(session, ["okta.groups.groups", "okta.groups.rules"], where, out)`` writes
``out/stackql_manifest.yml`` with one declarative resource per object: ``match`` on its
natural key (label, profile.name or name; a per-parent object such as an app's group
assignment on its parent and its own id), ``desired`` holding only the fields a user may set
(the provider's writable body fields; never id, created, lastUpdated, _links or a secret),
``lifecycle`` for its status where the type has lifecycle methods.

Ids are the one thing that differs between orgs: where an exported object names another
exported object by id (a group rule's ``conditions`` and ``assignUserToGroups.groupIds``, an
app group assignment's app and group), the stack says ``{{ <resource>_id }}`` and the named
resource exports its ``id``; resources are written below the ones they read. Built on another
org, the stack makes the same objects, and a plan right after shows no change.

Reads: one listing per org-level type (all at once), plus one per parent for per-parent types
(an app's group assignments are only listed per app: one listing per exported app, read
concurrently; unavoidable, Okta has no org-wide listing of them); ``--where`` adds one query
per type (per parent for per-parent types).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oktaql.deploy._bulk import LiveReader
from oktaql.deploy._context import has_template
from oktaql.deploy._diff import MISSING, get_path
from oktaql.deploy._kind import SERVER_SET, Kind, kind_of
from oktaql.deploy._model import Where
from oktaql.deploy._schema_check import writable
from oktaql.errors import DeployError

MANIFEST = "stackql_manifest.yml"
# the natural key a stack finds an object by, in order of preference
KEYS = ("label", "profile.name", "name")
# fields the server assigns inside an object's settings (an OIDC app's client id, its key)
ASSIGNED: dict[str, tuple[str, ...]] = {
    "okta.apps.applications": ("credentials.oauthClient.client_id", "credentials.signing"),
}


def _strip(value: Any, drop_secrets: bool = True) -> Any:
    from oktaql._secrets import is_secret_name

    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if k not in ("_links", "_embedded") and not (drop_secrets and is_secret_name(k))
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _drop(obj: dict[str, Any], dotted: str) -> None:
    *head, last = dotted.split(".")
    cur: Any = obj
    for part in head:
        cur = cur.get(part) if isinstance(cur, dict) else None
    if isinstance(cur, dict):
        cur.pop(last, None)


def desired_of(kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
    """The user-settable part of a live object."""
    settable = kind.settable
    fields = kind.replacer.body_fields if kind.replacer else {}
    out = {
        k: _strip(v)
        for k, v in obj.items()
        if k not in SERVER_SET
        and not (k in fields and fields[k].read_only)
        and (settable is None or k in settable)
        and v is not None
    }
    for dotted in ASSIGNED.get(kind.id, ()):
        _drop(out, dotted)
    methods = [m for m in (kind.creator, kind.replacer) if m is not None]
    return writable(methods, out)  # nested read-only fields too: deploy refuses them


def _key(obj: dict[str, Any]) -> tuple[str, Any]:
    for k in KEYS:
        v = get_path(obj, k)
        if v is not MISSING and isinstance(v, str) and v:
            return k, v
    raise DeployError(
        f"object {obj.get('id')} has none of {', '.join(KEYS)} to be matched by; "
        "export can't write a match for it"
    )


def _scalars(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Dotted path → scalar of an object, shallow paths first (match candidates)."""
    out: dict[str, Any] = {}
    if not isinstance(value, dict) or depth > 2:
        return out
    nested: dict[str, Any] = {}
    for k, v in value.items():
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            out[f"{prefix}{k}"] = v
        elif isinstance(v, dict):
            nested.update(_scalars(v, f"{prefix}{k}.", depth + 1))
    return {**out, **nested}


def _distinct_matches(resources: list[Any], result: Exported) -> list[Any]:
    """Objects of a type that share a match (two trusted origins or apps of one name) would be
    one object to the stack (its plan: "match finds 2 objects"): each match is widened by the
    first field of ``desired`` that tells them apart (an origin's ``origin``); objects nothing
    tells apart are left out but the first, and said so."""
    groups: dict[str, list[Any]] = {}
    for pair in resources:
        e, entry = pair
        groups.setdefault(e.kind.id + json.dumps(entry["match"], default=str), []).append(pair)
    dropped: set[str] = set()
    for same in groups.values():
        if len(same) < 2:
            continue
        values = [_scalars(entry["desired"]) for _, entry in same]
        paths = [
            p
            for p in values[0]
            if p not in same[0][1]["match"]
            and all(p in v for v in values)
            and len({json.dumps(v[p]) for v in values}) == len(same)
            and "{{" not in str(values[0][p])
        ]
        if paths:
            for (_e, entry), v in zip(same, values):
                entry["match"] = {**entry["match"], paths[0]: v[paths[0]]}
            continue
        first = same[0][0]
        for e, _entry in same[1:]:
            dropped.add(e.name)
            result.notes.append(
                f"{e.kind.id} {e.obj.get('id')} left out: it has the same match as "
                f"{first.name} ({first.obj.get('id')}) and no field tells them apart"
            )
    return [pair for pair in resources if pair[0].name not in dropped]


def _name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-").lower() or "object"
    if not base[0].isalpha():
        base = "r_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


@dataclass
class Exported:
    """What :func:`export_stack` wrote: the manifest, and what it could not make portable."""

    path: Path
    resources: int = 0
    notes: list[str] = field(default_factory=list)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def parent(self) -> Path:
        return self.path.parent


@dataclass
class _Entry:
    name: str
    kind: Kind
    obj: dict[str, Any]
    match: dict[str, Any]
    parents: dict[str, str] = field(default_factory=dict)
    alias: str | None = None  # the export other entries read its id by
    reads: set[str] = field(default_factory=set)  # names of the entries it refers to


def _parent_kind(session: Any, kind: Kind, param: str) -> Kind:
    """The org-level type of the same service whose objects a per-parent listing is keyed by
    (an app's group assignments: ``appId`` → okta.apps.applications)."""
    provider, service, _ = kind.id.split(".")
    svc = session.catalog.provider(provider).service(service)
    for name in svc.resources if svc is not None else ():
        dotted = f"{provider}.{service}.{name}"
        try:
            k = kind_of(session.catalog, dotted, Where("--resource", key=dotted))
        except DeployError:
            continue
        if k.id_param == param and not k.parents:
            return k
    raise DeployError(
        f"{kind.id} is listed per {param}, and no resource of its service lists those"
    )


def _wheres(
    resources: Sequence[str], where: str | Mapping[str, str] | Sequence[str] | None
) -> dict[str, str]:
    """Each resource's condition. One resource: ``--where SQL``; several: ``--where
    'RESOURCE: SQL'`` per resource that has one."""
    if where is None:
        return {}
    if isinstance(where, Mapping):
        return dict(where)
    items = [where] if isinstance(where, str) else list(where)
    out: dict[str, str] = {}
    for text in items:
        head, sep, rest = text.partition(":")
        if sep and head.strip() in resources:
            out[head.strip()] = rest.strip()
        elif len(resources) == 1:
            out[resources[0]] = text
        else:
            raise DeployError(
                f"--where {text!r}: with several --resource, say which one it selects: "
                f"--where '{resources[0]}: {text}'"
            )
    return out


def _selected(session: Any, resource: str, where: str, parents: Mapping[str, str]) -> set[str]:
    cond = " AND ".join(
        [
            *(f"{k} = '{str(v).replace(chr(39), chr(39) * 2)}'" for k, v in parents.items()),
            f"({where})",
        ]
    )
    result = session.execute(f"SELECT id FROM {resource} WHERE {cond}")
    try:
        rows = result.rows if result.rows is not None else result.relation.fetchall()
    finally:
        session.drop_scratch(result.scratch)
    return {str(r[0]) for r in rows}


def _portable(value: Any, ids: Mapping[str, _Entry], me: _Entry) -> Any:
    """``value`` with every id of another exported object written as a reference to its export
    (whole strings, and inside strings such as a rule's expression)."""
    if isinstance(value, dict):
        return {k: _portable(v, ids, me) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v, ids, me) for v in value]
    if not isinstance(value, str) or not value:
        return value
    out = _literal(value)
    for ident, other in ids.items():
        if other is me or ident not in out:
            continue
        if other.alias is None:
            raise AssertionError("aliases are given before references are written")
        me.reads.add(other.name)
        out = out.replace(ident, "{{ " + other.alias + " }}")
    return out


def _literal(text: str) -> str:
    """``text`` as a template that renders to itself: a stack's values are templates, so
    Jinja's own markers in a live value are written as expressions that print them."""
    if not has_template(text) and "{#" not in text:
        return text
    return re.sub(r"\{[{%#]", lambda m: "{{ '" + m.group(0) + "' }}", text)


def _ordered(entries: list[_Entry]) -> list[_Entry]:
    """Entries in their order, each moved below the entries it reads."""
    by_name = {e.name: e for e in entries}
    done: dict[str, _Entry] = {}

    def visit(e: _Entry, path: tuple[str, ...]) -> None:
        if e.name in done or e.name in path:
            return
        for n in sorted(e.reads):
            visit(by_name[n], (*path, e.name))
        done[e.name] = e

    for e in entries:
        visit(e, ())
    return list(done.values())


def export_stack(
    session: Any,
    resource: str | Sequence[str],
    where: str | Mapping[str, str] | Sequence[str] | None,
    out_dir: str | Path,
) -> Exported:
    """Write a declarative stack reproducing the objects of ``resource`` (one provider resource
    or several; ``where``: one condition, or ``{resource: condition}``) to ``out_dir``; returns
    the manifest's path and notes on what could not be made portable (see the module)."""
    import yaml

    wanted = [resource] if isinstance(resource, str) else list(dict.fromkeys(resource))
    if not wanted:
        raise DeployError("export needs at least one --resource, e.g. okta.groups.groups")
    conditions = _wheres(wanted, where)
    kinds = [kind_of(session.catalog, r, Where("--resource", key=r)) for r in wanted]
    reader = LiveReader(session)
    reader.prefetch([(k, {}) for k in kinds if not k.parents])
    result = Exported(Path(out_dir) / MANIFEST)
    taken: set[str] = set()
    aliases: set[str] = set()
    entries: list[_Entry] = []
    ids: dict[str, _Entry] = {}  # the id of each exported org-level object → its entry

    def keep(kind: Kind, objects: list[dict[str, Any]], parents: Mapping[str, str]) -> list[Any]:
        cond = conditions.get(kind.id)
        if not cond:
            return objects
        chosen = _selected(session, kind.id, cond, parents)
        return [o for o in objects if str(o.get("id")) in chosen]

    for kind in kinds:  # org-level types first: per-parent ones refer to them
        if kind.parents:
            continue
        for obj in keep(kind, reader.objects(kind, {}), {}):
            if obj.get("type") in ("BUILT_IN", "APP_GROUP") or obj.get("system") is True:
                continue  # Everyone, app-sourced groups, the default zones: never a stack's
            key, value = _key(obj)
            e = _Entry(_name(value, taken), kind, obj, {key: value})
            entries.append(e)
            ids[str(obj.get("id"))] = e
    for kind in kinds:
        if not kind.parents:
            continue
        if len(kind.parents) != 1:
            raise DeployError(f"{kind.id} is listed per {' and '.join(kind.parents)}: not exported")
        (param,) = kind.parents
        parent_kind = _parent_kind(session, kind, param)
        if parent_kind.id in wanted:
            owners = [e for e in entries if e.kind.id == parent_kind.id]
        else:  # not exported itself: every object of it, left as literal ids
            result.notes.append(
                f"{kind.id}: {param} is written as the literal id (export {parent_kind.id} "
                "too to have it refer to the stack's own)"
            )
            owners = [
                _Entry(str(o.get("id")), parent_kind, o, {})
                for o in reader.objects(parent_kind, {})
            ]
        reader.prefetch([(kind, {param: str(o.obj.get("id"))}) for o in owners])
        for owner in owners:
            parents = {param: str(owner.obj.get("id"))}
            for obj in keep(kind, reader.objects(kind, parents), parents):
                ident = str(obj.get("id"))
                target = ids.get(ident)
                label = target.name if target is not None else ident
                if target is None and kind.create_by_put:
                    result.notes.append(
                        f"{kind.id} {param}={parents[param]} {kind.id_param}={ident} left out: "
                        f"its {kind.id_param} names an object not exported (add its --resource)"
                    )
                    continue
                e = _Entry(
                    _name(f"{owner.name}_{label}", taken),
                    kind,
                    obj,
                    {param: parents[param], kind.id_param: ident},
                    parents,
                )
                entries.append(e)
    # every exported org-level object another one names gets an export of its id
    referenced = set()
    blob = {id(e): json.dumps([desired_of(e.kind, e.obj), e.match], default=str) for e in entries}
    for ident, target in ids.items():
        if any(ident in blob[id(e)] for e in entries if e is not target):
            referenced.add(target.name)
    for e in entries:
        if e.name in referenced:
            alias = _name(e.name.replace("-", "_") + "_id", aliases).replace("-", "_")
            e.alias = alias
    resources = []
    for e in entries:
        desired = _portable(desired_of(e.kind, e.obj), ids, e)
        match = _portable(e.match, ids, e)
        entry: dict[str, Any] = {
            "name": e.name,
            "resource": e.kind.id,
            "match": match,
            "desired": desired,
        }
        if e.kind.has_lifecycle and e.obj.get("status") in ("ACTIVE", "INACTIVE"):
            entry["lifecycle"] = {"status": e.obj["status"]}
        if e.alias is not None:
            entry["exports"] = [{"id": e.alias}]
        resources.append((e, entry))
    resources = _distinct_matches(resources, result)
    order = {e.name: i for i, e in enumerate(_ordered([e for e, _ in resources]))}
    resources.sort(key=lambda pair: order[pair[0].name])
    out = Path(out_dir)
    described = ", ".join(
        k + (f" where {conditions[k]}" if k in conditions else "") for k in wanted
    )
    manifest = {
        "version": 1,
        "name": _name(out.name or "exported", set()),
        "description": f"exported from {described}",
        "providers": ["okta"],
        "globals": [],
        "resources": [entry for _, entry in resources],
    }
    out.mkdir(parents=True, exist_ok=True)
    result.path.write_text(
        "# written by oktaql deploy export: secrets and server-set fields are left out\n"
        + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    )
    result.resources = len(resources)
    return result


__all__ = ["Exported", "desired_of", "export_stack"]
