"""A credential goes only to the one origin it was bound to (docs/security.md, "Credentials").

Every attack runs against real local servers: the org (the emulator, or a small scripted
server) on 127.0.0.1 and "another host" on 127.0.0.2, which records every request and its
``Authorization`` header. Each test asserts what that other host received: nothing.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

import oktaql
from oktaql._http import HTTPClient, Request
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

SECRET = "00cred-S3CRET-t0ken-Qw8Er5Ty2Ui9"
BUILTIN = Path(oktaql.__file__).parent / "registry"
APPS = "SELECT id FROM okta.apps.applications"

Answer = Callable[[str, str], tuple[int, dict[str, str], bytes]]


class _Recorder(BaseHTTPRequestHandler):
    def _any(self) -> None:
        srv: _Server = self.server  # type: ignore[assignment]
        srv.seen.append((self.command, self.path, self.headers.get("Authorization")))
        status, headers, body = srv.answer(self.command, self.path)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_PUT = _any

    def log_message(self, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    seen: list[tuple[str, str, str | None]]
    answer: Answer
    url: str


def _empty_list(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json"}, b"[]"


@contextmanager
def _server(host: str = "127.0.0.2", answer: Answer = _empty_list) -> Iterator[_Server]:
    srv = _Server((host, 0), _Recorder)
    srv.seen = []
    srv.answer = answer
    srv.url = f"http://{host}:{srv.server_address[1]}"
    threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True).start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def other() -> Iterator[_Server]:
    """Another host: must never hear from oktaql."""
    with _server("127.0.0.2") as srv:
        yield srv


def _auths(emu: RunningEmulator) -> set[str | None]:
    return {h.get("authorization") for _, _, h in emu.request_log}


def _rows(conn: oktaql.Connection, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return cur.fetchall()


def _config(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    monkeypatch.setenv("OKTAQL_CONFIG", str(path))


def _exec(*args: str) -> Any:
    return CliRunner().invoke(main, ["exec", "--db", ":memory:", "-o", "json", *args])


def _relabel(emu: RunningEmulator, label: str) -> str:
    """Give the org's first app ``label`` (API data anyone with app admin can set)."""
    app = emu.org.apps[0]["id"]
    doc = emu.org.app_doc(app)
    assert doc is not None
    doc["label"] = label
    return str(app)


def _registry(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    shutil.copytree(BUILTIN, root)
    return root


def _edit(root: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    """Change one document of a copied registry (``provider`` or a service's name)."""
    (version,) = (root / "src" / "okta").iterdir()
    path = version / ("provider.yaml" if name == "provider" else f"services/{name}.yaml")
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))  # JSON is YAML


def _servers(url: str) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        variables = doc["servers"][0].get("variables", {})
        doc["servers"] = [{"url": url, "variables": variables} if "{" in url else {"url": url}]

    return change


# --------------------------------------------------------------------------- 1. which token


def test_cli_profile_sends_its_own_token_when_profiles_share_an_org_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_in_thread(EmulatorConfig(token="ro-t", seed=5, apps=2)) as emu:
        _config(
            tmp_path,
            f'[profiles.admin]\norg_url = "{emu.url}"\ntoken_env = "ADMIN_T"\n'
            f'[profiles.readonly]\norg_url = "{emu.url}"\ntoken_env = "RO_T"\n',
            monkeypatch,
        )
        monkeypatch.setenv("ADMIN_T", "admin-t")
        monkeypatch.setenv("RO_T", "ro-t")
        res = _exec("--profile", "readonly", APPS)
        assert res.exit_code == 0, res.output
        assert len(json.loads(res.stdout)) == 2
        assert _auths(emu) == {"SSWS ro-t"}
        emu.reset_log()
        res = _exec("--profile", "admin", APPS)  # the emulator accepts only ro-t
        assert res.exit_code == 1 and "401" in res.output
        assert _auths(emu) == {"SSWS admin-t"}


