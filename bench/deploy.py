"""What a deploy plan costs: oktaql's bulk reads vs a per-resource refresh (one GET each).

    .venv/bin/python bench/deploy.py              # 10 / 150 / 1,000 groups + group rules
    .venv/bin/python bench/deploy.py --sizes 10   # some sizes only

For each size N the emulator (100 ms per response, as a remote org) holds N groups and N
group rules (rule i assigns to group i, ACTIVE), made over plain HTTP; the stack declares all
2N as declarative resources. Measured: ``plan`` on that built stack (every resource ``none``),
its requests counted at the emulator, wall seconds; then what a per-resource refresh sends,
one ``GET /groups/{id}`` and ``GET /groups/rules/{id}`` per resource, 10 at a time (Terraform's
default ``-parallelism``), against the same emulator. Prints a Markdown table.

The emulator runs in this process (a thread); its work per request is tiny next to the 100 ms
it waits, which it waits without holding the GIL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

TOKEN = "bench-token"
LATENCY_MS = 100.0


def _stack(n: int) -> Any:
    from oktaql.deploy._model import Declarative, Resource, Stack, Where

    resources = []
    for i in range(n):
        name = f"team-{i:04}"
        resources.append(
            Resource(
                f"g{i}",
                "declarative",
                Where("bench", i),
                exports=(("id", f"g{i}_id"),),
                declarative=Declarative(
                    "okta.groups.groups",
                    {"profile.name": name},
                    {"profile": {"name": name, "description": f"Team {i}"}},
                ),
            )
        )
        resources.append(
            Resource(
                f"r{i}",
                "declarative",
                Where("bench", i),
                declarative=Declarative(
                    "okta.groups.rules",
                    {"name": f"rule-{i:04}"},
                    {
                        "type": "group_rule",
                        "name": f"rule-{i:04}",
                        "conditions": {
                            "expression": {
                                "value": f'user.department=="D{i}"',
                                "type": "urn:okta:expression:1.0",
                            }
                        },
                        "actions": {
                            "assignUserToGroups": {"groupIds": ["{{ g" + str(i) + "_id }}"]}
                        },
                    },
                    {"status": "ACTIVE"},
                ),
            )
        )
    return Stack(Path("bench"), "bench", "prd", 1, "", ("okta",), {}, tuple(resources))


def _populate(url: str, n: int) -> tuple[list[str], list[str]]:
    groups, rules = [], []
    with httpx.Client(base_url=url, headers={"Authorization": f"SSWS {TOKEN}"}) as api:
        for i in range(n):
            g = api.post(
                "/api/v1/groups",
                json={"profile": {"name": f"team-{i:04}", "description": f"Team {i}"}},
            ).json()
            groups.append(g["id"])
            r = api.post(
                "/api/v1/groups/rules",
                json={
                    "type": "group_rule",
                    "name": f"rule-{i:04}",
                    "conditions": {
                        "expression": {
                            "value": f'user.department=="D{i}"',
                            "type": "urn:okta:expression:1.0",
                        }
                    },
                    "actions": {"assignUserToGroups": {"groupIds": [g["id"]]}},
                },
            ).json()
            api.post(f"/api/v1/groups/rules/{r['id']}/lifecycle/activate")
            rules.append(r["id"])
    return groups, rules


def measure(n: int) -> dict[str, Any]:
    from oktaql.deploy._declarative import plan_resources
    from oktaql.emulator import EmulatorConfig, start_in_thread
    from oktaql.session import Session

    config = EmulatorConfig(token=TOKEN)
    emu = start_in_thread(config)
    try:
        groups, rules = _populate(emu.url, n)
        config.latency_ms = LATENCY_MS  # read per request: from now on a remote org
        stack = _stack(n)
        session = Session(org_url=emu.url, token=TOKEN)
        context = {"stack_name": "bench", "stack_env": "prd"}
        emu.request_log.clear()
        start = time.perf_counter()
        changes = plan_resources(session, stack, stack.resources, context)
        plan_s = time.perf_counter() - start
        assert all(c.action == "none" for c in changes), [c for c in changes if c.action != "none"]
        plan_requests = len(emu.request_log)
        session.close()

        paths = [f"/api/v1/groups/{g}" for g in groups] + [
            f"/api/v1/groups/rules/{r}" for r in rules
        ]
        emu.request_log.clear()
        with httpx.Client(
            base_url=emu.url,
            headers={"Authorization": f"SSWS {TOKEN}"},
            limits=httpx.Limits(max_connections=10),
        ) as api:
            start = time.perf_counter()
            with ThreadPoolExecutor(10) as pool:
                codes = list(pool.map(lambda p: api.get(p).status_code, paths))
            refresh_s = time.perf_counter() - start
        assert codes == [200] * len(paths)
        return {
            "n": n,
            "resources": 2 * n,
            "plan_requests": plan_requests,
            "plan_s": plan_s,
            "refresh_requests": len(emu.request_log),
            "refresh_s": refresh_s,
        }
    finally:
        emu.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,150,1000")
    args = ap.parse_args()
    os.environ.setdefault("XDG_DATA_HOME", tempfile.mkdtemp(prefix="oktaql-bench-"))
    rows = [measure(int(s)) for s in args.sizes.split(",")]
    print(
        "| groups + rules | resources | oktaql plan: requests | seconds "
        "| per-resource refresh: requests | seconds (10 in parallel) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['n']:,} + {r['n']:,} | {r['resources']:,} | {r['plan_requests']:,} "
            f"| {r['plan_s']:.2f} | {r['refresh_requests']:,} | {r['refresh_s']:.2f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
