"""What an identity engineer running stacks from CI hits: exit codes a CI check reads, typos in
``desired`` caught before any request, secrets nested under a secret-named parent.

Real HTTP against a fresh emulated org, through the CLI; requests counted in its request log.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oktaql.cli import main


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))


@pytest.fixture
def empty_org() -> Any:
    """A second org with nothing but Okta's own objects."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running = start_in_thread(EmulatorConfig(token="test-token", seed=7, groups=1))
    try:
        yield running
    finally:
        running.stop()


def stack(root: Path, manifest: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "resources").mkdir(exist_ok=True)
    (root / "stackql_manifest.yml").write_text(manifest, encoding="utf-8")
    return root


def refused(emu: Any, d: Path, error: str, *args: str, env: str = "dev") -> None:
    """``plan`` of ``d`` fails with ``error`` (after ``{d}/stackql_manifest.yml:``), exit 1,
    before any request."""
    emu.reset_log()
    res = deploy(emu, "plan", str(d), env, *args)
    assert (res.exit_code, res.output) == (1, f"error: {d}/stackql_manifest.yml:{error}\n")
    assert emu.request_log == []


def deploy(emu: Any, *args: str) -> Any:
    return CliRunner().invoke(
        main,
        ["deploy", *args, "--org-url", emu.url],
        env={"OKTA_API_TOKEN": emu.config.token},
    )


GROUP = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: eng
    resource: okta.groups.groups
    match: {profile.name: qa-eng}
    desired:
      profile:
        name: qa-eng
        %s
"""


def test_a_nested_typo_in_desired_names_the_field_its_line_and_the_nearest_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = stack(tmp_path / "s", GROUP % "descriptoin: Engineers")
    fresh_emulator.reset_log()
    for command in ("plan", "build"):
        res = deploy(fresh_emulator, command, str(d), "dev")
        assert res.exit_code == 1, res.output
        assert res.output == (
            f"error: {d}/stackql_manifest.yml:11: resources.eng: desired.profile.descriptoin: "
            "okta.groups.groups has no field 'descriptoin' in profile (did you mean "
            "description?); profile has description, name\n"
        )
    assert fresh_emulator.request_log == []


def test_a_list_where_the_api_takes_a_string_is_refused_naming_both(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = stack(tmp_path / "s", GROUP % "description: [Engineers, Admins]")
    refused(
        fresh_emulator,
        d,
        (
            "11: resources.eng: desired.profile.description: "
            "okta.groups.groups takes string here, not a list (['Engineers', 'Admins'])"
        ),
    )


def test_a_templated_value_and_a_fine_stack_still_plan(tmp_path: Path, fresh_emulator: Any) -> None:
    d = stack(tmp_path / "s", GROUP % 'description: "{{ stack_env }} engineers"')
    res = deploy(fresh_emulator, "plan", str(d), "dev", "--detailed-exitcode")
    assert res.exit_code == 2, res.output
    assert "+ eng: create" in res.output


def test_a_resource_with_no_create_or_replace_method_says_so(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = stack(
        tmp_path / "s",
        """\
version: 1
name: qa
providers: [okta]
resources:
  - name: tok
    resource: okta.apps.tokens
    match: {appId: "0oa1", clientId: x}
    desired: {clientId: x}
