"""Parity of the built-in Okta provider with StackQL's Okta provider and Okta's API spec.

Plain pyyaml, no engine: the built-in provider must expose every service and resource of
StackQL's provider with the same methods, HTTP calls, parameters (path-level ones included),
SQL verb mapping and columns (so queries port 1:1); every call, parameter, column and OAuth
scope must be the Management API spec's; its prose must be our own; and it must be what
tools/build_okta_provider.py builds today.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import oktaql

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
BUILTIN_ROOT = REPO / "src" / "oktaql" / "registry" / "src"
BUILTIN = BUILTIN_ROOT / "okta" / "v0.1.0"
STACKQL = SHARED / "okta" / "stackql-registry" / "src" / "okta" / "v00.00.00000"
MGMT = SHARED / "okta" / "management-minimal.yaml"

VERBS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Methods of a StackQL resource that the built-in provider leaves out on purpose:
# {"<svc>.<resource>": {"<method>", ...}}.  Empty: every covered resource is complete.
OMITTED_METHODS: dict[str, set[str]] = {}
# StackQL resources of a covered service that the built-in provider leaves out: {"<svc>.<res>"}.
OMITTED_RESOURCES: set[str] = set()
PROSE_KEYS = ("description", "summary", "title")


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


def need_shared() -> None:
    if not STACKQL.is_dir() or not MGMT.is_file():
        pytest.skip(f"../shared reference material not present: {SHARED}")


@functools.cache
def provider() -> dict:
    return load(BUILTIN / "provider.yaml")


@functools.cache
def ours(svc: str) -> dict:
    ref = provider()["providerServices"][svc]["service"]["$ref"]
    return load(BUILTIN_ROOT / ref)


@functools.cache
def theirs(svc: str) -> dict:
    return load(STACKQL / "services" / f"{svc}.yaml")


@functools.cache
def mgmt() -> dict:
    return load(MGMT)


SERVICES = list(provider()["providerServices"])


# ----- OpenAPI helpers ----------------------------------------------------------------------


def pointer(doc: dict, ref: str) -> Any:
    assert ref.startswith("#/"), f"only local refs expected: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(doc: dict, node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def merged(doc: dict, node: Any) -> dict:
    """$ref resolved and allOf members merged (properties united, first keyword wins)."""
    node = deref(doc, node) or {}
    out = {k: v for k, v in node.items() if k not in ("allOf", "properties")}
    props: dict = {}
    for member in node.get("allOf", []):
        sub = merged(doc, member)
        props.update(sub.get("properties", {}))
        for k, v in sub.items():
            if k != "properties":
                out.setdefault(k, v)
    props.update(node.get("properties") or {})
    if props:
        out["properties"] = props
    return out


def type_of(doc: dict, node: Any) -> tuple[str | None, str | None]:
    sch = merged(doc, node)
    if sch.get("type"):
        return sch["type"], sch.get("format")
    if sch.get("properties") or "additionalProperties" in sch:
        return "object", None
    kinds = {type_of(doc, m) for m in sch.get("oneOf") or sch.get("anyOf") or []}
    return kinds.pop() if len(kinds) == 1 else (None, None)


def columns_of(doc: dict, node: Any) -> dict[str, tuple]:
    """Column name -> (type, format) of a row schema, through allOf/oneOf/anyOf."""
    sch = merged(doc, node)
    out: dict[str, tuple] = {}
    for member in (sch.get("oneOf") or []) + (sch.get("anyOf") or []):
        for k, v in columns_of(doc, member).items():
            out.setdefault(k, v)
    for k, v in (sch.get("properties") or {}).items():
        out[k] = type_of(doc, v)
    return out


def operation(doc: dict, method: dict) -> tuple[str, str, dict, dict]:
    ref = method["operation"]["$ref"]
    head, verb = ref.rsplit("/", 1)
    item = pointer(doc, head)
    return verb, head.split("/")[-1].replace("~1", "/").replace("~0", "~"), item, item[verb]


def param_names(doc: dict, item: dict, op: dict) -> list[str]:
    params = [deref(doc, p) for p in item.get("parameters", []) + op.get("parameters", [])]
    names = sorted(p["name"] for p in params)
    for server in doc.get("servers", []):
        names += sorted(server.get("variables", {}))
    return names


def response_columns(doc: dict, method: dict) -> dict[str, tuple]:
    _, _, _, op = operation(doc, method)
    resp = method["response"]
    answer = deref(doc, op.get("responses", {}).get(resp.get("openAPIDocKey", ""), {}))
    schema = ((answer.get("content") or {}).get(resp.get("mediaType", "")) or {}).get("schema")
    if schema is None:
        return {}
    for key in filter(None, re.split(r"[.\[\]*$]+", resp.get("objectKey", ""))):
        schema = merged(doc, schema).get("properties", {}).get(key, {})
    sch = merged(doc, schema)
    if sch.get("type") == "array":
        schema = sch.get("items", {})
    return columns_of(doc, schema)


def body_fields(doc: dict, op: dict) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Request body fields -> (type, format): the body schema's own, and those that only
    its polymorphic subtypes (discriminator mapping) add. Subtypes that do not resolve are
    skipped, as an engine must skip them."""
    body = deref(doc, op.get("requestBody") or {})
    content = body.get("content") or {}
    media = "application/json" if "application/json" in content else next(iter(content), None)
    if media is None:
        return {}, {}
    schema = content[media].get("schema") or {}
    sch = merged(doc, schema)
    if sch.get("type") == "array":
        schema = sch.get("items") or {}
        sch = merged(doc, schema)
    own = columns_of(doc, schema)
    extra: dict[str, tuple] = {}
    for ref in ((sch.get("discriminator") or {}).get("mapping") or {}).values():
        try:
            variant = columns_of(doc, {"$ref": ref})
        except KeyError:
            continue
        for k, v in variant.items():
            if k not in own:
                extra.setdefault(k, v)
    return own, extra