def test_cli_org_url_with_okta_api_token_is_not_taken_over_by_a_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_in_thread(EmulatorConfig(token="env-t", seed=5, apps=2)) as emu:
        _config(
            tmp_path,
            f'[profiles.admin]\norg_url = "{emu.url}"\ntoken_env = "ADMIN_T"\n',
            monkeypatch,
        )
        monkeypatch.setenv("ADMIN_T", "admin-t")
        monkeypatch.setenv("OKTA_API_TOKEN", "env-t")
        res = _exec("--org-url", emu.url, APPS)
        assert res.exit_code == 0, res.output
        assert _auths(emu) == {"SSWS env-t"}
        emu.reset_log()
        monkeypatch.setenv("OKTA_CLIENT_ORGURL", emu.url)  # the same, from the environment
        res = _exec(APPS)
        assert res.exit_code == 0, res.output
        assert _auths(emu) == {"SSWS env-t"}


def test_api_named_orgs_sharing_an_url_are_told_apart_by_name() -> None:
    with start_in_thread(EmulatorConfig(token="ro-t", seed=5, apps=2)) as emu:
        conn = oktaql.connect(orgs={"admin": (emu.url, "admin-t"), "ro": (emu.url, "ro-t")})
        assert len(_rows(conn, APPS + " WHERE subdomain = 'ro'")) == 2
        assert _auths(emu) == {"SSWS ro-t"}
        emu.reset_log()
        with pytest.raises(oktaql.APIError) as err:
            _rows(conn, APPS + " WHERE subdomain = 'admin'")
        assert err.value.status == 401
        assert _auths(emu) == {"SSWS admin-t"}


def test_api_session_token_is_not_taken_over_by_a_named_org_with_its_url() -> None:
    with start_in_thread(EmulatorConfig(token="mine", seed=5, apps=2)) as emu:
        conn = oktaql.connect(org_url=emu.url, token="mine", orgs={"admin": (emu.url, "admin-t")})
        assert len(_rows(conn, APPS)) == 2
        # a write too: the write loop picks its client the same way
        app = emu.org.apps[0]["id"]
        conn.cursor().execute(
            f"EXEC okta.apps.applications.deactivate_application @appId = '{app}'"
        )
        assert _auths(emu) == {"SSWS mine"}


# --------------------------------------------------------------------------- 2. AWAIT


@pytest.mark.parametrize("form", ["absolute", "scheme-relative"])
def test_await_never_follows_a_location_to_another_origin(other: _Server, form: str) -> None:
    host = other.url.removeprefix("http:")
    location = f"http:{host}/api/v1/jobs/j1" if form == "absolute" else f"{host}/api/v1/jobs/j1"

    def accepted(method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        return 202, {"Location": location, "Content-Type": "application/json"}, b"{}"

    with _server("127.0.0.1", accepted) as org:
        conn = oktaql.connect(org_url=org.url, token=SECRET)
        with pytest.raises(oktaql.OperationalError, match="another origin") as err:
            conn.cursor().execute(
                "EXEC /*+ AWAIT */ okta.apps.applications.activate_application @appId = '0oa1'"
            )
        assert SECRET not in str(err.value)
        assert org.seen == [("POST", "/api/v1/apps/0oa1/lifecycle/activate", f"SSWS {SECRET}")]
    assert other.seen == []


# --------------------------------------------------------------------------- 5. providers


def test_a_provider_cannot_pick_which_secret_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _registry(tmp_path)
    _edit(root, "provider", lambda d: d["config"]["auth"].update(credentialsenvvar="AWS_KEY"))
    monkeypatch.setenv("AWS_KEY", "aws-secret-value")
    with _server("127.0.0.1") as org:
        conn = oktaql.connect(registry=root, org_url=org.url)
        with pytest.raises(oktaql.ConfigError, match="no Okta API token") as err:
            _rows(conn, APPS)
        assert "AWS_KEY, which oktaql does not read" in str(err.value)
        assert "aws-secret-value" not in str(err.value)
        assert org.seen == []
        monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
        conn = oktaql.connect(registry=root, org_url=org.url)
        assert _rows(conn, APPS) == []
        assert org.seen == [("GET", "/api/v1/apps?limit=200", f"SSWS {SECRET}")]


def test_the_org_url_wins_over_a_providers_servers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: _Server
) -> None:
    root = _registry(tmp_path)
    _edit(root, "apps", _servers(other.url + "/"))
    monkeypatch.setenv("OKTA_API_TOKEN", "tok")
    with start_in_thread(EmulatorConfig(token="tok", seed=5, apps=2)) as emu:
        res = _exec("--registry", str(root), "--org-url", emu.url, APPS)
        assert res.exit_code == 0, res.output
        assert len(json.loads(res.stdout)) == 2
    assert other.seen == []


