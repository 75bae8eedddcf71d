"""The System Log: ``GET /api/v1/logs``.

* Events come in ascending ``published`` order (``sortOrder=DESCENDING`` reverses it).
* ``since`` (inclusive) / ``until`` (exclusive) take ISO 8601 timestamps; a bad one is 400
  ``E0000001``. Without ``since`` every event is eligible: the emulated org's clock is not
  the wall clock, so Okta's "seven days before ``until``" default would hide the seeded
  history.
* ``filter`` is a SCIM expression over the event (``eventType eq "user.lifecycle.create"``,
  ``target.id eq "00u..."``: list attributes match when any element does); ``q`` keeps the
  events containing every keyword (case-insensitive) somewhere in their text.
* ``limit`` defaults to 100 (at most 1000). ``after`` is an opaque cursor from a ``next``
  link (an unknown one is 400 ``E0000029``).
* Like Okta, a query without ``until`` is a *polling* query: its pages always link to a
  next page, and once caught up an empty page links back to itself (same ``after``); a
  bounded query (``until`` given) links to a next page only while more events follow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .._events import event_text, resolve_event_path
from .._filters import FilterError, compile_filter
from .._http import Ctx, Handler, Reply, bad_cursor, bad_filter, validation_failed


def normalize_ts(raw: str) -> str | None:
    """An ISO 8601 timestamp in Okta's form (``2024-01-01T00:00:00.000Z``), None if invalid."""
    text = raw.strip()
    try:
        when = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _bound(ctx: Ctx, name: str) -> str | None:
    raw = ctx.param(name)
    if raw is None or raw == "":
        return None
    value = normalize_ts(raw)
    if value is None:
        raise validation_failed(name, f"'{raw}' is not a valid ISO 8601 timestamp.")
    return value


def list_logs(ctx: Ctx) -> Reply:
    org = ctx.org
    since, until = _bound(ctx, "since"), _bound(ctx, "until")
    if since and until and since > until:
        raise validation_failed("since", "since must be before until.")
    order = (ctx.param("sortOrder") or "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise validation_failed("sortOrder", f"'{order}' is not one of ASCENDING, DESCENDING.")
    limit = ctx.limit(100, 1000)
    expr = ctx.param("filter")
    try:
        pred = compile_filter(expr, resolve_event_path) if expr else None
    except FilterError as exc:
        raise bad_filter(str(exc)) from None
    keywords = [k.lower() for k in (ctx.param("q") or "").split() if k]

    def keep(event: dict[str, Any]) -> bool:
        published = event["published"]
        if (since and published < since) or (until and published >= until):
            return False
        if pred is not None and not pred(event):
            return False
        if keywords:
            text = event_text(event)
            return all(k in text for k in keywords)
        return True

    events = org.event_docs()
    positions = range(len(events)) if order == "ASCENDING" else range(len(events) - 1, -1, -1)
    after = ctx.param("after")
    if after:
        pos = org.event_position(after)
        if pos is None:
            raise bad_cursor()
        positions = range(pos + 1, len(events)) if order == "ASCENDING" else range(pos - 1, -1, -1)
    page: list[dict[str, Any]] = []
    more = False
    for i in positions:
        if keep(events[i]):
            if len(page) == limit:
                more = True
                break
            page.append(events[i])
    links = [ctx.self_link()]
    polling = until is None and order == "ASCENDING"
    if page and (more or polling):
        links.append(ctx.next_link(page[-1]["uuid"]))
    elif not page and polling and after:
        links.append(ctx.next_link(after))  # caught up: poll the same cursor again
    return Reply(200, [dict(e) for e in page], links)


ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/api/v1/logs", {"GET": list_logs}),
]
