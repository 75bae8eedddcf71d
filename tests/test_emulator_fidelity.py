"""The emulated org against Okta's own artefacts: its Management API spec and its Python SDK.

1. Every response of a list of real requests (reads of every resource family, writes, error
   answers) validates against ``management-minimal.yaml`` with ``openapi-core`` (the spec's
   own validation is off: the spec has errors). Where the spec contradicts itself for a
   response, :data:`EXEMPT` says why, and the response is still checked as far as the spec
   allows.
2. Okta's official Python SDK (``okta``, async) works against the emulator: paging with small
   limits, tokens, user writes, Okta's error codes, and the models of every new resource.

Skipped when ``../shared`` or the packages are missing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import yaml

from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

SPEC = Path(__file__).resolve().parents[2] / "shared" / "okta" / "management-minimal.yaml"
TOKEN = "fidelity-token"
HOST = "https://subdomain.okta.com"  # the spec's server; requests are matched on the path

# Responses for which the spec contradicts itself (or the API it describes), keyed by
# (method, spec path, status), with what is checked instead.
EXEMPT: dict[tuple[str, str, str], str] = {
    ("GET", "/api/v1/policies", "200"): (
        "the spec's 200 schema for listPolicies is a single Policy, while the operation lists "
        "policies (an array); each element is validated as a getPolicy 200 instead"
    ),
    ("GET", "/api/v1/policies", "400"): (
        "`type` is a required query parameter of listPolicies, yet the spec declares no 400 "
        "for it; the body is validated as the Error schema instead"
    ),
    ("GET", "/api/v1/users/{userId}/roles", "200"): (
        "CUSTOM is one of RoleType's values, so a custom-role assignment satisfies both "
        "StandardRole and CustomRole and fails the items' oneOf; that ambiguity is ignored, any "
        "other error still fails"
    ),
    ("GET", "/api/v1/api-tokens", "200"): (
        "ApiToken.tokenWindow's pattern `^P(?:$)(\\d+Y)?...` requires the string to end right "
        "after 'P' (a `(?!$)` lookahead written as `(?:$)`), so no real duration matches; each "
        "token is validated without tokenWindow, which is checked as an ISO 8601 duration"
    ),
    ("GET", "/api/v1/api-tokens/{apiTokenId}", "200"): "as GET /api/v1/api-tokens",
    ("PUT", "/api/v1/api-tokens/{apiTokenId}", "200"): "as GET /api/v1/api-tokens",
}
_API_TOKEN_KEYS = {k for k in EXEMPT if k[1].startswith("/api/v1/api-tokens")}
# Not exempt by key but by shape: responses the spec gives ``content: {}`` (an empty
# media-type map: most 204s, the 202 of a group-rule delete and the 200 of lifecycle calls).
# openapi-core then requires a body and finds no media type for it, failing every answer;
# the body is checked to be empty (or ``{}`` for a 200) instead.

_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$")


@functools.cache
def _spec() -> tuple[Any, dict[str, Any]]:
    core = pytest.importorskip("openapi_core", reason="openapi-core is not installed")
    if not SPEC.is_file():
        pytest.skip(f"../shared reference material not present: {SPEC} is missing")
    data = yaml.load(SPEC.read_text(), Loader=yaml.CSafeLoader)
    return core.OpenAPI.from_dict(data, config=core.Config(spec_validator_cls=None)), data


@pytest.fixture(scope="module")
def spec() -> tuple[Any, dict[str, Any]]:
    return _spec()


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=7)) as running:
        yield running


@pytest.fixture
def fresh() -> Iterator[RunningEmulator]:
    with start_in_thread(EmulatorConfig(token=TOKEN, seed=8)) as running:
        yield running


class Checker:
    """Sends requests and validates every response; failures are collected, not raised."""

    def __init__(self, spec: tuple[Any, dict[str, Any]], emu: RunningEmulator):
        self.app, self.raw = spec
        self.emu = emu
        self.client = httpx.Client(base_url=emu.url, headers={"Authorization": f"SSWS {TOKEN}"})
        self.failures: list[str] = []
        self.checked = 0

    def __call__(
        self,
        method: str,
        template: str,
        *,
        status: int | None = None,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        **path: str,
    ) -> httpx.Response:
        url = template.format(**path)
        resp = self.client.request(method, url, params=params, json=json_body, content=content)
        where = f"{method} {url} -> {resp.status_code}"
        if status is not None and resp.status_code != status:
            self.failures.append(f"{where}: expected {status}: {resp.text[:300]}")
            return resp
        self.checked += 1
        problem = self.validate(method, template, resp)
        if problem:
            self.failures.append(f"{where}: {problem}")
        return resp

    # -- validation

    def _declared(self, method: str, template: str, status: str) -> dict[str, Any] | None:
        responses = self.raw["paths"][template][method.lower()]["responses"]
        node = responses.get(status)
        while isinstance(node, dict) and "$ref" in node:
            node = self._pointer(node["$ref"])
        return node

    def _pointer(self, ref: str) -> Any:
        node: Any = self.raw
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _core(
        self, method: str, url: str, status: int, body: bytes, headers: Any
    ) -> Exception | None:
        from openapi_core.testing import MockRequest, MockResponse

        parts = urlsplit(url)
        request = MockRequest(HOST, method, parts.path, args=dict(parse_qsl(parts.query)))
        ctype = headers.get("content-type", "application/json")
        response = MockResponse(body, status_code=status, headers=dict(headers), content_type=ctype)
        try:
            self.app.validate_response(request, response)
        except Exception as exc:  # noqa: BLE001 - reported, with its schema errors
            return exc
        return None

    def validate(self, method: str, template: str, resp: httpx.Response) -> str | None:
        status = str(resp.status_code)
        key = (method, template, status)
        declared = self._declared(method, template, status)
        url = str(resp.request.url)
        if declared is not None and declared.get("content") == {}:
            ok = resp.content == b"" if resp.status_code != 200 else resp.json() == {}
            return None if ok else f"body {resp.content[:100]!r} for a response without content"
        if key == ("GET", "/api/v1/policies", "200"):
            return self._each(resp, "GET", "/api/v1/policies/{id}")
        if key == ("GET", "/api/v1/policies", "400"):
            return self._as(resp.json(), "POST", "/api/v1/policies", 400)
        if key in _API_TOKEN_KEYS:
            items = resp.json() if isinstance(resp.json(), list) else [resp.json()]
            for token in items:
                if not _DURATION.match(token.get("tokenWindow", "")):
                    return f"tokenWindow {token.get('tokenWindow')!r} is no ISO 8601 duration"
                rest = {k: v for k, v in token.items() if k != "tokenWindow"}
                problem = self._as(rest, "GET", f"/api/v1/api-tokens/{token['id']}", 200)
                if problem:
                    return problem
            return None
        exc = self._core(method, url, resp.status_code, resp.content, resp.headers)
        if exc is None:
            return None
        errors = _schema_errors(exc)
        if (
            key == ("GET", "/api/v1/users/{userId}/roles", "200")
            and errors
            and all("is valid under each of" in e for e in errors)
        ):
            return None
        return "; ".join(errors[:6]) if errors else repr(exc)[:400]

    def _as(self, body: Any, method: str, url: str, status: int) -> str | None:
        exc = self._core(method, HOST + url, status, json.dumps(body).encode(), {})
        return None if exc is None else "; ".join(_schema_errors(exc)[:6]) or repr(exc)[:300]

    def _each(self, resp: httpx.Response, method: str, template: str) -> str | None:
        body = resp.json()
        if not isinstance(body, list):
            return f"expected a list, got {type(body).__name__}"
        for item in body:
            problem = self._as(item, method, template.format(id=item["id"]), 200)
            if problem:
                return f"{item['id']}: {problem}"
        return None

    def done(self) -> None:
        self.client.close()
        assert not self.failures, f"{len(self.failures)} responses off the spec:\n" + "\n".join(
            self.failures
        )


def _schema_errors(exc: BaseException) -> list[str]:
    """The leaf schema errors under an openapi-core exception, as ``path: message``."""
    cur: BaseException | None = exc
    while cur is not None and not hasattr(cur, "schema_errors"):
        cur = cur.__cause__ or cur.__context__
    if cur is None:
        return []
    out: list[str] = []

    def walk(err: Any) -> None:
        if err.context:
            for sub in err.context:
                walk(sub)
            if err.validator == "oneOf" and "is valid under each of" in err.message:
                out.append(f"{'/'.join(map(str, err.absolute_path))}: {err.message[-160:]}")
            return
        out.append(f"{'/'.join(map(str, err.absolute_path))}: {err.message[-160:]}")

    for err in cur.schema_errors:  # type: ignore[attr-defined]
        walk(err)
    return out


# ------------------------------------------------------------------ 1. the spec


def test_reads_validate_against_the_spec(
    spec: tuple[Any, dict[str, Any]], emu: RunningEmulator
) -> None:
    check = Checker(spec, emu)
    org = emu.org
    admin = org.admin_id
    assert admin is not None
    app = org.oidc_apps[0]["id"]
    saml = next(a["id"] for a in org.apps if a["signOnMode"] == "SAML_2_0")
    grant = next(iter(org._user_grants.values()))
    check("GET", "/api/v1/apps", status=200, params={"limit": "5"})
    check("GET", "/api/v1/apps/{appId}", status=200, appId=saml)
    check("GET", "/api/v1/apps/{appId}/users", status=200, appId=app, params={"expand": "user"})
    check("GET", "/api/v1/apps/{appId}/groups", status=200, appId=app)
    check("GET", "/api/v1/apps/{appId}/tokens", status=200, appId=app, params={"expand": "scope"})
    check("GET", "/api/v1/apps/{appId}/grants", status=200, appId=app, params={"expand": "scope"})
    check("GET", "/api/v1/apps/{appId}/credentials/keys", status=200, appId=app)
    kid = org.app_keys(app)[0]["kid"]
    check("GET", "/api/v1/apps/{appId}/credentials/keys/{keyId}", status=200, appId=app, keyId=kid)
    check("GET", "/api/v1/users", status=200, params={"limit": "7"})
    for user in org.users[:10]:
        uid = user["id"]
        check("GET", "/api/v1/users/{id}", status=200, id=uid)
        check("GET", "/api/v1/users/{userId}/factors", status=200, userId=uid)
        check("GET", "/api/v1/users/{userId}/roles", status=200, userId=uid)
        check("GET", "/api/v1/users/{userId}/grants", status=200, userId=uid)
        check("GET", "/api/v1/users/{userId}/clients", status=200, userId=uid)
    for uid in org.role_assignee_ids():
        check("GET", "/api/v1/users/{userId}/roles", status=200, userId=uid)
    factor = org.factors(admin)[0]["id"]
    check(
        "GET",
        "/api/v1/users/{userId}/factors/{factorId}",
        status=200,
        userId=admin,
        factorId=factor,
    )
    role = org.user_roles(admin)[0]["id"]
    check(
        "GET",
        "/api/v1/users/{userId}/roles/{roleAssignmentId}",
        status=200,
        userId=admin,
        roleAssignmentId=role,
    )
    guser, gclient = grant["userId"], grant["clientId"]
    check(
        "GET", "/api/v1/users/{userId}/grants", status=200, userId=guser, params={"expand": "scope"}
    )
    check(
        "GET",
        "/api/v1/users/{userId}/grants/{grantId}",
        status=200,
        userId=guser,
        grantId=grant["id"],
    )
    check(
        "GET",
        "/api/v1/users/{userId}/clients/{clientId}/grants",
        status=200,
        userId=guser,
        clientId=gclient,
    )
    tokens = check(
        "GET",
        "/api/v1/users/{userId}/clients/{clientId}/tokens",
        status=200,
        userId=guser,
        clientId=gclient,
    ).json()
    assert tokens, "the grant's user holds tokens of the client"
    check(
        "GET",
        "/api/v1/users/{userId}/clients/{clientId}/tokens/{tokenId}",
        status=200,
        userId=guser,
        clientId=gclient,
        tokenId=tokens[0]["id"],
    )
    check("GET", "/api/v1/groups", status=200, params={"expand": "stats"})
    group = org.groups[1]["id"]
    check("GET", "/api/v1/groups/{groupId}", status=200, groupId=group)
    check("GET", "/api/v1/groups/{groupId}/users", status=200, groupId=group)
    check("GET", "/api/v1/groups/{groupId}/apps", status=200, groupId=group)
    check("GET", "/api/v1/groups/rules", status=200, params={"expand": "groupIdToGroupNameMap"})
    rule = org.group_rules[0]["id"]
    check("GET", "/api/v1/groups/rules/{groupRuleId}", status=200, groupRuleId=rule)
    for server in org.auth_servers:
        sid = server["id"]
        check("GET", "/api/v1/authorizationServers/{authServerId}", status=200, authServerId=sid)
        for sub in ("scopes", "claims", "credentials/keys", "clients", "policies"):
            check(
                "GET",
                f"/api/v1/authorizationServers/{{authServerId}}/{sub}",
                status=200,
                authServerId=sid,
            )
        pid = org.server_policies(sid)[0]["id"]
        base = "/api/v1/authorizationServers/{authServerId}/policies/{policyId}"
        check("GET", base, status=200, authServerId=sid, policyId=pid)
        rules = check("GET", base + "/rules", status=200, authServerId=sid, policyId=pid).json()
        check(
            "GET",
            base + "/rules/{ruleId}",
            status=200,
            authServerId=sid,
            policyId=pid,
            ruleId=rules[0]["id"],
        )
        claim = org.claims(sid)[0]["id"]
        check(
            "GET",
            "/api/v1/authorizationServers/{authServerId}/claims/{claimId}",
            status=200,
            authServerId=sid,
            claimId=claim,
        )
        kid = org.server_keys(sid)[0]["kid"]
        check(
            "GET",
            "/api/v1/authorizationServers/{authServerId}/credentials/keys/{keyId}",
            status=200,
            authServerId=sid,
            keyId=kid,
        )
        client = org.server_clients(sid)[0]["client_id"]
        toks = check(
            "GET",
            "/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens",
            status=200,
            authServerId=sid,
            clientId=client,
            params={"limit": "5"},
        ).json()
        check(
            "GET",
            "/api/v1/authorizationServers/{authServerId}/clients/{clientId}/tokens/{tokenId}",
            status=200,
            authServerId=sid,
            clientId=client,
            tokenId=toks[0]["id"],
        )
    for ptype in (
        "OKTA_SIGN_ON",
        "PASSWORD",
        "MFA_ENROLL",
        "ACCESS_POLICY",
        "IDP_DISCOVERY",
        "PROFILE_ENROLLMENT",
    ):
        for policy in check("GET", "/api/v1/policies", status=200, params={"type": ptype}).json():
            check("GET", "/api/v1/policies/{policyId}", status=200, policyId=policy["id"])
            for prule in check(
                "GET", "/api/v1/policies/{policyId}/rules", status=200, policyId=policy["id"]
            ).json():
                check(
                    "GET",
                    "/api/v1/policies/{policyId}/rules/{ruleId}",
                    status=200,
                    policyId=policy["id"],
                    ruleId=prule["id"],
                )
    check(
        "GET",
        "/api/v1/logs",
        status=200,
        params={"since": "2024-01-01T00:00:00Z", "until": "2025-01-01T00:00:00Z", "limit": "1000"},
    )
    check(
        "GET", "/api/v1/logs", status=200, params={"filter": 'eventType eq "user.lifecycle.create"'}
    )
    for segment, key in (
        ("idps", "idpId"),
        ("zones", "zoneId"),
        ("trustedOrigins", "trustedOriginId"),
        ("eventHooks", "eventHookId"),
        ("inlineHooks", "inlineHookId"),
        ("api-tokens", "apiTokenId"),
    ):
        items = check("GET", f"/api/v1/{segment}", status=200).json()
        assert items, segment
        for item in items:
            check("GET", f"/api/v1/{segment}/{{{key}}}", status=200, **{key: item["id"]})
    roles = check("GET", "/api/v1/iam/roles", status=200).json()["roles"]
    check("GET", "/api/v1/iam/roles/{roleIdOrLabel}", status=200, roleIdOrLabel=roles[0]["id"])
    check("GET", "/api/v1/iam/assignees/users", status=200, params={"limit": "2"})
    check.done()
    assert check.checked > 150


def test_writes_and_errors_validate_against_the_spec(
    spec: tuple[Any, dict[str, Any]], fresh: RunningEmulator
) -> None:
    check = Checker(spec, fresh)
    org = fresh.org
    admin = org.admin_id
    assert admin is not None
    app = org.oidc_apps[0]["id"]
    profile = {
        "firstName": "Grace",
        "lastName": "Brewster",
        "email": "g.b@example.com",
        "login": "g.b@example.com",
    }
    # users: create, update, replace, lifecycle with Okta's status rules, delete
    staged = check(
        "POST",
        "/api/v1/users",
        status=200,
        params={"activate": "false"},
        json_body={"profile": profile},
    ).json()
    check("POST", "/api/v1/users", status=400, json_body={"profile": profile})  # duplicate login
    check("POST", "/api/v1/users", status=400, json_body={"profile": {"firstName": "No"}})
    check("POST", "/api/v1/users", status=400, content=b'{"profile": ')  # malformed JSON
    uid = staged["id"]
    check(
        "POST",
        "/api/v1/users/{id}",
        status=200,
        id=uid,
        json_body={"profile": {"title": "Rear Admiral"}},
    )
    check(
        "PUT",
        "/api/v1/users/{id}",
        status=200,
        id=uid,
        json_body={"profile": {**profile, "city": "Arlington"}},
    )
    check(
        "PUT",
        "/api/v1/users/{id}",
        status=400,
        id=uid,
        json_body={"profile": {"firstName": "Only"}},
    )
    check("POST", "/api/v1/users/{id}/lifecycle/suspend", status=400, id=uid)  # STAGED
    check(
        "POST",
        "/api/v1/users/{id}/lifecycle/activate",
        status=200,
        id=uid,
        params={"sendEmail": "false"},
    )
    check(
        "POST",
        "/api/v1/users/{id}/lifecycle/reactivate",
        status=200,
        id=uid,
        params={"sendEmail": "false"},
    )
    check("POST", "/api/v1/users/{id}/lifecycle/unlock", status=403, id=uid)
    check("POST", "/api/v1/users/{id}/lifecycle/suspend", status=200, id=admin)
    check("POST", "/api/v1/users/{id}/lifecycle/unsuspend", status=200, id=admin)
    check("POST", "/api/v1/users/{id}/lifecycle/activate", status=403, id=admin)  # already active
    check("POST", "/api/v1/users/{id}/lifecycle/deactivate", status=200, id=uid)
    check("DELETE", "/api/v1/users/{id}", status=204, id=uid)
    check("GET", "/api/v1/users/{id}", status=404, id=uid)
    check("GET", "/api/v1/users/{userId}/factors", status=404, userId="00unothere0000000000")
    # roles, factors, grants
    check(
        "POST",
        "/api/v1/users/{userId}/roles",
        status=201,
        userId=admin,
        json_body={"type": "REPORT_ADMIN"},
    )
    check(
        "POST",
        "/api/v1/users/{userId}/roles",
        status=400,
        userId=admin,
        json_body={"type": "NO_SUCH_ROLE"},
    )
    sms = check(
        "POST",
        "/api/v1/users/{userId}/factors",
        status=200,
        userId=admin,
        json_body={
            "factorType": "call",
            "provider": "OKTA",
            "profile": {"phoneNumber": "+15550100"},
        },
    ).json()
    check(
        "DELETE",
        "/api/v1/users/{userId}/factors/{factorId}",
        status=204,
        userId=admin,
        factorId=sms["id"],
    )
    grant = check(
        "POST",
        "/api/v1/apps/{appId}/grants",
        status=201,
        appId=app,
        json_body={"issuer": fresh.url, "scopeId": "okta.users.manage"},
    ).json()
    check(
        "GET", "/api/v1/apps/{appId}/grants/{grantId}", status=200, appId=app, grantId=grant["id"]
    )
    check(
        "DELETE",
        "/api/v1/apps/{appId}/grants/{grantId}",
        status=204,
        appId=app,
        grantId=grant["id"],
    )
    check(
        "POST",
        "/api/v1/apps/{appId}/grants",
        status=400,
        appId=app,
        json_body={"issuer": fresh.url},
    )
    # groups, membership, rules
    group = check(
        "POST", "/api/v1/groups", status=200, json_body={"profile": {"name": "Navy"}}
    ).json()
    check("POST", "/api/v1/groups", status=400, json_body={"profile": {"name": "Navy"}})
    gid = group["id"]
    check(
        "PUT",
        "/api/v1/groups/{groupId}",
        status=200,
        groupId=gid,
        json_body={"profile": {"name": "US Navy", "description": "Sailors"}},
    )
    check("PUT", "/api/v1/groups/{groupId}/users/{userId}", status=204, groupId=gid, userId=admin)
    check(
        "DELETE", "/api/v1/groups/{groupId}/users/{userId}", status=204, groupId=gid, userId=admin
    )
    everyone = org.groups[0]["id"]
    check(
        "PUT", "/api/v1/groups/{groupId}/users/{userId}", status=403, groupId=everyone, userId=admin
    )
    rule = check(
        "POST",
        "/api/v1/groups/rules",
        status=200,
        json_body={
            "type": "group_rule",
            "name": "Navy titles",
            "conditions": {
                "expression": {
                    "value": 'user.title=="Rear Admiral"',
                    "type": "urn:okta:expression:1.0",
                }
            },
            "actions": {"assignUserToGroups": {"groupIds": [gid]}},
        },
    ).json()
    check(
        "POST",
        "/api/v1/groups/rules/{groupRuleId}/lifecycle/activate",
        status=204,
        groupRuleId=rule["id"],
    )
    check(
        "POST",
        "/api/v1/groups/rules/{groupRuleId}/lifecycle/deactivate",
        status=204,
        groupRuleId=rule["id"],
    )
    check("DELETE", "/api/v1/groups/rules/{groupRuleId}", status=202, groupRuleId=rule["id"])
    check("DELETE", "/api/v1/groups/{groupId}", status=204, groupId=gid)
    # authorization servers
    sid = org.auth_servers[0]["id"]
    policy = check(
        "POST",
        "/api/v1/authorizationServers/{authServerId}/policies",
        status=201,
        authServerId=sid,
        json_body={
            "type": "OAUTH_AUTHORIZATION_POLICY",
            "name": "Partners",
            "conditions": {"clients": {"include": [app]}},
        },
    ).json()
    base = "/api/v1/authorizationServers/{authServerId}/policies/{policyId}"
    check(
        "POST",
        base + "/rules",
        status=201,
        authServerId=sid,
        policyId=policy["id"],
        json_body={
            "name": "r",
            "conditions": {
                "grantTypes": {"include": ["client_credentials"]},
                "scopes": {"include": ["*"]},
            },
        },
    )
    check(
        "POST", base + "/lifecycle/deactivate", status=204, authServerId=sid, policyId=policy["id"]
    )
    check("DELETE", base, status=204, authServerId=sid, policyId=policy["id"])
    claim = check(
        "POST",
        "/api/v1/authorizationServers/{authServerId}/claims",
        status=201,
        authServerId=sid,
        json_body={
            "name": "tier",
            "claimType": "RESOURCE",
            "valueType": "EXPRESSION",
            "value": '"gold"',
        },
    ).json()
    check(
        "DELETE",
        "/api/v1/authorizationServers/{authServerId}/claims/{claimId}",
        status=204,
        authServerId=sid,
        claimId=claim["id"],
    )
    # tokens revoked through a user and through a server
    grant_doc = next(iter(org._user_grants.values()))
    check(
        "DELETE",
        "/api/v1/users/{userId}/clients/{clientId}/tokens",
        status=204,
        userId=grant_doc["userId"],
        clientId=grant_doc["clientId"],
    )
    check("DELETE", "/api/v1/users/{userId}/grants", status=204, userId=grant_doc["userId"])
    # authorization servers and scopes, users' password operations, factor activation
    server = check(
        "POST",
        "/api/v1/authorizationServers",
        status=201,
        json_body={"name": "Validated", "audiences": ["api://validated"]},
    ).json()
    sid = server["id"]
    check(
        "PUT",
        "/api/v1/authorizationServers/{authServerId}",
        status=200,
        authServerId=sid,
        json_body={"name": "Validated 2", "audiences": ["api://validated"]},
    )
    check("POST", "/api/v1/authorizationServers", status=400, json_body={"name": "x"})
    scope = check(
        "POST",
        "/api/v1/authorizationServers/{authServerId}/scopes",
        status=201,
        authServerId=sid,
        json_body={"name": "orders:read"},
    ).json()
    check(
        "PUT",
        "/api/v1/authorizationServers/{authServerId}/scopes/{scopeId}",
        status=200,
        authServerId=sid,
        scopeId=scope["id"],
        json_body={"name": "orders:read", "description": "Read orders"},
    )
    check(
        "DELETE",
        "/api/v1/authorizationServers/{authServerId}/scopes/{scopeId}",
        status=204,
        authServerId=sid,
        scopeId=scope["id"],
    )
    for verb in ("deactivate", "activate"):
        check(
            "POST",
            f"/api/v1/authorizationServers/{{authServerId}}/lifecycle/{verb}",
            status=204,
            authServerId=sid,
        )
    check("DELETE", "/api/v1/authorizationServers/{authServerId}", status=204, authServerId=sid)
    active = [u["id"] for u in org.users if u["status"] == "ACTIVE"]
    check("POST", "/api/v1/users/{id}/lifecycle/expire_password", status=200, id=active[0])
    check(
        "POST",
        "/api/v1/users/{id}/lifecycle/reset_password",
        status=200,
        id=active[1],
        params={"sendEmail": "false"},
    )
    check("POST", "/api/v1/users/{id}/lifecycle/reset_factors", status=200, id=active[2])
    staged_id = next(u["id"] for u in org.users if u["status"] == "STAGED")
    check("POST", "/api/v1/users/{id}/lifecycle/reset_password", status=403, id=staged_id)
    totp = check(
        "POST",
        "/api/v1/users/{userId}/factors",
        status=200,
        userId=active[2],
        json_body={"factorType": "token:software:totp", "provider": "GOOGLE"},
    ).json()
    check(
        "POST",
        "/api/v1/users/{userId}/factors/{factorId}/lifecycle/activate",
        status=200,
        userId=active[2],
        factorId=totp["id"],
        json_body={"passCode": "123456"},
    )
    # policies
    check("GET", "/api/v1/policies", status=400)  # type is required
    created = check(
        "POST",
        "/api/v1/policies",
        status=200,
        json_body={"type": "PASSWORD", "name": "Contractors", "conditions": {}},
    ).json()
    check(
        "POST",
        "/api/v1/policies/{policyId}/lifecycle/deactivate",
        status=204,
        policyId=created["id"],
    )
    check("DELETE", "/api/v1/policies/{policyId}", status=204, policyId=created["id"])
    check("POST", "/api/v1/policies", status=400, json_body={"name": "no type"})
    # org administration
    zone = check(
        "POST",
        "/api/v1/zones",
        status=200,
        json_body={
            "type": "IP",
            "name": "VPN",
            "gateways": [{"type": "CIDR", "value": "10.8.0.0/16"}],
        },
    ).json()
    check("POST", "/api/v1/zones/{zoneId}/lifecycle/deactivate", status=200, zoneId=zone["id"])
    check("DELETE", "/api/v1/zones/{zoneId}", status=204, zoneId=zone["id"])
    check("POST", "/api/v1/zones", status=400, json_body={"type": "IP"})
    check(
        "POST",
        "/api/v1/trustedOrigins",
        status=200,
        json_body={
            "name": "Docs",
            "origin": "https://docs.example.com",
            "scopes": [{"type": "CORS"}],
        },
    )
    check(
        "POST",
        "/api/v1/eventHooks",
        status=200,
        json_body={
            "name": "Audit",
            "events": {"type": "EVENT_TYPE", "items": ["user.lifecycle.create"]},
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {"uri": "https://audit.example.com"},
            },
        },
    )
    check(
        "POST",
        "/api/v1/inlineHooks",
        status=200,
        json_body={
            "name": "Enrich",
            "type": "com.okta.oauth2.tokens.transform",
            "channel": {
                "type": "HTTP",
                "version": "1.0.0",
                "config": {"uri": "https://enrich.example.com"},
            },
        },
    )
    check(
        "POST",
        "/api/v1/idps",
        status=200,
        json_body={"type": "OIDC", "name": "Partner OIDC", "protocol": {"type": "OIDC"}},
    )
    token = org.api_tokens[1]["id"]
    check(
        "PUT",
        "/api/v1/api-tokens/{apiTokenId}",
        status=200,
        apiTokenId=token,
        json_body={"name": "Renamed"},
    )
    check("DELETE", "/api/v1/api-tokens/{apiTokenId}", status=204, apiTokenId=token)
    role = check(
        "POST",
        "/api/v1/iam/roles",
        status=200,
        json_body={
            "label": "Auditor",
            "description": "Reads logs",
            "permissions": ["okta.logs.read"],
        },
    ).json()
    check("DELETE", "/api/v1/iam/roles/{roleIdOrLabel}", status=204, roleIdOrLabel=role["id"])
    check("GET", "/api/v1/logs", status=400, params={"since": "last tuesday"})
    check("GET", "/api/v1/logs", status=200, params={"since": "2025-01-01T00:00:00Z"})
    # apps: the existing write paths
    check("POST", "/api/v1/apps/{appId}/lifecycle/deactivate", status=200, appId=app)
    check("DELETE", "/api/v1/apps/{appId}/tokens", status=204, appId=app)
    check("DELETE", "/api/v1/apps/{appId}", status=204, appId=app)
    check.done()


# Paths whose success answer is not JSON (XML metadata, images): not checked as JSON.
NON_JSON = {"/api/v1/apps/{appId}/sso/saml/metadata"}


def test_every_get_path_of_the_spec_answers_and_validates(
    spec: tuple[Any, dict[str, Any]], emu: RunningEmulator
) -> None:
    """Every GET of the spec whose path ids the emulator's own listings provide: a 200 that
    validates against the spec (hand-written families and generic resources alike)."""
    from emulator_paths import concrete

    from oktaql.emulator._resources import load_spec

    check = Checker(spec, emu)

    def get(url: str) -> tuple[int, Any]:
        resp = check.client.get(url)
        return resp.status_code, resp.json() if resp.content else None

    unresolved = []
    for template, ops in load_spec().paths.items():
        if "GET" not in ops or template in NON_JSON:
            continue
        url = concrete(template, get)
        if url is None:
            unresolved.append(template)
            continue
        required = [p for p in ops["GET"].raw["params"] if p["in"] == "query" and p["required"]]
        params = {p["name"]: _query_value(p) for p in required}
        resp = check.client.get(url, params=params)
        where = f"GET {url} -> {resp.status_code}"
        if resp.status_code != 200:
            check.failures.append(f"{where}: {resp.text[:200]}")
            continue
        check.checked += 1
        problem = check.validate("GET", template, resp)
        if problem:
            check.failures.append(f"{where}: {problem}")
    check.done()
    # the spec has 280 GETs; ids for a few come from nowhere the emulator lists
    assert check.checked >= 260, (check.checked, unresolved)


def _query_value(param: dict[str, Any]) -> str:
    schema = param.get("schema") or {}
    if schema.get("enum"):
        return str(schema["enum"][0])
    return 'user.status eq "ACTIVE"' if param["name"] == "filter" else "1"


def test_generic_resources_write_and_validate(
    spec: tuple[Any, dict[str, Any]], fresh: RunningEmulator
) -> None:
    """Create, read, replace, lifecycle and delete on resources no handler serves."""
    check = Checker(spec, fresh)
    brand = check("POST", "/api/v1/brands", status=201, json_body={"name": "Acme"}).json()
    assert brand["name"] == "Acme"
    assert (
        check("GET", "/api/v1/brands/{brandId}", status=200, brandId=brand["id"]).json()["name"]
        == "Acme"
    )
    listed = check("GET", "/api/v1/brands", status=200).json()
    assert [b["id"] for b in listed][-1] == brand["id"]
    # a generated reference to another resource names a real one
    apps = {a["id"] for a in fresh.org.apps}
    assert all(b["defaultApp"]["appInstanceId"] in apps for b in listed)
    check("POST", "/api/v1/brands", status=400, json_body={})  # name is required
    check("POST", "/api/v1/brands", status=400, json_body={"name": 5})  # of type string
    replaced = check(
        "PUT",
        "/api/v1/brands/{brandId}",
        status=200,
        brandId=brand["id"],
        json_body={"name": "Acme 2", "agreeToCustomPrivacyPolicy": False},
    ).json()
    assert (replaced["id"], replaced["name"]) == (brand["id"], "Acme 2")
    themes = check("GET", "/api/v1/brands/{brandId}/themes", status=200, brandId=brand["id"])
    theme = themes.json()[0]["id"]
    check("DELETE", "/api/v1/brands/{brandId}", status=204, brandId=brand["id"])
    check("GET", "/api/v1/brands/{brandId}", status=404, brandId=brand["id"])
    # the brand's themes went with it
    check(
        "GET",
        "/api/v1/brands/{brandId}/themes/{themeId}",
        status=404,
        brandId=brand["id"],
        themeId=theme,
    )
    auths = check("GET", "/api/v1/authenticators", status=200).json()
    assert all(a["id"].startswith("aut") for a in auths)  # the spec's id prefix for them
    auth = auths[0]["id"]
    out = check(
        "POST",
        "/api/v1/authenticators/{authenticatorId}/lifecycle/deactivate",
        status=200,
        authenticatorId=auth,
    ).json()
    assert out["status"] == "INACTIVE"
    got = check("GET", "/api/v1/authenticators/{authenticatorId}", status=200, authenticatorId=auth)
    assert got.json()["status"] == "INACTIVE"
    check(
        "POST",
        "/api/v1/authenticators/{authenticatorId}/lifecycle/activate",
        status=200,
        authenticatorId=auth,
    )
    assert fresh.org.resources.items  # the generic store holds what was served
    check.done()


# ------------------------------------------------------------------ 2. the SDK


def _sdk_client(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    client_mod = pytest.importorskip("okta.client", reason="Okta's SDK (okta) is not installed")
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")
    return client_mod.Client(
        {
            "orgUrl": emu.url,
            "token": emu.config.token,
            "cache": {"enabled": False},
            "rateLimit": {"maxRetries": 0},
        }
    )


async def _all_pages(fn: Any, *args: Any, **kwargs: Any) -> tuple[list[Any], int]:
    """Every item of a list, following the SDK's pagination (``after`` from the Link header)."""
    from okta.pagination import PaginationHelper

    items: list[Any] = []
    after, pages = None, 0
    while True:
        page, resp, err = await fn(*args, after=after, **kwargs)
        assert err is None, err
        items += page
        pages += 1
        after = PaginationHelper.extract_next_cursor(resp.headers)
        if not after:
            return items, pages


