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

The folder is bounded (:meth:`PersistentCache.sweep`): a page's file has its mtime set when it
is stored and each time it is used (not atime: ``noatime`` mounts are common), and a sweep
removes the pages unused for ``max_days``, then, while the folder is over ``max_mb``, the least
recently used down to 90% of it. Sweeping is cheap: the folder's size is kept as a running
total in ``.usage`` (updated under a lock by every process's stores), so the folder is walked
only when a store takes it over the bound, or once an hour for the age bound. The walk opens
each folder without following a link, never leaves the folder, and skips anything that is not
a page (a planted link is never followed). Several processes may sweep and store at once: a
page removed under a reader is read whole from its open file, or found missing and asked for
anew, like a torn one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
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
_MB = 1 << 20
DEFAULT_MAX_MB = 256.0
DEFAULT_MAX_DAYS = 30.0
LOW = 0.9  # a sweep over the bound evicts down to this share of it: the next stores need none
_SWEEP_EVERY = 3600.0  # the age bound's sweep, at most this often over all processes
_ORPHAN = 3600.0  # a temporary file this old was left by a process that died mid-write
_USAGE = ".usage"
# walk through folder descriptors (openat with O_NOFOLLOW): a folder swapped for a link between
# listing and opening is refused, never followed; elsewhere entries are checked with lstat
_DIRFD = (
    os.scandir in os.supports_fd
    and os.unlink in os.supports_dir_fd
    and os.open in os.supports_dir_fd
    and hasattr(os, "O_DIRECTORY")
)
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
    evicted: int = 0  # pages removed by this process's sweeps (too old, or over the bound)
    sweeps: int = 0  # walks of the folder


@dataclass
class Freed:
    """What a sweep or :func:`clear` removed, and what it left."""

    files: int = 0
    bytes: int = 0
    kept_files: int = 0
    kept_bytes: int = 0


def _bound(value: object, name: str, scale: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name} must be a number >= 0 (0: no bound), not {value!r}")
    return float(value) * scale


class PersistentCache:
    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        ttl: float = 0.0,
        max_mb: float = DEFAULT_MAX_MB,
        max_days: float = DEFAULT_MAX_DAYS,
    ):
        self.root = _private_dir(Path(root) if root is not None else default_dir())
        self.ttl = float(ttl)
        self.max_bytes = round(_bound(max_mb, "persistent_cache_max_mb", _MB))  # 0: unbounded
        self.max_age = _bound(max_days, "persistent_cache_max_days", 86400.0)  # seconds; 0: none
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
            head, sep, body = fh.read().partition(b"\n")
            try:
                meta = json.loads(head) if sep else None
            except ValueError:
                meta = None
            good = _is_page(meta, url, identity)
            if good:
                with contextlib.suppress(OSError):  # used now: the last a sweep evicts
                    os.utime(fh.fileno() if os.utime in os.supports_fd else file)
        if not good:
            with contextlib.suppress(OSError):
                file.unlink()  # torn or foreign: asked for anew
            return None
        assert isinstance(meta, dict)
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
            data = json.dumps(meta, separators=(",", ":")).encode() + b"\n" + body
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
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
        claimed = self._account(len(data))
        if claimed is not None:
            with contextlib.suppress(OSError):  # housekeeping never fails the read it follows
                self.sweep(claimed)

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

    # --- keeping the folder bounded ---------------------------------------------------------

    def _usage(self, change: Literal["grow", "swept"], size: int, claimed: int = 0) -> int | None:
        """Read and update ``.usage`` (the folder's bytes, the last sweep's time) under a lock.
        "grow": a store added ``size`` bytes; returns the total when a sweep is due, the sweep
        then claimed (other processes do not start one). "swept": a sweep left ``size`` bytes
        when the total was ``claimed`` (-1: a sweep not claimed by a store); what other
        processes stored since the claim is kept."""
        path = self.root / _USAGE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
        except OSError:  # not a file (a planted link, say): made anew, else no accounts
            with contextlib.suppress(OSError):
                path.unlink()
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            except OSError:
                return None
        now = time.time()
        with os.fdopen(fd, "r+b") as fh:
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed
            try:
                found = json.loads(fh.read())
                total, swept = int(found["bytes"]), float(found["swept"])
            except (ValueError, KeyError, TypeError):  # new, or torn by a crash: walk
                total, swept = 0, 0.0
            due: int | None = None
            if change == "grow":
                total += size
                if now - swept > _SWEEP_EVERY or (self.max_bytes and total > self.max_bytes):
                    due, swept = total, now
            else:
                total = size + (max(0, total - claimed) if claimed >= 0 else 0)
                swept = now
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"bytes": total, "swept": swept}).encode())
        return due

    def _account(self, size: int) -> int | None:
        try:
            return self._usage("grow", size)
        except OSError:  # accounts are an estimate: a store never fails for them
            return None

    def sweep(self, claimed: int | None = None) -> Freed:
        """Remove the pages unused for ``max_days``, then the least recently used while the
        folder is over ``max_mb`` (down to 90% of it); returns what went and what is left."""
        now = time.time()
        with _Tree(self.root) as tree:
            freed = Freed()
            kept: list[tuple[float, int, Any, str]] = []
            for entry in tree.pages:
                if self.max_age and now - entry[0] > self.max_age:  # unused too long
                    gone = tree.unlink(entry)
                    freed.files, freed.bytes = freed.files + (gone > 0), freed.bytes + gone
                else:
                    kept.append(entry)
            for entry in tree.temps:  # another process's write in progress is left alone
                if now - entry[0] > _ORPHAN:
                    tree.unlink(entry)
            total = sum(e[1] for e in kept)
            if self.max_bytes and total > self.max_bytes:
                kept.sort(key=lambda e: e[0])  # least recently used first
                evict = 0
                while evict < len(kept) and total > self.max_bytes * LOW:
                    gone = tree.unlink(kept[evict])
                    total -= kept[evict][1]
                    freed.files, freed.bytes = freed.files + (gone > 0), freed.bytes + gone
                    evict += 1
                del kept[:evict]
            freed.kept_files, freed.kept_bytes = len(kept), total
        with contextlib.suppress(OSError):
            self._usage("swept", total, -1 if claimed is None else claimed)
        with self._lock:
            self.counts.evicted += freed.files
            self.counts.sweeps += 1
        return freed

    def count(self, what: str) -> None:
        with self._lock:
            setattr(self.counts, what, getattr(self.counts, what) + 1)


