"""REGISTRY LIST / REGISTRY PULL: providers from a registry source into the data dir.

A source is a folder or a ``file://`` / ``http(s)://`` URL in StackQL's registry layout
(``<root>/src/<provider>/<version>/provider.yaml`` with its service files). It is named by
``$OKTAQL_REGISTRY_URL``. Pulled providers land in ``<data dir>/registry`` and become the
default for sessions that name no ``--registry``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from oktaql.errors import ConfigError, ProgrammingError

REGISTRY_URL_ENV = "OKTAQL_REGISTRY_URL"


def pulled_root() -> Path:
    from oktaql.local import data_dir

    return data_dir() / "registry"


def pulled_registry() -> Path | None:
    """The pulled registry's root when something was pulled, else None (the built-in one)."""
    root = pulled_root()
    src = root / "src"
    if src.is_dir() and any(
        (p / v / "provider.yaml").is_file()
        for p in src.iterdir()
        if p.is_dir()
        for v in os.listdir(p)
    ):
        return root
    return None


def _source() -> str:
    url = os.environ.get(REGISTRY_URL_ENV)
    if not url:
        raise ConfigError(
            f"no registry source: set {REGISTRY_URL_ENV} to a folder or a file:// or https:// URL "
            "in StackQL's registry layout (<root>/src/<provider>/<version>/provider.yaml)"
        )
    return url


def _local_root(url: str) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme in ("", None) or re.match(r"^[A-Za-z]:\\", url):
        return Path(url).expanduser()
    return None


def _versions(root: Path, provider: str) -> list[str]:
    pdir = root / "src" / provider
    if not pdir.is_dir():
        return []
    from oktaql.provider._registry import _version_key

    return sorted(
        (v.name for v in pdir.iterdir() if (v / "provider.yaml").is_file()), key=_version_key
    )


def run(stmt: Any) -> tuple[list[str], list[tuple[Any, ...]]]:
    if stmt.action == "list":
        return _list(stmt.provider)
    return _pull(stmt.provider, stmt.version)


def _list(provider: str | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    url = _source()
    root = _local_root(url)
    pulled = pulled_root()
    rows = []
    if root is not None:
        src = root / "src"
        if not src.is_dir():
            raise ConfigError(
                f"registry source {url} has no src/ folder (StackQL's registry layout)"
            )
        names = sorted(p.name for p in src.iterdir() if p.is_dir())
        for name in names:
            if provider and name != provider:
                continue
            for v in _versions(root, name):
                rows.append((name, v, (pulled / "src" / name / v / "provider.yaml").is_file()))
    else:
        raise ConfigError(
            f"REGISTRY LIST needs a folder or file:// source to list; {url} is remote: REGISTRY PULL <provider> <version> from it directly"
        )
    return ["provider", "version", "pulled"], rows


def _pull(provider: str, version: str | None) -> tuple[list[str], list[tuple[Any, ...]]]:
    url = _source()
    root = _local_root(url)
    dest_root = pulled_root()
    with tempfile.TemporaryDirectory(prefix="oktaql-pull-") as tmp:
        staging = Path(tmp) / "src" / provider
        if root is not None:
            versions = _versions(root, provider)
            if not versions:
                raise ProgrammingError(f"registry {url} has no provider {provider!r}")
            chosen = version or versions[-1]
            if chosen not in versions:
                raise ProgrammingError(
                    f"registry {url} has no {provider} version {chosen!r} (versions: {', '.join(versions)})"
                )
            shutil.copytree(root / "src" / provider / chosen, staging / chosen)
        else:
            if not version:
                raise ProgrammingError(
                    "pulling from a remote registry needs a version: REGISTRY PULL okta <version>"
                )
            chosen = version
            _download(url, provider, chosen, staging / chosen)
        _validate(staging / chosen, provider)
        target = dest_root / "src" / provider / chosen
        if target.exists():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging / chosen), target)  # whole version or nothing
    count = len(list((target / "services").glob("*.yaml"))) if (target / "services").is_dir() else 0
    return ["provider", "version", "services", "location"], [(provider, chosen, count, str(target))]


def _download(url: str, provider: str, version: str, dest: Path) -> None:
    import httpx
    import yaml

    base = url.rstrip("/") + f"/src/{provider}/{version}"
    dest.mkdir(parents=True)
    with httpx.Client(timeout=30, follow_redirects=False) as client:
        doc_text = _get(client, f"{base}/provider.yaml")
        (dest / "provider.yaml").write_text(doc_text)
        doc = yaml.safe_load(doc_text) or {}
        for entry in (doc.get("providerServices") or {}).values():
            ref = ((entry or {}).get("service") or {}).get("$ref", "")
            rel = ref.split(f"{provider}/{version}/", 1)[-1]
            if ".." in rel or rel.startswith("/"):
                raise ProgrammingError(f"registry provider.yaml has an unsafe service path {ref!r}")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(_get(client, f"{base}/{rel}"))


def _get(client: Any, url: str) -> str:
    import httpx

    try:
        resp = client.get(url)
    except httpx.HTTPError as exc:
        raise ConfigError(f"cannot fetch {url}: {exc}") from None
    if resp.status_code != 200:
        raise ConfigError(f"cannot fetch {url}: HTTP {resp.status_code}")
    return resp.text


def _validate(version_dir: Path, provider: str) -> None:
    import yaml

    path = version_dir / "provider.yaml"
    try:
        doc = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"pulled {provider}: provider.yaml is unreadable: {exc}") from None
    if not isinstance(doc, dict) or not doc.get("providerServices"):
        raise ConfigError(f"pulled {provider}: provider.yaml has no providerServices")
