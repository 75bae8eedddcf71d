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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from oktaql.deploy._context import render_value, variables_in
from oktaql.deploy._model import Anchor, Declarative, Resource, Stack, Where
from oktaql.errors import DeployError

MANIFEST = "stackql_manifest.yml"
ANCHORS = ("exists", "statecheck", "create", "update", "createorupdate", "exports", "delete")
_ALIASES = {"preflight": "exists", "postdeploy": "statecheck"}  # stackql-deploy's old names
_OPTIONS: dict[str, type] = {
    "retries": int,
    "retry_delay": float,
    "postdelete_retries": int,
    "postdelete_retry_delay": float,
}
TYPES = ("resource", "query", "multi", "script", "declarative")
_TOP_KEYS = ("version", "name", "description", "providers", "globals", "resources", "exports")
_RESOURCE_KEYS = (
    "name", "type", "file", "props", "exports", "protected", "if", "description", "run",
    "skip_validation", "resource", "match", "desired", "lifecycle",
)  # fmt: skip
_DECLARATIVE_KEYS = ("resource", "match", "desired", "lifecycle")
_PROP_KEYS = ("name", "value", "values", "merge", "description")
BUILTIN_NAMES = ("stack_name", "stack_env", "resource_name")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_RESOURCE_REF = re.compile(
    r"(?i)\b(?:FROM|INTO|UPDATE|REPLACE|EXEC|JOIN)\s+([A-Za-z_]\w*\.[A-Za-z_]\w*\.[A-Za-z_]\w*)"
    r"(\.[A-Za-z_]\w*)?"
)


# --- YAML that remembers lines ---------------------------------------------------------------


class _Map(dict):  # type: ignore[type-arg]
    line: int = 0
    key_lines: dict[Any, int]


class _Seq(list):  # type: ignore[type-arg]
    line: int = 0
    item_lines: list[int]


def _loader(text: str, file: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def mapping(loader: Any, node: Any) -> _Map:
        loader.flatten_mapping(node)
        out = _Map()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | float | bool):
                raise DeployError("a key must be a plain word", Where(file, line))
            if key in out:
                raise DeployError(
                    f"key {key!r} is given twice (first on line {out.key_lines[key]})",
                    Where(file, line, str(key)),
                )
            out[key] = loader.construct_object(value_node, deep=True)
            out.key_lines[key] = line
        return out

    def sequence(loader: Any, node: Any) -> _Seq:
        out = _Seq(loader.construct_object(n, deep=True) for n in node.value)
        out.line = node.start_mark.line + 1
        out.item_lines = [n.start_mark.line + 1 for n in node.value]
        return out

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, sequence)
    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise DeployError(f"not valid YAML: {what}", Where(file, line)) from None
    except yaml.YAMLError as exc:
        raise DeployError(f"not valid YAML: {exc}", Where(file)) from None


def _line(node: Any, key: Any = None) -> int | None:
    if key is not None and isinstance(node, _Map):
        return node.key_lines.get(key, node.line)
    return getattr(node, "line", None) or None


def _suggest(word: str, known: Iterable[str]) -> str:
    from oktaql.catalog import suggest

    return suggest(word, known) or f" (known: {', '.join(known)})"


