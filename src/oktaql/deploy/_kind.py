"""How a declarative resource type is read and written, derived from the provider's methods.

``okta.groups.rules`` lists with ``list_group_rules``, creates with its INSERT method, changes
with its REPLACE method, deletes with its DELETE method, and has EXEC methods ending in
``/lifecycle/activate`` and ``/lifecycle/deactivate``. The state rules Okta enforces (a rule
starts out INACTIVE, only an inactive rule can be replaced, an active app can't be deleted)
are read from the methods' own descriptions, which state them in the built-in provider and in
StackQL's, so a provider that documents them gets them handled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from oktaql.catalog import Catalog, suggest
from oktaql.deploy._model import Where
from oktaql.deploy._schema_check import JSON_TYPES, check_body, json_kind
from oktaql.errors import DeployError, Error
from oktaql.provider import Method, Resource
from oktaql.provider._model import BodyField

# fields the server sets on every object: never part of a desired state, never diffed
SERVER_SET = frozenset(
    {
        "id",
        "created",
        "lastUpdated",
        "createdBy",
        "lastUpdatedBy",
        "lastMembershipUpdated",
        "objectClass",
        "orn",
        "system",
        "_links",
        "_embedded",
        "status",  # written as `lifecycle: {status: ...}`, handled by the lifecycle methods
    }
)

_CREATED_INACTIVE = re.compile(
    r"(?i)\bstarts out inactive\b|created with the status set to\W*inactive"
)
_NEEDS_INACTIVE_TO_REPLACE = re.compile(r"(?i)\bonly\b[^.]*\binactive\b")
_FIXED = re.compile(
    r"(?i)(?:can't|cannot|can not) (?:update|change) the\W+(\w+)\W+section|their (\w+) stay as "
    r"they are"
)
_NEEDS_INACTIVE_TO_DELETE = re.compile(
    r"(?i)\b(deactivate it first|deletes an inactive|active)\b|\bonly\b[^.]*\binactive\b"
)


@dataclass(frozen=True)
class Kind:
    """A resource type as the declarative engine uses it."""

    resource: Resource
    lister: Method  # the SELECT method that lists (no id parameter)
    id_param: str  # the path parameter naming one object (its `id`), e.g. groupRuleId
    creator: Method | None  # INSERT, else the REPLACE method that creates by its ids (a PUT)
    replacer: Method | None
    deleter: Method | None
    activator: Method | None
    deactivator: Method | None

    @property
    def id(self) -> str:
        return self.resource.id

    @property
    def parents(self) -> tuple[str, ...]:
        """Parameters the listing needs (e.g. appId of an app's group assignments)."""
        return self.lister.required_params

    @property
    def create_by_put(self) -> bool:
        """Creation is a PUT to the object's own URL (an assignment): it is the replace."""
        return self.creator is not None and self.id_param in self.creator.params

    @property
    def has_lifecycle(self) -> bool:
        return self.activator is not None or self.deactivator is not None

    @property
    def created_inactive(self) -> bool:
        return self.creator is not None and bool(
            _CREATED_INACTIVE.search(self.creator.summary + " " + self.creator.description)
        )

    @property
    def replace_needs_inactive(self) -> bool:
        return self.replacer is not None and bool(
            _NEEDS_INACTIVE_TO_REPLACE.search(self.replacer.description)
        )

    @property
    def delete_needs_inactive(self) -> bool:
        return (
            self.deleter is not None
            and self.deactivator is not None
            and bool(
                _NEEDS_INACTIVE_TO_DELETE.search(
                    self.deleter.summary + " " + self.deleter.description
                )
            )
        )

    @cached_property
    def fixed(self) -> frozenset[str]:
        """Top-level fields the replace can't change (a group rule's ``actions``: "You currently
        can't update the action section"): changing one means delete and create again."""
        if self.replacer is None:
            return frozenset()
        text = self.replacer.summary + " " + self.replacer.description
        words = _FIXED.findall(text)
        fields = self.replacer.body_fields
        out = set()
        for pair in words:
            for w in pair:
                for name in (w, w + "s"):
                    if w and name in fields:
                        out.add(name)
        return frozenset(out)

    @cached_property
    def settable(self) -> frozenset[str] | None:
        """Top-level fields a user may write; None when the body is open (polymorphic)."""
        names: set[str] = set()
        for m in (self.creator, self.replacer):
            if m is None:
                continue
            if m.body_open:
                return None
            names.update(n for n, f in m.body_fields.items() if not f.read_only)
        return frozenset(names - SERVER_SET)

    @property
    def methods_written(self) -> list[Method]:
        """The methods a desired body is sent with: create and replace."""
        return [m for m in (self.creator, self.replacer) if m is not None]

    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.resource.columns]


def _lifecycle(resource: Resource, action: str) -> Method | None:
    for m in resource.methods.values():
        if m.http_method == "POST" and m.path.rstrip("/").endswith(f"/lifecycle/{action}"):
            return m
    return None


