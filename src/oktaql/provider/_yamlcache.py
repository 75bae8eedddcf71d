"""Parse YAML once: parsed documents are pickled on disk, keyed by the file's content hash.

StackQL's Okta services add up to 3.4 MB of YAML; parsing it is the slowest part of a cold start,
so a second run reads the pickle instead.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

from oktaql.errors import ProviderError

_CACHE_FORMAT = b"oktaql-yaml-1"


def cache_dir() -> Path | None:
    if os.environ.get("OKTAQL_NO_CACHE"):
        return None
    base = os.environ.get("OKTAQL_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "oktaql" / "providers"


def load_yaml(path: Path) -> Any:
    """Load a YAML document, through the on-disk cache when one is usable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProviderError(f"cannot read provider file {path}: {exc.strerror}") from None
    doc = _json_document(raw)
    if doc is not _NOT_JSON:
        return doc
    cdir = cache_dir()
    key = hashlib.sha256(_CACHE_FORMAT + raw).hexdigest()
    cached = cdir / f"{key}.pickle" if cdir else None
    if cached is not None:
        try:
            with cached.open("rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
            pass
    import yaml  # only on a cache miss: a warm start reads pickles alone

    # the C loader is ~10x faster; fall back where libyaml is missing
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        doc = yaml.load(raw, Loader=loader)
    except yaml.YAMLError as exc:
        raise ProviderError(f"provider file {path} is not valid YAML: {exc}") from None
    if cached is not None:
        _store(cached, doc)
    return doc


_NOT_JSON = object()


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
    from oktaql._json import loads

    try:
        return loads(body)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both
        return _NOT_JSON


def _store(target: Path, doc: Any) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            pickle.dump(doc, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)  # atomic: concurrent runs never read half a file
    except OSError:
        pass  # a read-only home must not stop a query