def sql_verbs(resource: dict) -> dict[str, list[str]]:
    return {
        verb: [r["$ref"].split("/")[-1] for r in refs]
        for verb, refs in resource.get("sqlVerbs", {}).items()
    }


def prose(node: Any, key: str = "") -> list[str]:
    """Every description/summary/title string in a document."""
    if isinstance(node, dict):
        return [t for k, v in node.items() for t in prose(v, k)]
    if isinstance(node, list):
        return [t for v in node for t in prose(v, key)]
    return [node] if key in PROSE_KEYS and isinstance(node, str) else []


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def resources(doc: dict) -> dict:
    return doc["components"]["x-stackQL-resources"]


# ----- tests of the built-in provider on its own --------------------------------------------


def test_provider_document():
    prov = provider()
    assert (prov["id"], prov["name"], prov["version"]) == ("okta", "okta", "v0.1.0")
    assert prov["config"]["auth"] == {
        "type": "api_key",
        "credentialsenvvar": "OKTA_API_TOKEN",
        "valuePrefix": "SSWS ",
    }
    assert {"apps", "groups", "users"} <= set(prov["providerServices"])
    for name, svc in prov["providerServices"].items():
        assert svc["name"] == name
        assert svc["service"]["$ref"] == f"okta/v0.1.0/services/{name}.yaml"
        assert (BUILTIN_ROOT / svc["service"]["$ref"]).is_file()
        assert svc["title"] and svc["description"]


@pytest.mark.parametrize("svc", SERVICES)
def test_service_document_is_self_consistent(svc):
    doc = ours(svc)
    assert doc["servers"] == [
        {
            "url": "https://{subdomain}.okta.com/",
            "variables": {
                "subdomain": {
                    "default": "my-org",
                    "description": doc["servers"][0]["variables"]["subdomain"]["description"],
                }
            },
        }
    ]
    for ref in refs(doc):
        pointer(doc, ref)  # raises when it does not resolve
    for rname, res in resources(doc).items():
        assert res["id"] == f"okta.{svc}.{rname}" and res["name"] == rname
        assert res["title"]
        for mname, method in res["methods"].items():
            _, path, item, op = operation(doc, method)
            assert op.get("summary") and op.get("description"), (rname, mname)
            for p in item.get("parameters", []) + op.get("parameters", []):
                p = deref(doc, p)
                assert p.get("description"), (mname, p["name"])
                if p["in"] == "path":
                    assert p.get("required") is True, (mname, p["name"])
                    assert "{" + p["name"] + "}" in path


