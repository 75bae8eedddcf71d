"""What a declarative stack owns: per org + stack + env, which live id each resource maps to.

A small JSON file under the data dir (``$XDG_DATA_HOME/oktaql/deploy/<org>/<stack>/<env>.json``,
owner-only), holding ids and whether this stack created the object: no secret, no body. It is
a cache of what ``match`` finds, plus the one thing ``match`` can't tell: who created an object.
Lost, it is rebuilt from ``match`` (every object found counts as adopted, never created, so a
lost record can only make a plan delete less, never more).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from oktaql.errors import DeployError

VERSION = 1


@dataclass
class Owned:
    resource: str  # okta.groups.groups
    id: str
    params: dict[str, str] = field(default_factory=dict)  # the listing's parents, e.g. appId
    created: bool = False  # this stack created it: removing it from the manifest deletes it


@dataclass
class StackState:
    org: str
    stack: str
    env: str
    resources: dict[str, Owned] = field(default_factory=dict)
    path: Path | None = None
    found: bool = False  # a record was read (else: rebuilt from match)

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "version": VERSION,
            "org": self.org,
            "stack": self.stack,
            "env": self.env,
            "resources": {n: asdict(o) for n, o in self.resources.items()},
        }
        _write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        self.found = True


def state_root() -> Path:
    from oktaql.local import data_dir

    return data_dir() / "deploy"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "_"


def org_key(org_url: str) -> str:
    parts = urlsplit(org_url)
    return _slug(parts.netloc or org_url)


def state_path(org_url: str, stack: str, env: str) -> Path:
    return state_root() / org_key(org_url) / _slug(stack) / f"{_slug(env)}.json"


def load_state(org_url: str, stack: str, env: str) -> StackState:
    path = state_path(org_url, stack, env)
    state = StackState(org_url, stack, env, path=path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return state
    except (OSError, ValueError) as exc:
        raise DeployError(
            f"the stack's ownership record {path} can't be read ({exc}); delete it to have it "
            "rebuilt from the manifest's match fields (objects then count as adopted, not created)"
        ) from None
    state.found = True
    for name, rec in (raw.get("resources") or {}).items():
        state.resources[str(name)] = Owned(
            resource=str(rec["resource"]),
            id=str(rec["id"]),
            params={str(k): str(v) for k, v in (rec.get("params") or {}).items()},
            created=bool(rec.get("created")),
        )
    return state


def other_envs(org_url: str, stack: str, env: str) -> dict[tuple[str, str], str]:
    """(resource type, id) → env, for what the stack's other environments hold in this org."""
    folder = state_root() / org_key(org_url) / _slug(stack)
    out: dict[tuple[str, str], str] = {}
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        if path.stem == _slug(env):
            continue
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for rec in (raw.get("resources") or {}).values():
            out[(str(rec.get("resource")), str(rec.get("id")))] = str(raw.get("env", path.stem))
    return out


def _write_private(path: Path, text: str) -> None:
    """Written whole (a crash leaves the old record), readable by its owner alone."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (path.parent, path.parent.parent, state_root()):
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
