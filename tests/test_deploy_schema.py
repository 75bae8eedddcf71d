"""A polymorphic body's ``desired`` checked against the variant its discriminator names.

An app's body depends on its ``signOnMode``, a policy's on its ``type``, a zone's on its
``type``: each mistake under them fails ``deploy plan`` and ``deploy build`` before any request,
naming the stack file, the line and the dotted path. Real HTTP against a fresh emulated org,
through the CLI; requests counted in the emulator's request log.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from oktaql.cli import main


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


def deploy(emu: Any, *args: str) -> Any:
    return CliRunner().invoke(
        main,
        ["deploy", *args, "--org-url", emu.url],
        env={"OKTA_API_TOKEN": emu.config.token},
    )


def stack(root: Path, manifest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "resources").mkdir(exist_ok=True)
    (root / "stackql_manifest.yml").write_text(manifest, encoding="utf-8")
    return root


def refused(emu: Any, d: Path, error: str) -> None:
    """Both ``plan`` and ``build`` of ``d`` fail with ``error`` (after the manifest's path),
    exit 1, having sent nothing."""
    for command in ("plan", "build"):
        emu.reset_log()
        res = deploy(emu, command, str(d), "dev")
        assert (res.exit_code, res.output) == (1, f"error: {d}/stackql_manifest.yml:{error}\n")
        assert emu.request_log == []


# line numbers below are this text's: `settings:` is on line 12, `oauthClient:` on 13, ...
OIDC = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: portal
    resource: okta.apps.applications
    match: {label: qa portal}
    desired:
      name: oidc_client
      label: qa portal
      signOnMode: %(mode)s
      settings:
        oauthClient:
          redirect_uris: %(uris)s
          post_logout_redirect_uris: [https://qa.example.com/bye]
          grant_types: [authorization_code, refresh_token]
          response_types: [code]
          application_type: %(type)s
%(extra_settings)s
      credentials:
        oauthClient:
          token_endpoint_auth_method: client_secret_basic
          autoKeyRotation: %(rotation)s
%(extra_credentials)s
    lifecycle: {status: ACTIVE}
"""
FINE = {
    "mode": "OPENID_CONNECT",
    "uris": "[https://qa.example.com/cb]",
    "type": "web",
    "rotation": "true",
    "extra_settings": "",
    "extra_credentials": "",
}


def oidc(root: Path, **changes: str) -> Path:
    return stack(root, OIDC % {**FINE, **changes})


def test_a_typo_under_settings_oauth_client_names_its_path_line_and_the_nearest(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = oidc(tmp_path / "s", extra_settings="          redirect_uri: https://qa.example.com/x")
    names = (
        "application_type, backchannel_authentication_request_signing_alg, "
        "backchannel_custom_authenticator_id, backchannel_token_delivery_mode, client_uri, "
        "consent_method, dpop_bound_access_tokens, frontchannel_logout_session_required, "
        "frontchannel_logout_uri, grant_types, id_token_encrypted_response_alg, "
        "idp_initiated_login, initiate_login_uri, issuer_mode, jwks, jwks_uri, logo_uri, "
        "network, participate_slo, policy_uri, post_logout_redirect_uris, redirect_uris, "
        "refresh_token, request_object_signing_alg, response_types, sector_identifier_uri, "
        "subject_type, tos_uri, wildcard_redirect"
    )
    refused(
        fresh_emulator,
        d,
        "19: resources.portal: desired.settings.oauthClient.redirect_uri: "
        "okta.apps.applications (signOnMode OPENID_CONNECT) has no field 'redirect_uri' in "
        "settings.oauthClient (did you mean redirect_uris, post_logout_redirect_uris?); "
        f"settings.oauthClient has {names}",
    )


def test_a_typo_under_credentials_oauth_client_is_refused(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = oidc(tmp_path / "s", extra_credentials="          client_idd: qa-portal")
    refused(
        fresh_emulator,
        d,
        "24: resources.portal: desired.credentials.oauthClient.client_idd: "
        "okta.apps.applications (signOnMode OPENID_CONNECT) has no field 'client_idd' in "
        "credentials.oauthClient (did you mean client_id, client_secret?); "
        "credentials.oauthClient has autoKeyRotation, client_id, client_secret, pkce_required, "
        "token_endpoint_auth_method",
    )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"uris": "https://qa.example.com/cb"},
            "14: resources.portal: desired.settings.oauthClient.redirect_uris: "
            "okta.apps.applications (signOnMode OPENID_CONNECT) takes array here, not a string "
            "('https://qa.example.com/cb')",
        ),
        (
            {"rotation": '"yes"'},
            "23: resources.portal: desired.credentials.oauthClient.autoKeyRotation: "
            "okta.apps.applications (signOnMode OPENID_CONNECT) takes boolean here, not a string "
            "('yes')",
        ),
        (
            {"type": "webapp"},
            "18: resources.portal: desired.settings.oauthClient.application_type: "
            "okta.apps.applications (signOnMode OPENID_CONNECT) takes one of browser, native, "
            "service, web here, not 'webapp' (did you mean web?)",
        ),
        (
            {"uris": "[https://qa.example.com/cb, 7]"},
            "14: resources.portal: desired.settings.oauthClient.redirect_uris[1]: "
            "okta.apps.applications (signOnMode OPENID_CONNECT) takes string here, not a number "
            "(7)",
        ),
        (
            {"extra_settings": "        emOptInStatus: ENABLED"},
            "19: resources.portal: desired.settings.emOptInStatus: okta.apps.applications "
            "(signOnMode OPENID_CONNECT) can't be given 'settings.emOptInStatus': the API sets it",
        ),
        (
            {"mode": "OIDC"},
            "11: resources.portal: desired.signOnMode: okta.apps.applications has no signOnMode "
            "'OIDC'; signOnMode is one of AUTO_LOGIN, BASIC_AUTH, BOOKMARK, BROWSER_PLUGIN, "
            "OPENID_CONNECT, SAML_1_1, SAML_2_0, SECURE_PASSWORD_STORE, WS_FEDERATION",
        ),
    ],
    ids=["string-for-array", "string-for-boolean", "enum", "array-item", "read-only", "mode"],
)
def test_wrong_values_under_an_oidc_app_are_refused_naming_what_goes_there(
    tmp_path: Path, fresh_emulator: Any, changes: dict[str, str], error: str
) -> None:
    refused(fresh_emulator, oidc(tmp_path / "s", **changes), error)


