"""REGISTRY PULL / LIST / REMOVE and SHOW PROVIDERS: a pull stays inside its roots.

A registry source is another party's: its version names, service ``$ref``s and symbolic links
must not make a pull delete, read or write anything outside ``<source>/src/<provider>/<version>``
and ``<data dir>/registry/src/<provider>/<version>``. Remote sources are real HTTP servers
(127.0.0.2, or this machine's non-loopback address for plain http), and each test asserts what
the server was asked for.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_hostile_providers import SERVICE, _laughs

import oktaql
from oktaql import registry_pull
from oktaql.parser import parse


def provider_yaml(version: str, ref: str | None = None) -> str:
    ref = ref or f"okta/{version}/services/apps.yaml"
    return (
        f"id: okta\nname: okta\nversion: {version}\nproviderServices:\n"
        f"  apps:\n    title: apps API\n    service:\n      $ref: {ref}\n"
    )


def make_source(root: Path, *versions: str, service: str = SERVICE) -> Path:
    for v in versions:
        vdir = root / "src" / "okta" / v
        (vdir / "services").mkdir(parents=True, exist_ok=True)
        (vdir / "provider.yaml").write_text(provider_yaml(v))
        (vdir / "services" / "apps.yaml").write_text(service)
    return root


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir: where pulled providers go."""
    d = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(d))
    monkeypatch.delenv("OKTAQL_REGISTRY_URL", raising=False)
    return d / "oktaql" / "registry"


def execute(sql: str) -> list[tuple[Any, ...]]:
    cur = oktaql.connect().cursor()
    cur.execute(sql)
    return cur.fetchall()


def pulled_versions(data: Path) -> list[str]:
    pdir = data / "src" / "okta"
    return sorted(p.name for p in pdir.iterdir()) if pdir.is_dir() else []


class Served:
    def __init__(self, server: ThreadingHTTPServer, paths: list[str], host: str):
        self.server = server
        self.paths = paths
        port = server.server_address[1]
        self.url = f"http://{host}:{port}"


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """serve(folder, bind, host) → a real HTTP server over ``folder`` that records each path."""
    running: list[ThreadingHTTPServer] = []

    def start(folder: Path, bind: str = "127.0.0.2", host: str | None = None) -> Served:
        paths: list[str] = []

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *a: Any, **kw: Any) -> None:
                super().__init__(*a, directory=str(folder), **kw)

            def do_GET(self) -> None:
                paths.append(self.path)
                super().do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer((bind, 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        return Served(server, paths, host or bind)

    yield start
    for s in running:
        s.shutdown()
        s.server_close()


# --- version names and roots ----------------------------------------------------------------


@pytest.mark.parametrize("version", [".", "..", ".hidden"])
def test_a_version_that_is_not_a_name_deletes_nothing_and_asks_nothing(
    version: str, data: Path, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "source", "v1", "v2")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(source))
    execute("REGISTRY PULL okta v1")
    execute("REGISTRY PULL okta v2")
    assert pulled_versions(data) == ["v1", "v2"]
    # what a URL with "." resolves to, so the old code's pull of "okta ." found a provider and
    # then replaced <data>/src/okta/. (every pulled version) with it
    (source / "src" / "okta" / "provider.yaml").write_text(
        provider_yaml(version, f"okta/{version}/services/apps.yaml")
    )
    (source / "src" / "okta" / "services").mkdir()
    (source / "src" / "okta" / "services" / "apps.yaml").write_text(SERVICE)
    remote = serve(source)
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", remote.url)
    with pytest.raises(oktaql.ProgrammingError, match="is not a version name"):
        execute(f"REGISTRY PULL okta {version}")
    assert remote.paths == []  # refused before any request
    assert pulled_versions(data) == ["v1", "v2"]
    with pytest.raises(oktaql.ProgrammingError, match="is not a version name"):
        execute(f"REGISTRY REMOVE okta {version}")
    assert pulled_versions(data) == ["v1", "v2"]


def test_a_remote_pull_asks_for_exactly_the_provider_and_its_services(
    data: Path, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "source", "v1")
    (source / "src" / "okta" / "v1" / "services" / "unlisted.yaml").write_text("x: 1\n")
    remote = serve(source)
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", remote.url)
    ((provider, version, services, location),) = execute("REGISTRY PULL okta v1")
    assert (provider, version, services) == ("okta", "v1", 1)
    assert remote.paths == ["/src/okta/v1/provider.yaml", "/src/okta/v1/services/apps.yaml"]
    target = Path(location)
    assert target == data / "src" / "okta" / "v1"
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        "provider.yaml",
        "services",
        "services/apps.yaml",
    ]
    for p in [data, *data.rglob("*")]:  # the pulled copy is this user's alone
        want = 0o700 if p.is_dir() else 0o600
        assert stat.S_IMODE(p.stat().st_mode) == want, p


