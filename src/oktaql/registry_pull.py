"""REGISTRY LIST / PULL / REMOVE: providers from a registry source into the data dir.

A source is a folder or a ``file://`` / ``https://`` URL in StackQL's registry layout
(``<root>/src/<provider>/<version>/provider.yaml`` with its service files), named by
``$OKTAQL_REGISTRY_URL``; plain ``http://`` only from this machine (loopback), since whoever
can change a provider in transit decides where requests go. Pulled providers land in
``<data dir>/registry`` (folders 0700, files 0600) and are the default for sessions that name no
``--registry``; ``REGISTRY REMOVE okta`` goes back to the built-in provider.

A pull copies exactly ``provider.yaml`` and the service files it names, each of which must be
inside the provider's own folder of the source (:func:`oktaql.provider._registry.service_ref_parts`);
every file is parsed within the provider bounds before anything is replaced, and a version
lands whole or not at all.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from oktaql.errors import ConfigError, ProgrammingError

REGISTRY_URL_ENV = "OKTAQL_REGISTRY_URL"
Rows = tuple[list[str], list[tuple[Any, ...]]]

# a provider or version name is one path segment of a plain shape: never "", "." or "..", no
# separators, so a pull or a remove never leaves <data dir>/registry/src/<provider>/
_PROVIDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_VERSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _check_name(value: str, kind: str) -> str:
    shape = _PROVIDER_NAME if kind == "provider" else _VERSION_NAME
    if not shape.fullmatch(value):
        raise ProgrammingError(
            f"{value!r} is not a {kind} name: letters, digits"
            + (", '.', '_' and '-'" if kind == "version" else ", '_' and '-'")
            + " only, starting with a letter or digit (e.g. "
            + ("okta)" if kind == "provider" else "v00.00.00000)")
        )
    return value


def pulled_root() -> Path:
    from oktaql.local import data_dir

    return data_dir() / "registry"


def _pulled(root: Path) -> dict[str, list[str]]:
    """Provider → its pulled versions (oldest first), from the folders under ``root/src``."""
    from oktaql.provider import version_key

    src = root / "src"
    found: dict[str, list[str]] = {}
    if not src.is_dir():
        return found
    for pdir in sorted(src.iterdir()):
        if not pdir.is_dir() or not _PROVIDER_NAME.fullmatch(pdir.name):
            continue
        versions = [
            v.name
            for v in pdir.iterdir()
            if _VERSION_NAME.fullmatch(v.name) and (v / "provider.yaml").is_file()
        ]
        if versions:
            found[pdir.name] = sorted(versions, key=version_key)
    return found


_WARNED: set[str] = set()


def pulled_registry() -> Path | None:
    """The pulled registry's root when something was pulled, else None (the built-in one).

    Pulled providers decide where requests go, so a copy that other users can write is not
    used: the session warns (once) and takes the built-in provider.
    """
    root = pulled_root()
    pulled = _pulled(root)
    if not pulled:
        return None
    from oktaql.provider import failing_dir

    folders = [root, root / "src"]
    for name, versions in pulled.items():
        folders.append(root / "src" / name)
        for v in versions:
            folders += [root / "src" / name / v, root / "src" / name / v / "services"]
    for d in folders:
        why = failing_dir(d) if d.is_dir() else None
        if why is not None:
            if str(d) not in _WARNED:
                _WARNED.add(str(d))
                print(
                    f"warning: not using the pulled providers in {root}: {d} {why}; "
                    f"fix: chmod -R go-w {root} (or REGISTRY REMOVE okta); using the "
                    "built-in provider",
                    file=sys.stderr,
                )
            return None
    return root


def registry_kind(root: Path, builtin: bool) -> str:
    """How a session's registry was chosen: ``built-in``, ``pulled`` or ``--registry``."""
    if builtin:
        return "built-in"
    try:
        if root.resolve() == pulled_root().resolve():
            return "pulled"
    except OSError:
        pass
    return "--registry"


def run(stmt: Any) -> Rows:
    cols, rows, _ = run_with_message(stmt)
    return cols, rows


def run_with_message(stmt: Any) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
    """The statement's rows, and a line for the user (stderr in the CLI), or None."""
    if stmt.provider is not None:
        _check_name(stmt.provider, "provider")
    if stmt.version is not None:
        _check_name(stmt.version, "version")
    if stmt.action == "list":
        return _list(stmt.provider)
    if stmt.action == "remove":
        return _remove(stmt.provider, stmt.version)
    return _pull(stmt.provider, stmt.version)


# --- sources --------------------------------------------------------------------------------


def _source_url() -> str | None:
    return os.environ.get(REGISTRY_URL_ENV) or None


def _need_source() -> str:
    url = _source_url()
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