@pytest.mark.parametrize("svc", SERVICES)
def test_every_column_is_described(svc):
    doc = ours(svc)
    bare = set()
    for rname, res in resources(doc).items():
        for mname, method in res["methods"].items():
            _, _, _, op = operation(doc, method)
            resp = method["response"]
            answer = deref(doc, op["responses"].get(resp["openAPIDocKey"], {}))
            schema = ((answer.get("content") or {}).get(resp["mediaType"]) or {}).get("schema")
            if not schema:
                continue
            sch = merged(doc, schema)
            schema = sch.get("items", schema) if sch.get("type") == "array" else schema
            stack = [schema]
            while stack:
                sch = deref(doc, stack.pop())
                stack += sch.get("allOf", []) + sch.get("oneOf", []) + sch.get("anyOf", [])
                for col, sub in (sch.get("properties") or {}).items():
                    if not deref(doc, sub).get("description"):
                        bare.add(f"{rname}.{mname}.{col}")
    assert not sorted(bare)


# ----- parity with StackQL's provider -------------------------------------------------------


@pytest.mark.parametrize("svc", SERVICES)
def test_resources_match_stackql(svc):
    need_shared()
    mine, ref = ours(svc), theirs(svc)
    assert mine["servers"][0]["url"] == ref["servers"][0]["url"]
    assert (
        mine["servers"][0]["variables"]["subdomain"]["default"]
        == (ref["servers"][0]["variables"]["subdomain"]["default"])
    )
    ref_resources = resources(ref)
    missing = {f"{svc}.{r}" for r in ref_resources if r not in resources(mine)}
    assert missing == {r for r in OMITTED_RESOURCES if r.startswith(f"{svc}.")}
    for rname, res in resources(mine).items():
        assert rname in ref_resources, f"{svc}.{rname} is not a StackQL resource"
        other = ref_resources[rname]
        assert res["id"] == other["id"]
        omitted = OMITTED_METHODS.get(f"{svc}.{rname}", set())
        assert set(res["methods"]) == set(other["methods"]) - omitted, rname
        for mname, method in res["methods"].items():
            theirs_method = other["methods"][mname]
            verb, path, item, op = operation(mine, method)
            verb2, path2, item2, op2 = operation(ref, theirs_method)
            where = f"{svc}.{rname}.{mname}"
            assert (verb, path) == (verb2, path2), where
            assert op["operationId"] == op2["operationId"], where
            assert param_names(mine, item, op) == param_names(ref, item2, op2), where
            assert method["response"] == theirs_method["response"], where
            assert response_columns(mine, method) == response_columns(ref, theirs_method), where
            own, extra = body_fields(mine, op)
            own2, extra2 = body_fields(ref, op2)
            assert own == own2, where
            # StackQL's provider has some subtype refs that do not resolve; ours do.
            assert extra2.items() <= extra.items(), where
        want = {
            verb: [m for m in names if m not in omitted] for verb, names in sql_verbs(other).items()
        }
        assert sql_verbs(res) == want, rname


def test_every_stackql_service_and_resource_is_built_in():
    need_shared()
    theirs_services = sorted(p.stem for p in (STACKQL / "services").glob("*.yaml"))
    assert len(theirs_services) == 55
    assert sorted(SERVICES) == theirs_services
    mine = {f"{svc}.{r}" for svc in SERVICES for r in resources(ours(svc))}
    ref = {f"{svc}.{r}" for svc in theirs_services for r in resources(theirs(svc))}
    assert len(ref) == 190
    assert mine == ref - OMITTED_RESOURCES