""",
    )
    refused(
        fresh_emulator,
        d,
        (
            "5: resources.tok: okta.apps.tokens has no create or "
            "replace method, so desired fields can't be written; read it with a `type: query` "
            "resource instead"
        ),
    )


def test_plan_detailed_exitcode_usage_errors_exit_1_never_2(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """Exit 2 means "changes" to a CI check (the README's snippet passes it): a stack dir that is
    a file, or a mistyped option, must fail the check instead."""
    a_file = tmp_path / "afile"
    a_file.write_text("", encoding="utf-8")
    d = stack(tmp_path / "s", GROUP % "description: Engineers")
    for args in (
        [str(a_file), "dev", "--detailed-exitcode"],
        [str(d), "dev", "--detailed-exitcode", "--detailed-exitcodes"],
    ):
        res = deploy(fresh_emulator, "plan", *args)
        assert res.exit_code == 1, res.output
        assert res.output.splitlines()[-1] in (
            f"Error: Invalid value for 'STACK_DIR': Directory '{a_file}' is a file.",
            "Error: No such option '--detailed-exitcodes'. Did you mean '--detailed-exitcode'?",
        ), res.output
    res = deploy(fresh_emulator, "plan", str(a_file), "dev")
    assert res.exit_code == 2  # click's usage error, without --detailed-exitcode
    assert "Directory" in res.output and "is a file" in res.output


USER = """\
version: 1
name: qa
providers: [okta]
resources:
  - name: svc
    resource: okta.users.users
    match: {profile.login: svc@example.com}
    desired:
      profile: {login: svc@example.com, email: svc@example.com, firstName: S, lastName: C}
      credentials: {password: {value: "Pa55word!Secret"}}
"""


def test_a_password_under_credentials_is_masked_everywhere_and_never_planned_again(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """``credentials.password.value``: ``value`` alone is no secret name, its parent is. The API
    never returns it, so a built stack's plan has nothing to compare and shows no change (not a
    perpetual update that resends the password on every build)."""
    d = stack(tmp_path / "s", USER)
    out = tmp_path / "plan.json"
    res = deploy(fresh_emulator, "plan", str(d), "dev", "-o", "json", "--out", str(out))
    assert res.exit_code == 0, res.output
    (svc,) = json.loads(res.output)["resources"]
    assert svc["changes"][1] == {
        "field": "credentials",
        "old": None,
        "new": {"password": {"value": "***"}},
    }
    assert svc["requests"][0]["body"]["credentials"] == {"password": {"value": "***"}}
    res = deploy(fresh_emulator, "build", str(d), "dev", "--output-file", str(tmp_path / "o"))
    assert res.exit_code == 0, res.output
    fresh_emulator.reset_log()
    res = deploy(fresh_emulator, "plan", str(d), "dev", "--detailed-exitcode", "-o", "json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["resources"][0]["action"] == "none"
    assert {m for m, _p, _h in fresh_emulator.request_log} == {"GET"}
    res = deploy(fresh_emulator, "build", str(d), "dev", "--show-queries")
    assert (res.exit_code, res.output) == (0, "svc (unchanged)\nbuild of qa (dev): 1 unchanged\n")
    assert {m for m, _p, _h in fresh_emulator.request_log} == {"GET"}  # nothing resent
    files = [out, tmp_path / "o", *(tmp_path / "data").rglob("*")]
    for f in files:
        if f.is_file():
            assert "Pa55word" not in f.read_text(encoding="utf-8"), f


def test_field_changes_are_masked_by_their_whole_path() -> None:
    from oktaql.deploy._diff import masked, secret_path
    from oktaql.deploy._model import FieldChange

    assert masked(FieldChange("credentials.password.value", "a", "b")) == FieldChange(
        "credentials.password.value", "***", "***"
    )
    assert masked(FieldChange("profile.value", "a", "b")) == FieldChange("profile.value", "a", "b")
    assert secret_path("credentials.oauthClient.client_secret")
    assert not secret_path("credentials.oauthClient.token_endpoint_auth_method")


def test_apply_refuses_a_plan_made_against_another_org_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    from oktaql.emulator import EmulatorConfig, start_in_thread

    d = stack(tmp_path / "s", GROUP % "description: Engineers")
    plan = tmp_path / "plan.json"
    res = deploy(fresh_emulator, "plan", str(d), "dev", "--out", str(plan))
    assert res.exit_code == 0, res.output
    assert json.loads(plan.read_text(encoding="utf-8"))["org"] == fresh_emulator.url
    other = start_in_thread(EmulatorConfig(token=fresh_emulator.config.token))
    try:
        other.reset_log()
        res = deploy(other, "apply", str(d), "dev", "--plan", str(plan))
        assert res.exit_code == 1
        assert res.output == (
            f"error: --plan {plan} was made against {fresh_emulator.url}, not {other.url}: "
            "run plan against this org; nothing was sent\n"
        )
        assert other.request_log == []
    finally:
        other.stop()
    res = deploy(fresh_emulator, "apply", str(d), "dev", "--plan", str(plan))
    assert res.exit_code == 0, res.output


def test_export_widens_a_match_two_objects_share_and_leaves_out_twins_saying_so(
    tmp_path: Path, fresh_emulator: Any, empty_org: Any
) -> None:
    """Two trusted origins named alike (Okta allows it): the export's match takes the field that
    tells them apart, so the plan on the source org and a build elsewhere each find one object.
    Two identical apps can't be told apart: the second is left out, with a note naming both."""
    import httpx
    import yaml

    headers = {"Authorization": f"SSWS {fresh_emulator.config.token}"}
    with httpx.Client(base_url=fresh_emulator.url, headers=headers) as api:
        for n in (1, 2):
            api.post(
                "/api/v1/trustedOrigins",
                json={
                    "name": "twin",
                    "origin": f"https://twin{n}.example.com",
                    "scopes": [{"type": "CORS"}],
                },
            ).raise_for_status()
        apps = [
            api.post(
                "/api/v1/apps",
                json={
                    "name": "bookmark",
                    "label": "twinapp",
                    "signOnMode": "BOOKMARK",
                    "settings": {"app": {"url": "https://x.example.com"}},
                },
            ).json()["id"]
            for _ in (1, 2)
        ]
    out = tmp_path / "exp"
    res = deploy(
        fresh_emulator,
        "export",
        "--resource",
        "okta.trustedorigins.trusted_origins",
        "--resource",
        "okta.apps.applications",
        "--where",
        "okta.trustedorigins.trusted_origins: name = 'twin'",
        "--where",
        "okta.apps.applications: label = 'twinapp'",
        str(out),
    )
    assert res.exit_code == 0, res.output
    assert (
        f"note: okta.apps.applications {apps[1]} left out: it has the same match as twinapp "
        f"({apps[0]}) and no field tells them apart" in res.output
    )
    doc = yaml.safe_load((out / "stackql_manifest.yml").read_text(encoding="utf-8"))
    assert [(r["name"], r["match"]) for r in doc["resources"]] == [
        ("twin", {"name": "twin", "origin": "https://twin1.example.com"}),
        ("twin_2", {"name": "twin", "origin": "https://twin2.example.com"}),
        ("twinapp", {"label": "twinapp"}),
    ]
    doc["resources"] = doc["resources"][:2]  # the source still has both twin apps
    (out / "stackql_manifest.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    res = deploy(fresh_emulator, "plan", str(out), "prd", "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    res = deploy(empty_org, "build", str(out), "prd")
    assert res.exit_code == 0, res.output
    empty_org.reset_log()
    res = deploy(empty_org, "plan", str(out), "prd", "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    assert {m for m, _p, _h in empty_org.request_log} == {"GET"}


def test_a_template_loop_that_runs_away_is_refused_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """Eight nested loops of ten: 10**8 characters, once rendered in full into a GET's URL (and
    its error); now stopped at the sandbox's size limit."""
    loops = "".join("{% for v" + str(i) + " in 'abcdefghij' %}" for i in range(8))
    value = loops + "x" + "{% endfor %}" * 8
    d = stack(
        tmp_path / "s",
        (GROUP % "description: Engineers").replace("name: qa-eng}", f'name: "{value}"}}'),
    )
    refused(
        fresh_emulator,
        d,
        (
            "5: match: template refused: its text passes 100000 "
            "characters (a loop that runs away?); a manifest value is a name, a URL, a short text"
        ),
    )


def test_a_prop_with_value_and_values_is_refused_naming_both_lines(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """Before, value won silently and the per-environment values were never used."""
    d = stack(
        tmp_path / "s",
        (GROUP % "description: Engineers")
        + "    props:\n      - name: p\n        value: 1\n        values: {prd: {value: 2}}\n",
    )
    refused(
        fresh_emulator,
        d,
        (
            "14: resources.eng.props.p: give value or values, not "
            "both (values, line 15, would be ignored): value holds for every environment, values "
            "one each"
        ),
        env="prd",
    )


def test_a_declarative_export_of_a_field_the_objects_lack_is_refused_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = stack(tmp_path / "s", (GROUP % "description: Engineers") + "    exports: [{idd: eng_id}]\n")
    refused(
        fresh_emulator,
        d,
        (
            "5: exports: exports.idd: okta.groups.groups objects "
            "have no field 'idd' (did you mean id?)"
        ),
    )


OIDC = """\
version: 1
name: qa
providers: [okta]
globals:
  - name: app_secret
    value: "{{ APP_SECRET }}"
resources:
  - name: app
    resource: okta.apps.applications
    match: {label: qa-web}
    desired:
      name: oidc_client
      label: qa-web
      signOnMode: OPENID_CONNECT
      credentials:
        oauthClient:
          token_endpoint_auth_method: client_secret_basic
          client_secret: "{{ app_secret }}"
      settings:
        oauthClient:
          redirect_uris: ["https://qa.example.com/cb"]
          grant_types: [authorization_code]
          response_types: [code]
          application_type: web
    exports:
      - id: app_id
      - credentials.oauthClient.client_secret: web_secret
exports: [app_id, web_secret]
"""


def test_an_exported_client_secret_is_protected_without_being_listed(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """The manifest sets the OIDC app's client_secret, exports it and lists it in the stack's
    exports but not in ``protected``: --output-file, --show-queries and the ownership record
    never hold it (the export is the create's answer: Okta returns the secret then only)."""
    secret = "Zq8s-not-for-output-9f2KxW1b"
    d = stack(tmp_path / "s", OIDC)
    out = tmp_path / "out.json"
    res = deploy(fresh_emulator, "plan", str(d), "dev", "-e", f"APP_SECRET={secret}")
    assert res.exit_code == 0, res.output
    assert secret not in res.output and '"client_secret": "***"' in res.output
    res = deploy(
        fresh_emulator,
        "build",
        str(d),
        "dev",
        "-e",
        f"APP_SECRET={secret}",
        "--show-queries",
        "--output-file",
        str(out),
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["web_secret"] == "****"
    assert secret not in res.output
    assert res.output.splitlines()[:2] == [
        "-- app: create",
        f'POST {fresh_emulator.url}/api/v1/apps {{"name": "oidc_client", "label": "qa-web", "signOnMode": '
        '"OPENID_CONNECT", "credentials": {"oauthClient": {"token_endpoint_auth_method": '
        '"client_secret_basic", "client_secret": "***"}}, "settings": {"oauthClient": '
        '{"redirect_uris": ["https://qa.example.com/cb"], "grant_types": '
        '["authorization_code"], "response_types": ["code"], "application_type": '
        '"web"}}}',
    ]
    for f in (tmp_path / "data").rglob("*"):
        if f.is_file():
            assert secret not in f.read_text(encoding="utf-8"), f


def test_an_export_named_as_a_global_is_refused_before_any_request(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    """Before, the export's placeholder replaced the global in the resource's own body and the
    build failed with "its body reads a value an earlier resource did not produce"."""
    d = stack(tmp_path / "s", OIDC.replace(": web_secret", ": app_secret"))
    refused(
        fresh_emulator,
        d,
        (
            "8: resources.app.exports: exports: 'app_secret' is "
            "also a global (or stack_name, stack_env, resource_name): the export would replace it, "
            "even in this resource's own queries; name the export another way "
            "({column: app_secret_out})"
        ),
        "-e",
        "APP_SECRET=x",
    )


def _groups_stack(n: int) -> str:
    rows = ["version: 1", "name: qa", "providers: [okta]", "resources:"]
    for i in range(1, n + 1):
        rows += [
            f"  - name: g{i}",
            "    resource: okta.groups.groups",
            f"    match: {{profile.name: qa-g{i}}}",
            f"    desired: {{profile: {{name: qa-g{i}}}}}",
        ]
    return "\n".join(rows) + "\n"


@pytest.mark.parametrize("mode", ["error", "rollback", "ignore"])
def test_a_500_on_the_third_create_is_not_retried_and_reported_per_resource(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """The org answers 500 to the third group's create and every one after (a real HTTP 500 from
    the emulator's fault layer, made to hit that write only): the engine treats it as exec
    does for writes (a POST is sent once), then the build says per resource what is done, and
    each on-failure mode does its own."""
    from oktaql.emulator import EmulatorConfig, _chaos, start_in_thread

    def draw(self: Any, method: str, target: str) -> str | None:
        return "500" if method == "POST" and target == "/api/v1/groups" and self.posts() else None

    posts = {"n": 0}

    def count(self: Any) -> bool:
        posts["n"] += 1
        return posts["n"] >= 3

    monkeypatch.setattr(_chaos.Chaos, "_draw", draw)
    monkeypatch.setattr(_chaos.Chaos, "posts", count, raising=False)
    emu = start_in_thread(EmulatorConfig(token="test-token", fault_rate=1e-9))
    try:
        d = stack(tmp_path / "s", _groups_stack(4))
        res = deploy(emu, "build", str(d), "dev", "--on-failure", mode, "--max-retries", "2")
        posted = [m for m, p, _h in emu.request_log if m == "POST"]
        names = {g["profile"]["name"] for g in httpx_get(emu, "/api/v1/groups?q=qa-g")}
    finally:
        emu.stop()
    # a create is not idempotent: its 500 is not retried (the object may exist by now)
    assert len(posted) == 3 + (1 if mode == "ignore" else 0)
    lines = res.output.splitlines()
    assert lines[:2] == ["g1 (created)", "g2 (created)"]
    assert lines[2].startswith("g3 (failed: ")
    if mode == "ignore":
        assert res.exit_code == 1, res.output
        assert any(x.startswith("g4 (failed: ") for x in lines)  # tried too, and 500 again
        assert names == {"qa-g1", "qa-g2"}
    elif mode == "rollback":
        assert res.exit_code == 1
        assert "rolled back (--on-failure rollback): g2 (deleted), g1 (deleted)" in lines
        assert names == set()
    else:
        assert res.exit_code == 1
        assert names == {"qa-g1", "qa-g2"}
    if mode != "ignore":  # g4 was listed under "done: ... g4 (not done)"
        assert "done: g1 (created), g2 (created)" in lines
        assert "not done: g3, g4" in lines
    assert "not retried: POST is not idempotent and Okta may have acted on it" in res.output


def httpx_get(emu: Any, path: str) -> Any:
    import httpx

    headers = {"Authorization": f"SSWS {emu.config.token}"}
    return httpx.get(f"{emu.url}{path}", headers=headers).json()


def test_a_tab_in_the_manifest_says_yaml_indents_with_spaces(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    d = stack(tmp_path / "s", "version: 1\nname: t\nproviders: [okta]\nresources:\n\t- name: g\n")
    refused(
        fresh_emulator,
        d,
        "5: not valid YAML: a tab at column 1: YAML indents with spaces, never tabs",
    )


def test_apply_refuses_a_saved_plan_that_names_no_org(tmp_path: Path, fresh_emulator: Any) -> None:
    d = stack(tmp_path / "s", GROUP % "description: Engineers")
    plan = tmp_path / "plan.json"
    assert deploy(fresh_emulator, "plan", str(d), "dev", "--out", str(plan)).exit_code == 0
    doc = json.loads(plan.read_text(encoding="utf-8"))
    del doc["org"]
    plan.write_text(json.dumps(doc), encoding="utf-8")
    fresh_emulator.reset_log()
    res = deploy(fresh_emulator, "apply", str(d), "dev", "--plan", str(plan))
    assert (res.exit_code, res.output) == (
        1,
        f"error: --plan {plan} was made against an org it does not name (an older oktaql's "
        f"plan), not {fresh_emulator.url}: run plan against this org; nothing was sent\n",
    )
    assert fresh_emulator.request_log == []


def test_a_billion_laughs_manifest_is_refused_before_anything_walks_it(
    tmp_path: Path, fresh_emulator: Any
) -> None:
    # nine levels of ten aliases: 10**9 strings once written out, a few hundred bytes as YAML
    levels = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    d = stack(
        tmp_path / "s",
        "version: 1\nname: t\nproviders: [okta]\nglobals:\n  - name: bomb\n    value:\n"
        + "\n".join("      " + line for line in levels)
        + "\nresources: []\n",
    )
    fresh_emulator.reset_log()
    started = time.monotonic()
    res = deploy(fresh_emulator, "plan", str(d), "dev")
    assert time.monotonic() - started < 10
    assert (res.exit_code, res.output) == (
        1,
        f"error: stack file {d}/stackql_manifest.yml#/globals/0/value/l5/9: the document "
        "expands to more than 1,000,000 values (YAML aliases repeating values: a 'billion "
        "laughs' document?)\n",
    )
    assert fresh_emulator.request_log == []
