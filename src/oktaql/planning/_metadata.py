"""SHOW and DESCRIBE: the provider model as rows."""

from __future__ import annotations

import fnmatch
from typing import Any

from oktaql.catalog import Catalog
from oktaql.errors import ProgrammingError
from oktaql.parser import Describe, Show

Rows = tuple[list[str], list[tuple[Any, ...]]]


def _like(pattern: str | None, value: str) -> bool:
    if pattern is None:
        return True
    glob = pattern.replace("*", "[*]").replace("?", "[?]").replace("%", "*").replace("_", "?")
    return fnmatch.fnmatchcase(value.lower(), glob.lower())


def show(stmt: Show, catalog: Catalog) -> Rows:
    if stmt.what == "providers":
        from oktaql.registry_pull import registry_kind

        reg = catalog.registry
        source = registry_kind(reg.root, reg.builtin)  # built-in, pulled or --registry
        rows = []
        for n in reg.provider_names():
            if _like(stmt.like, n):
                p = catalog.provider(n)
                rows.append((p.name, p.version, source, str(p.folder or p.root)))
        return ["name", "version", "source", "path"], rows
    if stmt.what == "services":
        prov = catalog.provider(_need(stmt, 1, "SHOW SERVICES IN okta"))
        cols = ["id", "name", "title"] + (["description"] if stmt.extended else [])
        out = []
        for s in prov.services.values():
            if _like(stmt.like, s.name):
                row: tuple[Any, ...] = (f"{prov.name}.{s.name}", s.name, s.title)
                out.append(row + ((s.description,) if stmt.extended else ()))
        return cols, out
    if stmt.what == "resources":
        target = _need(stmt, 2, "SHOW RESOURCES IN okta.apps")
        pname, sname = target.split(".")
        prov = catalog.provider(pname)
        svc = prov.service(sname)
        if svc is None:
            catalog.resource(f"{pname}.{sname}.x")  # raises with a suggestion
            raise AssertionError
        cols = ["name", "id"] + (["title", "description"] if stmt.extended else [])
        out = []
        for r in svc.resources.values():
            if _like(stmt.like, r.name):
                base: tuple[Any, ...] = (r.name, r.id)
                out.append(base + ((r.title, r.description) if stmt.extended else ()))
        return cols, out
    # methods
    res = catalog.resource(_need(stmt, 3, "SHOW METHODS IN okta.apps.tokens"))
    cols = ["MethodName", "RequiredParams", "OptionalParams", "SQLVerb"]
    if stmt.extended:
        cols += ["HTTPMethod", "Path", "description"]
    out = []
    for m in res.methods.values():
        if not _like(stmt.like, m.name):
            continue
        required = list(m.server_params) + list(m.required_params)
        row = (
            m.name,
            ", ".join(required),
            ", ".join(m.optional_params),
            (m.sql_verb or "exec").upper(),
        )
        if stmt.extended:
            row = row + (m.http_method, m.path, m.summary or m.description)
        out.append(row)
    return cols, out


def _need(stmt: Show, parts: int, example: str) -> str:
    if not stmt.target or len(stmt.target.split(".")) != parts:
        raise ProgrammingError(f"SHOW {stmt.what.upper()} needs a target, e.g. {example}")
    return stmt.target


def describe(stmt: Describe, catalog: Catalog) -> Rows:
    if stmt.method:
        res, m = catalog.method(stmt.target)
        cols = ["name", "kind", "type", "required", "location", "description"]
        rows: list[tuple[Any, ...]] = []
        for p in m.params.values():
            rows.append(
                (p.name, "parameter", p.display_type, p.required, p.location, p.description)
            )
        for f in m.body_fields.values():
            rows.append(
                (
                    f"data__{f.name}",
                    "body field",
                    f.type if not f.format else f"{f.type} ({f.format})",
                    f.required,
                    "body",
                    f.description,
                )
            )
        for c in m.columns:
            rows.append((c.name, "column", c.display_type, False, "response", c.description))
        return cols, rows
    res = catalog.resource(stmt.target)
    if stmt.extended:
        return ["name", "type", "description"], [
            (c.name, c.display_type, c.description) for c in res.columns
        ]
    return ["name", "type"], [(c.name, c.display_type) for c in res.columns]


def show_insert(stmt: Any, catalog: Catalog) -> Rows:
    """A ready INSERT for each insert method: body fields as data__ columns, then parameters."""
    res = catalog.resource(stmt.target)
    methods = res.methods_for("insert")
    if not methods:
        raise ProgrammingError(
            f"{res.id} has no INSERT method; SHOW METHODS IN {res.id} lists what it has"
        )
    rows = []
    for m in methods:
        cols: list[str] = []
        vals: list[str] = []
        for f in m.body_fields.values():
            if (stmt.required_only and not f.required) or f.read_only:
                continue
            cols.append(f"data__{f.name}")
            vals.append(_placeholder(f.name, f.type) + (" /* required */" if f.required else ""))
        for pname in list(m.required_params) + list(m.server_params):
            cols.append(pname)
            vals.append(f"'{{{{ {pname} }}}}'")
        if not stmt.required_only:
            for pname in m.optional_params:
                if m.params[pname].location != "server":
                    cols.append(pname)
                    vals.append(_placeholder(pname, m.params[pname].type))
        sql = f"INSERT INTO {res.id} (\n" + ",\n".join(cols) + "\n)\nSELECT\n" + ",\n".join(vals)
        if m.columns:
            sql += "\nRETURNING\n" + ",\n".join(c.name for c in m.columns)
        rows.append((m.name, sql + "\n;"))
    return ["method", "insert_statement"], rows


def _placeholder(name: str, type_: str) -> str:
    if type_ in ("integer", "number", "boolean"):
        return f"{{{{ {name} }}}}"
    return f"'{{{{ {name} }}}}'"