def test_sdk_lists_across_pages(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    client = _sdk_client(emu, monkeypatch)
    org = emu.org
    busiest = max(org.oidc_apps, key=lambda a: org.token_count(a["id"]))
    everyone = org.groups[0]["id"]

    async def run() -> None:
        apps, pages = await _all_pages(client.list_applications, limit=4)
        assert [a.id for a in apps] == [a["id"] for a in org.apps] and pages >= 4
        users, pages = await _all_pages(client.list_users, limit=5)
        listed = [u["id"] for u in org.users if u["status"] != "DEPROVISIONED"]
        assert [u.id for u in users] == listed and pages >= 5
        assert {u.status.value for u in users} >= {"ACTIVE", "STAGED", "SUSPENDED"}
        groups, pages = await _all_pages(client.list_groups, limit=2)
        assert [g.id for g in groups] == [g["id"] for g in org.groups] and pages >= 3
        members, pages = await _all_pages(client.list_group_users, everyone, limit=5)
        assert [m.id for m in members] == [m["id"] for m in org.group_members(everyone)]
        assert pages >= 4
        tokens, pages = await _all_pages(
            client.list_o_auth2_tokens_for_application, busiest["id"], limit=10
        )
        assert [t.id for t in tokens] == org.token_ids(busiest["id"]) and pages >= 5
        assert {t.user_id for t in tokens} <= {u["id"] for u in org.users}

    asyncio.run(run())


def test_sdk_tokens_users_and_errors(
    fresh: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _sdk_client(fresh, monkeypatch)
    org = fresh.org
    app = max(org.oidc_apps, key=lambda a: org.token_count(a["id"]))["id"]
    victim = org.token_ids(app)[3]

    async def run() -> None:
        from okta.models import CreateUserRequest, UpdateUserRequest

        token, _, err = await client.get_o_auth2_token_for_application(app, victim)
        assert err is None and token.id == victim and token.client_id == app
        _, resp, err = await client.revoke_o_auth2_token_for_application(app, victim)
        assert err is None and resp.status_code == 204
        assert victim not in org.token_ids(app)
        _, _, err = await client.get_o_auth2_token_for_application(app, victim)
        assert (err.status, err.error_code) == (404, "E0000007")

        body = CreateUserRequest.from_dict(
            {
                "profile": {
                    "firstName": "Katherine",
                    "lastName": "Johnson",
                    "email": "k.johnson@example.com",
                    "login": "k.johnson@example.com",
                }
            }
        )
        user, _, err = await client.create_user(body, activate=False)
        assert err is None and user.status.value == "STAGED"
        assert org.user(user.id)["profile"]["login"] == "k.johnson@example.com"
        patch = UpdateUserRequest.from_dict({"profile": {"title": "Mathematician"}})
        updated, _, err = await client.update_user(user.id, patch)
        assert err is None and updated.profile.title == "Mathematician"
        assert org.user(user.id)["profile"]["title"] == "Mathematician"
        assert org.user(user.id)["profile"]["firstName"] == "Katherine"  # a partial update
        _, _, err = await client.create_user(body)  # the login is taken
        assert (err.status, err.error_code) == (400, "E0000001")
        *_, err = await client.suspend_user(user.id)  # STAGED: only ACTIVE users suspend
        assert (err.status, err.error_code) == (400, "E0000001")
        missing, _, err = await client.get_user("00unothere0000000000")
        assert missing is None and (err.status, err.error_code) == (404, "E0000007")
        assert err.error_summary == "Not found: Resource not found: 00unothere0000000000 (User)"

    asyncio.run(run())


def test_sdk_models_parse_every_new_resource(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = _sdk_client(emu, monkeypatch)
    org = emu.org
    admin, app, server = org.admin_id, org.oidc_apps[0]["id"], org.auth_servers[1]["id"]
    grant = next(iter(org._user_grants.values()))
    calls: list[tuple[str, Any, tuple[Any, ...], int]] = [
        ("factors", client.list_factors, (admin,), len(org.factors(admin))),
        ("roles", client.list_assigned_roles_for_user, (admin,), len(org.user_roles(admin))),
        (
            "user grants",
            client.list_user_grants,
            (grant["userId"],),
            len(org.user_grants(grant["userId"])),
        ),
        (
            "user clients",
            client.list_user_clients,
            (grant["userId"],),
            len(org.user_clients(grant["userId"])),
        ),
        ("app grants", client.list_scope_consent_grants, (app,), len(org.app_grants(app))),
        ("app keys", client.list_application_keys, (app,), len(org.app_keys(app))),
        (
            "server policies",
            client.list_authorization_server_policies,
            (server,),
            len(org.server_policies(server)),
        ),
        ("claims", client.list_o_auth2_claims, (server,), len(org.claims(server))),
        (
            "server keys",
            client.list_authorization_server_keys,
            (server,),
            len(org.server_keys(server)),
        ),
        (
            "server clients",
            client.list_o_auth2_clients_for_authorization_server,
            (server,),
            len(org.server_clients(server)),
        ),
        ("idps", client.list_identity_providers, (), len(org.idps)),
        ("trusted origins", client.list_trusted_origins, (), len(org.trusted_origins)),
        ("event hooks", client.list_event_hooks, (), len(org.event_hooks)),
        ("inline hooks", client.list_inline_hooks, (), len(org.inline_hooks)),
        ("api tokens", client.list_api_tokens, (), len(org.api_tokens)),
        ("group rules", client.list_group_rules, (), len(org.group_rules)),
        ("password policies", client.list_policies, ("PASSWORD",), len(org.policies("PASSWORD"))),
    ]

    # Not zones: the SDK's generated models type the dynamic zones' ``locations``/``asns``
    # (arrays in the spec, as ``allOf`` of an array schema) as objects, so it cannot parse any
    # DYNAMIC/DYNAMIC_V2 zone, the spec's own examples included. The spec test covers zones.

    async def run() -> None:
        for name, fn, args, expected in calls:
            items, _, err = await fn(*args)
            assert err is None, f"{name}: {err}"
            assert len(items) == expected, name
        events, _, err = await client.list_log_events(since="2024-01-01T00:00:00Z", limit=50)
        assert err is None and [e.uuid for e in events] == [e["uuid"] for e in org.log_events[:50]]
        roles, _, err = await client.list_roles()
        assert err is None and [r.id for r in roles.roles] == [r["id"] for r in org.iam_roles]

    asyncio.run(run())


def test_sdk_reads_and_writes_authenticators_and_brands(
    fresh: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two families served only by the generic resource, through Okta's own SDK models."""
    client = _sdk_client(fresh, monkeypatch)
    from okta.models import BrandWithEmbedded, CreateBrandRequest

    async def run() -> None:
        auths, _, err = await client.list_authenticators()
        assert err is None and len(auths) == 3
        one, _, err = await client.get_authenticator(auths[0].id)
        assert err is None and (one.id, one.name) == (auths[0].id, auths[0].name)
        off, _, err = await client.deactivate_authenticator(auths[0].id)
        assert err is None and str(off.status).endswith("INACTIVE")
        brands, _, err = await client.list_brands()
        assert (
            err is None
            and len(brands) == 3
            and all(isinstance(b, BrandWithEmbedded) for b in brands)
        )
        made, _, err = await client.create_brand(CreateBrandRequest(name="SDK brand"))
        assert err is None and made.name == "SDK brand"
        again, _, err = await client.get_brand(made.id)
        assert err is None and (again.id, again.name) == (made.id, "SDK brand")
        _, _, err = await client.get_brand("bndNOSUCHBRAND000000")
        assert err is not None and getattr(err, "error_code", None) == "E0000007"

    asyncio.run(run())


def test_generic_resources_never_echo_write_only_secrets(fresh: RunningEmulator) -> None:
    """A write-only field of the spec (a CAPTCHA's secretKey) is accepted but never answered,
    listed or stored; generated objects have none either."""
    client = httpx.Client(base_url=fresh.url, headers={"Authorization": f"SSWS {TOKEN}"})
    secret = "captcha-secret-6Lc0000000000000000000000000000000000000"
    body = {
        "name": "Sign-in CAPTCHA",
        "siteKey": "site-key-1",
        "secretKey": secret,
        "type": "HCAPTCHA",
    }
    made = client.post("/api/v1/captchas", json=body)
    assert made.status_code == 201, made.text  # the spec's status for createCaptchaInstance
    assert made.json()["name"] == "Sign-in CAPTCHA" and "secretKey" not in made.json()
    listed = client.get("/api/v1/captchas")
    got = client.get(f"/api/v1/captchas/{made.json()['id']}")
    assert got.status_code == 200
    for resp in (made, listed, got):
        assert secret not in resp.text and "secretKey" not in resp.text
    assert secret not in repr(fresh.org.resources.items)