def test_a_provider_path_cannot_move_the_request_off_the_org(
    tmp_path: Path, other: _Server
) -> None:
    """``org URL + path`` with a path not starting with "/" (``:8443/x``, ``.evil.example/x``,
    ``@evil.example/x``) names another host; here ``http://127.0.0.2`` + ``:<port>/...``."""
    port = other.url.rsplit(":", 1)[1]
    evil = f":{port}/api/v1/apps"

    def change(doc: dict[str, Any]) -> None:
        doc["paths"][evil] = {"get": doc["paths"]["/api/v1/apps"]["get"]}
        ref = doc["components"]["x-stackQL-resources"]["applications"]["methods"]
        for m in ref.values():
            if m["operation"]["$ref"] == "#/paths/~1api~1v1~1apps/get":
                m["operation"]["$ref"] = "#/paths/" + evil.replace("/", "~1") + "/get"

    root = _registry(tmp_path)
    _edit(root, "apps", change)
    conn = oktaql.connect(registry=root, org_url="http://127.0.0.2", token=SECRET)
    with pytest.raises(oktaql.ProviderError, match="does not stay on http://127.0.0.2"):
        _rows(conn, APPS)
    assert other.seen == []


def test_provider_servers_over_plain_http_only_to_loopback(tmp_path: Path) -> None:
    root = _registry(tmp_path)
    _edit(root, "apps", _servers("http://{subdomain}.okta.com/"))
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json=[])

    conn = oktaql.connect(registry=root, token=SECRET, transport=httpx.MockTransport(record))
    with pytest.raises(oktaql.ConfigError, match="plain http to a non-loopback host"):
        _rows(conn, APPS + " WHERE subdomain = 'acme'")
    assert sent == []


def test_provider_servers_without_a_variable_need_an_org_url(
    tmp_path: Path, other: _Server
) -> None:
    root = _registry(tmp_path)
    _edit(root, "apps", _servers(other.url + "/"))
    conn = oktaql.connect(registry=root, token=SECRET)
    with pytest.raises(oktaql.ConfigError, match="names its own host"):
        _rows(conn, APPS)
    assert other.seen == []


# --------------------------------------------------------------------------- 6. row data


def test_a_subdomain_read_from_rows_cannot_send_the_token_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: _Server
) -> None:
    """An app label (API data anyone with app admin can set) names the host of a join."""
    port = other.url.rsplit(":", 1)[1]
    root = _registry(tmp_path)
    _edit(root, "apps", _servers(f"http://{{subdomain}}:{port}/"))
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
    with start_in_thread(EmulatorConfig(token="home-t", seed=5, apps=1)) as emu:
        _relabel(emu, "127.0.0.2")
        conn = oktaql.connect(registry=root, orgs={"home": (emu.url, "home-t")})
        sql = (
            "SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t "
            "ON t.appId = a.id AND t.subdomain = a.label WHERE a.subdomain = 'home'"
        )
        with pytest.raises(oktaql.PlanError, match="comes from row data") as err:
            _rows(conn, sql)
        assert "named orgs: home" in str(err.value)
        # the only calls went to the configured org, with its token
        assert [p for _, p, _ in emu.request_log] == ["/api/v1/apps?limit=200"]
        assert _auths(emu) == {"SSWS home-t"}
    assert other.seen == []


def test_a_subdomain_read_from_rows_may_name_a_configured_org() -> None:
    with start_in_thread(EmulatorConfig(token="home-t", seed=5, apps=1, tokens_per_app=3)) as emu:
        app = _relabel(emu, "home")  # the row names the named org
        conn = oktaql.connect(orgs={"home": (emu.url, "home-t")})
        sql = (
            "SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t "
            "ON t.appId = a.id AND t.subdomain = a.label WHERE a.subdomain = 'home'"
        )
        assert sorted(r[0] for r in _rows(conn, sql)) == sorted(emu.org.token_ids(app))
        assert [p.partition("?")[0] for _, p, _ in emu.request_log] == [
            "/api/v1/apps",
            f"/api/v1/apps/{app}/tokens",
        ]
        assert _auths(emu) == {"SSWS home-t"}