def test_required_coverage():
    need_shared()
    apps = resources(ours("apps"))
    for name in ("applications", "tokens", "application_users", "group_assignments", "grants"):
        assert name in apps
    assert "keys" in apps
    tokens = apps["tokens"]
    assert set(tokens["methods"]) == {
        "list_oauth2_tokens_for_application",
        "get_oauth2_token_for_application",
        "revoke_oauth2_tokens_for_application",
        "revoke_oauth2_token_for_application",
    }
    cols = response_columns(ours("apps"), tokens["methods"]["get_oauth2_token_for_application"])
    assert cols == {
        "id": ("string", None),
        "_embedded": ("object", None),
        "_links": ("object", None),
        "clientId": ("string", None),
        "created": ("string", "date-time"),
        "expiresAt": ("string", "date-time"),
        "issuer": ("string", None),
        "lastUpdated": ("string", "date-time"),
        "scopes": ("array", None),
        "status": ("string", None),
        "userId": ("string", None),
    }
    groups = resources(ours("groups"))
    assert {"groups", "users", "rules", "assigned_apps"} <= set(groups)
    users = resources(ours("users"))
    assert {"users", "factors", "user_groups", "grants", "user_clients"} <= set(users)


# ----- parity with Okta's Management API spec ----------------------------------------------


@pytest.mark.parametrize("svc", SERVICES)
def test_calls_exist_in_management_api(svc):
    need_shared()
    doc, spec = ours(svc), mgmt()
    for path, item in doc["paths"].items():
        assert path in spec["paths"], path
        other = spec["paths"][path]
        for verb in VERBS:
            if verb not in item:
                continue
            assert verb in other, f"{verb} {path}"
            op, op2 = item[verb], other[verb]
            assert op["operationId"] == op2["operationId"]
            names = sorted(
                deref(doc, p)["name"] for p in item.get("parameters", []) + op.get("parameters", [])
            )
            names2 = sorted(
                deref(spec, p)["name"]
                for p in other.get("parameters", []) + op2.get("parameters", [])
            )
            assert names == names2, f"{verb} {path}"
            where = f"{verb} {path}"
            assert param_facts(doc, item, op) == param_facts(spec, other, op2), where
            # the OAuth 2.0 scopes a service app must request for this call
            assert "security" in op2, where
            assert op.get("security") == op2["security"], where


def param_facts(doc: dict, item: dict, op: dict) -> list[tuple]:
    """(name, location, required, type) of a call's parameters, path-level ones included."""
    out = []
    for p in item.get("parameters", []) + op.get("parameters", []):
        p = deref(doc, p)
        kind = type_of(doc, p.get("schema", {}))[0]
        out.append((p["name"], p["in"], bool(p.get("required")) or p["in"] == "path", kind))
    return sorted(out)


@pytest.mark.parametrize("svc", SERVICES)
def test_columns_are_the_management_api_s(svc):
    """Each method's columns (name, type, format) are those of its response in the spec."""
    need_shared()
    doc, spec = ours(svc), mgmt()
    for rname, res in resources(doc).items():
        for mname, method in res["methods"].items():
            want = response_columns(spec, method)
            assert response_columns(doc, method) == want, f"{svc}.{rname}.{mname}"


# ----- prose is ours -------------------------------------------------------------------------


@functools.cache
def reference_prose() -> frozenset[str]:
    texts: set[str] = set()
    for path in sorted((STACKQL / "services").glob("*.yaml")):
        if path.stem in SERVICES:
            texts.update(prose(theirs(path.stem)))
    texts.update(prose(load(STACKQL / "provider.yaml")))
    texts.update(prose(mgmt()))
    return frozenset(" ".join(t.split()) for t in texts if len(t.strip()) > 40)


@pytest.mark.parametrize("svc", SERVICES)
def test_prose_is_our_own(svc):
    need_shared()
    copied = [t for t in prose(ours(svc)) if " ".join(t.split()) in reference_prose()]
    assert not copied


