"""The names a stack's templates read, and whether each has a value when it runs: a global,
stack_name/stack_env/resource_name, a prop of the resource (one above it), or an export of a
resource above it (for delete queries, of any resource: teardown reads every export first).
A name without a value, an export read above its resource, a cycle: one error naming file,
line and key, before any request."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from oktaql.deploy._context import variables_in
from oktaql.deploy._model import Resource, Where
from oktaql.errors import DeployError


def used(value: Any, where: Where) -> dict[str, int]:
    """Variables a manifest value reads (strings inside dicts and lists too)."""
    if isinstance(value, str):
        return variables_in(value, where)
    found: dict[str, int] = {}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for v in items:
        for k, line in used(v, where).items():
            found.setdefault(k, line)
    return found


def exported_by(resources: Iterable[Resource]) -> dict[str, int]:
    """Each exported name and the index of the first resource exporting it."""
    out: dict[str, int] = {}
    for i, r in enumerate(resources):
        for _, alias in r.exports:
            out.setdefault(alias, i)
    return out


def check_names(resources: list[Resource], base: set[str], mfile: str) -> None:
    """Every variable each template reads has a value when it runs (exports of resources above
    it; for delete queries, of every resource: teardown reads all exports first)."""
    for r in resources:  # an export named as a global would hide it from its own resource
        for _, alias in r.exports:
            if alias in base:
                raise DeployError(
                    f"exports: {alias!r} is also a global (or stack_name, stack_env, "
                    "resource_name): the export would replace it, even in this resource's own "
                    f"queries; name the export another way ({{column: {alias}_out}})",
                    Where(mfile, r.where.line, f"{r.where.key}.exports"),
                )
    exporters = exported_by(resources)
    uses: dict[int, set[int]] = {}  # resource -> the resources whose exports it reads

    def check(
        i: int,
        names: dict[str, int],
        where: Where,
        known: set[str],
        anywhere: bool = False,
        first_line: int | None = None,
    ) -> None:
        for var, rel in names.items():
            line = where.line
            if first_line is not None:
                line = first_line + rel - 1
            at = Where(where.file, line, where.key)
            if var in known:
                continue
            j = exporters.get(var)
            if j is not None and (j < i or anywhere):
                uses.setdefault(i, set()).add(j)
                continue
            r = resources[i]
            if j is not None:
                other = resources[j]
                cycle = any(exporters.get(v) == i for v in _all_names(other))
                detail = (
                    f"'{other.name}' reads '{r.name}''s exports too: a cycle, break it"
                    if cycle
                    else f"move '{other.name}' above '{r.name}'"
                )
                if j == i:
                    detail = "a resource's queries cannot read its own exports before they run: capture it with exists (SELECT id ...) and use {{ this.id }}"
                raise DeployError(
                    f"{{{{ {var} }}}} is exported by resource '{other.name}' ({other.where}), "
                    f"which runs after '{r.name}': {detail}",
                    at,
                )
            raise DeployError(
                f"{{{{ {var} }}}} has no value: it is no global, prop of '{r.name}', or export "
                "of a resource above it"
                + _suggest_var(var, known | {k for k, v in exporters.items() if v < i}),
                at,
            )

    for i, r in enumerate(resources):
        known = set(base)
        for pname, value in r.props.items():
            where = r.prop_where.get(pname, r.where)
            check(i, used(value, where), where, known)
            merged = r.prop_merge.get(pname, ())
            if merged:
                at = r.prop_where.get(f"{pname}.merge", where)
                check(i, dict.fromkeys(merged, at.line or 0), at, known)
            known.add(pname)
        if r.condition is not None:
            where = Where(mfile, r.where.line, f"{r.where.key}.if")
            check(i, variables_in(r.condition, where), where, known)
        if r.run is not None:
            where = Where(mfile, r.where.line, f"{r.where.key}.run")
            check(i, variables_in(r.run, where), where, known)
        if r.declarative is not None:
            for part in ("match", "desired", "lifecycle"):
                where = Where(mfile, r.where.line, f"{r.where.key}.{part}")
                check(i, used(getattr(r.declarative, part), where), where, known)
        for anchor in r.queries.values():
            names = variables_in(anchor.sql, anchor.where, anchor.first_line)
            check(
                i, names, anchor.where, known | {"this"}, anchor.name == "delete", anchor.first_line
            )


def _all_names(r: Resource) -> set[str]:
    names: set[str] = set()
    for value in r.props.values():
        names |= set(used(value, r.where))
    for anchor in r.queries.values():
        if anchor.name != "delete":
            names |= set(variables_in(anchor.sql, anchor.where))
    return names


def _suggest_var(var: str, known: set[str]) -> str:
    from oktaql.catalog import suggest

    return suggest(var, sorted(known))


__all__ = ["check_names", "exported_by", "used"]