def _is_page(meta: object, url: str, identity: str) -> bool:
    return (
        isinstance(meta, dict)
        and meta.get("format") == _FORMAT
        and meta.get("url") == url  # a hash that matched another page: never
        and meta.get("identity") == identity
    )


class _Tree:
    """The cache folder's entries, listed without following a link: the pages (``(mtime, size,
    folder, name)``), the temporary files of writes, and what is neither (strays: a link, a
    file where pages do not live), through folder descriptors held open until closed."""

    def __init__(self, root: Path):
        self.pages: list[tuple[float, int, Any, str]] = []
        self.temps: list[tuple[float, int, Any, str]] = []
        self.strays: list[tuple[Any, str]] = []
        self.folders: list[tuple[Any, str]] = []  # (parent, name), the deepest last
        self._fds: list[int] = []
        top = self._open(None, str(root))
        if top is None:
            return
        for odir in self._subfolders(top):  # an origin's
            for cdir in self._subfolders(odir):  # a collection's
                for page in self._list(cdir):
                    try:
                        st = page.stat(follow_symlinks=False)
                    except OSError:  # gone meanwhile (another process's sweep)
                        continue
                    if not stat.S_ISREG(st.st_mode):
                        self.strays.append((cdir, page.name))
                        continue
                    kind = self.temps if page.name.startswith(".") else self.pages
                    kind.append((st.st_mtime, st.st_size, cdir, page.name))

    def _subfolders(self, parent: Any) -> Iterator[Any]:
        """Each folder in ``parent``, opened (never through a link) and noted; anything else
        there is a stray."""
        for entry in self._list(parent):
            if not entry.is_dir(follow_symlinks=False):
                self.strays.append((parent, entry.name))
                continue
            child = self._open(parent, entry.name)
            if child is not None:
                self.folders.append((parent, entry.name))
                yield child

    def _open(self, parent: Any, name: str) -> Any:
        """A folder to list: a descriptor opened without following a link (the root itself
        may be one: the user chose it), else the path, checked not to be a link."""
        if _DIRFD:
            flags = os.O_RDONLY | os.O_DIRECTORY | (_NOFOLLOW if parent is not None else 0)
            try:
                fd = os.open(name, flags, dir_fd=parent)
            except OSError:  # gone, or swapped for a link since it was listed
                return None
            self._fds.append(fd)
            return fd
        path = name if parent is None else os.path.join(parent, name)
        if parent is not None and os.path.islink(path):
            return None
        return path

    @staticmethod
    def _list(folder: Any) -> list[os.DirEntry[Any]]:
        try:
            with os.scandir(folder) as it:
                return list(it)
        except OSError:
            return []

    @staticmethod
    def remove(parent: Any, name: str, folder: bool = False) -> bool:
        """Unlink (never follows a link: a link goes, its target stays) or rmdir one entry."""
        try:
            if isinstance(parent, int):
                (os.rmdir if folder else os.unlink)(name, dir_fd=parent)
            else:
                (os.rmdir if folder else os.unlink)(os.path.join(parent, name))
        except OSError:  # gone meanwhile, or (a folder) written into again
            return False
        return True

    def unlink(self, entry: tuple[float, int, Any, str]) -> int:
        """Remove a page or temporary file; the bytes freed (0: someone else removed it)."""
        return entry[1] if self.remove(entry[2], entry[3]) else 0

    def __enter__(self) -> _Tree:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()


def clear(root: str | os.PathLike[str] | None = None) -> Freed:
    """Empty the response cache folder (``default_dir()`` when None): every page, temporary
    file and stray entry (a link is removed, never followed), and the folders. A folder that
    is not this user's alone is refused, never emptied; a missing one frees nothing."""
    folder = Path(root) if root is not None else default_dir()
    try:
        st = folder.stat()
    except FileNotFoundError:
        return Freed()
    except OSError as exc:
        raise ConfigError(f"the response cache folder {folder} cannot be read ({exc})") from None
    problem = _not_private(st)
    if problem is not None:
        raise ConfigError(f"the response cache folder {folder} {problem}; not cleared: {_FIX}")
    freed = Freed()
    with _Tree(folder) as tree:
        for entry in [*tree.pages, *tree.temps]:
            gone = tree.unlink(entry)
            freed.files, freed.bytes = freed.files + (gone > 0), freed.bytes + gone
        for parent, name in tree.strays:
            tree.remove(parent, name)
        for parent, name in reversed(tree.folders):
            tree.remove(parent, name, folder=True)
    return freed


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


__all__ = ["Counts", "Freed", "Page", "PersistentCache", "clear", "collection", "default_dir"]