def test_provider_prose_is_our_own():
    need_shared()
    copied = [t for t in prose(provider()) if " ".join(t.split()) in reference_prose()]
    assert not copied


@functools.cache
def build_tool() -> Any:
    """tools/build_okta_provider.py as a module."""
    path = REPO / "tools" / "build_okta_provider.py"
    spec = importlib.util.spec_from_file_location("build_okta_provider", path)
    assert spec and spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_the_build_tool_writes_these_files_and_needs_no_prose_it_lacks() -> None:
    """The committed provider is the tool's output today, with all of its prose from the
    prose file."""
    need_shared()
    tool = build_tool()
    files, missing, generated = tool.build(SHARED)
    assert missing == []
    on_disk = {str(p.relative_to(BUILTIN)) for p in BUILTIN.rglob("*.yaml")}
    # and the facts every provider reads, a module of oktaql.provider
    assert (BUILTIN / tool.FACTS_NAME).resolve() == REPO / "src/oktaql/provider/_okta_facts.py"
    assert on_disk | {tool.FACTS_NAME} == set(files)
    stale = [name for name, text in files.items() if (BUILTIN / name).read_text() != text]
    assert stale == [], "rebuild: .venv/bin/python tools/build_okta_provider.py"
    # every text is in the prose file today; the tool words gaps from facts only for a
    # service StackQL's provider may add later
    assert generated == []


@pytest.mark.parametrize(
    ("name", "verb", "path", "text"),
    [
        (
            "list_brand_themes",
            "get",
            "/api/v1/brands/{brandId}/themes",
            "Lists the brand themes. Calls `GET /api/v1/brands/{brandId}/themes`.",
        ),
        ("create_brand", "post", "/api/v1/brands", "Creates a brand. Calls `POST /api/v1/brands`."),
        ("upload_org_logo", "post", "/x", "Uploads an org logo. Calls `POST /x`."),
        ("list_all_custom_aaguids", "get", "/x", "Lists all custom AAGUIDs. Calls `GET /x`."),
        ("get_sign_in_page", "get", "/x", "Fetches the sign-in page. Calls `GET /x`."),
        ("verify_domain", "post", "/x", "Verifies the domain. Calls `POST /x`."),
        ("refresh_session", "post", "/x", "Refreshes the session. Calls `POST /x`."),
        ("upsert_certificate", "put", "/x", "Creates or replaces the certificate. Calls `PUT /x`."),
        (
            "bulk_remove_email_address_bounces",
            "post",
            "/x",
            "Removes email address bounces in bulk. Calls `POST /x`.",
        ),
        (
            "opt_in_users_to_okta_communication_emails",
            "post",
            "/x",
            "Opts in users to Okta communication emails. Calls `POST /x`.",
        ),
    ],
)
def test_methods_without_prose_are_worded_from_their_name_and_call(name, verb, path, text):
    assert build_tool().Words.method(name, verb, path) == text


def test_columns_and_resources_without_prose_are_worded_from_their_names():
    words = build_tool().Words
    assert words.field("BrandRequest", "customPrivacyPolicyUrl") == (
        "Custom privacy policy URL of the brand."
    )
    assert words.field("Brand", "isDefault") == "Whether the brand is default."
    assert words.field("BaseEmailServer", "port") == "Port of the email server."
    assert words.field("CustomAAGUIDResponseObject", "aaguid") == "AAGUID of the custom AAGUID."
    assert words.resource("email_domains", "/api/v1/email-domains") == {
        "title": "Email domains",
        "description": "The email domains at `/api/v1/email-domains`.",
    }
    assert words.service("device_posture_checks") == {
        "title": "Device posture checks",
        "description": "The org's device posture checks.",
    }


