"""Planning cases from tests/fixtures/plans.yaml, through EXPLAIN (nothing is sent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import oktaql

CASES = yaml.safe_load((Path(__file__).parent / "fixtures" / "plans.yaml").read_text())


def _params() -> list[Any]:
    out = []
    for case in CASES:
        regs = ["builtin", "stackql"] if case["registry"] == "both" else [case["registry"]]
        for reg in regs:
            out.append(pytest.param(case, reg, id=f"{reg}: {case['name']}"))
    return out


@pytest.mark.parametrize(("case", "registry"), _params())
def test_plan(case: dict[str, Any], registry: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue("stackql_registry") if registry == "stackql" else None
    conn = oktaql.connect(registry=path)
    cur = conn.cursor()
    if "error" in case:
        with pytest.raises(oktaql.Error) as info:
            cur.execute("EXPLAIN " + case["sql"])
        assert type(info.value).__name__ == case["error"]["type"]
        assert str(info.value) == case["error"]["message"]
        return
    cur.execute("EXPLAIN " + case["sql"])
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    requests = [r for r in rows if r["method"]]
    assert len(requests) == len(case["requests"]), rows
    for got, want in zip(requests, case["requests"], strict=True):
        assert got["method"] == want["method"]
        assert got["url"] == want["url"]
        if "operation" in want:
            assert got["operation"] == want["operation"]
        if "body" in want:
            assert json.loads(got["body"]) == want["body"]
        assert json.loads(got["headers"])["Authorization"] == "SSWS ***"
