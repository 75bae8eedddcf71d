"""Env vars for a stack's globals: ``-e KEY=VALUE`` options and dotenv files (``--env-file``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from oktaql.deploy._context import NAME
from oktaql.deploy._model import Where
from oktaql.errors import DeployError


def read_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (dotenv: ``#`` comments, ``export``, quotes) of ``path``."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeployError(
            f"--env-file: cannot read it ({exc.strerror or exc})", Where(str(p))
        ) from None
    except UnicodeDecodeError as exc:
        at = exc.object[: exc.start].count(b"\n") + 1
        raise DeployError(
            f"--env-file: not UTF-8 text (byte {exc.object[exc.start]:#04x}): save it as UTF-8",
            Where(str(p), at),
        ) from None
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not NAME.match(key):
            raise DeployError(
                "not KEY=VALUE: each line is KEY=VALUE (KEY a name: letters, digits, _), "
                "`export KEY=VALUE`, a # comment or blank",
                Where(str(p), n),
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def parse_env_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``-e KEY=VALUE`` options."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not NAME.match(key.strip()):
            raise DeployError(f"-e {pair!r} is not KEY=VALUE (e.g. -e OKTA_ENV=dev)")
        out[key.strip()] = value
    return out


__all__ = ["parse_env_pairs", "read_env_file"]
