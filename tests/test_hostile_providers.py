"""Hostile providers: a registry is another party's text, and reading it must stay safe.

Each case is a small provider written into a temporary registry. A malformed or hostile one
gives exactly one ``ConfigError`` naming the file and the JSON pointer of the place, and the
cases that used to take the machine (a self-including ``allOf``, a billion-laughs document,
an alias cycle, deep nesting) run in a child process under a 1 GB address-space limit and a
timeout. The parse cache holds data only and is trusted only when this user alone can write it.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import oktaql
from oktaql.provider import open_registry

PROVIDER = """\
id: okta
name: okta
version: v1
providerServices:
  apps:
    title: apps API
    service:
      $ref: okta/v1/services/apps.yaml
"""

SERVICE = """\
openapi: 3.0.3
info:
  title: apps
  version: '1'
servers:
- url: https://{subdomain}.okta.com/
  variables:
    subdomain:
      default: acme
paths:
  /api/v1/apps/{appId}/tokens:
    get:
      operationId: listTokens
      parameters:
      - name: appId
        in: path
        required: true
        schema:
          type: string
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: array
                items:
                  $ref: '#/components/schemas/Token'
components:
  schemas:
    Token:
      type: object
      properties:
        id:
          type: string
        clientId:
          type: string
  x-stackQL-resources:
    tokens:
      id: okta.apps.tokens
      name: tokens
      title: tokens
      methods:
        list:
          operation:
            $ref: '#/paths/~1api~1v1~1apps~1{appId}~1tokens/get'
          response:
            mediaType: application/json
            openAPIDocKey: '200'
      sqlVerbs:
        select:
        - $ref: '#/components/x-stackQL-resources/tokens/methods/list'
"""

TOKEN = """\
    Token:
      type: object
      properties:
        id:
          type: string
        clientId:
          type: string
"""
METHODS = """\
      methods:
        list:
          operation:
            $ref: '#/paths/~1api~1v1~1apps~1{appId}~1tokens/get'
          response:
            mediaType: application/json
            openAPIDocKey: '200'
"""
RESOURCES = "#/components/x-stackQL-resources/tokens"


def make_registry(
    root: Path, service: str = SERVICE, provider: str = PROVIDER
) -> tuple[Path, Path]:
    """A registry at ``root``; returns (its root, the apps service file)."""
    vdir = root / "src" / "okta" / "v1"
    (vdir / "services").mkdir(parents=True, exist_ok=True)
    (vdir / "provider.yaml").write_text(provider)
    apps = vdir / "services" / "apps.yaml"
    apps.write_text(service)
    return root, apps


def with_schema(token: str) -> str:
    assert TOKEN in SERVICE
    return SERVICE.replace(TOKEN, token)


def with_methods(methods: str) -> str:
    assert METHODS in SERVICE
    return SERVICE.replace(METHODS, methods)


def config_error(root: Path, sql: str = "DESCRIBE okta.apps.tokens") -> str:
    with pytest.raises(oktaql.ConfigError) as info:
        oktaql.connect(registry=root).cursor().execute(sql)
    return str(info.value)


def test_the_corpus_base_provider_works(tmp_path: Path) -> None:
    root, _ = make_registry(tmp_path)
    cur = oktaql.connect(registry=root).cursor()
    cur.execute("DESCRIBE okta.apps.tokens")
    assert cur.fetchall() == [("id", "string"), ("clientId", "string")]


# --- the parse cache: data only, and only when it is ours alone -----------------------------


class _Payload:
    """Unpickling it creates the marker file: the proof that a pickle ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.marker, "w"))


def _load_apps(root: Path) -> list[tuple[Any, ...]]:
    cur = oktaql.connect(registry=root).cursor()
    cur.execute("DESCRIBE okta.apps.tokens")
    return cur.fetchall()


def test_a_file_planted_in_the_cache_never_runs_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(cache))
    root, apps = make_registry(tmp_path / "reg")
    expected = _load_apps(root)  # a cold run: fills the cache
    written = [p for p in cache.rglob("*") if p.is_file()]
    assert written, "the cold run cached nothing"
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    # the predictable keys, today's and the pickle format's, and every file the run wrote
    raw = apps.read_bytes()
    planted = set(written) | {
        cache / (hashlib.sha256(b"oktaql-yaml-2" + raw).hexdigest() + ".pickle"),
    }
    for target in planted:
        target.write_bytes(payload)
        target.chmod(0o600)
    try:
        again = _load_apps(root)
    finally:
        assert not marker.exists(), "a planted cache file ran code"
    assert again == expected
    for p in cache.rglob("*.json"):  # rebuilt as JSON: data, readable by any JSON parser
        json.loads(p.read_bytes())