# --- env files -------------------------------------------------------------------------------


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (dotenv: ``#`` comments, ``export``, quotes) of ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(
            f"--env-file: cannot read it ({exc.strerror or exc})", Where(str(p))
        ) from None
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _NAME.match(key):
            raise DeployError("not KEY=VALUE", Where(str(p), n))
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` options."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _NAME.match(key.strip()):
            raise DeployError(f"-e {pair!r} is not KEY=VALUE (e.g. -e OKTA_ENV=dev)")
        out[key.strip()] = value
    return out


# --- .iql files ------------------------------------------------------------------------------


def parse_iql(text: str, file: str) -> dict[str, Anchor]:
    """The anchored queries of an ``.iql`` file. An anchor starts a line: ``/*+ name */`` or
    ``/*+ name, retries=N, retry_delay=S */``; its query runs to the next anchor."""
    found: dict[str, Anchor] = {}
    current: tuple[str, dict[str, Any], int] | None = None
    body: list[str] = []
    same_line = False

    def close() -> None:
        if current is None:
            return
        name, options, line = current
        text = "".join(body)
        sql = text.strip()
        if not sql:
            raise DeployError("the anchor has no query after it", Where(file, line, name))
        first = line + (0 if same_line else 1) + text[: text.index(sql[0])].count("\n")
        found[name] = Anchor(name, sql, Where(file, line, name), first_line=first, **options)

    for n, line in enumerate(text.splitlines(keepends=True), 1):
        if line.startswith("/*+") and "*/" in line:
            close()
            inner = line[3 : line.index("*/")]
            parts = [p.strip() for p in inner.split(",")]
            name = _ALIASES.get(parts[0], parts[0])
            if name not in ANCHORS:
                raise DeployError(
                    f"unknown anchor /*+ {parts[0]} */{_suggest(parts[0], ANCHORS)}",
                    Where(file, n, parts[0]),
                )
            if name in found or (current is not None and current[0] == name):
                raise DeployError(f"anchor {name} is given twice", Where(file, n, name))
            options: dict[str, Any] = {}
            for part in parts[1:]:
                key, sep, value = (s.strip() for s in part.partition("="))
                if key not in _OPTIONS or not sep:
                    raise DeployError(
                        f"unknown anchor option {part!r}: write "
                        + ", ".join(f"{o}=N" for o in _OPTIONS),
                        Where(file, n, name),
                    )
                try:
                    number = _OPTIONS[key](value)
                except ValueError:
                    number = -1
                if number < 0:
                    raise DeployError(
                        f"{key}={value!r} is not a number of "
                        + ("seconds" if "delay" in key else "attempts"),
                        Where(file, n, name),
                    )
                options[key] = number
            current, body = (name, options, n), []
            after = line[line.index("*/") + 2 :]
            same_line = bool(after.strip())
            if same_line:
                body.append(after)
        elif current is None:
            if line.strip() and not line.strip().startswith("--"):
                raise DeployError(
                    "a query before the first anchor: start it with /*+ create */ or another "
                    "anchor (" + ", ".join(ANCHORS) + ")",
                    Where(file, n),
                )
        else:
            body.append(line)
    close()
    return found


# --- the manifest ----------------------------------------------------------------------------


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
    if not env or not _NAME.match(env):
        raise DeployError(f"STACK_ENV {env!r} is not a name (e.g. dev, prd)")
    doc = _loader(raw_text, mfile)
    if not isinstance(doc, _Map):
        raise DeployError(
            "the manifest must be a mapping (version, name, resources, ...)", Where(mfile, 1)
        )
    for key in doc:
        if key not in _TOP_KEYS:
            raise DeployError(
                f"unknown key{_suggest(str(key), _TOP_KEYS)}",
                Where(mfile, _line(doc, key), str(key)),
            )
    env_vars = dict(env_vars or {})
    name = doc.get("name", root.resolve().name)
    if not isinstance(name, str) or not name.strip():
        raise DeployError("name must be text", Where(mfile, _line(doc, "name"), "name"))
    providers = _strings(doc.get("providers", ["okta"]), mfile, doc, "providers")
    if catalog is not None:
        known = catalog.registry.provider_names()
        for i, p in enumerate(providers):
            if p not in known:
                line = (
                    doc["providers"].item_lines[i]
                    if isinstance(doc.get("providers"), _Seq)
                    else None
                )
                raise DeployError(
                    f"unknown provider {p!r}{_suggest(p, known)}", Where(mfile, line, "providers")
                )
    base: dict[str, Any] = {"stack_name": name, "stack_env": env}
    globals_ = _globals(doc, mfile, env_vars, base)
    resources_node = doc.get("resources", _Seq())
    if not isinstance(resources_node, list):
        raise DeployError(
            "resources must be a list", Where(mfile, _line(doc, "resources"), "resources")
        )
    resources: list[Resource] = []
    seen: dict[str, int] = {}
    for i, node in enumerate(resources_node):
        res = _resource(node, i, root, mfile, env, resources_node, seen, catalog)
        resources.append(res)
    _check_names(resources, set(base) | set(globals_) | {"resource_name"}, mfile)
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
    )


def _strings(value: Any, file: str, parent: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DeployError(f"{key} must be a list of names", Where(file, _line(parent, key), key))
    return list(value)


def _globals(
    doc: _Map, file: str, env_vars: dict[str, str], base: dict[str, Any]
) -> dict[str, Any]:
    node = doc.get("globals", [])
    if not isinstance(node, list):
        raise DeployError(
            "globals must be a list of {name, value}", Where(file, _line(doc, "globals"), "globals")
        )
    out: dict[str, Any] = {}
    for item in node:
        if not isinstance(item, _Map) or "name" not in item or "value" not in item:
            raise DeployError(
                "each global is a mapping with name and value",
                Where(file, _line(item) or _line(doc, "globals"), "globals"),
            )
        gname = item["name"]
        key = f"globals.{gname}"
        where = Where(file, _line(item, "value"), key)
        for extra in item:
            if extra not in ("name", "value", "description"):
                raise DeployError(
                    f"unknown key {extra!r} (a global has name, value, description)",
                    Where(file, _line(item, extra), key),
                )
        if not isinstance(gname, str) or not _NAME.match(gname):
            raise DeployError(
                f"{gname!r} is not a variable name", Where(file, _line(item, "name"), "globals")
            )
        context = {**env_vars, **base, **out}
        for var, _ in _used(item["value"], where).items():
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


def _used(value: Any, where: Where) -> dict[str, int]:
    """Variables a manifest value reads (strings inside dicts and lists too)."""
    if isinstance(value, str):
        return variables_in(value, where)
    found: dict[str, int] = {}
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    for v in items:
        for k, line in _used(v, where).items():
            found.setdefault(k, line)
    return found


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
    line = parent.item_lines[i] if isinstance(parent, _Seq) else None
    if not isinstance(node, _Map):
        raise DeployError(
            "a resource is a mapping with name, file, props, ...",
            Where(mfile, line, f"resources[{i}]"),
        )
    rname = node.get("name")
    if not isinstance(rname, str) or not _NAME.match(rname):
        raise DeployError(
            "a resource needs a name (letters, digits, _ and -)",
            Where(mfile, _line(node, "name"), f"resources[{i}].name"),
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
            Where(mfile, _line(node, "skip_validation"), f"{key}.skip_validation"),
        )
    for k in node:
        if k not in _RESOURCE_KEYS:
            raise DeployError(
                f"unknown key{_suggest(str(k), _RESOURCE_KEYS)}",
                Where(mfile, _line(node, k), f"{key}.{k}"),
            )
    declarative = any(k in node for k in _DECLARATIVE_KEYS)
    rtype = node.get("type", "declarative" if declarative else "resource")
    if rtype not in TYPES:
        raise DeployError(
            f"type {rtype!r} is not one of {', '.join(TYPES)}",
            Where(mfile, _line(node, "type"), f"{key}.type"),
        )
    if declarative and rtype != "declarative":
        raise DeployError(
            f"a declarative resource (resource/match/desired) cannot have type {rtype!r}",
            Where(mfile, _line(node, "type"), f"{key}.type"),
        )
    props, prop_where, prop_merge = _props(node, env, mfile, key)
    exports = _exports(node, mfile, key)
    protected = tuple(_strings(node.get("protected", []), mfile, node, "protected"))
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
    else:
        fname = node.get("file", f"{rname}.iql")
        if not isinstance(fname, str):
            raise DeployError(
                "file must be a file name", Where(mfile, _line(node, "file"), f"{key}.file")
            )
        file = root / "resources" / fname
        shown = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DeployError(
                f"no query file {shown}: write it, or name another with file:",
                Where(mfile, _line(node, "file") if "file" in node else node.line, key),
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DeployError(f"cannot read it ({exc})", Where(shown)) from None
        queries = parse_iql(text, shown)
        _check_anchors(rtype, queries, shown, Where(mfile, node.line, key))
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
    node: _Map, env: str, mfile: str, key: str
) -> tuple[dict[str, Any], dict[str, Where], dict[str, tuple[str, ...]]]:
    items = node.get("props", [])
    if not isinstance(items, list):
        raise DeployError(
            "props must be a list of {name, value}",
            Where(mfile, _line(node, "props"), f"{key}.props"),
        )
    props: dict[str, Any] = {}
    wheres: dict[str, Where] = {}
    merges: dict[str, tuple[str, ...]] = {}
    for j, item in enumerate(items):
        line = items.item_lines[j] if isinstance(items, _Seq) else None
        if not isinstance(item, _Map) or not isinstance(item.get("name"), str):
            raise DeployError(
                "each prop is a mapping with name and value (or values)",
                Where(mfile, line, f"{key}.props"),
            )
        pname = item["name"]
        pkey = f"{key}.props.{pname}"
        if not _NAME.match(pname):
            raise DeployError(f"{pname!r} is not a variable name", Where(mfile, line, pkey))
        if pname in props:
            raise DeployError("prop is given twice", Where(mfile, line, pkey))
        for k in item:
            if k not in _PROP_KEYS:
                raise DeployError(
                    f"unknown key{_suggest(str(k), _PROP_KEYS)}",
                    Where(mfile, _line(item, k), f"{pkey}.{k}"),
                )
        if "value" in item:
            props[pname] = item["value"]
            wheres[pname] = Where(mfile, _line(item, "value"), pkey)
        elif "values" in item:
            values = item["values"]
            if not isinstance(values, _Map):
                raise DeployError(
                    "values maps each environment to {value: ...}",
                    Where(mfile, _line(item, "values"), f"{pkey}.values"),
                )
            chosen = values.get(env)
            if chosen is None:
                raise DeployError(
                    f"no value for environment {env!r} (values has {', '.join(map(str, values)) or 'none'})",
                    Where(mfile, _line(item, "values"), f"{pkey}.values"),
                )
            if not isinstance(chosen, _Map) or "value" not in chosen:
                raise DeployError(
                    f"write values: {{{env}: {{value: ...}}}}",
                    Where(mfile, _line(values, env), f"{pkey}.values.{env}"),
                )
            props[pname] = chosen["value"]
            wheres[pname] = Where(mfile, _line(chosen, "value"), f"{pkey}.values.{env}.value")
        else:
            raise DeployError("a prop needs value or values", Where(mfile, line, pkey))
        if "merge" in item:
            names = item["merge"]
            at = Where(mfile, _line(item, "merge"), f"{pkey}.merge")
            if isinstance(names, str):
                names = [names]
            if not isinstance(names, list) or not all(
                isinstance(n, str) and _NAME.match(n) for n in names
            ):
                raise DeployError(
                    "merge is a list of names: globals or exports of resources above", at
                )
            merges[pname] = tuple(names)
            wheres[f"{pname}.merge"] = at
    return props, wheres, merges


def _exports(node: _Map, mfile: str, key: str) -> tuple[tuple[str, str], ...]:
    items = node.get("exports", [])
    where = Where(mfile, _line(node, "exports"), f"{key}.exports")
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
        if not _NAME.match(pair[1]):
            raise DeployError(f"{pair[1]!r} is not a variable name", where)
        out.append(pair)
    return tuple(out)


def _declarative(node: _Map, mfile: str, key: str, catalog: Any) -> Declarative:
    rid = node.get("resource")
    where = Where(mfile, _line(node, "resource"), f"{key}.resource")
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
            raise DeployError(f"{k} must be a mapping", Where(mfile, _line(node, k), f"{key}.{k}"))
    if not match:
        raise DeployError(
            "match: says how the live object is found, e.g. {profile.name: Engineering}",
            Where(mfile, node.line, key),
        )
    return Declarative(rid, dict(match), dict(desired), dict(lifecycle))


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


def exported_by(resources: Iterable[Resource]) -> dict[str, int]:
    """Each exported name and the index of the first resource exporting it."""
    out: dict[str, int] = {}
    for i, r in enumerate(resources):
        for _, alias in r.exports:
            out.setdefault(alias, i)
    return out


def _check_names(resources: list[Resource], base: set[str], mfile: str) -> None:
    """Every variable each template reads has a value when it runs (exports of resources above
    it; for delete queries, of every resource: teardown reads all exports first)."""
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
            check(i, _used(value, where), where, known)
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
                check(i, _used(getattr(r.declarative, part), where), where, known)
        for anchor in r.queries.values():
            names = variables_in(anchor.sql, anchor.where, anchor.first_line)
            check(
                i, names, anchor.where, known | {"this"}, anchor.name == "delete", anchor.first_line
            )


def _all_names(r: Resource) -> set[str]:
    names: set[str] = set()
    for value in r.props.values():
        names |= set(_used(value, r.where))
    for anchor in r.queries.values():
        if anchor.name != "delete":
            names |= set(variables_in(anchor.sql, anchor.where))
    return names


def _suggest_var(var: str, known: set[str]) -> str:
    from oktaql.catalog import suggest

    return suggest(var, sorted(known))


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