def test_another_sign_on_mode_takes_its_own_settings(tmp_path: Path, fresh_emulator: Any) -> None:
    """A bookmark app's ``settings.app`` is ``url`` and ``requestIntegration``; a SAML app's
    ``settings.signOn`` is not an OIDC app's."""
    manifest = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: link
    resource: okta.apps.applications
    match: {label: qa link}
    desired:
      name: %s
      label: qa link
      signOnMode: %s
      settings:
        %s
"""
    refused(
        fresh_emulator,
        stack(tmp_path / "b", manifest % ("bookmark", "BOOKMARK", 'app: {ur: "https://x.io"}')),
        "13: resources.link: desired.settings.app.ur: okta.apps.applications (signOnMode "
        "BOOKMARK) has no field 'ur' in settings.app (did you mean url?); settings.app has "
        "requestIntegration, url",
    )
    saml = 'signOn: {ssoAcsUrl: "https://x.io/acs"}'
    refused(
        fresh_emulator,
        stack(tmp_path / "o", manifest % ("oidc_client", "OPENID_CONNECT", saml)),
        "13: resources.link: desired.settings.signOn: okta.apps.applications (signOnMode "
        "OPENID_CONNECT) has no field 'signOn' in settings; settings has app, identityStoreId, "
        "implicitAssignment, inlineHookId, manualProvisioning, notes, notifications, oauthClient",
    )
    # the variant's own fields hold too: an OIDC app's `name` is oidc_client
    refused(
        fresh_emulator,
        stack(tmp_path / "n", manifest % ("bookmark", "OPENID_CONNECT", "notes: {}")),
        "9: resources.link: desired.name: okta.apps.applications (signOnMode OPENID_CONNECT) "
        "takes one of oidc_client here, not 'bookmark'",
    )


def test_a_policys_type_picks_its_settings_schema(tmp_path: Path, fresh_emulator: Any) -> None:
    manifest = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: pw
    resource: okta.policies.policies
    match: {name: qa passwords}
    desired:
      type: %s
      name: qa passwords
      settings:
        password:
          complexity: {minLength: "8"}
"""
    refused(
        fresh_emulator,
        stack(tmp_path / "p", manifest % "PASSWORD"),
        "13: resources.pw: desired.settings.password.complexity.minLength: "
        "okta.policies.policies (type PASSWORD) takes integer here, not a string ('8')",
    )
    refused(
        fresh_emulator,
        stack(tmp_path / "t", manifest % "PASSWRD"),
        "9: resources.pw: desired.type: okta.policies.policies has no type 'PASSWRD' (did you "
        "mean PASSWORD?); type is one of ACCESS_POLICY, DEVICE_SIGNAL_COLLECTION, MFA_ENROLL, "
        "OKTA_SIGN_ON, PASSWORD, PROFILE_ENROLLMENT",
    )


