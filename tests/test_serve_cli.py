"""The ``oktaql serve`` command: its options reach the server (a real process, psql as the
client), and a configuration that would expose the org is refused before anything listens."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from oktaql.cli import main
from oktaql.errors import ConfigError
from oktaql.serve import read_password

PSQL = shutil.which("psql")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_beyond_loopback_without_tls_is_refused() -> None:
    res = CliRunner().invoke(main, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert res.exit_code == 1
    assert "is not a loopback address: serving beyond this machine needs TLS" in res.output
    res = CliRunner().invoke(main, ["serve", "--tls-cert", "c.pem", "--port", "0"])
    assert res.exit_code == 1
    assert "give both --tls-cert and --tls-key" in res.output


def test_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVE_PW", "from-env")
    assert read_password("SERVE_PW", None) == "from-env"
    (tmp_path / "pw").write_text("from-file\nignored\n")
    assert read_password(None, str(tmp_path / "pw")) == "from-file"
    assert read_password(None, None) is None
    with pytest.raises(ConfigError, match="--password-env NOPE: the variable is not set"):
        read_password("NOPE", None)
    with pytest.raises(ConfigError, match="not both"):
        read_password("SERVE_PW", str(tmp_path / "pw"))
    (tmp_path / "empty").write_text("")
    with pytest.raises(ConfigError, match="first line is empty"):
        read_password(None, str(tmp_path / "empty"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[int]:
    """``oktaql serve --emulator`` in its own process, a password from the environment."""
    env = {**os.environ, "PYTHONPATH": SRC, "SERVE_PW": "pw-123", "XDG_DATA_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "oktaql.cli", "serve", "--emulator", "--port", "0",
         "--password-env", "SERVE_PW", "--db", ":memory:", "--max-connections", "2"],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    try:
        deadline = time.monotonic() + 60
        while True:
            line = proc.stderr.readline()
            assert line, "oktaql serve exited before listening"
            if "listening on" in line:
                break
            assert time.monotonic() < deadline
        yield int(line.rsplit(":", 1)[1])
    finally:
        proc.terminate()
        proc.wait(10)


def test_serve_command_with_psql(served: int) -> None:
    if PSQL is None:
        pytest.skip("psql is not installed (apt-get install postgresql-client)")
    args = [PSQL, "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(served), "-d", "okta"]
    sql = "SELECT count(*) FROM okta.apps.applications"
    ok = subprocess.run(
        [*args, "-c", sql], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PGPASSWORD": "pw-123"},
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert int(ok.stdout.strip()) > 0
    wrong = subprocess.run(
        [*args, "-c", sql], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PGPASSWORD": "nope"},
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "password authentication failed" in wrong.stderr