@pytest.mark.parametrize(
    "ref",
    ["/etc/hostname", "okta/v1/../../../../outside.yaml", "../../outside.yaml", "okta/v2/x.yaml"],
)
def test_a_service_ref_out_of_the_provider_folder_is_never_fetched(
    ref: str, data: Path, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "source", "v1")
    (source / "outside.yaml").write_text(SERVICE)
    (source / "src" / "okta" / "v1" / "provider.yaml").write_text(provider_yaml("v1", ref))
    for url in (str(source), None):
        if url is None:
            remote = serve(source)
            url = remote.url
        monkeypatch.setenv("OKTAQL_REGISTRY_URL", url)
        with pytest.raises(oktaql.ConfigError) as info:
            execute("REGISTRY PULL okta v1")
        where = f"{url.rstrip('/')}/src/okta/v1/provider.yaml#/providerServices/apps/service/$ref"
        assert where in str(info.value)
        assert "inside the provider's own folder" in str(info.value)
        assert pulled_versions(data) == []
    assert remote.paths == ["/src/okta/v1/provider.yaml"]


def test_a_local_pull_does_not_follow_links_out_of_the_source(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text(SERVICE.replace("title: apps", "title: from outside"))
    source = make_source(tmp_path / "source", "v1")
    apps = source / "src" / "okta" / "v1" / "services" / "apps.yaml"
    apps.unlink()
    apps.symlink_to(secret)
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", source.as_uri())
    with pytest.raises(oktaql.ConfigError, match="leads out of .* through a symbolic link"):
        execute("REGISTRY PULL okta")
    assert pulled_versions(data) == []
    # a link to something the provider never names is not copied either
    apps.unlink()
    apps.write_text(SERVICE)
    (apps.parent / "stray.yaml").symlink_to(secret)
    execute("REGISTRY PULL okta")
    pulled = data / "src" / "okta" / "v1"
    assert not (pulled / "services" / "stray.yaml").exists()
    assert not any(p.is_symlink() for p in pulled.rglob("*"))


def test_plain_http_is_refused_off_loopback_without_a_request(
    data: Path, tmp_path: Path, serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    source = make_source(tmp_path / "source", "v1")
    remote = serve(source, bind="0.0.0.0", host=address)
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", remote.url)
    with pytest.raises(oktaql.ConfigError, match=r"plain http:// is refused"):
        execute("REGISTRY PULL okta v1")
    assert remote.paths == []
    assert pulled_versions(data) == []
    # the same server through a loopback name is this machine: allowed
    port = remote.server.server_address[1]
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", f"http://127.0.0.2:{port}")
    execute("REGISTRY PULL okta v1")
    assert pulled_versions(data) == ["v1"]


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # UDP: nothing is sent, the route picks the address
        except OSError:
            return None
        address = str(s.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_a_hostile_provider_is_refused_at_pull_time_and_the_old_copy_stays(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = make_source(tmp_path / "source", "v1")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(source))
    execute("REGISTRY PULL okta v1")
    before = (data / "src" / "okta" / "v1" / "services" / "apps.yaml").read_text()
    bomb = SERVICE.replace("  title: apps\n", "  title: apps\n" + _laughs())
    (source / "src" / "okta" / "v1" / "services" / "apps.yaml").write_text(bomb)
    with pytest.raises(oktaql.ConfigError, match="expands to more than"):
        execute("REGISTRY PULL okta v1")
    assert (data / "src" / "okta" / "v1" / "services" / "apps.yaml").read_text() == before
    assert pulled_versions(data) == ["v1"]  # no staging copy left behind


# --- which provider a session uses, and the way back ------------------------------------------


def test_show_providers_says_built_in_pulled_or_registry(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import oktaql.provider as provider

    builtin_root = provider.BUILTIN_REGISTRY
    ((name, version, source, path),) = execute("SHOW PROVIDERS")
    assert (name, source) == ("okta", "built-in")
    assert Path(path) == builtin_root / "src" / "okta" / version
    src = make_source(tmp_path / "source", "v1", "v2")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    execute("REGISTRY PULL okta v1")
    assert execute("SHOW PROVIDERS") == [
        ("okta", "v1", "pulled", str(data / "src" / "okta" / "v1"))
    ]
    cur = oktaql.connect(registry=src).cursor()
    cur.execute("SHOW PROVIDERS")
    assert cur.fetchall() == [("okta", "v2", "--registry", str(src / "src" / "okta" / "v2"))]


def test_registry_remove_goes_back_to_the_built_in_provider(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path / "source", "v1", "v2")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    execute("REGISTRY PULL okta v1")
    execute("REGISTRY PULL okta v2")
    assert execute("SHOW PROVIDERS")[0][1:3] == ("v2", "pulled")
    assert execute("REGISTRY REMOVE okta v2") == [("okta", "v2", str(data / "src" / "okta" / "v2"))]
    assert execute("SHOW PROVIDERS")[0][1:3] == ("v1", "pulled")
    with pytest.raises(
        oktaql.ProgrammingError, match=r"no pulled okta version 'v2' \(pulled: v1\)"
    ):
        execute("REGISTRY REMOVE okta v2")
    assert execute("REGISTRY REMOVE okta") == [("okta", "v1", str(data / "src" / "okta" / "v1"))]
    assert execute("SHOW PROVIDERS")[0][2] == "built-in"
    assert not (data / "src" / "okta").exists()
    with pytest.raises(oktaql.ProgrammingError, match="already use the built-in one"):
        execute("REGISTRY REMOVE okta")


def test_registry_remove_says_what_new_sessions_use(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path / "source", "v1", "v2")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    execute("REGISTRY PULL okta v1")
    execute("REGISTRY PULL okta v2")
    _, _, note = registry_pull.run_with_message(parse("REGISTRY REMOVE okta v2"))
    assert note == "new sessions without --registry use pulled okta v1"
    _, _, note = registry_pull.run_with_message(parse("REGISTRY REMOVE okta"))
    assert note == "new sessions without --registry use the built-in okta provider"


def test_registry_list_without_a_source_lists_what_is_pulled(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert execute("REGISTRY LIST") == []
    _, _, note = registry_pull.run_with_message(parse("REGISTRY LIST"))
    assert note is not None and "none, sessions use the built-in provider" in note
    assert "set OKTAQL_REGISTRY_URL" in note
    src = make_source(tmp_path / "source", "v1", "v2")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    execute("REGISTRY PULL okta v1")
    assert execute("REGISTRY LIST") == [("okta", "v1", True), ("okta", "v2", False)]
    monkeypatch.delenv("OKTAQL_REGISTRY_URL")
    assert execute("REGISTRY LIST") == [("okta", "v1", True)]
    assert execute("REGISTRY LIST other") == []


def test_pulled_providers_others_can_write_are_not_used(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = make_source(tmp_path / "source", "v1")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    execute("REGISTRY PULL okta v1")
    services = data / "src" / "okta" / "v1" / "services"
    os.chmod(services, 0o777)
    assert execute("SHOW PROVIDERS")[0][2] == "built-in"
    err = capsys.readouterr().err
    assert f"{services} is writable by other users" in err and "chmod -R go-w" in err
    os.chmod(services, 0o700)
    assert execute("SHOW PROVIDERS")[0][2] == "pulled"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("REGISTRY REMOVE", "REGISTRY REMOVE needs a provider"),
        ("REGISTRY PULL", "REGISTRY PULL needs a provider"),
        ("REGISTRY DROP okta", "REGISTRY REMOVE <provider> [version]"),
    ],
)
def test_registry_statement_errors(sql: str, message: str, data: Path) -> None:
    with pytest.raises(oktaql.SQLSyntaxError, match=re.escape(message)):
        execute(sql)


def test_registry_remove_is_documented() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "`REGISTRY REMOVE okta [version]`" in readme
    assert "`SHOW PROVIDERS`" in readme


def test_the_session_that_pulls_or_removes_uses_the_result_and_says_so(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = make_source(tmp_path / "source", "v1")
    monkeypatch.setenv("OKTAQL_REGISTRY_URL", str(src))
    cur = oktaql.connect().cursor()
    cur.execute("SHOW PROVIDERS")
    assert cur.fetchall()[0][2] == "built-in"
    cur.execute("REGISTRY PULL okta v1")
    cur.fetchall()
    assert cur.message and "v1" in cur.message  # the note reaches the caller (stderr in the CLI)
    cur.execute("SHOW PROVIDERS")
    assert cur.fetchall()[0][1:3] == ("v1", "pulled")  # the same session, no reconnect
    cur.execute("REGISTRY REMOVE okta")
    cur.fetchall()
    cur.execute("SHOW PROVIDERS")
    assert cur.fetchall()[0][2] == "built-in"
