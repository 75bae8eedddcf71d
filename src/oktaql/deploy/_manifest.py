"""Reading a stack: ``stackql_manifest.yml`` and ``resources/*.iql``, in stackql-deploy's format.

Everything that can be wrong with a stack is found here, before any request: bad YAML, a key
or anchor nobody knows, a missing file, a resource the provider lacks, a template variable
without a value, an export used before (or by a resource above) the one that sets it. Each is
one :class:`~oktaql.errors.DeployError` naming ``file:line: key``.

Values follow stackql-deploy: env vars (``-e``, ``--env-file``) reach ``globals`` only;
globals, ``stack_name``, ``stack_env``, ``resource_name`` and the exports of resources above
reach props and queries; a prop sees the props above it. Props are rendered when their
resource runs (they may use exports), so :class:`Resource` keeps them as written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from oktaql._secrets import is_secret_name
from oktaql.deploy._anchors import ANCHORS, inline_command, parse_iql
from oktaql.deploy._context import NAME, render_value
from oktaql.deploy._diff import secret_path
from oktaql.deploy._envfile import parse_env_pairs, read_env_file
from oktaql.deploy._model import Anchor, Declarative, Resource, Stack, Where
from oktaql.deploy._names import check_names, exported_by, used
from oktaql.deploy._yaml import Map, Seq, did_you_mean, line_of, load_yaml
from oktaql.errors import DeployError

MANIFEST = "stackql_manifest.yml"
TYPES = ("resource", "query", "multi", "script", "command", "declarative")
_TOP_KEYS = ("version", "name", "description", "providers", "globals", "resources", "exports")
_RESOURCE_KEYS = (
    "name", "type", "file", "sql", "props", "exports", "protected", "if", "description", "run",
    "skip_validation", "resource", "match", "desired", "lifecycle",
)  # fmt: skip
_DECLARATIVE_KEYS = ("resource", "match", "desired", "lifecycle")
_PROP_KEYS = ("name", "value", "values", "merge", "description")
BUILTIN_NAMES = ("stack_name", "stack_env", "resource_name")
_RESOURCE_REF = re.compile(
    r"(?i)\b(?:FROM|INTO|UPDATE|REPLACE|EXEC|JOIN)\s+([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)"
    r"(\.[A-Za-z_]\w*)?"
)


def load_stack(
    stack_dir: str | Path,
    env: str,
    env_vars: Mapping[str, str] | None = None,
    catalog: Any = None,
) -> Stack:
    """The stack in ``stack_dir`` for environment ``env``, checked; ``catalog`` (an
    :class:`oktaql.catalog.Catalog`) checks the resources its queries name."""
    root = Path(stack_dir)
    manifest_path = root / MANIFEST
    mfile = str(manifest_path)
    if not root.is_dir():
        raise DeployError("no such stack directory", Where(str(root)))
    try:
        raw_text = manifest_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(
            f"no {MANIFEST} here: a stack directory holds {MANIFEST} and resources/*.iql "
            "(oktaql deploy init DIR writes a starter one)",
            Where(str(root)),
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeployError(f"cannot read it ({exc})", Where(mfile)) from None
    if not env or not NAME.match(env):
        raise DeployError(f"STACK_ENV {env!r} is not a name (e.g. dev, prd)")
    doc = load_yaml(raw_text, mfile)
    if not isinstance(doc, Map):
        raise DeployError(
            "the manifest must be a mapping (version, name, resources, ...)", Where(mfile, 1)
        )
    for key in doc:
        if key not in _TOP_KEYS:
            raise DeployError(
                f"unknown key{did_you_mean(str(key), _TOP_KEYS)}",
                Where(mfile, line_of(doc, key), str(key)),
            )
    env_vars = dict(env_vars or {})
    name = doc.get("name", root.resolve().name)
    if not isinstance(name, str) or not name.strip():
        raise DeployError("name must be text", Where(mfile, line_of(doc, "name"), "name"))
    providers = _strings(doc.get("providers", ["okta"]), mfile, doc, "providers")
    if catalog is not None:
        known = catalog.registry.provider_names()
        for i, p in enumerate(providers):
            if p not in known:
                line = (
                    doc["providers"].item_lines[i]
                    if isinstance(doc.get("providers"), Seq)
                    else None
                )
                raise DeployError(
                    f"unknown provider {p!r}{did_you_mean(p, known)}",
                    Where(mfile, line, "providers"),
                )
    base: dict[str, Any] = {"stack_name": name, "stack_env": env}
    globals_ = _globals(doc, mfile, env_vars, base)
    resources_node = doc.get("resources", Seq())
    if not isinstance(resources_node, list):
        raise DeployError(
            "resources must be a list", Where(mfile, line_of(doc, "resources"), "resources")
        )
    resources: list[Resource] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(resources_node):
        res = _resource(node, i, root, mfile, env, resources_node, seen, catalog)
        resources.append(res)
    check_names(resources, set(base) | set(globals_) | {"resource_name"}, mfile)
    outputs = _stack_exports(doc, mfile, set(globals_) | set(exported_by(resources)))
    digest = _digest(raw_text, resources, env, env_vars)
    return Stack(
        root=root,
        name=name,
        env=env,
        version=doc.get("version", 1),
        description=str(doc.get("description", "") or ""),
        providers=tuple(providers),
        globals=globals_,
        resources=tuple(resources),
        digest=digest,
        exports=outputs,
    )


STACK_EXPORTS = ("stack_name", "stack_env", "elapsed_time")  # always written, never listed


def _stack_exports(doc: Map, mfile: str, known: set[str]) -> tuple[str, ...]:
    """The manifest's top-level ``exports``: names of globals or resource exports that
    ``--output-file`` writes after a build or test (stackql-deploy's)."""
    node = doc.get("exports", [])
    if not isinstance(node, list) or not all(isinstance(n, str) for n in node):
        raise DeployError(
            "exports must be a list of names (globals or resources' exports)",
            Where(mfile, line_of(doc, "exports"), "exports"),
        )
    out: list[str] = []
    for i, name in enumerate(node):
        line = node.item_lines[i] if isinstance(node, Seq) else line_of(doc, "exports")
        if name in STACK_EXPORTS:
            continue  # written anyway
        if name not in known:
            raise DeployError(
                f"{name!r} is no global and no resource exports it{did_you_mean(name, sorted(known))}",
                Where(mfile, line, "exports"),
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def _strings(value: Any, file: str, parent: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeployError(f"{key} must be a list of names", Where(file, line_of(parent, key), key))
    return list(value)


def _globals(doc: Map, file: str, env_vars: dict[str, str], base: dict[str, Any]) -> dict[str, Any]:
    node = doc.get("globals", [])
    if not isinstance(node, list):
        raise DeployError(
            "globals must be a list of {name, value}",
            Where(file, line_of(doc, "globals"), "globals"),
        )
    out: dict[str, Any] = {}
    for item in node:
        if not isinstance(item, Map) or "name" not in item or "value" not in item:
            raise DeployError(
                "each global is a mapping with name and value",
                Where(file, line_of(item) or line_of(doc, "globals"), "globals"),
            )
        gname = item["name"]
        key = f"globals.{gname}"
        where = Where(file, line_of(item, "value"), key)
        for extra in item:
            if extra not in ("name", "value", "description"):
                raise DeployError(
                    f"unknown key {extra!r} (a global has name, value, description)",
                    Where(file, line_of(item, extra), key),
                )
        if not isinstance(gname, str) or not NAME.match(gname):
            raise DeployError(
                f"{gname!r} is not a variable name", Where(file, line_of(item, "name"), "globals")
            )
        context = {**env_vars, **base, **out}
        for var, _ in used(item["value"], where).items():
            if var not in context:
                raise DeployError(
                    f"{{{{ {var} }}}} has no value: pass it with -e {var}=VALUE or in "
                    "--env-file FILE (env vars reach globals)",
                    where,
                )
        value = render_value(item["value"], context, where)
        if value is None or value == "":
            raise DeployError("a global cannot be empty", where)
        out[gname] = value
    return out


def _resource(
    node: Any,
    i: int,
    root: Path,
    mfile: str,
    env: str,
    parent: Any,
    seen: dict[str, int],
    catalog: Any,
) -> Resource:
    line = parent.item_lines[i] if isinstance(parent, Seq) else None
    if not isinstance(node, Map):
        raise DeployError(
            "a resource is a mapping with name, file, props, ...",
            Where(mfile, line, f"resources[{i}]"),
        )
    rname = node.get("name")
    if not isinstance(rname, str) or not NAME.match(rname):
        raise DeployError(
            "a resource needs a name (letters, digits, _ and -)",
            Where(mfile, line_of(node, "name"), f"resources[{i}].name"),
        )
    key = f"resources.{rname}"
    if rname in seen:
        raise DeployError(
            f"resource {rname!r} is given twice (first on line {seen[rname]})",
            Where(mfile, node.line, key),
        )
    seen[rname] = node.line
    if "skip_validation" in node:
        raise DeployError(
            "skip_validation is not supported: oktaql decides update from statecheck, so "
            "remove the statecheck anchor instead",
            Where(mfile, line_of(node, "skip_validation"), f"{key}.skip_validation"),
        )
    if "auth" in node:
        raise DeployError(
            "auth: (stackql-deploy's per-resource credentials) is not supported: oktaql sends an "
            "org only the credential its config or environment gives that org, never one a "
            "manifest or an export names; put the resources that need another credential or "
            "org in a stack of their own and run it with --profile NAME (a profile of the "
            "config file: org URL and token source)",
            Where(mfile, line_of(node, "auth"), f"{key}.auth"),
        )
    for k in node:
        if k not in _RESOURCE_KEYS:
            raise DeployError(
                f"unknown key{did_you_mean(str(k), _RESOURCE_KEYS)}",
                Where(mfile, line_of(node, k), f"{key}.{k}"),
            )
    declarative = any(k in node for k in _DECLARATIVE_KEYS)
    rtype = node.get("type", "declarative" if declarative else "resource")
    if rtype not in TYPES:
        raise DeployError(
            f"type {rtype!r} is not one of {', '.join(TYPES)}",
            Where(mfile, line_of(node, "type"), f"{key}.type"),
        )
    if declarative and rtype != "declarative":
        raise DeployError(
            f"a declarative resource (resource/match/desired) cannot have type {rtype!r}",
            Where(mfile, line_of(node, "type"), f"{key}.type"),
        )
    props, prop_where, prop_merge = _props(node, env, mfile, key)
    exports = _exports(node, mfile, key)
    protected = tuple(_strings(node.get("protected", []), mfile, node, "protected"))
    # an export of a secret (credentials.oauthClient.client_secret, an alias like api_token) is
    # protected whether or not the manifest says so: it never reaches output or --output-file
    protected += tuple(
        alias
        for column, alias in exports
        if alias not in protected and (secret_path(column) or is_secret_name(alias))
    )
    cond = node.get("if")
    queries: dict[str, Anchor] = {}
    file: Path | None = None
    decl: Declarative | None = None
    run: str | None = None
    if rtype == "declarative":
        decl = _declarative(node, mfile, key, catalog)
    elif rtype == "script":
        run = node.get("run")
        if not isinstance(run, str) or not run.strip():
            raise DeployError(
                "a script resource needs run: the command to run", Where(mfile, node.line, key)
            )
    elif "sql" in node:  # stackql-deploy: a query's anchors, or a command, written inline
        sql, at = node["sql"], Where(mfile, line_of(node, "sql"), f"{key}.sql")
        if rtype == "command" and ("file" in node or not isinstance(sql, str)):
            raise DeployError(
                "sql: holds a command resource's command as text, instead of file: (give one "
                "of them)",
                at,
            )
        if rtype not in ("query", "command") or "file" in node or not isinstance(sql, str):
            raise DeployError(
                "sql: holds a query resource's anchored queries as text (type: query, and no "
                "file:); other resources keep theirs in resources/*.iql",
                at,
            )
        if rtype == "command":
            queries = {"command": inline_command(sql, node.text_lines["sql"], at)}
            if exports:
                raise DeployError(
                    f"a command written inline (sql:) has no /*+ exports */ query to export "
                    f"{', '.join(a for _, a in exports)} from: put the command in "
                    f"resources/{rname}.iql after /*+ command */, with an /*+ exports */ anchor",
                    Where(mfile, line_of(node, "exports"), f"{key}.exports"),
                )
        else:  # padded so that the anchors' lines are the manifest's
            queries = parse_iql("\n" * (node.text_lines["sql"] - 1) + sql, mfile)
        _check_anchors(rtype, queries, f"{key}.sql", Where(mfile, node.line, key))
        if catalog is not None:
            for anchor in queries.values():
                _check_resources(anchor, catalog)
    else:
        fname = node.get("file", f"{rname}.iql")
        if not isinstance(fname, str):
            raise DeployError(
                "file must be a file name", Where(mfile, line_of(node, "file"), f"{key}.file")
            )
        file = root / "resources" / fname
        shown = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            if rtype == "command" and "file" not in node:
                raise DeployError(
                    f"a command resource runs the command in sql: or after /*+ command */ in "
                    f"{shown}, and it has neither: write one of them",
                    Where(mfile, node.line, key),
                ) from None
            raise DeployError(
                f"no query file {shown}: write it, or name another with file:",
                Where(mfile, line_of(node, "file") if "file" in node else node.line, key),
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DeployError(f"cannot read it ({exc})", Where(shown)) from None
        queries = parse_iql(text, shown)
        _check_anchors(rtype, queries, shown, Where(mfile, node.line, key))
        if rtype == "command" and exports and "exports" not in queries:
            raise DeployError(
                f"{shown} has no /*+ exports */ anchor for the exports "
                f"{', '.join(a for _, a in exports)}: add one after the command, or drop exports:",
                Where(mfile, line_of(node, "exports"), f"{key}.exports"),
            )
        if catalog is not None:
            for anchor in queries.values():
                _check_resources(anchor, catalog)
    return Resource(
        name=rname,
        type=rtype,
        where=Where(mfile, node.line, key),
        file=file,
        props=props,
        exports=exports,
        protected=protected,
        condition=cond if isinstance(cond, str) else (None if cond is None else str(cond)),
        declarative=decl,
        queries=queries,
        run=run,
        prop_where=prop_where,
        prop_merge=prop_merge,
    )


def _props(
    node: Map, env: str, mfile: str, key: str
) -> tuple[dict[str, Any], dict[str, Where], dict[str, tuple[str, ...]]]:
    items = node.get("props", [])
    if not isinstance(items, list):
        raise DeployError(
            "props must be a list of {name, value}",
            Where(mfile, line_of(node, "props"), f"{key}.props"),
        )
    props: dict[str, Any] = {}
    wheres: dict[str, Where] = {}
    merges: dict[str, tuple[str, ...]] = {}
    for j, item in enumerate(items):
        line = items.item_lines[j] if isinstance(items, Seq) else None
        if not isinstance(item, Map) or not isinstance(item.get("name"), str):
            raise DeployError(
                "each prop is a mapping with name and value (or values)",
                Where(mfile, line, f"{key}.props"),
            )
        pname = item["name"]
        pkey = f"{key}.props.{pname}"
        if not NAME.match(pname):
            raise DeployError(f"{pname!r} is not a variable name", Where(mfile, line, pkey))
        if pname in props:
            raise DeployError("prop is given twice", Where(mfile, line, pkey))
        for k in item:
            if k not in _PROP_KEYS:
                raise DeployError(
                    f"unknown key{did_you_mean(str(k), _PROP_KEYS)}",
                    Where(mfile, line_of(item, k), f"{pkey}.{k}"),
                )
        if "value" in item and "values" in item:
            raise DeployError(
                f"give value or values, not both (values, line {line_of(item, 'values')}, "
                "would be ignored): value holds for every environment, values one each",
                Where(mfile, line_of(item, "value"), pkey),
            )
        if "value" in item:
            props[pname] = item["value"]
            wheres[pname] = Where(mfile, line_of(item, "value"), pkey)
        elif "values" in item:
            values = item["values"]
            if not isinstance(values, Map):
                raise DeployError(
                    "values maps each environment to {value: ...}",
                    Where(mfile, line_of(item, "values"), f"{pkey}.values"),
                )
            chosen = values.get(env)
            if chosen is None:
                raise DeployError(
                    f"no value for environment {env!r} (values has {', '.join(map(str, values)) or 'none'})",
                    Where(mfile, line_of(item, "values"), f"{pkey}.values"),
                )
            if not isinstance(chosen, Map) or "value" not in chosen:
                raise DeployError(
                    f"write values: {{{env}: {{value: ...}}}}",
                    Where(mfile, line_of(values, env), f"{pkey}.values.{env}"),
                )
            props[pname] = chosen["value"]
            wheres[pname] = Where(mfile, line_of(chosen, "value"), f"{pkey}.values.{env}.value")
        else:
            raise DeployError("a prop needs value or values", Where(mfile, line, pkey))
        if "merge" in item:
            names = item["merge"]
            at = Where(mfile, line_of(item, "merge"), f"{pkey}.merge")
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list) or not all(
                isinstance(n, str) and NAME.match(n) for n in names
            ):
                raise DeployError(
                    "merge is a list of names: globals or exports of resources above", at
                )
            merges[pname] = tuple(names)
            wheres[f"{pname}.merge"] = at
    return props, wheres, merges


def _exports(node: Map, mfile: str, key: str) -> tuple[tuple[str, str], ...]:
    items = node.get("exports", [])
    where = Where(mfile, line_of(node, "exports"), f"{key}.exports")
    if not isinstance(items, list):
        raise DeployError("exports must be a list of names or {column: name}", where)
    out: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str):
            pair = (item, item)
        elif isinstance(item, dict) and len(item) == 1:
            column, alias = next(iter(item.items()))
            pair = (str(column), str(alias))
        else:
            raise DeployError(
                f"{item!r} is no export: write a column name or {{column: name}}", where
            )
        if not NAME.match(pair[1]):
            raise DeployError(f"{pair[1]!r} is not a variable name", where)
        out.append(pair)
    return tuple(out)


def _declarative(node: Map, mfile: str, key: str, catalog: Any) -> Declarative:
    rid = node.get("resource")
    where = Where(mfile, line_of(node, "resource"), f"{key}.resource")
    if not isinstance(rid, str):
        raise DeployError("resource names the provider resource, e.g. okta.groups.groups", where)
    if catalog is not None:
        from oktaql.errors import ProgrammingError

        try:
            catalog.resource(rid)
        except ProgrammingError as exc:
            raise DeployError(str(exc), where) from None
    match = node.get("match", {})
    desired = node.get("desired", {})
    lifecycle = node.get("lifecycle", {})
    for k, v in (("match", match), ("desired", desired), ("lifecycle", lifecycle)):
        if not isinstance(v, dict):
            raise DeployError(
                f"{k} must be a mapping", Where(mfile, line_of(node, k), f"{key}.{k}")
            )
    if not match:
        raise DeployError(
            "match: says how the live object is found, e.g. {profile.name: Engineering}",
            Where(mfile, node.line, key),
        )
    return Declarative(rid, dict(match), desired, dict(lifecycle))  # desired keeps its lines


def _check_anchors(rtype: str, queries: dict[str, Anchor], file: str, at: Where) -> None:
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise DeployError(f"{file}: a {rtype} resource's query file needs {what}", at)

    if rtype in ("resource", "multi"):
        need(
            "create" in queries or "createorupdate" in queries,
            "a /*+ create */ or /*+ createorupdate */ anchor",
        )
        if "createorupdate" not in queries:
            need(
                any(a in queries for a in ("exists", "statecheck")),
                "a /*+ exists */ or /*+ statecheck */ anchor (how it tells whether the object is there)",
            )
    elif rtype == "query":
        need("exports" in queries, "an /*+ exports */ anchor")
    elif rtype == "command":
        need("command" in queries, "a /*+ command */ anchor (or write the command inline: sql:)")
        for name, anchor in queries.items():
            if name not in ("command", "exports"):
                raise DeployError(
                    f"a command resource runs only its /*+ command */ (then /*+ exports */), on "
                    f"build; /*+ {name} */ would never run (test and teardown skip commands, as "
                    "stackql-deploy's do): remove it, or make the resource type: resource",
                    anchor.where,
                )
    if rtype != "command" and "command" in queries:
        raise DeployError(
            f"/*+ command */ belongs to a type: command resource; this one is type {rtype}",
            queries["command"].where,
        )


def _check_resources(anchor: Anchor, catalog: Any) -> None:
    from oktaql.errors import ProgrammingError
    from oktaql.parser import blank_comments

    text = blank_comments(anchor.sql)[0]
    for m in _RESOURCE_REF.finditer(text):
        rid, method = m.group(1), m.group(2)
        if rid.split(".")[0].lower() not in catalog.registry.provider_names():
            continue  # a DuckDB schema.table.column, not a provider resource
        line = anchor.first_line + anchor.sql.count("\n", 0, m.start())
        try:
            if method and m.group(0).upper().startswith("EXEC"):
                catalog.method(rid + method)
            else:
                catalog.resource(rid)
        except ProgrammingError as exc:
            raise DeployError(str(exc), Where(anchor.where.file, line, anchor.name)) from None


def _digest(manifest: str, resources: list[Resource], env: str, env_vars: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    h.update(manifest.encode())
    h.update(env.encode())
    for r in resources:
        for a in r.queries.values():
            h.update(f"{r.name}/{a.name}\0{a.sql}\0".encode())
    for k in sorted(env_vars):
        h.update(f"{k}={env_vars[k]}\0".encode())
    return h.hexdigest()


__all__ = [
    "ANCHORS",
    "BUILTIN_NAMES",
    "MANIFEST",
    "exported_by",
    "load_stack",
    "parse_env_pairs",
    "parse_iql",
    "read_env_file",
]
