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