def _check_remote(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url
    if parts.scheme == "http":
        # the same rule as an org URL's: plain http only to this machine
        from oktaql.planning import is_loopback

        if parts.hostname and is_loopback(parts.hostname):
            return url
        raise ConfigError(
            f"{REGISTRY_URL_ENV}={url}: plain http:// is refused except from this machine "
            "(127.0.0.1, ::1, localhost): a provider decides where requests and the token go, "
            "so it must come over https://"
        )
    raise ConfigError(
        f"{REGISTRY_URL_ENV}={url}: expected a folder, or a file://, https:// (or loopback "
        "http://) URL"
    )


class _LocalSource:
    def __init__(self, root: Path, url: str):
        self.root = root
        self.url = url

    def versions(self, provider: str) -> list[str]:
        from oktaql.provider import version_key

        pdir = self.root / "src" / provider
        if not pdir.is_dir():
            return []
        found = [
            v.name
            for v in pdir.iterdir()
            if _VERSION_NAME.fullmatch(v.name) and (v / "provider.yaml").is_file()
        ]
        return sorted(found, key=version_key)

    def label(self, provider: str, version: str, parts: tuple[str, ...]) -> str:
        return str(self.root.joinpath("src", provider, version, *parts))

    def read(self, provider: str, version: str, parts: tuple[str, ...]) -> bytes:
        from oktaql.provider import MAX_FILE_BYTES

        vdir = self.root / "src" / provider / version
        path = vdir.joinpath(*parts)
        try:
            inside = path.resolve().is_relative_to(vdir.resolve())
        except (OSError, RuntimeError):
            inside = False
        if not inside:  # a link out of the source: its target is none of the pull's business
            raise ConfigError(
                f"registry source {self.url}: {path} leads out of {vdir} through a symbolic "
                "link; a pull copies only files inside the provider's own folder"
            )
        try:
            with path.open("rb") as fh:
                return fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError(
                f"registry source {self.url}: cannot read {path}: {exc.strerror or exc}"
            ) from None


class _RemoteSource:
    def __init__(self, url: str):
        self.url = _check_remote(url)
        import httpx

        self._client = httpx.Client(timeout=30, follow_redirects=False)

    def close(self) -> None:
        self._client.close()

    def label(self, provider: str, version: str, parts: tuple[str, ...]) -> str:
        segments = (provider, version, *parts)
        return self.url.rstrip("/") + "/src/" + "/".join(quote(s, safe="") for s in segments)

    def read(self, provider: str, version: str, parts: tuple[str, ...]) -> bytes:
        import httpx

        from oktaql.provider import MAX_FILE_BYTES

        url = self.label(provider, version, parts)
        try:
            with self._client.stream("GET", url) as resp:
                if resp.status_code != 200:
                    raise ConfigError(f"cannot fetch {url}: HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_FILE_BYTES:
                        break  # load_document says it is too large
                return bytes(body)
        except httpx.HTTPError as exc:
            raise ConfigError(f"cannot fetch {url}: {exc}") from None


# --- statements -----------------------------------------------------------------------------

_LIST_COLUMNS = ["provider", "version", "pulled"]


def _list(provider: str | None) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
    pulled = _pulled(pulled_root())
    url = _source_url()
    if url is None:
        rows = [
            (name, v, True)
            for name, versions in pulled.items()
            if provider in (None, name)
            for v in versions
        ]
        note = (
            f"pulled providers in {pulled_root()}"
            + ("" if rows else ": none, sessions use the built-in provider")
            + f"; to list a registry, set {REGISTRY_URL_ENV} to its folder or file:// URL"
        )
        return _LIST_COLUMNS, rows, note
    root = _local_root(url)
    if root is None:
        _check_remote(url)
        raise ConfigError(
            f"REGISTRY LIST needs a folder or file:// source to list; {url} is remote: "
            "REGISTRY PULL <provider> <version> from it directly"
        )
    src = root / "src"
    if not src.is_dir():
        raise ConfigError(f"registry source {url} has no src/ folder (StackQL's registry layout)")
    source = _LocalSource(root, url)
    rows = []
    for name in sorted(p.name for p in src.iterdir() if p.is_dir()):
        if provider not in (None, name) or not _PROVIDER_NAME.fullmatch(name):
            continue
        for v in source.versions(name):
            rows.append((name, v, v in pulled.get(name, [])))
    return _LIST_COLUMNS, rows, None


def _pull(
    provider: str | None, version: str | None
) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
    if provider is None:
        raise ProgrammingError("REGISTRY PULL needs a provider, e.g. REGISTRY PULL okta")
    url = _need_source()
    root = _local_root(url)
    source: _LocalSource | _RemoteSource
    if root is not None:
        source = _LocalSource(root, url)
        versions = source.versions(provider)
        if not versions:
            raise ProgrammingError(f"registry {url} has no provider {provider!r}")
        chosen = version or versions[-1]
        if chosen not in versions:
            raise ProgrammingError(
                f"registry {url} has no {provider} version {chosen!r} "
                f"(versions: {', '.join(versions)})"
            )
    else:
        source = _RemoteSource(url)
        if not version:
            source.close()
            raise ProgrammingError(
                "pulling from a remote registry needs a version: REGISTRY PULL okta <version>"
            )
        chosen = version
    try:
        files = _fetch(source, provider, chosen)
    finally:
        if isinstance(source, _RemoteSource):
            source.close()
    target = _install(provider, chosen, files)
    services = sum(1 for parts in files if parts != ("provider.yaml",))
    return (
        ["provider", "version", "services", "location"],
        [(provider, chosen, services, str(target))],
        f"new sessions without --registry use {provider} {chosen} from {target}; "
        f"REGISTRY REMOVE {provider} goes back to the built-in provider",
    )


def _fetch(
    source: _LocalSource | _RemoteSource, provider: str, version: str
) -> dict[tuple[str, ...], bytes]:
    """``provider.yaml`` and every service file it names, each parsed within the bounds."""
    from oktaql.provider import Doc, escape, load_document, service_ref_parts

    top: tuple[str, ...] = ("provider.yaml",)
    label = source.label(provider, version, top)
    raw = source.read(provider, version, top)
    data = load_document(raw, label)
    if not isinstance(data, dict):
        raise ConfigError(f"provider file {label} is not a provider document")
    doc = Doc(label, data)
    listed = doc.mapping(data.get("providerServices"), "/providerServices", "providerServices")
    if not listed:
        raise ConfigError(f"provider file {label} lists no providerServices")
    files: dict[tuple[str, ...], bytes] = {top: raw}
    for sname, entry in listed.items():
        at = f"/providerServices/{escape(sname)}/service"
        entry = doc.mapping(entry, at.rsplit("/", 1)[0], f"service {sname!r}")
        ref = doc.mapping(entry.get("service"), at, "service").get("$ref")
        parts = service_ref_parts(ref, provider, version)
        if parts is None:
            raise doc.error(
                f"{at}/$ref",
                f"service $ref {ref!r} must name a file inside the provider's own folder, "
                f"written {provider}/{version}/<file> (no absolute path, no '..')",
            )
        if parts not in files:
            body = source.read(provider, version, parts)
            load_document(body, source.label(provider, version, parts))
            files[parts] = body
    return files


def _install(provider: str, version: str, files: dict[tuple[str, ...], bytes]) -> Path:
    """Write the version next to where it goes, then swap it in: whole or not at all."""
    from oktaql.provider import private_dir

    root = pulled_root()
    pdir = root / "src" / provider
    for d in (root, root / "src", pdir):
        if private_dir(d) is None:
            from oktaql.provider import failing_dir

            raise ConfigError(
                f"cannot pull into {d}: it {failing_dir(d) or 'cannot be made'}; "
                f"fix: chmod go-w {d}"
            )
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.pull-", dir=pdir))  # mode 0700
    try:
        for parts, body in files.items():
            path = staging.joinpath(*parts)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
            )
            with open(fd, "wb") as fh:
                fh.write(body)
        target = pdir / version
        old = None
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=f".{version}.old-", dir=pdir))
            os.replace(target, old / version)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _remove(
    provider: str | None, version: str | None
) -> tuple[list[str], list[tuple[Any, ...]], str | None]:
    if provider is None:
        raise ProgrammingError("REGISTRY REMOVE needs a provider, e.g. REGISTRY REMOVE okta")
    root = pulled_root()
    pulled = _pulled(root).get(provider, [])
    if not pulled:
        raise ProgrammingError(
            f"no pulled {provider} provider in {root}: sessions already use the built-in one"
        )
    if version is not None and version not in pulled:
        raise ProgrammingError(
            f"no pulled {provider} version {version!r} (pulled: {', '.join(pulled)})"
        )
    doomed = [version] if version is not None else list(pulled)
    pdir = root / "src" / provider
    rows = []
    for v in doomed:
        target = pdir / v
        # out of the way first, so an interrupted delete never leaves half a version in use
        trash = Path(tempfile.mkdtemp(prefix=f".{v}.remove-", dir=pdir))
        os.replace(target, trash / v)
        shutil.rmtree(trash, ignore_errors=True)
        rows.append((provider, v, str(target)))
    left = [v for v in pulled if v not in doomed]
    try:
        pdir.rmdir()  # only when empty
    except OSError:
        pass
    note = (
        f"new sessions without --registry use pulled {provider} {left[-1]}"
        if left
        else f"new sessions without --registry use the built-in {provider} provider"
    )
    return ["provider", "version", "removed"], rows, note