def test_objects_in_a_list_are_checked_each_on_its_own_line(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    manifest = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: zone
    resource: okta.zones.network_zones
    match: {name: qa zone}
    desired:
      type: IP
      name: qa zone
      gateways:
        - {type: CIDR, value: 10.0.0.0/8}
        - type: CIDR
          vlaue: 192.168.0.0/16
"""
    refused(
        fresh_emulator,
        stack(tmp_path / "z", manifest),
        "14: resources.zone: desired.gateways[1].vlaue: okta.zones.network_zones (type IP) has "
        "no field 'vlaue' in gateways[1] (did you mean value?); gateways[1] has type, value",
    )


def test_a_free_form_object_takes_anything_below_it(tmp_path: Path, fresh_emulator: Any) -> None:
    """An app's ``profile`` is free-form (``additionalProperties``)."""
    d = oidc(
        tmp_path / "s",
        extra_credentials="      profile: {team: {name: iam, tier: 1}, tags: [a, b]}",
    )
    res = deploy(fresh_emulator, "plan", str(d), "dev", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    assert "+ portal: create" in res.output


def templated(root: Path, **changes: str) -> Path:
    """The OIDC stack with its sign-on mode a global's value, and an eng group before it
    exporting its id."""
    d = oidc(root, mode='"{{ mode }}"', **changes)
    text = (d / "stackql_manifest.yml").read_text(encoding="utf-8")
    head = (
        "globals:\n  - name: mode\n    value: OPENID_CONNECT\nresources:\n"
        "  - name: eng\n    resource: okta.groups.groups\n    match: {profile.name: qa-eng}\n"
        "    desired: {profile: {name: qa-eng}}\n    exports: [{id: eng_id}]\n"
    )
    (d / "stackql_manifest.yml").write_text(text.replace("resources:\n", head), encoding="utf-8")
    return d


def test_a_templated_choice_is_checked_once_rendered_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """A discriminator a global gives is known before any request: the variant it names holds
    (the error names the resource, as its rendered values have no lines of their own)."""
    d = templated(tmp_path / "t", extra_settings="          redirect_uri: https://qa.example.com")
    fresh_emulator.reset_log()
    res = deploy(fresh_emulator, "plan", str(d), "dev")
    assert res.exit_code == 1, res.output
    assert res.output.startswith(
        f"error: {d}/stackql_manifest.yml:13: resources.portal: "
        "desired.settings.oauthClient.redirect_uri: okta.apps.applications (signOnMode "
        "OPENID_CONNECT) has no field 'redirect_uri' in settings.oauthClient (did you mean "
        "redirect_uris, post_logout_redirect_uris?); settings.oauthClient has application_type, "
    ), res.output
    assert fresh_emulator.request_log == []
    # a value an earlier resource's export gives is known only after apply: not judged
    fine = templated(tmp_path / "f", extra_settings='        inlineHookId: "{{ eng_id }}"')
    res = deploy(fresh_emulator, "plan", str(fine), "dev", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    assert "+ portal: create" in res.output


def test_a_correct_oidc_app_builds_then_plans_clean_and_only_written_nested_fields_drift(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    emu = fresh_emulator
    d = oidc(tmp_path / "s")
    res = deploy(emu, "plan", str(d), "dev", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    res = deploy(emu, "build", str(d), "dev")
    assert res.exit_code == 0, res.output
    (app,) = [a for a in emu.org.apps if a["label"] == "qa portal"]
    client = app["settings"]["oauthClient"]
    assert client["redirect_uris"] == ["https://qa.example.com/cb"]
    assert client["grant_types"] == ["authorization_code", "refresh_token"]
    assert app["credentials"]["oauthClient"]["token_endpoint_auth_method"] == (
        "client_secret_basic"
    )
    emu.reset_log()
    res = deploy(emu, "plan", str(d), "dev", "--detailed-exitcode", "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["resources"] == [
        {"name": "portal", "action": "none", "changes": [], "requests": []}
    ]
    assert {m for m, _p, _h in emu.request_log} == {"GET"}
    # by hand: a field the stack wrote (one redirect URI more) and fields it didn't (a logo,
    # consent) change; only the written list is drift, compared as written
    live = httpx.get(
        f"{emu.url}/api/v1/apps/{app['id']}", headers={"Authorization": "SSWS test-token"}
    ).json()
    live["settings"]["oauthClient"]["redirect_uris"].append("https://evil.example.com/cb")
    live["settings"]["oauthClient"]["logo_uri"] = "https://qa.example.com/logo.png"
    live["settings"]["oauthClient"]["consent_method"] = "TRUSTED"
    put = httpx.put(
        f"{emu.url}/api/v1/apps/{app['id']}",
        json=live,
        headers={"Authorization": "SSWS test-token"},
    )
    assert put.status_code == 200, put.text
    res = deploy(emu, "plan", str(d), "dev", "--detailed-exitcode", "-o", "json")
    assert res.exit_code == 2, res.output
    (planned,) = json.loads(res.output)["resources"]
    assert (planned["action"], planned["changes"]) == (
        "update",
        [
            {
                "field": "settings.oauthClient.redirect_uris",
                "old": ["https://qa.example.com/cb", "https://evil.example.com/cb"],
                "new": ["https://qa.example.com/cb"],
            }
        ],
    )
    # the replace keeps what the stack didn't write
    body = planned["requests"][0]["body"]
    assert body["settings"]["oauthClient"]["logo_uri"] == "https://qa.example.com/logo.png"
    res = deploy(emu, "build", str(d), "dev")
    assert res.exit_code == 0, res.output
    res = deploy(emu, "plan", str(d), "dev", "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    client = emu.org.app(app["id"])["settings"]["oauthClient"]
    assert client["redirect_uris"] == ["https://qa.example.com/cb"]
    assert client["consent_method"] == "TRUSTED"


ONE = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: it
    resource: %s
    match: {name: qa it}
    desired:
      name: qa it
%s
"""


@pytest.mark.parametrize(
    ("resource", "desired", "error"),
    [
        (
            "okta.authenticators.authenticators",
            "      key: okta_mail",
            "10: resources.it: desired.key: okta.authenticators.authenticators has no key "
            "'okta_mail' (did you mean okta_email, okta_verify?); key is one of custom_app, duo, "
            "external_idp, google_otp, okta_email, okta_password, okta_verify, onprem_mfa, "
            "phone_number, security_key, security_question, smart_card_idp, symantec_vip, tac, "
            "webauthn, yubikey_token",
        ),
        (
            "okta.authenticators.authenticators",
            "      key: okta_email\n      settings: {tokenLifetimeInMinute: 5}",
            "11: resources.it: desired.settings.tokenLifetimeInMinute: "
            "okta.authenticators.authenticators (key okta_email) has no field "
            "'tokenLifetimeInMinute' in settings (did you mean tokenLifetimeInMinutes?); "
            "settings has allowedFor, tokenLifetimeInMinutes",
        ),
        (
            # an IdP's protocol is one of several schemas without a discriminator: its `type`
            # (each schema allows one) picks it
            "okta.idps.identity_providers",
            "      type: OIDC\n      protocol:\n        type: OIDC\n        scopes: openid",
            "13: resources.it: desired.protocol.scopes: okta.idps.identity_providers "
            "(protocol.type OIDC) takes array here, not a string ('openid')",
        ),
        (
            "okta.idps.identity_providers",
            "      type: SAML2\n      protocol: {type: SAML2, scopes: [openid]}",
            "11: resources.it: desired.protocol.scopes: okta.idps.identity_providers "
            "(protocol.type SAML2) has no field 'scopes' in protocol; protocol has algorithms, "
            "credentials, endpoints, relayState, settings, type",
        ),
    ],
    ids=["authenticator-key", "authenticator-settings", "idp-oidc", "idp-saml"],
)
def test_authenticators_by_key_and_idp_protocols_by_type(
    tmp_path: Path, fresh_emulator: Any, resource: str, desired: str, error: str
) -> None:
    refused(fresh_emulator, stack(tmp_path / "s", ONE % (resource, desired)), error)


def test_drift_compares_nested_dicts_and_lists_only_as_written() -> None:
    from oktaql.deploy._diff import diff
    from oktaql.deploy._model import FieldChange

    desired = {"settings": {"oauthClient": {"redirect_uris": ["a"]}}, "gateways": [{"value": "x"}]}
    live = {
        "settings": {"oauthClient": {"redirect_uris": ["a"], "logo_uri": "l"}, "notes": {}},
        "gateways": [{"type": "CIDR", "value": "x"}],  # a field of an item the stack didn't write
        "label": "unwritten",
    }
    assert diff(desired, live) == []
    live["gateways"] = [{"type": "CIDR", "value": "x"}, {"type": "CIDR", "value": "y"}]
    live["settings"]["oauthClient"]["redirect_uris"] = ["b", "a"]  # type: ignore[index]
    assert diff(desired, live) == [
        FieldChange("settings.oauthClient.redirect_uris", ["b", "a"], ["a"]),
        FieldChange(
            "gateways",
            [{"type": "CIDR", "value": "x"}, {"type": "CIDR", "value": "y"}],
            [{"value": "x"}],
        ),
    ]


def test_a_saml_apps_name_is_the_apis_unless_it_names_an_oin_app(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """A custom SAML app's ``name`` is generated (read-only in its schema); an OIN app's
    (``zoomus``, pinned with ``signOnMode: SAML_2_0`` by its own schema) is given, and that
    schema's settings hold."""
    manifest = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: zoom
    resource: okta.apps.applications
    match: {label: qa zoom}
    desired:
      name: %s
      label: qa zoom
      signOnMode: SAML_2_0
      settings:
        app: {%s: acme}
"""
    refused(
        fresh_emulator,
        stack(tmp_path / "c", manifest % ("mysaml", "subDomain")),
        "9: resources.zoom: desired.name: okta.apps.applications (signOnMode SAML_2_0) can't be "
        "given 'name': the API sets it",
    )
    refused(
        fresh_emulator,
        stack(tmp_path / "t", manifest % ("zoomus", "subDomian")),
        "13: resources.zoom: desired.settings.app.subDomian: okta.apps.applications (signOnMode "
        "SAML_2_0) has no field 'subDomian' in settings.app (did you mean subDomain?); "
        "settings.app has subDomain",
    )
    fine = stack(tmp_path / "z", manifest % ("zoomus", "subDomain"))
    res = deploy(fresh_emulator, "plan", str(fine), "dev", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    assert "+ zoom: create" in res.output
