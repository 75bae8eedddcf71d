"""Locating providers in StackQL's registry layout: ``<root>/src/<provider>/<version>/provider.yaml``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oktaql.errors import ConfigError, ProviderError
from oktaql.provider._bounds import where
from oktaql.provider._model import Provider, Service
from oktaql.provider._schema import Doc, escape, kind
from oktaql.provider._yamlcache import load_yaml

BUILTIN_REGISTRY = Path(__file__).resolve().parent.parent / "registry"


def version_key(name: str) -> tuple[int, ...]:
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
        # a dot folder is a pull's staging copy (oktaql.registry_pull), never a version
        found = [
            v.name
            for v in pdir.iterdir()
            if not v.name.startswith(".") and (v / "provider.yaml").is_file()
        ]
        return sorted(found, key=version_key)

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
    vdir = root / "src" / name / version
    path = vdir / "provider.yaml"
    data = load_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"provider file {path} is not a provider document (it is {kind(data)})")
    doc = Doc(path, data)
    services: dict[str, Service] = {}
    listed = doc.mapping(data.get("providerServices"), "/providerServices", "providerServices")
    for sname, entry in listed.items():
        at = f"/providerServices/{escape(sname)}"
        entry = doc.mapping(entry, at, f"service {sname!r}")
        ref = doc.mapping(entry.get("service"), f"{at}/service", "service").get("$ref")
        if not ref:
            raise doc.error(f"{at}/service", f"service {sname!r} has no service $ref")
        services[str(sname)] = Service(
            name=str(sname),
            title=str(entry.get("title") or sname),
            description=str(entry.get("description") or ""),
            path=service_file(doc, root, name, version, ref, f"{at}/service/$ref"),
            provider_name=str(data.get("name") or name),
            folder=vdir,
            named_at=where(path, f"{at}/service/$ref"),
        )
    config = doc.mapping(data.get("config"), "/config", "config")
    auth = doc.mapping(config.get("auth"), "/config/auth", "auth")
    return Provider(
        name=str(data.get("name") or name),
        version=str(data.get("version") or version),
        services=services,
        auth=dict(auth),
        root=root,
        folder=vdir,
    )


def service_ref_parts(ref: Any, name: str, version: str) -> tuple[str, ...] | None:
    """The path parts under ``<provider>/<version>/`` a service ``$ref`` names, or None when it
    names anything else: an absolute path, a URL, ``..``, another provider or version."""
    if not isinstance(ref, str) or "\\" in ref or "\0" in ref:
        return None
    parts = tuple(ref.split("/"))
    inner = parts[2:]
    if parts[:2] != (name, version) or not inner:
        return None
    if any(p in ("", ".", "..") or ":" in p for p in inner):
        return None
    return inner


def service_file(doc: Doc, root: Path, name: str, version: str, ref: Any, at: str) -> Path:
    """The file a service ``$ref`` (relative to ``<root>/src``) names, which must be inside the
    provider's own folder ``<root>/src/<name>/<version>`` (symbolic links are checked when the
    file is read, :class:`Service`).

    A provider is another party's text: a ``$ref`` of ``/etc/hostname`` or ``../../x``, or a link
    out of its folder, would make oktaql read (and quote, in errors) files it has no business
    with.
    """
    inner = service_ref_parts(ref, name, version)
    if inner is None:
        raise doc.error(
            at,
            f"service $ref {ref!r} must name a file inside the provider's own folder, "
            f"written {name}/{version}/<file> (no absolute path, no '..')",
        )
    return root.joinpath("src", name, version, *inner)


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
