"""Existing objects → a declarative stack that reproduces them (onboarding a hand-made org).

``export_stack(session, "okta.groups.groups", "profile.name LIKE 'eng%'", out)`` writes
``out/stackql_manifest.yml`` with one declarative resource per object: ``match`` on its
natural key (label, profile.name or name), ``desired`` holding only the fields a user may set
(the provider's writable body fields; never id, created, lastUpdated, _links or a secret),
``lifecycle`` for its status where the type has lifecycle methods. Built on another org, the
stack makes the same objects, and a plan right after shows no change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from oktaql.deploy._bulk import LiveReader
from oktaql.deploy._diff import MISSING, get_path
from oktaql.deploy._kind import SERVER_SET, Kind, kind_of
from oktaql.deploy._model import Where
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
    return out


def _key(obj: dict[str, Any]) -> tuple[str, Any]:
    for k in KEYS:
        v = get_path(obj, k)
        if v is not MISSING and isinstance(v, str) and v:
            return k, v
    raise DeployError(
        f"object {obj.get('id')} has none of {', '.join(KEYS)} to be matched by; "
        "export can't write a match for it"
    )


def _name(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_-").lower() or "object"
    if not base[0].isalpha():
        base = "r_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def export_stack(session: Any, resource: str, where: str | None, out_dir: str | Path) -> Path:
    """Write a declarative stack reproducing ``resource``'s objects (those ``where`` keeps);
    returns the manifest's path. One listing is read, plus the query that applies ``where``."""
    import yaml

    kind = kind_of(session.catalog, resource, Where("--resource", key=resource))
    if kind.parents:
        raise DeployError(
            f"{resource} is listed per {' and '.join(kind.parents)}: export reads org-level "
            "resources (e.g. okta.groups.groups, okta.apps.applications)"
        )
    objects = LiveReader(session).objects(kind, {})
    if where:
        result = session.execute(f"SELECT id FROM {resource} WHERE {where}")
        rows = result.rows if result.rows is not None else result.relation.fetchall()
        keep = {str(r[0]) for r in rows}
        objects = [o for o in objects if str(o.get("id")) in keep]
    out = Path(out_dir)
    taken: set[str] = set()
    resources = []
    for obj in objects:
        if obj.get("type") in ("BUILT_IN", "APP_GROUP") or obj.get("system") is True:
            continue  # Everyone, app-sourced groups, the default zones: never a stack's
        key, value = _key(obj)
        entry: dict[str, Any] = {
            "name": _name(value, taken),
            "resource": resource,
            "match": {key: value},
            "desired": desired_of(kind, obj),
        }
        if kind.has_lifecycle and obj.get("status") in ("ACTIVE", "INACTIVE"):
            entry["lifecycle"] = {"status": obj["status"]}
        resources.append(entry)
    manifest = {
        "version": 1,
        "name": _name(out.name or "exported", set()),
        "description": f"exported from {resource}" + (f" where {where}" if where else ""),
        "providers": ["okta"],
        "globals": [],
        "resources": resources,
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST
    path.write_text(
        "# written by oktaql deploy export: secrets and server-set fields are left out\n"
        + yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    )
    return path
