"""The System Log's state: events written by the seeded history and by API mutations.

Functions of the :class:`~oktaql.emulator._org.Org` (each takes the org as ``self``): the
behaviours call the mutations as functions; the ground-truth accessors are bound as Org methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import _events
from ._util import iso

if TYPE_CHECKING:
    from ._org import Org


def now(self: Org) -> str:
    """The logical clock's current time (``tick`` advances it)."""
    return iso(self._clock)


def actor(self: Org) -> dict[str, Any]:
    """Who the API acts as in the System Log: the API token's owner."""
    if self.admin_id and self.admin_id in self._users:
        self._admin_ref = _events.user_ref(self._users[self.admin_id])
    return dict(self._admin_ref)


def log(
    self: Org,
    event_type: str,
    targets: Iterable[dict[str, Any]],
    uri: str,
    *,
    published: str | None = None,
    actor: dict[str, Any] | None = None,
    result: str = "SUCCESS",
    reason: str | None = None,
) -> dict[str, Any]:
    """Append an event written by an API mutation (runtime id stream, logical clock)."""
    event = _events.build_event(
        self._rng,
        event_type=event_type,
        published=published or self.now(),
        actor=actor or self.actor(),
        targets=list(targets),
        request_uri=uri,
        browser=False,
        result=result,
        reason=reason,
    )
    self.add_event(event)
    return event


def add_event(self: Org, event: dict[str, Any]) -> None:
    self._event_pos[event["uuid"]] = len(self._events)
    self._events.append(event)


def event_docs(self: Org) -> list[dict[str, Any]]:
    return self._events


def event_position(self: Org, uuid: str) -> int | None:
    return self._event_pos.get(uuid)


def log_events(self: Org) -> list[dict[str, Any]]:
    """Every System Log event, in ascending ``published`` order (as ``/api/v1/logs``)."""
    return [dict(e) for e in self._events]


def log_events_between(
    self: Org, since: str | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    """Events with ``since <= published < until`` (ISO strings in Okta's format)."""
    return [
        dict(e)
        for e in self._events
        if (since is None or e["published"] >= since) and (until is None or e["published"] < until)
    ]
