"""Ctrl-C stops the work at once (issue 15.12): after the signal no new request is sent, the
requests in flight are abandoned, and the next statement does not wait for the cancelled one.

Real processes against an emulator with latency: ``oktaql exec`` as a subprocess, the shell
on a pseudo-terminal, and ``Session.cancel()`` from another thread. When each request arrived
is taken from the emulator's request log (a request is logged on arrival, before the latency).
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import oktaql
from oktaql.emulator import EmulatorConfig, RunningEmulator, start_in_thread

TOKEN = "interrupt-token"
FAN_OUT = (
    "SELECT a.id, t.id FROM okta.apps.applications a JOIN okta.apps.tokens t ON t.appId = a.id"
)
SLACK = 0.5  # how long after the signal a request may still arrive (sent just before it)


class Arrivals:
    """When each request reached the emulator (polled every 5 ms)."""

    def __init__(self, emu: RunningEmulator):
        self.emu = emu
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            now, n = time.monotonic(), len(self.emu.request_log)
            self.times.extend([now] * (n - len(self.times)))
            time.sleep(0.005)

    def wait_for_fan_out(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not any("/tokens" in p for _, p, _ in list(self.emu.request_log)):
            assert time.monotonic() < deadline, "the fan-out never started"
            time.sleep(0.01)
        time.sleep(0.3)  # well under way: many calls in flight, many still to come

    def after(self, t: float, quiet: float = 1.5) -> list[float]:
        """Seconds after ``t`` of the requests that arrived later, once none came for
        ``quiet`` seconds."""
        last = -1
        while True:
            time.sleep(quiet)
            if len(self.times) == last:
                break
            last = len(self.times)
        self._stop.set()
        return [a - t for a in self.times if a > t]


@pytest.fixture
def slow_org() -> Iterator[RunningEmulator]:
    # 100 apps x 500 ms: one page of apps (the largest, 200), then a fan-out of 16 workers
    # taking ~3.5 s, so most calls are still to come when the signal goes
    cfg = EmulatorConfig(token=TOKEN, apps=100, tokens_per_app=1, latency_ms=500)
    with start_in_thread(cfg) as emu:
        yield emu


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKTA")}
    env.update(
        {
            "OKTA_API_TOKEN": TOKEN,
            "HOME": str(tmp_path / "home"),
            "XDG_DATA_HOME": str(tmp_path / "data"),
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "OKTAQL_CONFIG": str(tmp_path / "config" / "none.toml"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def test_exec_stops_sending_on_sigint(slow_org: RunningEmulator, tmp_path: Path) -> None:
    arrivals = Arrivals(slow_org)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "oktaql.cli",
            "exec",
            "--concurrency",
            "16",
            "--org-url",
            slow_org.url,
            FAN_OUT,
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        arrivals.wait_for_fan_out()
        sent = time.monotonic()
        before = len(slow_org.request_log)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        exited = time.monotonic() - sent
    finally:
        proc.kill()
    late = arrivals.after(sent)
    assert proc.returncode == 130
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "interrupted"
    assert re.fullmatch(
        r"no request was sent after Ctrl-C; \d+ requests? in flight abandoned", lines[1]
    ), err
    assert "Traceback" not in err
    assert all(t < SLACK for t in late), late
    assert len(slow_org.request_log) < before + 16  # at most what was already on its way
    assert len([p for _, p, _ in slow_org.request_log if "/tokens" in p]) < 80
    assert exited < 3.0  # in-flight calls abandoned, not waited for (each takes 0.5 s)


def test_session_cancel_from_another_thread(slow_org: RunningEmulator) -> None:
    conn = oktaql.connect(org_url=slow_org.url, token=TOKEN, concurrency=16)
    session = conn.session
    arrivals = Arrivals(slow_org)
    failed: list[BaseException] = []

    def run() -> None:
        try:
            conn.cursor().execute(FAN_OUT)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    arrivals.wait_for_fan_out()
    cancelled = time.monotonic()
    in_flight = session.cancel()
    worker.join(5.0)
    stopped = time.monotonic() - cancelled
    assert not worker.is_alive()
    assert stopped < 1.0  # the calls in flight were abandoned, not awaited (0.5 s each)
    assert 1 <= in_flight <= 16
    assert len(failed) == 1 and isinstance(failed[0], oktaql.OperationalError)
    assert str(failed[0]).startswith("interrupted: GET ")
    assert all(t < SLACK for t in arrivals.after(cancelled)), "a request after cancel()"

    # until resume() nothing is sent, and it says so
    slow_org.reset_log()
    with pytest.raises(oktaql.OperationalError, match=r"was not sent \(the session was cancelled"):
        conn.cursor().execute("SELECT id FROM okta.apps.applications LIMIT 1")
    assert slow_org.request_log == []
    session.resume()
    cur = conn.cursor()
    cur.execute("SELECT id FROM okta.apps.applications LIMIT 1")
    assert len(cur.fetchall()) == 1
    assert len(slow_org.request_log) == 1
    conn.close()


def test_the_shell_notes_ctrl_c_instead_of_raising_it_in_a_lock(
    slow_org: RunningEmulator,
) -> None:
    """A burst of SIGINTs while the shell waits for its worker: each is noted (never raised
    inside ``Event.wait``, where a KeyboardInterrupt once broke the lock), the statement is
    cancelled, and the next one runs at once."""
    from oktaql.shell import Shell

    sh = Shell({"org_url": slow_org.url, "token": TOKEN, "db": ":memory:"}, width=120)
    sh.connect()
    seen: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    arrivals = Arrivals(slow_org)

    first: list[float] = []

    def burst() -> None:
        arrivals.wait_for_fan_out()
        first.append(time.monotonic())
        for _ in range(20):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.002)

    sender = threading.Thread(target=burst)
    try:
        sender.start()
        assert sh._in_worker(FAN_OUT) is None  # cancelled
        assert time.monotonic() - first[0] < 1.0
        sender.join()
        settle = time.monotonic()
        sh._settle_abandoned()
        assert time.monotonic() - settle < 1.0  # the cancelled statement ended at once
        outcome = sh._in_worker("SELECT 1 AS one")
        assert outcome is not None and outcome.error is None
        assert outcome.rows == [(1,)]
    finally:
        signal.signal(signal.SIGINT, previous)
        sh.close()


# --- the shell in a pseudo-terminal ---------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]|\x1b\][^\x07]*\x07|\r")


class _Pty:
    def __init__(self, args: list[str], env: dict[str, str]):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(sys.executable, [sys.executable, "-m", "oktaql.shell", *args], env)
            finally:
                os._exit(127)
        self.pid, self.fd, self.raw, self.pos = pid, fd, "", 0

    @property
    def text(self) -> str:
        return _ANSI.sub("", self.raw)

    def expect(self, pattern: str, timeout: float = 20.0) -> None:
        deadline, rx = time.monotonic() + timeout, re.compile(pattern)
        while not (m := rx.search(self.text, self.pos)):
            left = deadline - time.monotonic()
            assert left > 0, f"{pattern!r} not seen; output:\n{self.text[-2000:]}"
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if ready:
                try:
                    self.raw += os.read(self.fd, 65536).decode("utf-8", "replace")
                except OSError:
                    pass
        self.pos = m.end()

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def test_ctrl_c_in_the_shell_stops_a_fan_out(slow_org: RunningEmulator, tmp_path: Path) -> None:
    env = _env(tmp_path)
    env.update({"TERM": "xterm", "COLUMNS": "160", "LINES": "50", "PROMPT_TOOLKIT_NO_CPR": "1"})
    sh = _Pty(["--org-url", slow_org.url], env)
    try:
        sh.expect(r"oktaql>")
        arrivals = Arrivals(slow_org)
        sh.send(FAN_OUT + ";\r")
        arrivals.wait_for_fan_out()
        sent = time.monotonic()
        sh.send("\x03")
        sh.expect(r"cancelled\n", timeout=5)
        assert time.monotonic() - sent < 1.0
        sh.expect(r"oktaql>")
        asked = time.monotonic()
        sh.send("SELECT 1 AS one;\r")
        sh.expect(r"1 row\n", timeout=10)
        assert time.monotonic() - asked < 2.0  # did not wait for the cancelled statement
        assert all(t < SLACK for t in arrivals.after(sent)), "a request after Ctrl-C"
        assert "waiting for the cancelled statement" not in sh.text
        assert "Traceback" not in sh.text and "RuntimeError" not in sh.text
    finally:
        sh.close()


def test_session_cancel_interrupts_a_local_query() -> None:
    conn = oktaql.connect(org_url="https://acme.okta.com", token=TOKEN, db=":memory:")
    slow = (  # tens of seconds in DuckDB
        "SELECT count(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range = 7"
    )
    failed: list[BaseException] = []

    def run() -> None:
        try:
            conn.cursor().execute(slow)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            failed.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.5)
    cancelled = time.monotonic()
    conn.session.cancel()
    worker.join(10.0)
    assert not worker.is_alive()
    assert time.monotonic() - cancelled < 2.0
    assert len(failed) == 1 and isinstance(failed[0], oktaql.OperationalError)
    assert str(failed[0]) == "interrupted"
    conn.session.resume()
    cur = conn.cursor()
    cur.execute("SELECT 41 + 1")
    assert cur.fetchall() == [(42,)]
    conn.close()
