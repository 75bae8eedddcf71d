"""Columns of polymorphic objects: the union over a discriminator's subtypes, for any provider.

Okta's apps, policies, policy rules and network zones are polymorphic: an app's ``name`` and
``settings`` live on its signOnMode's subtype, a rule's ``actions`` on its policy type's, a
zone's ``locations`` on the DYNAMIC ones. Steampipe's documented questions over these tables
are answered here with the built-in provider and with StackQL's (whose documents name the
subtypes but leave their schemas out: their columns come from Okta's spec), against the
emulator, with the emulator's own data as the truth.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from oktaql.provider import Doc

TOKEN = "poly-token"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=5)) as running:
        yield running


@pytest.fixture(params=["built-in", "stackql"])
def conn(
    request: pytest.FixtureRequest, emu: RunningEmulator, stackql_registry: Path
) -> oktaql.Connection:
    registry = stackql_registry if request.param == "stackql" else None
    return oktaql.connect(org_url=emu.url, token=TOKEN, registry=registry)


def _rows(conn: oktaql.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


def _api(emu: RunningEmulator, path: str) -> Any:
    resp = httpx.get(emu.url + path, headers={"Authorization": f"SSWS {TOKEN}"})
    resp.raise_for_status()
    return resp.json()


def test_subtype_columns_are_described(conn: oktaql.Connection) -> None:
    cat = conn.session.catalog
    want = {
        "okta.apps.applications": {"name": "string", "settings": "object"},
        "okta.policies.policy_rules": {"actions": "object", "conditions": "object"},
        "okta.policies.policies": {"settings": "object"},
        # an array on DYNAMIC zones, {include, exclude} on DYNAMIC_V2 ones: JSON
        "okta.zones.network_zones": {"locations": "object", "proxyType": "string"},
    }
    for rid, cols in want.items():
        columns = cat.resource(rid).columns
        have = {c.name: c.type for c in columns}
        assert {n: have.get(n) for n in cols} == cols, rid
        names = [c.name for c in columns]
        assert len(names) == len(set(names)), rid  # the base's columns once


def test_apps_by_name(conn: oktaql.Connection, emu: RunningEmulator) -> None:
    rows = _rows(
        conn,
        "SELECT id, label, signOnMode FROM okta.apps.applications "
        "WHERE name = 'oidc_client' ORDER BY id",
    )
    want = sorted(
        (a["id"], a["label"], a["signOnMode"]) for a in emu.org.apps if a["name"] == "oidc_client"
    )
    assert rows == want and len(want) >= 2
    counts = _rows(
        conn, "SELECT name, count(*) FROM okta.apps.applications GROUP BY name ORDER BY name"
    )
    by_name: dict[str, int] = {}
    for a in emu.org.apps:
        by_name[a["name"]] = by_name.get(a["name"], 0) + 1
    assert counts == sorted(by_name.items())


def test_policy_rules_actions(conn: oktaql.Connection, emu: RunningEmulator) -> None:
    policies = _api(emu, "/api/v1/policies?type=OKTA_SIGN_ON")
    want = sorted(
        (r["id"], r["actions"]["signon"]["access"])
        for p in policies
        for r in _api(emu, f"/api/v1/policies/{p['id']}/rules")
    )
    rows = _rows(
        conn,
        "SELECT r.id, r.actions->>'$.signon.access' FROM okta.policies.policy_rules r "
        "WHERE r.policyId IN (SELECT id FROM okta.policies.policies WHERE type = 'OKTA_SIGN_ON') "
        "ORDER BY r.id",
    )
    assert rows == want and want


def test_password_policies_settings(conn: oktaql.Connection, emu: RunningEmulator) -> None:
    want = sorted(
        (p["id"], p["settings"]["password"]["complexity"]["minLength"])
        for p in _api(emu, "/api/v1/policies?type=PASSWORD")
    )
    rows = _rows(
        conn,
        "SELECT id, CAST(settings->>'$.password.complexity.minLength' AS INTEGER) "
        "FROM okta.policies.policies WHERE type = 'PASSWORD' ORDER BY id",
    )
    assert rows == want and want


def test_zones_locations(conn: oktaql.Connection, emu: RunningEmulator) -> None:
    zones = _api(emu, "/api/v1/zones")
    want = sorted(
        (z["name"], json.dumps(z["locations"], separators=(",", ":")))
        for z in zones
        if z.get("locations") is not None
    )
    rows = _rows(
        conn,
        "SELECT name, CAST(locations AS VARCHAR) FROM okta.zones.network_zones "
        "WHERE locations IS NOT NULL ORDER BY name",
    )
    assert [(n, json.loads(v)) for n, v in rows] == [(n, json.loads(v)) for n, v in want]
    assert any(json.loads(v).get("include") for _, v in want)  # a zone with countries


# --- the document mechanism ----------------------------------------------------------------


def _doc(schemas: str) -> Doc:
    import yaml

    return Doc(
        "mem.yaml",
        yaml.safe_load(
            "components:\n  schemas:\n" + textwrap.indent(textwrap.dedent(schemas), "    ")
        ),
    )


def test_base_subtype_base_cycle_counts_the_base_once_and_conflicts_become_json() -> None:
    doc = _doc(
        """\
        Zone:
          type: object
          properties:
            id: {type: string}
            type: {type: string}
            created: {type: string, format: date-time}
          discriminator:
            propertyName: type
            mapping:
              IP: '#/components/schemas/IpZone'
              DYN: DynZone
        IpZone:
          allOf:
          - $ref: '#/components/schemas/Zone'
          - properties:
              gateways: {type: array, items: {type: string}}
              locations: {type: string}
              seen: {type: string, format: date-time}
        DynZone:
          allOf:
          - $ref: '#/components/schemas/Zone'
          - properties:
              locations: {type: array, items: {type: object}}
              seen: {type: string}
          discriminator:
            propertyName: type
            mapping:
              BACK: '#/components/schemas/Zone'
              NONE: '#/components/schemas/Missing'
        """
    )
    flat = doc.flatten_polymorphic({"$ref": "#/components/schemas/Zone"}, "/x")
    props = flat["properties"]
    assert list(props) == ["id", "type", "created", "gateways", "locations", "seen"]
    assert doc.describe_type(props["locations"], "/x") == ("object", None)  # string vs array
    assert doc.describe_type(props["seen"], "/x") == ("string", None)  # formats differ
    assert doc.describe_type(props["created"], "/x") == ("string", "date-time")
    assert doc.describe_type(props["gateways"], "/x") == ("array", None)


def test_a_discriminator_fan_out_is_read_once_per_schema() -> None:
    """Each of 30 levels maps to both schemas of the next (and back to the base): 2**30
    visits if a subtype were read once per path to it; each is read once. Levels deeper than
    the nesting bound are left out, as a subtype that cannot be read is."""
    import time

    rows = []
    for i in range(30):
        for side in "ab":
            rows.append(
                f"L{i}{side}:\n  properties:\n    p{i}{side}: {{type: integer}}\n"
                f"  discriminator:\n    propertyName: t\n    mapping:\n"
                f"      A: L{i + 1}a\n      B: L{i + 1}b\n      BASE: L0a\n"
            )
    rows.append("L30a:\n  properties: {end: {type: string}}\n")
    rows.append("L30b:\n  properties: {end: {type: integer}}\n")
    doc = _doc("".join(rows))
    start = time.monotonic()
    props = doc.flatten_polymorphic({"$ref": "#/components/schemas/L0a"}, "/x")["properties"]
    assert time.monotonic() - start < 2
    assert len(props) == 1 + 29 * 2 + 1  # p0a, p1a..p29b, end once
    assert doc.describe_type(props["end"], "/x") == ("object", None)  # string vs integer
    deep = "".join(
        f"D{i}:\n  properties: {{d{i}: {{type: string}}}}\n"
        f"  discriminator: {{propertyName: t, mapping: {{X: D{i + 1}}}}}\n"
        for i in range(100)
    )
    props = _doc(deep).flatten_polymorphic({"$ref": "#/components/schemas/D0"}, "/x")
    assert 30 < len(props["properties"]) < 40


def test_request_bodies_take_the_subtypes_fields_in_both_providers(stackql_registry: Path) -> None:
    """One mechanism for columns and body fields: StackQL's create methods describe the
    subtype fields (an app's settings, a zone's locations) as the built-in ones do, read-only
    ones marked so that SHOW INSERT leaves them out."""
    fields = []
    for registry in (None, stackql_registry):
        cat = oktaql.connect(registry=registry, org_url="http://127.0.0.1:9").session.catalog
        app = cat.method("okta.apps.applications.create_application")[1]
        zone = cat.method("okta.zones.network_zones.create_network_zone")[1]
        fields.append(
            (
                {n: (f.type, f.required) for n, f in app.body_fields.items()},
                {n for n, f in zone.body_fields.items() if not f.read_only},
            )
        )
    assert fields[0][0] == fields[1][0]
    assert fields[0][0]["settings"] == ("object", False) and fields[0][0]["name"][0] == "string"
    assert {"locations", "proxyType", "gateways", "asns"} <= fields[1][1]
    assert "system" not in fields[1][1]
    assert fields[1][1] - {"_links"} == fields[0][1]
