"""Shared pieces of the benchmarks: the emulator in its own process, timing, statistics.

Only the project's dependencies and the stdlib are used here, so ``python bench/run.py`` works in
a plain ``pip install -e .`` environment.
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
OKTAQL = str(Path(sys.executable).with_name("oktaql"))
TOKEN = "bench-token"
SHARED_REGISTRY = Path("/work/shared/okta/stackql-registry")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Emulator:
    """``oktaql emulator`` in a separate process (its CPU never shares the client's GIL)."""

    def __init__(
        self, *, apps: int, tokens_per_app: int, latency_ms: float = 0.0, extra: Sequence[str] = ()
    ):
        self.args = [
            OKTAQL, "emulator", "--port", "0", "--token", TOKEN,
            "--apps", str(apps), "--tokens-per-app", str(tokens_per_app),
            "--latency", str(latency_ms), *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Emulator:
        self.proc = subprocess.Popen(
            self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        # it announces "Okta emulator listening on http://127.0.0.1:PORT" once it listens
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise RuntimeError(f"emulator exited before listening: {err.strip()}")
            if "listening on" in line:
                self.url = line.split()[-1]
                return self
        raise RuntimeError("emulator did not announce its URL within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU the emulator process has used so far (from /proc)."""
        assert self.proc is not None
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime

    def get_json(self, path: str) -> object:
        import httpx

        r = httpx.get(self.url + path, headers={"Authorization": f"SSWS {TOKEN}"})
        r.raise_for_status()
        return r.json()

    def first_app_id(self) -> str:
        apps = self.get_json("/api/v1/apps?limit=1")
        assert isinstance(apps, list) and apps
        return str(apps[0]["id"])


@dataclass
class Stat:
    """Repeated measurements of one quantity."""

    values: list[float] = field(default_factory=list)

    def add(self, v: float) -> None:
        self.values.append(v)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)

    def fmt(self, unit: str = "s", scale: float = 1.0, digits: int = 3) -> str:
        if not self.values:
            return "n/a"
        m, lo, hi = (x * scale for x in (self.median, self.lo, self.hi))
        if len(self.values) == 1:
            return f"{m:.{digits}f} {unit}"
        return f"{m:.{digits}f} {unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def ratio_stat(num: Stat, den: Stat) -> Stat:
    """Per-run ratios of two series measured alternately (run i of each side by side)."""
    return Stat([a / b for a, b in zip(num.values, den.values)])


def settle() -> None:
    """Collect the heap before a measured run (untimed): a side measured after another then
    never pays for the other's garbage, and pays for its own inside its run."""
    gc.collect()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run_child(
    argv: Sequence[str], env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of a child process, which must succeed."""
    full_env = {**os.environ, **(env or {})}
    t0 = time.perf_counter()
    cp = subprocess.run(argv, env=full_env, capture_output=True, text=True, timeout=timeout)
    dt = time.perf_counter() - t0
    if cp.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])}... failed ({cp.returncode}): {cp.stderr.strip()[-500:]}"
        )
    return dt, cp


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    measure: str
    result: str
    target: str = ""
    holds: bool | None = None  # None: informational, no target
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "**no**", None: "–"}[self.holds]


def markdown_table(rows: Sequence[Row]) -> str:
    out = [
        "| # | measure | result: median (min–max) | target | holds | note |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.bench, r.measure, r.result, r.target or "–", r.verdict, r.note]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(out)