def test_cache_files_are_json_and_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(cache))
    root, _ = make_registry(tmp_path / "reg")
    _load_apps(root)
    assert stat.S_IMODE(cache.stat().st_mode) & 0o077 == 0
    files = list(cache.iterdir())
    assert files and all(p.suffix == ".json" for p in files)
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert isinstance(json.loads(p.read_bytes()), dict)


def _tamper(cache: Path, mode: int) -> None:
    """Point every cached document's servers at another host, with ``mode``."""
    for p in cache.rglob("*.json"):
        doc = json.loads(p.read_bytes())
        if "servers" in doc:
            doc["servers"] = [{"url": "https://attacker.example/"}]
        p.write_text(json.dumps(doc))
        p.chmod(mode)


def _server_url(root: Path) -> str:
    svc = open_registry(root).provider("okta").services["apps"]
    return svc.resources["tokens"].methods["list"].server_url


def test_a_cache_file_others_can_write_is_ignored_and_rebuilt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(cache))
    root, _ = make_registry(tmp_path / "reg")
    assert _server_url(root) == "https://{subdomain}.okta.com/"
    _tamper(cache, 0o600)
    # the check is about who can write, not about content: our own file is read back
    assert _server_url(root) == "https://attacker.example/"
    _tamper(cache, 0o666)
    assert _server_url(root) == "https://{subdomain}.okta.com/"
    for p in cache.rglob("*.json"):  # written anew, owner-only
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert "attacker" not in p.read_text()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs chown")
def test_a_cache_file_of_another_user_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(cache))
    root, _ = make_registry(tmp_path / "reg")
    _server_url(root)
    _tamper(cache, 0o644)
    for p in cache.rglob("*.json"):
        os.chown(p, 4242, 4242)
    assert _server_url(root) == "https://{subdomain}.okta.com/"


def test_a_shared_cache_dir_gets_a_private_folder_inside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # like /tmp: anyone may put files here
    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(shared))
    root, _ = make_registry(tmp_path / "reg")
    assert _server_url(root) == "https://{subdomain}.okta.com/"
    private = shared / f"oktaql-{os.getuid()}"
    assert [p.name for p in shared.iterdir()] == [private.name]
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    # files someone planted in the shared folder itself, under the right names, are not read
    for p in private.glob("*.json"):
        doc = json.loads(p.read_bytes())
        if "servers" in doc:
            doc["servers"] = [{"url": "https://attacker.example/"}]
        (shared / p.name).write_text(json.dumps(doc))
        p.unlink()
    assert _server_url(root) == "https://{subdomain}.okta.com/"
    assert any(private.glob("*.json"))  # rebuilt where it belongs


