"""Read provider files: JSON directly, YAML once; parsed YAML is cached on disk as JSON.

StackQL's Okta services add up to 3.4 MB of YAML; parsing it is the slowest part of a cold
start, so a second run reads the parse back from ``<cache dir>/<sha256 of the file>.json``.
The cache holds data only (JSON cannot run code, unlike the pickles it replaced) and lives in
a folder only this user can write (:mod:`oktaql.provider._private`); a cache file that fails
that check, or does not decode, is ignored and written anew.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path
from typing import Any

from oktaql._json import loads
from oktaql.errors import ConfigError
from oktaql.provider._bounds import check_bounds, encode
from oktaql.provider._private import is_private, private_dir

_CACHE_FORMAT = b"oktaql-yaml-3"  # 2: components/examples left out; 3: JSON, not pickle
MAX_FILE_BYTES = 64 * 1024 * 1024  # StackQL's largest Okta service file is 0.4 MB
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def cache_dir() -> Path | None:
    """The parse cache's folder, or None for no cache (``OKTAQL_NO_CACHE``, or no private
    folder to be had).

    ``OKTAQL_CACHE_DIR`` (else ``$XDG_CACHE_HOME/oktaql/providers``) is used when it is this
    user's alone; a shared one (``/tmp``) gets a private ``oktaql-<uid>`` folder inside it.
    """
    if os.environ.get("OKTAQL_NO_CACHE"):
        return None
    base = os.environ.get("OKTAQL_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "oktaql" / "providers"
    found = private_dir(root)
    if found is None and hasattr(os, "getuid"):
        found = private_dir(root / f"oktaql-{os.getuid()}")
    return found


def load_yaml(path: Path) -> Any:
    """A provider file's document, measured by :func:`check_bounds`, in JSON's data model."""
    return load_document(_read(path), path)


def load_document(raw: bytes, path: Path | str) -> Any:
    """:func:`load_yaml` of a file's bytes; ``path`` names it in errors (a file or a URL)."""
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            f"provider file {path} is larger than {MAX_FILE_BYTES // 2**20} MB: not a provider"
        )
    doc = _json_document(raw)
    if doc is not _NOT_JSON:
        check_bounds(doc, path)
        return doc
    cdir = cache_dir()
    cached = cdir / (hashlib.sha256(_CACHE_FORMAT + raw).hexdigest() + ".json") if cdir else None
    if cached is not None:
        hit = _read_cache(cached)
        if hit is not _NOT_JSON:
            return hit
    doc = _parse_yaml(raw, path)
    check_bounds(doc, path)
    text = encode(doc, path)

    doc = loads(text)  # what a warm run will read: a cold one must see the same
    if cached is not None:
        _store(cached, text)
    return doc


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read provider file {path}: {exc.strerror or exc}") from None
    return raw


def _parse_yaml(raw: bytes, path: Path | str) -> Any:
    import yaml  # only on a cache miss: a warm start reads JSON alone

    # the C loader is ~10x faster; fall back where libyaml is missing
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    lean = _without_examples(raw)
    if lean is not raw:
        try:
            doc = yaml.load(lean, Loader=loader)
        except (yaml.YAMLError, RecursionError):
            doc = None  # the cut went wrong somehow: read the whole file as it is
        if isinstance(doc, dict) and isinstance(doc.get("components"), dict):
            return doc
    try:
        return yaml.load(raw, Loader=loader)
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"provider file {path} is not valid YAML: {detail}") from None
    except RecursionError:
        raise ConfigError(f"provider file {path}: values nest too deep to read") from None


_NOT_JSON = object()

_COMPONENTS = re.compile(rb"^components:[ \t]*\r?\n", re.M)
_EXAMPLES = re.compile(rb"^  examples:[ \t]*\r?\n", re.M)
_TOP_LEVEL = re.compile(rb"^[^\s#]", re.M)
_INDENT_0_OR_2 = re.compile(rb"^(?:  )?[^\s#]", re.M)


def _without_examples(raw: bytes) -> bytes:
    """``raw`` without its ``components/examples`` block, or ``raw`` itself.

    Those are sample payloads: oktaql never reads them, and in StackQL's service files they are
    ~40 % of the text, so a first read parses ~40 % less. The block runs from its key (indented
    two spaces under ``components:``) to the next line indented two spaces or less; a YAML
    block's content is always indented further, so no value is cut through.
    """
    comp = _COMPONENTS.search(raw)
    if comp is None:
        return raw
    start = _EXAMPLES.search(raw, comp.end())
    if start is None or _TOP_LEVEL.search(raw, comp.end(), start.start()):
        return raw  # no examples, or they are not under components
    end = _INDENT_0_OR_2.search(raw, start.end())
    return raw[: start.start()] + (raw[end.start() :] if end else b"")


def _json_document(raw: bytes) -> Any:
    """The document, when the file is JSON (which is YAML too) after its ``#`` comment lines.

    The built-in provider is written that way: a JSON parser reads it in a millisecond or two,
    where PyYAML takes tens, so a first run costs no more than a warm one. Anything else,
    including YAML flow style that is not valid JSON, is left to PyYAML.
    """
    body = raw.lstrip()
    while body.startswith(b"#"):
        _, _, body = body.partition(b"\n")
        body = body.lstrip()
    if not body.startswith(b"{"):
        return _NOT_JSON

    try:
        return loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError both
        return _NOT_JSON


def _read_cache(target: Path) -> Any:
    """The cached document, or ``_NOT_JSON`` when there is none to trust."""
    try:
        fd = os.open(target, os.O_RDONLY | _NOFOLLOW | _BINARY)
    except OSError:
        return _NOT_JSON
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or not is_private(st):
            return _NOT_JSON  # not ours alone: parse the file again; the store replaces it
        with open(fd, "rb", closefd=False) as fh:
            text = fh.read()
    except OSError:
        return _NOT_JSON
    finally:
        os.close(fd)

    try:
        return loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON  # cut short or damaged: parse the file again


def _store(target: Path, text: bytes) -> None:
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW | _BINARY, 0o600)
        with open(fd, "wb") as fh:
            fh.write(text)
        os.replace(tmp, target)  # atomic: concurrent runs never read half a file
    except OSError:  # a read-only or full disk must not stop a query
        try:
            tmp.unlink()
        except OSError:
            pass
