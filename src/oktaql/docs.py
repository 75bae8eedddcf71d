"""Reference pages for provider resources, generated from the loaded provider.

One Markdown (MDX) page per resource, laid out like the provider reference pages of StackQL's
documentation site: an overview, the fields each ``SELECT`` method returns, the methods with
their required and optional parameters, the parameters, and one SQL example per method, grouped
by statement (``SELECT``, ``INSERT``, ``UPDATE``, ``REPLACE``, ``DELETE``, then ``EXEC`` for the
methods no SQL verb reaches).

Every example binds every parameter its method requires -- the path parameters included -- so
it runs as written once its ``{{ name }}`` placeholders have values (``--var name=value`` on the
command line, or the parameters of ``cursor.execute``). Optional parameters and body fields are
shown too, as in StackQL's pages; drop the lines you do not need.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from oktaql.errors import Error

if TYPE_CHECKING:  # names for annotations only: `oktaql --help` loads this module
    from oktaql.provider import BodyField, Method, Param, Registry, Resource

SECTIONS = ("SELECT", "INSERT", "UPDATE", "REPLACE", "DELETE", "EXEC")
_VERB_SECTIONS = ("select", "insert", "update", "replace", "delete")

_SQL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TEMPLATE_NAME = re.compile(r"^[A-Za-z_]\w*(?:-\w+)*$")
_BARE_TYPES = ("integer", "number", "boolean")


@dataclass(frozen=True)
class Example:
    """One documented statement: the SQL the page shows for ``method`` in ``section``."""

    resource_id: str
    method: str
    section: str  # SELECT | INSERT | UPDATE | REPLACE | DELETE | EXEC
    sql: str


# --- SQL examples ---------------------------------------------------------------------------


def _ident(name: str) -> str:
    """A column or parameter name as SQL: bare when it is a plain word, else double-quoted."""
    if _SQL_NAME.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'


class _Placeholders:
    """Placeholder names of one example: parameters keep their names, body fields too unless
    that would clash with a parameter (or is no valid template name)."""

    def __init__(self, method: Method):
        self.taken: set[str] = set()
        self.params = set(method.params)

    def param(self, p: Param) -> str:
        name = p.name if _TEMPLATE_NAME.match(p.name) else _sanitize(p.name)
        self.taken.add(name)
        return name

    def field(self, bf: BodyField) -> str:
        name = bf.name if _TEMPLATE_NAME.match(bf.name) else _sanitize(bf.name)
        if name in self.params or name in self.taken:
            name = "data__" + _sanitize(bf.name)
        base, n = name, 2
        while name in self.taken:
            name, n = f"{base}_{n}", n + 1
        self.taken.add(name)
        return name


def _sanitize(name: str) -> str:
    out = re.sub(r"\W+", "_", name).strip("_") or "value"
    return out if not out[0].isdigit() else "_" + out


def _value(name: str, ptype: str) -> str:
    """The placeholder as a SQL value: numbers and booleans bare, anything else quoted."""
    if ptype in _BARE_TYPES:
        return "{{ " + name + " }}"
    return "'{{ " + name + " }}'"


def _json_value(name: str, ptype: str) -> str:
    """The placeholder as a JSON value inside ``@@json='...'``."""
    if ptype == "string":
        return '"{{ ' + name + ' }}"'
    return "{{ " + name + " }}"  # numbers, booleans, objects and arrays are JSON text as is


def _ordered_params(method: Method) -> list[Param]:
    """Required parameters (the path ones among them), the server variables, then optional."""
    req = [method.params[n] for n in method.required_params]
    srv = [method.params[n] for n in method.server_params]
    opt = [method.params[n] for n in method.optional_params]
    return req + srv + opt


def _is_required(p: Param) -> bool:
    return p.required or p.location == "server"


def _lines(items: list[str], sep: str = ",") -> list[str]:
    """Join SQL list items one a line, the separator before any trailing comment."""
    out = []
    for i, item in enumerate(items):
        last = i == len(items) - 1
        code, _, comment = item.partition("\0")
        out.append(code + ("" if last else sep) + (f" {comment}" if comment else ""))
    return out


def _with_note(code: str, required: bool, style: str = "--") -> str:
    if not required:
        return code
    return code + ("\0-- required" if style == "--" else " /* required */")


def _where(method: Method, ph: _Placeholders) -> list[str]:
    conds = []
    for p in _ordered_params(method):
        cond = f"{_ident(p.name)} = {_value(ph.param(p), p.type)}"
        conds.append(cond + (" -- required" if _is_required(p) else ""))
    if not conds:
        return []
    return ["WHERE " + conds[0], *("AND " + c for c in conds[1:])]


def _returning(method: Method) -> list[str]:
    if not method.columns:
        return []
    return ["RETURNING", *_lines([_ident(c.name) for c in method.columns])]


def _select_sql(res: Resource, m: Method) -> str:
    ph = _Placeholders(m)
    cols = _lines([_ident(c.name) for c in m.columns]) if m.columns else ["*"]
    return "\n".join(["SELECT", *cols, f"FROM {res.id}", *_where(m, ph), ";"])


def _insert_sql(res: Resource, m: Method) -> str:
    ph = _Placeholders(m)
    names: list[str] = []
    values: list[str] = []
    for bf in _body_fields(m):
        names.append(_ident("data__" + bf.name))
        values.append(_with_note(_value(ph.field(bf), bf.type), bf.required, "/*"))
    for p in _ordered_params(m):
        names.append(_ident(p.name))
        values.append(_with_note(_value(ph.param(p), p.type), _is_required(p), "/*"))
    lines = [f"INSERT INTO {res.id} (", *_lines(names), ")", "SELECT", *_lines(values)]
    return "\n".join([*lines, *_returning(m), ";"])


def _update_sql(res: Resource, m: Method, verb: str) -> str:
    ph = _Placeholders(m)
    sets = [
        _with_note(f"{_ident('data__' + bf.name)} = {_value(ph.field(bf), bf.type)}", bf.required)
        for bf in _body_fields(m)
    ]
    body = _lines(sets) if sets else ["-- nothing to set: this method takes no body fields"]
    lines = [f"{verb} {res.id}", "SET", *body, *_where(m, ph)]
    return "\n".join([*lines, *_returning(m), ";"])


def _delete_sql(res: Resource, m: Method) -> str:
    ph = _Placeholders(m)
    return "\n".join([f"DELETE FROM {res.id}", *_where(m, ph), ";"])


def _exec_sql(res: Resource, m: Method, show_results: bool = False) -> str:
    ph = _Placeholders(m)
    args = [
        _with_note(f"@{p.name}={_value(ph.param(p), p.type)}", _is_required(p))
        for p in _ordered_params(m)
    ]
    # a GET shows its rows anyway; other methods only when asked to
    hint = "/*+ SHOWRESULTS */ " if show_results and m.http_method != "GET" else ""
    lines = [f"EXEC {hint}{res.id}.{m.name}", *_lines(args)]
    fields_of = _body_fields(m)
    if fields_of:
        fields = [f'"{_json(bf.name)}": {_json_value(ph.field(bf), bf.type)}' for bf in fields_of]
        inner = _lines(fields)
        if m.body_is_array:
            lines += ["@@json=", "'[", "{", *inner, "}", "]'"]
        else:
            lines += ["@@json=", "'{", *inner, "}'"]
    return "\n".join([*lines, ";"])


def _json(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', '\\"').replace("'", "''")


def _body_fields(m: Method) -> list[BodyField]:
    """The fields a request body can set (read-only ones left out when the model marks them)."""
    return [bf for bf in m.body_fields.values() if not getattr(bf, "read_only", False)]


def _bound_names(m: Method, section: str) -> set[str]:
    """What an example of ``section`` binds: every parameter, and for writes the body fields."""
    names = set(m.params)
    if section in ("INSERT", "UPDATE", "REPLACE"):
        names |= {"data__" + bf.name for bf in _body_fields(m)}
    return names


def _shadowed_by(res: Resource, m: Method, section: str) -> Method | None:
    """The method the engine would pick instead of ``m`` for the example's bindings (two
    methods taking the same parameters and fields cannot be told apart by SQL), or None."""
    if section == "EXEC" or len(res.methods_for(section.lower())) < 2:
        return None
    from oktaql.planning import choose_method

    try:
        chosen = choose_method(res, section.lower(), _bound_names(m, section))
    except Error:
        return None
    return None if chosen.name == m.name else chosen


def _sql_for(res: Resource, m: Method, section: str) -> str:
    other = _shadowed_by(res, m, section)
    if other is not None:
        note = (
            f"-- with these bindings {section} would run {other.name} (the two take the same "
            f"parameters), so EXEC names {m.name}"
        )
        return note + "\n" + _exec_sql(res, m, show_results=bool(m.columns))
    if section == "SELECT":
        return _select_sql(res, m)
    if section == "INSERT":
        return _insert_sql(res, m)
    if section in ("UPDATE", "REPLACE"):
        return _update_sql(res, m, section)
    if section == "DELETE":
        return _delete_sql(res, m)
    return _exec_sql(res, m)


def _sections(res: Resource) -> list[tuple[str, list[Method]]]:
    """(section, methods) in page order; EXEC gathers the methods under no SQL verb."""
    out = []
    for verb in _VERB_SECTIONS:
        methods = res.methods_for(verb)
        if methods:
            out.append((verb.upper(), methods))
    lifecycle = [m for m in res.methods.values() if m.sql_verb is None]
    if lifecycle:
        out.append(("EXEC", lifecycle))
    return out


def examples(resource: Resource) -> list[Example]:
    """The examples :func:`render_resource_page` shows, one per method and section."""
    return [
        Example(resource.id, m.name, section, _sql_for(resource, m, section))
        for section, methods in _sections(resource)
        for m in methods
    ]


# --- the page -------------------------------------------------------------------------------


def _mdx(text: str) -> str:
    """Text safe inside an MDX table cell or paragraph (no JSX, no stray braces)."""
    text = text.strip().replace("\r\n", "\n")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace("{", "&#123;").replace("}", "&#125;")
    return text.replace("\n", "<br />")


def _code(name: str) -> str:
    return f'<CopyableCode code="{name}" />'


def _tabs(names: list[str]) -> list[str]:
    values = ",\n".join(f"        {{ label: '{n}', value: '{n}' }}" for n in names)
    return [
        "<Tabs",
        f'    defaultValue="{names[0]}"',
        "    values={[",
        values,
        "    ]}",
        ">",
    ]


def _table(head: list[str], rows: Iterable[str]) -> list[str]:
    return [
        "<table>",
        "<thead>",
        "    <tr>",
        *(f"    <th>{h}</th>" for h in head),
        "    </tr>",
        "</thead>",
        "<tbody>",
        *rows,
        "</tbody>",
        "</table>",
    ]


def _row(cells: list[str], attrs: str = "") -> str:
    inner = "\n".join(f"    <td>{c}</td>" for c in cells)
    return f"<tr{attrs}>\n{inner}\n</tr>"


def _verb_phrase(res: Resource) -> str:
    verbs = [s for s, _ in _sections(res)]
    if not verbs:
        return "no statements"
    shown = [f"`{v}`" for v in verbs]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _front_matter(res: Resource) -> list[str]:
    provider = res.id.split(".")[0]
    return [
        "---",
        f"title: {res.name}",
        "hide_title: false",
        "hide_table_of_contents: false",
        "keywords:",
        f"  - {res.name}",
        f"  - {res.service}",
        f"  - {provider}",
        "  - oktaql",
        "  - sql",
        f"description: The {res.id} resource in SQL -- fields, methods, parameters and examples",
        "custom_edit_url: null",
        "---",
        "",
        "import CopyableCode from '@site/src/components/CopyableCode/CopyableCode';",
        "import Tabs from '@theme/Tabs';",
        "import TabItem from '@theme/TabItem';",
        "",
    ]


def _overview(res: Resource) -> list[str]:
    lines = [
        f"The <code>{res.name}</code> resource of the <code>{res.service}</code> service, "
        f"reached with {_verb_phrase(res)}.",
        "",
    ]
    if res.description.strip():
        lines += [_mdx(res.description), ""]
    lines += [
        "## Overview",
        "<table><tbody>",
        f"<tr><td><b>Name</b></td><td><code>{res.name}</code></td></tr>",
        "<tr><td><b>Type</b></td><td>Resource</td></tr>",
        f"<tr><td><b>Id</b></td><td>{_code(res.id)}</td></tr>",
    ]
    if res.title and res.title.lower().replace(" ", "_") != res.name.lower():
        lines.append(f"<tr><td><b>Title</b></td><td>{_mdx(res.title)}</td></tr>")
    lines += ["</tbody></table>", ""]
    return lines


def _fields(res: Resource) -> list[str]:
    lines = ["## Fields", ""]
    selects = res.methods_for("select")
    if not selects:
        lines += [
            f"<code>{res.id}</code> has no `SELECT` method: it returns no rows to query. "
            f"`SHOW METHODS IN {res.id}` lists what it offers.",
            "",
        ]
        return lines
    lines += ["Each `SELECT` method returns these fields, one column each:", ""]
    lines += _tabs([m.name for m in selects])
    for m in selects:
        lines += [f'<TabItem value="{m.name}">', ""]
        if m.summary:
            lines += [_mdx(m.summary), ""]
        if m.columns:
            rows = [
                _row([_code(c.name), f"<code>{c.display_type}</code>", _mdx(c.description)])
                for c in m.columns
            ]
            lines += _table(["Name", "Datatype", "Description"], rows)
        else:
            lines.append("The response declares no fields; `SELECT *` shows what comes back.")
        lines += ["</TabItem>"]
    lines += ["</Tabs>", ""]
    return lines


def _param_links(names: Iterable[str]) -> str:
    return ", ".join(f'<a href="#parameter-{n}"><code>{n}</code></a>' for n in names)


def _methods(res: Resource) -> list[str]:
    lines = ["## Methods", "", f"The methods of <code>{res.id}</code>:", ""]
    rows = []
    for section, methods in _sections(res):
        for m in methods:
            required = [*m.required_params, *m.server_params]
            rows.append(
                _row(
                    [
                        f'<a href="#{m.name}">{_code(m.name)}</a>',
                        _code(section.lower()),
                        _param_links(required),
                        _param_links(m.optional_params),
                        _mdx(m.description),
                    ]
                )
            )
    head = ["Name", "Accessible by", "Required Params", "Optional Params", "Description"]
    return [*lines, *_table(head, rows), ""]


def _all_params(res: Resource) -> list[Param]:
    """Every parameter of the resource once: those some method requires first, then the
    server variables, then the optional ones by name."""
    seen: dict[str, Param] = {}
    required: list[str] = []
    server: list[str] = []
    optional: list[str] = []
    for m in res.methods.values():
        for p in m.params.values():
            if p.name not in seen:
                seen[p.name] = p
            if p.location == "server":
                bucket = server
            elif p.required:
                bucket = required
            else:
                bucket = optional
            if p.name not in bucket:
                bucket.append(p.name)
    order = list(dict.fromkeys(required + server))
    order += sorted((n for n in optional if n not in order), key=str.lower)
    return [seen[n] for n in order]


def _parameters(res: Resource) -> list[str]:
    lines = [
        "## Parameters",
        "",
        "Bind parameters in the `WHERE` clause (`INSERT` names them as columns, `EXEC` as "
        "`@name=` arguments). The [Methods](#methods) table shows which each method requires.",
        "",
    ]
    rows = []
    for p in _all_params(res):
        desc = p.description
        if p.default is not None:
            desc = f"{desc} (default: {p.default})".strip()
        cells = [_code(p.name), f"<code>{p.display_type}</code>", _mdx(desc)]
        rows.append(_row(cells, f' id="parameter-{p.name}"'))
    return [*lines, *_table(["Name", "Datatype", "Description"], rows), ""]


_SECTION_TITLES = {
    "SELECT": "## `SELECT` examples",
    "INSERT": "## `INSERT` examples",
    "UPDATE": "## `UPDATE` examples",
    "REPLACE": "## `REPLACE` examples",
    "DELETE": "## `DELETE` examples",
    "EXEC": "## Lifecycle methods",
}


def _example_sections(res: Resource) -> list[str]:
    lines: list[str] = []
    by_section: dict[str, list[Example]] = {}
    for ex in examples(res):
        by_section.setdefault(ex.section, []).append(ex)
    for section in SECTIONS:
        exs = by_section.get(section)
        if not exs:
            continue
        lines += [_SECTION_TITLES[section], ""]
        if section == "EXEC":
            lines += ["Methods no SQL verb reaches run with `EXEC`:", ""]
        lines += _tabs([e.method for e in exs])
        for ex in exs:
            m = res.methods[ex.method]
            lines += [f'<TabItem value="{ex.method}">', ""]
            if m.description:
                lines += [_mdx(m.description), ""]
            lines += ["```sql", ex.sql, "```", "</TabItem>"]
        lines += ["</Tabs>", ""]
    return lines


def render_resource_page(resource: Resource) -> str:
    """The reference page of ``resource`` (Markdown with the MDX components the site uses)."""
    lines = [
        *_front_matter(resource),
        *_overview(resource),
        *_fields(resource),
        *_methods(resource),
        *_parameters(resource),
        *_example_sections(resource),
    ]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def render_service_index(provider: str, service: str, resources: list[Resource]) -> str:
    lines = [
        "---",
        f"title: {service}",
        "hide_title: false",
        "hide_table_of_contents: false",
        f"description: The resources of the {provider}.{service} service",
        "custom_edit_url: null",
        "---",
        "",
        f"Resources of <code>{provider}.{service}</code> ({len(resources)}):",
        "",
    ]
    for res in sorted(resources, key=lambda r: r.name):
        line = f"- [{res.name}](./{res.name}.md): {_verb_phrase(res)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


# --- command line ---------------------------------------------------------------------------


def _open(registry: str | None) -> Registry:
    """The registry named, else the one a session without ``--registry`` uses (a pulled
    provider, or the built-in one)."""
    from oktaql.provider import open_registry
    from oktaql.registry_pull import pulled_registry

    return open_registry(registry if registry is not None else pulled_registry())


def _resources_of(registry: str | None) -> Iterator[tuple[str, str, list[Resource]]]:
    reg = _open(registry)
    for pname in reg.provider_names():
        prov = reg.provider(pname)
        for sname, svc in prov.services.items():
            yield pname, sname, list(svc.resources.values())


def write_pages(out: Path, registry: str | None, only: Resource | None = None) -> int:
    """Write ``out/<service>/<resource>.md`` (and ``out/<service>/index.md``); returns pages."""
    if only is not None:
        target = out / only.service / f"{only.name}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_resource_page(only), encoding="utf-8")
        return 1
    count = 0
    for pname, sname, resources in _resources_of(registry):
        folder = out / sname
        folder.mkdir(parents=True, exist_ok=True)
        for res in resources:
            (folder / f"{res.name}.md").write_text(render_resource_page(res), encoding="utf-8")
            count += 1
        (folder / "index.md").write_text(
            render_service_index(pname, sname, resources), encoding="utf-8"
        )
    return count


@click.command("docs")
@click.argument("resource", required=False)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    help="Write the pages to DIR/<service>/<resource>.md (every resource unless RESOURCE is "
    "given), with an index.md per service.",
)
@click.option(
    "--registry",
    type=click.Path(file_okay=False),
    help="Load providers from a StackQL registry folder instead of the pulled or built-in one.",
)
def docs_command(resource: str | None, out: str | None, registry: str | None) -> None:
    """Print the reference page of RESOURCE (e.g. okta.apps.tokens), or write all with --out."""
    if resource is None and out is None:
        _fail("name a resource (e.g. oktaql docs okta.apps.tokens) or give --out DIR")
    try:
        found: Resource | None = None
        if resource is not None:
            from oktaql.catalog import Catalog

            found = Catalog(_open(registry)).resource(resource)
        if out is None:
            assert found is not None
            click.echo(render_resource_page(found), nl=False)
            return
        count = write_pages(Path(out), registry, found)
    except Error as exc:
        _fail(str(exc).splitlines()[0])
    except OSError as exc:
        _fail(f"cannot write the pages to {out}: {exc.strerror or exc}")
    click.echo(f"wrote {count} page(s) to {out}", err=True)


def _fail(message: str) -> NoReturn:
    from oktaql._report import fail

    fail(message)


__all__ = ["Example", "docs_command", "examples", "render_resource_page", "write_pages"]