def kind_of(catalog: Catalog, dotted: str, where: Where) -> Kind:
    """The kind of ``dotted`` (okta.groups.groups), or one error naming where it was written."""
    try:
        res = catalog.resource(dotted)
    except Error as exc:
        raise DeployError(str(exc), where) from None
    getters = [m for m in res.methods_for("select") if m.http_method == "GET"]
    listers = [m for m in getters if m.is_paged] or getters
    if not listers:
        raise DeployError(f"{dotted} has no SELECT method, so its live state can't be read", where)
    lister = min(listers, key=lambda m: len(m.required_params))
    id_param = None
    for m in getters + res.methods_for("replace") + res.methods_for("delete"):
        extra = [p for p in m.required_params if p not in lister.required_params]
        if len(extra) == 1:
            id_param = extra[0]
            break
    if id_param is None:
        raise DeployError(
            f"{dotted} has no method that names one object by its id, so it can't be managed "
            "declaratively; write it as an .iql resource",
            where,
        )
    inserts = res.methods_for("insert")
    replaces = res.methods_for("replace")
    deletes = res.methods_for("delete")
    creator = (
        inserts[0]
        if inserts
        else next((m for m in replaces if id_param in m.required_params), None)
    )
    return Kind(
        resource=res,
        lister=lister,
        id_param=id_param,
        creator=creator,
        replacer=next((m for m in replaces if id_param in m.required_params), None),
        deleter=next((m for m in deletes if id_param in m.required_params), None),
        activator=_lifecycle(res, "activate"),
        deactivator=_lifecycle(res, "deactivate"),
    )


def _at(where: Where, parent: object, key: str) -> Where:
    """``where`` moved to the line ``key`` is written on in ``parent`` (a manifest mapping)."""
    line = getattr(parent, "key_lines", {}).get(key)
    return Where(where.file, line, where.key) if line else where


def _check_value(
    kind: Kind, path: str, value: object, fields: list[BodyField], where: Where, nested: bool
) -> None:  # where: the line path is written on
    """``value`` written at ``desired.<path>`` against what the API's body schema says is
    there: its JSON type (a list where a string goes), and, where the schema lists an object's
    fields and takes no others, each nested field's name (``profile.nmae``)."""
    if value is None or (isinstance(value, str) and "{{" in value) or not fields:
        return  # null, or a template whose value is only known once rendered
    types = {f.type for f in fields}
    want = [t for t in types if t in JSON_TYPES]
    if len(want) == len(types) and want:
        ok = any(
            isinstance(value, JSON_TYPES[t]) and not (isinstance(value, bool) and t != "boolean")
            for t in want
        )
        if not ok:
            raise DeployError(
                f"desired.{path}: {kind.id} takes {' or '.join(sorted(want))} here, "
                f"not {json_kind(value)} ({value!r})",
                where,
            )
    if not nested or not isinstance(value, dict):
        return
    inner: dict[str, list[BodyField]] = {}
    for f in fields:
        for g in f.fields:
            inner.setdefault(g.name, []).append(g)
    if not inner or any(f.type == "object" and not f.fields for f in fields):
        return  # some method's schema doesn't list this object's fields: anything may go
    for key, v in value.items():
        if key not in inner:
            raise DeployError(
                f"desired.{path}.{key}: {kind.id} has no field {key!r} in {path}"
                f"{suggest(key, inner)}; {path} has {', '.join(sorted(inner))}",
                _at(where, value, key),
            )
        _check_value(kind, f"{path}.{key}", v, inner[key], _at(where, value, key), nested)


def check_fields(kind: Kind, desired: dict[str, object], where: Where) -> None:
    """Desired fields the API can't take fail before any request, naming the field."""
    if desired and kind.creator is None and kind.replacer is None:
        raise DeployError(
            f"{kind.id} has no create or replace method, so desired fields can't be written; "
            "read it with a `type: query` resource instead",
            where,
        )
    allowed = kind.settable
    for name in desired:
        if name in SERVER_SET:
            hint = (
                "write `lifecycle: {status: ...}` instead"
                if name == "status"
                else "the server sets it"
            )
            raise DeployError(f"desired.{name}: {kind.id} can't be given {name!r}: {hint}", where)
        if allowed is not None and name not in allowed:
            raise DeployError(
                f"desired.{name}: {kind.id} has no settable field {name!r}"
                f"{suggest(name, allowed)}; fields: {', '.join(sorted(allowed))}",
                where,
            )
    methods = kind.methods_written
    if check_body(kind.id, methods, desired, where, SERVER_SET):
        return  # Okta's schema of the operation, through the variants the values name
    nested = not any(m.body_open for m in methods)  # a polymorphic body's objects vary
    for name, value in desired.items():
        found = [m.body_fields[name] for m in methods if name in m.body_fields]
        _check_value(kind, name, value, found, _at(where, desired, name), nested)


def check_match(kind: Kind, match: dict[str, object], where: Where) -> None:
    """A match field the objects don't have would never find one (and every build would create
    another): it fails before any request, naming the field."""
    at = Where(where.file, where.line, "match")
    if not match:
        raise DeployError(f"match is empty: name a field of {kind.id} to find the object by", at)
    columns = set(kind.columns)
    for name in match:
        head = name.split(".")[0]
        if head in columns or name in kind.parents or name == kind.id_param:
            continue
        known = sorted(columns | set(kind.parents) | {kind.id_param})
        raise DeployError(
            f"match.{name}: {kind.id} objects have no field {head!r}{suggest(head, known)}",
            at,
        )


def check_exports(kind: Kind, exports: tuple[tuple[str, str], ...], where: Where) -> None:
    """An export of a column the objects don't have would read as nothing (and every resource
    after it would see an empty value): it fails before any request, naming the column."""
    columns = set(kind.columns)
    for column, _alias in exports:
        head = column.split(".")[0]
        if head not in columns and column not in kind.parents:
            raise DeployError(
                f"exports.{column}: {kind.id} objects have no field {head!r}"
                f"{suggest(head, columns)}",
                Where(where.file, where.line, "exports"),
            )
