"""Parse YAML once: parsed documents are pickled on disk, keyed by the file's content hash.

StackQL's Okta services add up to 3.4 MB of YAML; parsing it is the slowest part of a cold start,
so a second run reads the pickle instead.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from pathlib import Path
from typing import Any

from oktaql.errors import ProviderError

_CACHE_FORMAT = b"oktaql-yaml-2"  # 2: components/examples left out


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
    doc = _parse_yaml(raw, path)
    if cached is not None:
        _store(cached, doc)
    return doc


def _parse_yaml(raw: bytes, path: Path) -> Any:
    import yaml  # only on a cache miss: a warm start reads pickles alone

    # the C loader is ~10x faster; fall back where libyaml is missing
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    lean = _without_examples(raw)
    if lean is not raw:
        try:
            doc = yaml.load(lean, Loader=loader)
        except yaml.YAMLError:
            doc = None  # the cut went wrong somehow: read the whole file as it is
        if isinstance(doc, dict) and isinstance(doc.get("components"), dict):
            return doc
    try:
        return yaml.load(raw, Loader=loader)
    except yaml.YAMLError as exc:
        raise ProviderError(f"provider file {path} is not valid YAML: {exc}") from None


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
