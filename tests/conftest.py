from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# parsed-provider cache in a scratch folder, never the developer's home
os.environ.setdefault("OKTAQL_CACHE_DIR", tempfile.mkdtemp(prefix="oktaql-test-cache-"))
# data dir (database file, pulled registries) likewise
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="oktaql-test-data-")
os.environ.pop("OKTAQL_REGISTRY_URL", None)

SHARED = Path(__file__).resolve().parents[2] / "shared"
STACKQL_REGISTRY = SHARED / "okta" / "stackql-registry"
SEED_PAGE = SHARED / "seed" / "okta.apps.tokens.md"


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OKTA_API_TOKEN", "OKTA_CLIENT_TOKEN", "OKTA_CLIENT_ORGURL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def stackql_registry() -> Path:
    if not (STACKQL_REGISTRY / "src").is_dir():
        pytest.skip(f"../shared reference material not present: {STACKQL_REGISTRY} is missing")
    return STACKQL_REGISTRY


@pytest.fixture(scope="session")
def emulator() -> Iterator[object]:
    """One shared emulated org for read-only tests (default seed and size)."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running = start_in_thread(EmulatorConfig(token="test-token"))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def fresh_emulator() -> Iterator[object]:
    """A new org per test, for tests that change it."""
    from oktaql.emulator import EmulatorConfig, start_in_thread

    running = start_in_thread(EmulatorConfig(token="test-token"))
    try:
        yield running
    finally:
        running.stop()


def _postgres_bin() -> Path | None:
    import glob
    import shutil

    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    return Path(dirs[-1]) if dirs and (Path(dirs[-1]) / "initdb").exists() else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server: $OKTAQL_TEST_POSTGRES_URL, else a throwaway cluster on a
    free loopback port (trust auth; as root it runs as the postgres user), else a skip."""
    import shutil
    import socket
    import subprocess

    given = os.environ.get("OKTAQL_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL: set OKTAQL_TEST_POSTGRES_URL or install postgresql")
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("PostgreSQL cannot run as root and runuser is missing")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = tempfile.mkdtemp(prefix="oktaql-pg-")
    if as_user:
        try:
            shutil.chown(root, "postgres")
        except (LookupError, OSError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            pytest.skip(f"PostgreSQL cannot run as root and there is no postgres user ({exc})")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = os.path.join(root, "data")
    run = {"check": True, "capture_output": True, "timeout": 120}
    try:
        subprocess.run(
            [
                *as_user,
                str(bindir / "initdb"),
                "-D",
                data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
            **run,
        )
        subprocess.run(
            [
                *as_user,
                str(bindir / "pg_ctl"),
                "-D",
                data,
                "-l",
                os.path.join(root, "log"),
                "-w",
                "-o",
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -F",
                "start",
            ],
            **run,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL in {bindir}: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)
