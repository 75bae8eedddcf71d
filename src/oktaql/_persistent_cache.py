"""GET responses kept on disk between processes (``--persistent-cache``), revalidated.

A shell session, a notebook and a CI job that read the same listings reuse each other's pages:
a page stored with an ``ETag`` or ``Last-Modified`` is asked for again with ``If-None-Match`` /
``If-Modified-Since``, and Okta's ``304 Not Modified`` (no body) is answered with the stored
page. Within ``--cache-ttl`` a stored page is used without asking at all; a page without a
validator is stored only then. Any write (a request other than GET) sent through a session
drops the stored pages of its origin and resource collection (``/api/v1/apps/...``).

It sits between the HTTP client and the network (an ``httpx`` transport), where the request is
exactly what goes out: the key is the origin, a one-way hash of the ``Authorization`` header
(so one org's or profile's credential never reads pages another's stored) and the URL. Stored
are the page's body and its ``Link``/``ETag``/``Last-Modified``/``Content-Type`` headers,
never a request header, so no credential is ever written.

The pages are an org's data, so the folder is this user's alone: made mode 0700 (files 0600),
and an existing folder or file that another user owns or may read or write is refused with an
error saying how to fix it, never used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from oktaql.errors import ConfigError

if TYPE_CHECKING:
    import httpx

_FORMAT = 1
_KEPT_HEADERS = ("content-type", "link", "etag", "last-modified")
# what a 304 brings that the stored page must not hide: the pacer reads the budget from it
_FRESH_HEADERS = ("date", "x-okta-request-id", "x-rate-limit-limit", "x-rate-limit-remaining",
                  "x-rate-limit-reset")  # fmt: skip
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CHECKS = hasattr(os, "getuid")
_FIX = "remove it, or make it yours alone (chmod 700), or point OKTAQL_CACHE_DIR elsewhere"


def default_dir() -> Path:
    """``$OKTAQL_CACHE_DIR/responses``, else ``$XDG_CACHE_HOME/oktaql/responses`` (else
    ``~/.cache/oktaql/responses``): the parse cache's rule, one folder over."""
    base = os.environ.get("OKTAQL_CACHE_DIR")
    if base:
        return Path(base) / "responses"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "oktaql" / "responses"


