"""Where the last run stopped: the System Log's ``published`` cursor and ``lastUpdated``.

A System Log cursor is the latest ``published`` instant landed plus the ids of the events
landed at that instant. The next read asks ``since`` that instant (Okta's ``since`` is
inclusive, so nothing published in the same millisecond is lost) and skips those ids (so
nothing is landed twice). It is stored in the destination with the rows it covers, in the same
transaction: a run killed mid-page resumes from the last page that committed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from oktaql.errors import ConfigError


def okta_instant(value: dt.datetime) -> str:
    """Okta's timestamp form, ``2024-01-01T00:00:00.000Z`` (UTC, milliseconds)."""
    when = value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class LogCursor:
    published: str | None = None  # Okta's form; None: nothing landed yet
    ids: frozenset[str] = field(default_factory=frozenset)  # landed at ``published``

    @classmethod
    def parse(cls, text: str | None) -> LogCursor:
        if not text:
            return cls()
        try:
            doc = json.loads(text)
            return cls(doc.get("published"), frozenset(doc.get("ids") or ()))
        except (ValueError, AttributeError, TypeError):
            raise ConfigError(
                f"the stored System Log cursor {text[:80]!r} does not parse; delete its row "
                "from _oktaql_sync_state (the next run then starts from --since)"
            ) from None

    def text(self) -> str:
        return json.dumps({"published": self.published, "ids": sorted(self.ids)})

    def fresh(self, rows: Iterable[tuple[str, dt.datetime]]) -> list[int]:
        """Positions of the (id, published) pairs not landed yet."""
        return [i for i, (uid, _) in enumerate(rows) if uid not in self.ids]

    def advanced(self, rows: Iterable[tuple[str, dt.datetime]]) -> LogCursor:
        """The cursor once ``rows`` (in ``published`` order) have landed."""
        published, ids = self.published, set(self.ids)
        for uid, when in rows:
            instant = okta_instant(when)
            if published is None or instant > published:
                published, ids = instant, {uid}
            elif instant == published:
                ids.add(uid)
        return LogCursor(published, frozenset(ids))


def latest(values: Iterable[dt.datetime | None], previous: str | None) -> str | None:
    """The ``lastUpdated`` cursor after reading ``values``: the latest of them and ``previous``."""
    best = previous
    for value in values:
        if value is not None:
            instant = okta_instant(value)
            if best is None or instant > best:
                best = instant
    return best


def earlier(instant: str, seconds: float) -> str:
    """``instant`` (Okta's form) moved back by ``seconds``."""
    when = dt.datetime.fromisoformat(instant.replace("Z", "+00:00"))
    return okta_instant(when - dt.timedelta(seconds=seconds))


_UNITS = {"d": 86400, "h": 3600, "m": 60}


def parse_since(text: str | None, now: dt.datetime | None = None) -> str | None:
    """``--since``: an ISO 8601 instant, or a span back from now (``90d``, ``12h``, ``30m``)."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    unit = raw[-1:].lower()
    if unit in _UNITS and raw[:-1].isdigit():
        moment = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(
            seconds=int(raw[:-1]) * _UNITS[unit]
        )
        return okta_instant(moment)
    try:
        when = dt.datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise ConfigError(
            f"--since {raw!r}: give an ISO 8601 instant (2024-01-01T00:00:00Z) or a span back "
            "from now (90d, 12h, 30m)"
        ) from None
    instant = okta_instant(when)
    if instant > okta_instant(now or dt.datetime.now(dt.UTC)):
        raise ConfigError(f"--since {raw!r} is in the future: give an instant in the past")
    return instant


__all__ = ["LogCursor", "earlier", "latest", "okta_instant", "parse_since"]
