"""Every SELECT method of StackQL's Okta provider, run against the emulator.

For each resource of ``../shared/okta/stackql-registry`` and each of its ``select`` methods,
the method's path parameters (and required query parameters) are bound with values the
emulator itself lists (``emulator_paths``), and ``SELECT *`` runs through
``oktaql.connect(registry=...)``: every one returns rows or an empty result, never an error.
Skipped when ``../shared`` is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from emulator_paths import path_values

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.emulator._resources import load_spec

REGISTRY = Path(__file__).resolve().parents[2] / "shared" / "okta" / "stackql-registry"
SERVICES = REGISTRY / "src" / "okta" / "v00.00.00000" / "services"
TOKEN = "registry-token"


def _select_methods() -> list[tuple[str, str, str, str]]:
    """(service, resource, method, path template) of every select method, in file order."""
    out = []
    for path in sorted(SERVICES.glob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        for name, res in (doc.get("components", {}).get("x-stackQL-resources") or {}).items():
            for ref in res.get("sqlVerbs", {}).get("select") or []:
                method = ref["$ref"].rsplit("/", 1)[1]
                op_ref = res["methods"][method]["operation"]["$ref"]
                template = op_ref.split("/")[2].replace("~1", "/").replace("~0", "~")
                out.append((path.stem, name, method, template))
    return out


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    if not SERVICES.is_dir():
        pytest.skip(f"../shared reference material not present: {SERVICES} is missing")
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=11)) as running:
        yield running


def _required_query(template: str) -> dict[str, str]:
    get = load_spec().paths.get(template, {}).get("GET")
    out = {}
    for p in get.raw["params"] if get else []:
        if p["in"] == "query" and p["required"]:
            enum = (p.get("schema") or {}).get("enum")
            out[p["name"]] = str(enum[0]) if enum else "1"
    return out


def _sql(service: str, resource: str, binds: dict[str, str]) -> str:
    where = " AND ".join([f"{k} = '{v}'" for k, v in binds.items()] + ["subdomain = 'acme'"])
    return f"SELECT * FROM okta.{service}.{resource} WHERE {where}"


def _run_all(emu: RunningEmulator, registry: str | None) -> tuple[list[str], list[str], int, int]:
    """(failures, unresolved, ran, with rows) over every select method of StackQL's provider."""
    http = httpx.Client(base_url=emu.url, headers={"Authorization": f"SSWS {TOKEN}"})

    def get(url: str) -> tuple[int, Any]:
        resp = http.get(url)
        return resp.status_code, resp.json() if resp.content else None

    conn = oktaql.connect(registry=registry, org_url=emu.url, token=TOKEN)
    failures, unresolved, with_rows, ran = [], [], 0, 0
    for service, resource, method, template in _select_methods():
        values = path_values(template, get)
        if values is None:
            unresolved.append(f"{service}.{resource}.{method} {template}")
            continue
        binds = {**values, **_required_query(template)}
        sql = _sql(service, resource, binds)
        try:
            cur = conn.cursor()
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else []
        except Exception as exc:  # noqa: BLE001 - collected: every failing method is listed
            first = str(exc).splitlines()[0] if str(exc) else repr(exc)
            failures.append(f"{service}.{resource}.{method}: {sql}\n    => {first[:300]}")
            continue
        ran += 1
        with_rows += bool(rows)
    return failures, unresolved, ran, with_rows


def test_every_select_method_of_the_registry_runs(emu: RunningEmulator) -> None:
    methods = _select_methods()
    assert len({(s, r) for s, r, _, _ in methods}) >= 150  # StackQL's resources with a SELECT
    failures, unresolved, ran, with_rows = _run_all(emu, str(REGISTRY))
    assert not failures, f"{len(failures)} of {len(methods)} failed:\n" + "\n".join(failures)
    # every method of every resource ran: an id nothing lists is the spec's example, which
    # the emulator seeds (sessions, factor transactions, identity sources' sessions)
    assert unresolved == []
    assert ran == len(methods)
    assert with_rows >= ran - 3, (with_rows, ran)


def test_every_select_of_the_builtin_provider_runs(emu: RunningEmulator) -> None:
    """The same statements through the built-in provider (same names as StackQL's)."""
    failures, unresolved, ran, with_rows = _run_all(emu, None)
    assert not failures, f"{len(failures)} failed:\n" + "\n".join(failures)
    assert unresolved == []
    assert ran == len(_select_methods())


def test_unknown_resource_ids_are_errors_not_rows(emu: RunningEmulator) -> None:
    """The same path through the registry, with an id the emulator never listed: an error."""
    conn = oktaql.connect(registry=str(REGISTRY), org_url=emu.url, token=TOKEN)
    cur = conn.cursor()
    with pytest.raises(oktaql.Error, match=re.escape("E0000007")):
        cur.execute(
            "SELECT * FROM okta.brands.themes WHERE brandId = 'bndNOSUCHBRAND000000' "
            "AND subdomain = 'acme'"
        )
        cur.fetchall()