def test_a_literal_subdomain_must_be_one_okta_label(tmp_path: Path, other: _Server) -> None:
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.Response(200, json=[])

    conn = oktaql.connect(token=SECRET, transport=httpx.MockTransport(record))
    with pytest.raises(oktaql.PlanError, match="is not an Okta subdomain"):
        _rows(conn, APPS + " WHERE subdomain = 'attacker.example'")
    assert sent == []
    # against a real second server: a provider template that takes the host as given
    port = other.url.rsplit(":", 1)[1]
    root = _registry(tmp_path)
    _edit(root, "apps", _servers(f"http://{{subdomain}}:{port}/"))
    conn = oktaql.connect(registry=root, token=SECRET)
    with pytest.raises(oktaql.PlanError, match="is not an Okta subdomain"):
        _rows(conn, APPS + " WHERE subdomain = '127.0.0.2'")
    assert other.seen == []


def test_without_an_org_url_the_token_binds_to_the_first_org_named() -> None:
    sent: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.url.host} {request.headers.get('authorization')}")
        return httpx.Response(200, json=[])

    transport = httpx.MockTransport(record)
    conn = oktaql.connect(token=SECRET, transport=transport)
    with pytest.raises(oktaql.ConfigError, match="configure a profile") as err:
        _rows(conn, APPS + " WHERE subdomain IN ('acme', 'other')")
    assert "bound to https://acme.okta.com," in str(err.value)
    assert sent == []  # one statement naming two orgs: nothing sent at all
    assert _rows(conn, APPS + " WHERE subdomain = 'acme'") == []
    assert sent == [f"acme.okta.com SSWS {SECRET}"]
    for sql in [APPS + " WHERE subdomain = 'other'", "EXPLAIN " + APPS + " WHERE subdomain = 'x'"]:
        with pytest.raises(oktaql.ConfigError, match="first org this session named"):
            _rows(conn, sql)
    assert sent == [f"acme.okta.com SSWS {SECRET}"]


# --------------------------------------------------------------------------- the one send path


def test_a_client_refuses_any_origin_but_its_own(other: _Server) -> None:
    with _server("127.0.0.1") as org:
        client = HTTPClient(f"SSWS {SECRET}", origin=org.url)
        for url in [
            other.url + "/api/v1/apps",
            org.url.replace("127.0.0.1", "localhost") + "/api/v1/apps",  # same machine, not origin
            org.url.replace("http:", "https:") + "/api/v1/apps",
            org.url.replace("//", "//user@") + "/api/v1/apps",
        ]:
            with pytest.raises(oktaql.OperationalError, match="nothing was sent") as err:
                client.send(Request("GET", url))
            assert SECRET not in str(err.value)
        # a credential in a request's own headers never goes out: the client's only
        client.send(Request("GET", org.url + "/api/v1/apps", {"authorization": "SSWS forged"}))
        assert org.seen == [("GET", "/api/v1/apps", f"SSWS {SECRET}")]
    assert other.seen == []


def test_an_unbound_client_binds_to_its_first_origin(other: _Server) -> None:
    with _server("127.0.0.1") as org:
        client = HTTPClient(f"SSWS {SECRET}")
        client.send(Request("GET", org.url + "/api/v1/apps"))
        assert client.origin == org.url
        with pytest.raises(oktaql.OperationalError, match="nothing was sent"):
            client.send(Request("GET", other.url + "/api/v1/apps"))
    assert other.seen == []


def test_an_oauth_session_is_bound_to_its_org_before_the_auth_flow_runs(other: _Server) -> None:
    from joserfc.jwk import ECKey

    key = ECKey.generate_key("P-256", private=True)
    config = EmulatorConfig(seed=5, apps=2, oauth_clients={"0oaec": key.as_dict(private=False)})
    with start_in_thread(config) as emu:
        pem = key.as_pem(private=True).decode()
        conn = oktaql.connect(org_url=emu.url, oauth={"client_id": "0oaec", "private_key": pem})
        assert len(_rows(conn, APPS)) == 2
        client = conn.session.http("okta")
        assert client.origin == emu.url
        emu.reset_log()
        with pytest.raises(oktaql.OperationalError, match="nothing was sent"):
            client.send(Request("GET", other.url + "/api/v1/apps"))
        assert emu.request_log == []  # no token request either: refused before the flow
    assert other.seen == []