def _private_dir(path: Path, what: str = "the response cache folder") -> Path:
    """``path`` as a folder only this user can reach, made 0700 when missing; else an error."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as exc:
        raise ConfigError(
            f"{what} {path} cannot be made or read ({exc.strerror or exc}): "
            "choose another with OKTAQL_CACHE_DIR or persistent_cache=PATH"
        ) from None
    problem = _not_private(st)
    if problem is not None:
        raise ConfigError(
            f"{what} {path} {problem}; it would hold your org's data, so oktaql does not "
            f"use it: {_FIX}"
        )
    return path


def _not_private(st: os.stat_result, folder: bool = True) -> str | None:
    if folder and not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not folder and not stat.S_ISREG(st.st_mode):
        return "is not a file"
    if not _CHECKS:
        return None
    if st.st_uid != os.getuid():
        return f"belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o077:
        return f"is open to other users (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def collection(path: str) -> str:
    """The resource collection a path is in: ``/api/v1/apps`` for ``/api/v1/apps/X/tokens``."""
    parts = [p for p in path.split("/") if p]
    n = 3 if len(parts) >= 3 and parts[0] == "api" and parts[1][:1] == "v" else 1
    return "/" + "/".join(parts[:n])


@dataclass
class Counts:
    """What the cache did, for tests and the benchmarks."""

    stored: int = 0  # pages written
    revalidated: int = 0  # 304s answered with a stored page
    fresh: int = 0  # pages used within the TTL without a request
    invalidated: int = 0  # collections dropped by a write


class PersistentCache:
    def __init__(self, root: str | os.PathLike[str] | None = None, ttl: float = 0.0):
        self.root = _private_dir(Path(root) if root is not None else default_dir())
        self.ttl = float(ttl)
        self.counts = Counts()
        self._lock = threading.Lock()
        self._checked: set[Path] = set()  # folders made and found private

    def transport(self, inner: httpx.BaseTransport) -> httpx.BaseTransport:
        return _transport_class()(self, inner)

    # --- where a page lives -----------------------------------------------------------------

    def _folder(self, origin: str, path: str) -> Path:
        return self.root / _digest("origin", origin)[:24] / _digest("prefix", collection(path))[:24]

    def locate(self, origin: str, url: str, authorization: str, accept: str) -> tuple[Path, str]:
        """(the page's file, the credential's identity: a hash, never the credential)."""
        identity = _digest("oktaql-credential", authorization)
        key = _digest(origin, identity, url, accept)
        return self._folder(origin, urlsplit(url).path) / key, identity

    # --- reading and writing ----------------------------------------------------------------

    def load(self, file: Path, url: str, identity: str) -> Page | None:
        try:
            fd = os.open(file, os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigError(
                f"response cache file {file} cannot be read ({exc.strerror})"
            ) from None
        with os.fdopen(fd, "rb") as fh:
            problem = _not_private(os.fstat(fh.fileno()), folder=False)
            if problem is not None:
                raise ConfigError(f"response cache file {file} {problem}: {_FIX}")
            raw = fh.read()
        head, sep, body = raw.partition(b"\n")
        try:
            meta = json.loads(head) if sep else None
        except ValueError:
            meta = None
        if (
            not isinstance(meta, dict)
            or meta.get("format") != _FORMAT
            or meta.get("url") != url  # a hash that matched another page: never
            or meta.get("identity") != identity
        ):
            with contextlib.suppress(OSError):
                file.unlink()  # torn or foreign: asked for anew
            return None
        return Page(float(meta.get("stored", 0)), [tuple(h) for h in meta["headers"]], body)

    def store(self, file: Path, url: str, identity: str, headers: list[tuple[str, str]],
              body: bytes) -> None:  # fmt: skip
        self._folders(file.parent)
        meta = {"format": _FORMAT, "url": url, "identity": identity, "stored": time.time(),
                "headers": headers}  # fmt: skip
        tmp = file.with_name(f".{file.name}.{os.getpid()}.{threading.get_ident()}")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW
        try:
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileNotFoundError:  # another process's write dropped the folder since
                self._folders(file.parent, again=True)
                fd = os.open(tmp, flags, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(meta, separators=(",", ":")).encode() + b"\n" + body)
            os.replace(tmp, file)  # readers see the old page or the new one, never half
        except OSError:
            # a full disk, or the folder dropped again meanwhile: the page is simply not
            # kept (the read itself succeeded); a folder that is not private raised above
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        with self._lock:
            self.counts.stored += 1

    def _folders(self, folder: Path, again: bool = False) -> None:
        """The origin's and the collection's folders, made and checked once per process."""
        with self._lock:
            if folder in self._checked and not again:
                return
        _private_dir(folder.parent)
        _private_dir(folder)
        with self._lock:
            self._checked.add(folder)

    def invalidate(self, origin: str, path: str) -> None:
        """A write to ``path``: every stored page of its collection at ``origin`` goes."""
        folder = self._folder(origin, path)
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            self._checked.discard(folder)
            self.counts.invalidated += 1

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self.counts, what, getattr(self.counts, what) + 1)


@dataclass
class Page:
    stored: float  # epoch seconds
    headers: list[tuple[str, ...]]
    body: bytes

    def validators(self) -> dict[str, str]:
        found = {k.lower(): v for k, v in self.headers}
        out = {}
        if "etag" in found:
            out["If-None-Match"] = found["etag"]
        if "last-modified" in found:
            out["If-Modified-Since"] = found["last-modified"]
        return out


def kept_headers(headers: Any) -> list[tuple[str, str]]:
    """The response headers a stored page keeps (never a request's)."""
    return [(k, v) for k, v in headers.multi_items() if k.lower() in _KEPT_HEADERS]


def fresh_headers(headers: Any) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers.multi_items() if k.lower() in _FRESH_HEADERS]


@functools.cache
def _transport_class() -> type[Any]:
    """The caching transport's class, made when the first client is (httpx loads then)."""
    import httpx

    class CachingTransport(httpx.BaseTransport):
        def __init__(self, cache: PersistentCache, inner: httpx.BaseTransport):
            self.cache = cache
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            cache = self.cache
            origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            if request.method != "GET":
                try:
                    return self.inner.handle_request(request)
                finally:  # answered or not, it may have changed what the pages hold
                    cache.invalidate(origin, request.url.path)
            authorization = request.headers.get("authorization")
            if not authorization:
                return self.inner.handle_request(request)  # no credential: nothing to key by
            url = str(request.url)
            file, identity = cache.locate(
                origin, url, authorization, request.headers.get("accept", "")
            )
            page = cache.load(file, url, identity)
            if page is not None and cache.ttl > 0 and time.time() - page.stored <= cache.ttl:
                cache.count("fresh")
                return _answer(request, page, [])
            if page is not None:
                for name, value in page.validators().items():
                    request.headers[name] = value
            resp = self.inner.handle_request(request)
            if resp.status_code == 304 and page is not None:
                resp.close()
                cache.count("revalidated")
                return _answer(request, page, fresh_headers(resp.headers))
            if resp.status_code == 200:
                kept = kept_headers(resp.headers)
                if cache.ttl > 0 or any(k.lower() in ("etag", "last-modified") for k, _ in kept):
                    body = resp.read()
                    cache.store(file, url, identity, kept, body)
            return resp

        def close(self) -> None:
            self.inner.close()

    def _answer(request: httpx.Request, page: Page, fresh: list[tuple[str, str]]) -> httpx.Response:
        names = {k.lower() for k, _ in fresh}
        headers = [*fresh, *((k, v) for k, v in page.headers if k.lower() not in names)]
        return httpx.Response(200, headers=headers, content=page.body, request=request)

    return CachingTransport


__all__ = ["Counts", "Page", "PersistentCache", "collection", "default_dir"]
