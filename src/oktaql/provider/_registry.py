"""Locating providers in StackQL's registry layout: ``<root>/src/<provider>/<version>/provider.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from oktaql.errors import ConfigError, ProviderError
from oktaql.provider._model import Provider, Service
from oktaql.provider._yamlcache import load_yaml

BUILTIN_REGISTRY = Path(__file__).resolve().parent.parent / "registry"


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", name)) or (0,)


@dataclass
class Registry:
    root: Path
    builtin: bool = False
    _providers: dict[str, Provider] = field(default_factory=dict)

    def provider_names(self) -> list[str]:
        src = self.root / "src"
        if not src.is_dir():
            return []
        return sorted(p.name for p in src.iterdir() if p.is_dir() and self._versions(p.name))

    def _versions(self, name: str) -> list[str]:
        pdir = self.root / "src" / name
        if not pdir.is_dir():
            return []
        found = [v.name for v in pdir.iterdir() if (v / "provider.yaml").is_file()]
        return sorted(found, key=_version_key)

    def provider(self, name: str, version: str | None = None) -> Provider:
        if name in self._providers and version is None:
            return self._providers[name]
        versions = self._versions(name)
        if not versions:
            known = ", ".join(self.provider_names()) or "none"
            raise ProviderError(
                f"provider {name!r} is not in registry {self.root} (providers there: {known})"
            )
        chosen = version or versions[-1]
        if chosen not in versions:
            raise ProviderError(
                f"provider {name!r} has no version {chosen!r} in {self.root} "
                f"(versions: {', '.join(versions)})"
            )
        prov = _load_provider(self.root, name, chosen)
        if version is None:
            self._providers[name] = prov
        return prov


def _load_provider(root: Path, name: str, version: str) -> Provider:
    path = root / "src" / name / version / "provider.yaml"
    doc = load_yaml(path)
    if not isinstance(doc, dict):
        raise ProviderError(f"{path} is not a provider document")
    services: dict[str, Service] = {}
    for sname, entry in (doc.get("providerServices") or {}).items():
        ref = ((entry or {}).get("service") or {}).get("$ref")
        if not ref:
            raise ProviderError(f"{path}: service {sname!r} has no service $ref")
        services[str(sname)] = Service(
            name=str(sname),
            title=str(entry.get("title") or sname),
            description=str(entry.get("description") or ""),
            path=root / "src" / str(ref),
            provider_name=str(doc.get("name") or name),
        )
    auth = ((doc.get("config") or {}).get("auth")) or {}
    return Provider(
        name=str(doc.get("name") or name),
        version=str(doc.get("version") or version),
        services=services,
        auth=dict(auth),
        root=root,
    )


def open_registry(path: str | Path | None) -> Registry:
    """The registry at ``path`` (StackQL layout), or the built-in one."""
    if path is None:
        return Registry(BUILTIN_REGISTRY, builtin=True)
    root = Path(path).expanduser()
    if not (root / "src").is_dir():
        raise ConfigError(
            f"registry {str(path)!r} has no src/ folder: expected StackQL's registry layout "
            f"<root>/src/<provider>/<version>/provider.yaml"
        )
    return Registry(root)