def test_insert_select_takes_no_subdomain_from_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, other: _Server
) -> None:
    port = other.url.rsplit(":", 1)[1]
    root = _registry(tmp_path)
    _edit(root, "apps", _servers(f"http://{{subdomain}}:{port}/"))
    monkeypatch.setenv("OKTA_API_TOKEN", SECRET)
    with start_in_thread(EmulatorConfig(token="home-t", seed=5, apps=1)) as emu:
        _relabel(emu, "127.0.0.2")
        conn = oktaql.connect(registry=root, orgs={"home": (emu.url, "home-t")})
        insert = (
            "INSERT INTO okta.apps.applications (data__label, data__signOnMode, subdomain) "
            "SELECT 'copy', 'BOOKMARK', {} FROM okta.apps.applications WHERE subdomain = 'home'"
        )
        with pytest.raises(oktaql.PlanError, match="comes from row data"):
            conn.cursor().execute(insert.format("label"))
        assert [m for m, _, _ in emu.request_log] == ["GET"]
        emu.reset_log()
        try:  # a literal in the SELECT is the statement's own: the named org, its token
            conn.cursor().execute(insert.format("'home'"))
        except oktaql.APIError:
            pass  # only where it went matters here
        assert [(m, p) for m, p, _ in emu.request_log] == [
            ("GET", "/api/v1/apps?limit=200"),
            ("POST", "/api/v1/apps"),
        ]
        assert _auths(emu) == {"SSWS home-t"}
    assert other.seen == []


def test_with_an_org_url_a_subdomain_from_rows_must_name_that_org(tmp_path: Path) -> None:
    with start_in_thread(EmulatorConfig(token="tok", seed=5, apps=1), host="localhost") as emu:
        root = _registry(tmp_path)
        _edit(root, "apps", _servers(f"http://{{subdomain}}:{emu.port}/"))
        conn = oktaql.connect(registry=root, org_url=emu.url, token="tok")
        sql = (
            "SELECT t.id FROM okta.apps.applications a JOIN okta.apps.tokens t "
            "ON t.appId = a.id AND t.subdomain = a.label"
        )
        app = _relabel(emu, "elsewhere")
        with pytest.raises(oktaql.PlanError, match="'elsewhere' comes from row data"):
            _rows(conn, sql)
        assert [p for _, p, _ in emu.request_log] == ["/api/v1/apps?limit=200"]
        _relabel(emu, "localhost")  # names the session's org through the provider's template
        assert sorted(r[0] for r in _rows(conn, sql)) == sorted(emu.org.token_ids(app))


# --------------------------------------------------------------------------- follow-ups


def test_cached_pages_belong_to_the_credential_that_read_them() -> None:
    # two profiles of one org may see different pages: a cached read of one is not the other's
    with start_in_thread(EmulatorConfig(token="ro-t", seed=5, apps=2)) as emu:
        conn = oktaql.connect(orgs={"a": (emu.url, "ro-t"), "b": (emu.url, "ro-t")}, cache_ttl=300)
        assert len(_rows(conn, APPS + " WHERE subdomain = 'a'")) == 2
        emu.reset_log()
        assert len(_rows(conn, APPS + " WHERE subdomain = 'a'")) == 2
        assert emu.request_log == []  # a's own second read is cached
        assert len(_rows(conn, APPS + " WHERE subdomain = 'b'")) == 2
        assert len(emu.request_log) == 1  # b reads for itself


def test_a_named_org_from_a_subquery_needs_no_org_url() -> None:
    with start_in_thread(EmulatorConfig(token="h-t", seed=5, apps=2)) as emu:
        conn = oktaql.connect(orgs={"home": (emu.url, "h-t")})
        assert len(_rows(conn, APPS + " WHERE subdomain IN (SELECT 'home')")) == 2
        assert _auths(emu) == {"SSWS h-t"}


def test_explain_shows_a_named_orgs_own_scheme_under_oauth() -> None:
    conn = oktaql.connect(
        org_url="https://acme.okta.com",
        oauth={"client_id": "0oa1", "private_key": "unused"},
        orgs={"other": ("https://other.okta.com", "o-t")},
    )
    mine = _rows(conn, "EXPLAIN " + APPS)
    theirs = _rows(conn, "EXPLAIN " + APPS + " WHERE subdomain = 'other'")
    assert json.loads(mine[0][5])["Authorization"] == "Bearer ***"
    assert json.loads(theirs[0][5])["Authorization"] == "SSWS ***"