def test_builtin_files_take_the_json_fast_path_and_parse_as_yaml_alike() -> None:
    from oktaql.provider._yamlcache import _NOT_JSON, _json_document

    root = Path(oktaql.__file__).parent / "registry" / "src" / "okta"
    files = sorted(root.rglob("*.yaml"))
    assert len(files) >= 14
    for path in files:
        raw = path.read_bytes()
        doc = _json_document(raw)
        assert doc is not _NOT_JSON, f"{path} is not JSON after its comments: rebuild it"
        assert doc == yaml.load(raw, Loader=yaml.CSafeLoader), path


def test_yaml_that_is_not_json_goes_to_pyyaml(tmp_path: Path) -> None:
    from oktaql.provider._yamlcache import _NOT_JSON, _json_document, load_yaml

    flow = tmp_path / "flow.yaml"
    flow.write_text("# a comment\n{a: 1, b: [x, y]}\n")  # YAML flow style, not JSON
    assert _json_document(flow.read_bytes()) is _NOT_JSON
    assert load_yaml(flow) == {"a": 1, "b": ["x", "y"]}
    block = tmp_path / "block.yaml"
    block.write_text("a: 1\n")
    assert _json_document(block.read_bytes()) is _NOT_JSON
    as_json = tmp_path / "json.yaml"
    as_json.write_text('# c1\n\n# c2\n{"a": 1, "n": null}')
    assert load_yaml(as_json) == {"a": 1, "n": None}


def test_components_examples_are_left_out_of_a_yaml_parse_and_nothing_else() -> None:
    from oktaql.provider._yamlcache import _without_examples

    text = (
        b"openapi: 3.0.3\n"
        b"info:\n"
        b"  examples:\n"  # not under components: kept
        b"    a: 1\n"
        b"paths:\n"
        b"  /x:\n"
        b"    get:\n"
        b"      responses:\n"
        b"        '200':\n"
        b"          content:\n"
        b"            application/json:\n"
        b"              examples:\n"
        b"                one:\n"
        b"                  $ref: '#/components/examples/One'\n"
        b"components:\n"
        b"  schemas:\n"
        b"    S:\n"
        b"      type: object\n"
        b"  examples:\n"
        b"    One:\n"
        b"      value:\n"
        b"        note: |\n"
        b"          a block scalar\n"
        b"\n"
        b"          with a blank line\n"
        b"# a comment at column 0\n"
        b"    Two:\n"
        b"      value: 2\n"
        b"  x-stackQL-resources:\n"
        b"    r:\n"
        b"      id: p.s.r\n"
        b"servers:\n"
        b"- url: https://x\n"
    )
    full = yaml.safe_load(text)
    lean = yaml.safe_load(_without_examples(text))
    del full["components"]["examples"]
    assert lean == full
    assert lean["info"] == {"examples": {"a": 1}}
    no_components = b"openapi: 3.0.3\ninfo:\n  examples:\n    a: 1\n"
    assert _without_examples(no_components) is no_components


def test_stackql_files_parse_the_same_without_their_examples(stackql_registry: Path) -> None:
    from oktaql.provider._yamlcache import _without_examples

    for path in sorted(stackql_registry.rglob("*.yaml"))[:12]:
        raw = path.read_bytes()
        full = yaml.load(raw, Loader=yaml.CSafeLoader)
        if isinstance(full.get("components"), dict):
            full["components"].pop("examples", None)
        assert yaml.load(_without_examples(raw), Loader=yaml.CSafeLoader) == full, path


@pytest.mark.parametrize(
    ("rid", "method", "largest"),
    [
        ("okta.apps.tokens", "list_oauth2_tokens_for_application", 200),  # the spec's maximum
        ("okta.users.users", "list_users", 200),  # Okta's documentation (the spec has none)
        ("okta.logs.system_log_events", "list_log_events", 1000),
        ("okta.apps.tokens", "get_oauth2_token_for_application", None),  # no limit parameter
    ],
)
def test_methods_know_their_largest_page(
    rid: str, method: str, largest: int | None, stackql_registry: Path
) -> None:
    for registry in (None, stackql_registry):
        res = oktaql.connect(registry=registry).session.catalog.resource(rid)
        assert res.methods[method].page_max == largest, registry
