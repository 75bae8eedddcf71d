"""Reuse identical GET responses within a TTL (``--cache-ttl``); writes invalidate.

A cached entry is every page of one read, stored only once the read finished (a read cut short
by a LIMIT is not cached). A write drops the entries of its resource and of any URL on the same
path branch (revoking /apps/X/tokens drops the token lists of X; deleting /apps/X drops /apps).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from oktaql._http import HTTPClient, Request


@dataclass
class _Entry:
    resource_id: str
    path: str
    stored: float
    pages: list[Any]


class ResponseCache:
    def __init__(self, ttl: float = 0.0):
        self.ttl = float(ttl)
        self._entries: dict[tuple[str | None, str, tuple[tuple[str, str], ...]], _Entry] = {}
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    @property
    def entries(self) -> int:
        """Reads kept: at most those stored within the last TTL (and a sweep's interval)."""
        with self._lock:
            return len(self._entries)

    @staticmethod
    def _key(req: Request) -> tuple[str | None, str, tuple[tuple[str, str], ...]]:
        # the credential is part of the key: a readonly profile and an admin one may see
        # different pages of the same URL
        return req.org, req.url, tuple(sorted(req.headers.items()))

    def age(self, req: Request) -> float | None:
        """Seconds since the cached answer to ``req`` was stored, or None."""
        if self.ttl <= 0 or req.method != "GET":
            return None
        with self._lock:
            entry = self._entries.get(self._key(req))
        if entry is None:
            return None
        age = time.monotonic() - entry.stored
        return age if age <= self.ttl else None

    def pages(self, http: HTTPClient, req: Request, resource_id: str) -> Iterator[Any]:
        """The decoded bodies of every page of ``req``, from the cache when fresh."""
        if self.ttl <= 0 or req.method != "GET":
            for body, resp in http.pages(req):
                yield body
                del body, resp  # let the page go before the next is fetched
            return
        key = self._key(req)
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.stored <= self.ttl:
            yield from entry.pages
            return
        collected: list[Any] = []
        for body, _ in http.pages(req):
            collected.append(body)
            yield body
        # reached only when the consumer read every page
        now = time.monotonic()
        with self._lock:
            self._entries[key] = _Entry(resource_id, urlsplit(req.url).path, now, collected)
            if now - self._swept > self.ttl / 4:
                # a long-lived session (a dashboard through serve) reads new URLs for days:
                # what has expired is let go, at most four times a TTL
                self._swept = now
                for old, entry in list(self._entries.items()):
                    if now - entry.stored > self.ttl:
                        del self._entries[old]

    def invalidate(self, resource_id: str, url: str) -> None:
        path = urlsplit(url).path.rstrip("/")
        with self._lock:
            for key, entry in list(self._entries.items()):
                cached = entry.path.rstrip("/")
                if (
                    entry.resource_id == resource_id
                    or cached.startswith(path)
                    or path.startswith(cached)
                ):
                    del self._entries[key]