def test_cold_and_warm_reads_give_the_same_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from oktaql.provider._yamlcache import load_yaml

    monkeypatch.setenv("OKTAQL_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "x.yaml"
    f.write_text(
        "responses:\n  200: {description: ok}\n  default: {}\n"
        "when: 2024-01-05\nstamp: 2024-01-05T10:00:00Z\nflag: {true: 1}\n"
        "tags: !!set {b: null, a: null}\nblob: !!binary aGVsbG8=\nn: 7\nf: 1.5\n"
    )
    cold = load_yaml(f)
    warm = load_yaml(f)
    assert (
        cold
        == warm
        == {
            "responses": {"200": {"description": "ok"}, "default": {}},
            "when": "2024-01-05",
            "stamp": "2024-01-05T10:00:00+00:00",
            "flag": {"true": 1},
            "tags": ["a", "b"],
            "blob": "aGVsbG8=",
            "n": 7,
            "f": 1.5,
        }
    )


# --- hostile documents: bounded time and memory, one ConfigError with file and pointer -----

# each runs `oktaql exec`/`oktaql docs` in a child limited to 1 GB of address space
_CHILD = textwrap.dedent(
    """\
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from oktaql.cli import main
    sys.argv = ["oktaql", *sys.argv[1:]]
    main()
    """
)


def run_limited(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA_")}
    return subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def assert_one_error(proc: subprocess.CompletedProcess[str], place: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "MemoryError" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert place in lines[0], lines[0]
    return lines[0]


def _laughs(levels: int = 9) -> str:
    rows = ["x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        rows.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "".join(f"  {r}\n" for r in rows)


BOMBS = {
    # every branch includes the schema itself: each statement used to run for ever
    "self_allof": (
        with_schema(
            "    Token:\n      allOf:\n"
            + "".join("      - $ref: '#/components/schemas/Token'\n" for _ in range(3))
        ),
        "#/components/schemas/Token",
        "includes this schema itself",
    ),
    "mutual_allof": (
        with_schema(
            "    Token:\n      allOf:\n      - $ref: '#/components/schemas/B'\n"
            "    B:\n      allOf:\n      - $ref: '#/components/schemas/Token'\n"
            "      - $ref: '#/components/schemas/Token'\n"
        ),
        "#/components/schemas/",
        "includes this schema itself",
    ),
    "ref_chain_cycle": (
        with_schema(
            "    Token:\n      $ref: '#/components/schemas/B'\n"
            "    B:\n      $ref: '#/components/schemas/Token'\n"
        ),
        "#/components/schemas/Token",
        "$ref chain does not end",
    ),
    # a billion "lol"s from ~1 kB: the description of the operation used to take 2 GB
    "billion_laughs": (
        SERVICE.replace("  title: apps\n", "  title: apps\n" + _laughs()).replace(
            "      operationId: listTokens\n",
            "      operationId: listTokens\n      description: *l8\n",
        ),
        "services/apps.yaml#/info/x-l",
        "expands to more than",
    ),
    "alias_cycle": (
        SERVICE.replace("  title: apps\n", "  title: apps\n  x-loop: &loop [a, *loop]\n"),
        "services/apps.yaml#/info/x-loop",
        "cycle",
    ),
    "deep_nesting": (
        SERVICE.replace(
            "  title: apps\n", "  title: apps\n  x-deep: " + "[" * 900 + "]" * 900 + "\n"
        ),
        "services/apps.yaml#/info/x-deep/0/0/0",
        "nest deeper than",
    ),
}


@pytest.mark.parametrize("case", list(BOMBS))
def test_hostile_document_fails_fast_in_bounded_memory(case: str, tmp_path: Path) -> None:
    service, pointer, words = BOMBS[case]
    root, apps = make_registry(tmp_path / "reg", service)
    proc = run_limited(
        "exec",
        "EXPLAIN SELECT id FROM okta.apps.tokens WHERE appId = 'x'",
        "--org-url",
        "https://acme.okta.com",
        "--registry",
        str(root),
        timeout=30,
    )
    line = assert_one_error(proc, pointer)
    assert str(apps) in line and words in line


def test_an_allof_fan_out_without_a_cycle_is_read_once_per_schema(tmp_path: Path) -> None:
    # 40 levels, each including the next twice: 2**40 visits without memoising, ~80 with
    levels = "".join(
        f"    L{i}:\n      allOf:\n      - $ref: '#/components/schemas/L{i + 1}'\n"
        f"      - $ref: '#/components/schemas/L{i + 1}'\n"
        for i in range(30)
    )
    token = (
        "    Token:\n      allOf:\n      - $ref: '#/components/schemas/L0'\n"
        + levels
        + "    L30:\n      properties:\n        id:\n          type: string\n"
    )
    root, _ = make_registry(tmp_path / "reg", with_schema(token))
    proc = run_limited("exec", "DESCRIBE okta.apps.tokens", "--registry", str(root), timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "id" in proc.stdout and "string" in proc.stdout


def test_docs_of_malformed_methods_is_one_error_with_the_pointer(tmp_path: Path) -> None:
    root, apps = make_registry(
        tmp_path / "reg", with_methods("      methods:\n      - 1\n      - 2\n")
    )
    proc = run_limited("docs", "okta.apps.tokens", "--registry", str(root), timeout=30)
    line = assert_one_error(proc, f"{apps}{RESOURCES}/methods")
    assert "must be a mapping, not a list" in line


MALFORMED = {
    "methods_a_list": (
        with_methods("      methods:\n      - 1\n"),
        f"{RESOURCES}/methods",
        "methods must be a mapping, not a list",
    ),
    "method_a_string": (
        with_methods("      methods:\n        list: oops\n"),
        f"{RESOURCES}/methods/list",
        "must be a mapping, not the string 'oops'",
    ),
    "operation_ref_not_a_path": (
        with_methods("      methods:\n        list:\n          operation:\n            $ref: 42\n"),
        f"{RESOURCES}/methods/list/operation",
        "is not '#/paths/<path>/<verb>'",
    ),
    "operation_not_in_document": (
        with_methods(
            "      methods:\n        list:\n          operation:\n"
            "            $ref: '#/paths/~1nowhere/get'\n"
        ),
        f"{RESOURCES}/methods/list/operation",
        "GET /nowhere is not in the document",
    ),
    "response_a_list": (
        SERVICE.replace(
            "          response:\n            mediaType: application/json\n"
            "            openAPIDocKey: '200'\n",
            "          response: [1]\n",
        ),
        f"{RESOURCES}/methods/list/response",
        "response must be a mapping, not a list",
    ),
    "resources_a_string": (
        SERVICE.split("  x-stackQL-resources:")[0] + "  x-stackQL-resources: nope\n",
        "#/components/x-stackQL-resources",
        "must be a mapping",
    ),
    "parameters_a_mapping": (
        SERVICE.replace(
            "      parameters:\n      - name: appId\n        in: path\n        required: true\n"
            "        schema:\n          type: string\n",
            "      parameters:\n        appId: 1\n",
        ),
        "#/paths/~1api~1v1~1apps~1{appId}~1tokens/get/parameters",
        "parameters must be a list",
    ),
    "remote_ref": (
        SERVICE.replace(
            "                  $ref: '#/components/schemas/Token'",
            "                  $ref: 'https://attacker.example/schema.json'",
        ),
        "#/paths/~1api~1v1~1apps~1{appId}~1tokens/get/responses/200/content/"
        "application~1json/schema/items/$ref",
        "only local $refs",
    ),
    "ref_does_not_resolve": (
        SERVICE.replace(
            "                  $ref: '#/components/schemas/Token'",
            "                  $ref: '#/components/schemas/Nope'",
        ),
        "#/paths/~1api~1v1~1apps~1{appId}~1tokens/get/responses/200/content/"
        "application~1json/schema/items/$ref",
        "does not resolve (no 'Nope')",
    ),
    "not_yaml": ("paths: [unclosed\n", "", "is not valid YAML"),
    "not_a_document": ("- just\n- a list\n", "", "is not an OpenAPI document"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_service_is_one_config_error_with_file_and_pointer(
    case: str, tmp_path: Path
) -> None:
    service, pointer, words = MALFORMED[case]
    root, apps = make_registry(tmp_path / "reg", service)
    message = config_error(root)
    assert f"{apps}{pointer}" in message and words in message, message


def _provider_with_ref(ref: str) -> str:
    return PROVIDER.replace("$ref: okta/v1/services/apps.yaml", f"$ref: {ref}")


def _outside(tmp_path: Path) -> Path:
    """A valid service file outside the provider's folder."""
    out = tmp_path / "outside" / "apps.yaml"
    out.parent.mkdir()
    out.write_text(SERVICE)
    return out


@pytest.mark.parametrize(
    "ref",
    [
        "ABSOLUTE",
        "okta/v1/../../../../outside/apps.yaml",
        "okta/v1/services/../../../../../outside/apps.yaml",
        "../../outside/apps.yaml",
        "other/v1/services/apps.yaml",
        "file:///etc/hostname",
    ],
)
def test_a_service_ref_may_name_only_a_file_in_the_providers_folder(
    ref: str, tmp_path: Path
) -> None:
    outside = _outside(tmp_path)
    ref = str(outside) if ref == "ABSOLUTE" else ref
    root, _ = make_registry(tmp_path / "reg", provider=_provider_with_ref(ref))
    message = config_error(root, "SHOW SERVICES IN okta")
    provider_yaml = root / "src" / "okta" / "v1" / "provider.yaml"
    assert f"{provider_yaml}#/providerServices/apps/service/$ref" in message, message
    assert "inside the provider's own folder" in message


def test_etc_hostname_as_a_service_ref_is_refused(tmp_path: Path) -> None:
    root, _ = make_registry(tmp_path / "reg", provider=_provider_with_ref("/etc/hostname"))
    message = config_error(root, "SHOW SERVICES IN okta")
    assert "#/providerServices/apps/service/$ref" in message
    hostname = Path("/etc/hostname")
    if hostname.is_file() and hostname.read_text().strip():
        assert hostname.read_text().strip() not in message.replace("/etc/hostname", "")


def test_a_service_file_that_links_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    root, apps = make_registry(tmp_path / "reg")
    apps.unlink()
    apps.symlink_to(outside)
    message = config_error(root)
    assert "#/providerServices/apps/service/$ref" in message
    assert "leads out of" in message and "symbolic link" in message


def test_a_link_that_stays_inside_the_folder_is_fine(tmp_path: Path) -> None:
    root, apps = make_registry(tmp_path / "reg")
    real = apps.with_name("apps-real.yaml")
    apps.rename(real)
    apps.symlink_to(real.name)
    cur = oktaql.connect(registry=root).cursor()
    cur.execute("DESCRIBE okta.apps.tokens")
    assert cur.fetchall() == [("id", "string"), ("clientId", "string")]


@pytest.mark.parametrize(
    ("provider", "pointer", "words"),
    [
        ("id: okta\nproviderServices: [apps]\n", "#/providerServices", "must be a mapping"),
        ("providerServices:\n  apps: 3\n", "#/providerServices/apps", "must be a mapping"),
        (
            "providerServices:\n  apps:\n    service: {}\n",
            "#/providerServices/apps/service",
            "no service $ref",
        ),
        ("providerServices: {}\nconfig:\n  auth: [x]\n", "#/config/auth", "must be a mapping"),
    ],
)
def test_malformed_provider_yaml_names_the_pointer(
    provider: str, pointer: str, words: str, tmp_path: Path
) -> None:
    root, _ = make_registry(tmp_path / "reg", provider=provider)
    message = config_error(root, "SHOW SERVICES IN okta")
    assert f"{root / 'src' / 'okta' / 'v1' / 'provider.yaml'}{pointer}" in message, message
    assert words in message


def test_the_stackql_registry_reads_within_every_bound(stackql_registry: Path) -> None:
    """The limits leave real providers alone: every method of StackQL's 55 services builds."""
    prov = open_registry(stackql_registry).provider("okta")
    methods = sum(len(r.methods) for s in prov.services.values() for r in s.resources.values())
    assert len(prov.services) == 55 and methods > 600


_ODD_VALUES: list[Any] = [
    None,
    0,
    "x",
    [],
    {},
    [1, "a"],
    {"a": 1},
    True,
    {"$ref": "#/components/schemas/Token"},
    {"$ref": "#/nope"},
    {"$ref": 3},
    [{"$ref": "#/components/schemas/Token"}],
]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for k, v in items:
        yield from _paths(v, (*path, k))


def test_randomly_broken_providers_give_oktaql_errors_never_tracebacks(tmp_path: Path) -> None:
    """Any value anywhere replaced by one of the wrong kind: an oktaql error (a ConfigError
    naming the file, or the statement's own error), never another exception."""
    import copy
    import random

    from oktaql.catalog import Catalog
    from oktaql.docs import render_resource_page

    base = yaml.safe_load(SERVICE)
    places = list(_paths(base))[1:]
    rng = random.Random(1406)
    config_errors = 0
    for i in range(120):
        doc = copy.deepcopy(base)
        for _ in range(rng.randint(1, 3)):
            *parents, last = rng.choice(places)
            node = doc
            try:
                for k in parents:
                    node = node[k]
                node[last] = copy.deepcopy(rng.choice(_ODD_VALUES))
            except (KeyError, IndexError, TypeError):
                pass  # an earlier replacement took the path away
        root, apps = make_registry(tmp_path / str(i), json.dumps(doc))
        for step in ("describe", "docs"):
            try:
                if step == "docs":
                    render_resource_page(Catalog(open_registry(root)).resource("okta.apps.tokens"))
                else:
                    oktaql.connect(registry=root).cursor().execute("DESCRIBE okta.apps.tokens")
            except oktaql.ConfigError as exc:
                assert f"{apps}#/" in str(exc), str(exc)
                config_errors += 1
            except oktaql.Error as exc:
                assert not isinstance(exc, oktaql.InternalError), (exc, doc)
    assert config_errors > 50  # the mutations do reach the document's structure
