"""What a write did, call by call, so that one stopped early says exactly what it changed.

The write runner records every call as it ends. A call Okta answered is done; so is a DELETE
answered 404, because a DELETE's goal is absence (the object is already absent: its answer was
cut off on an earlier try, or an earlier run removed it), so re-running a revoke converges.
When the write stops (an error, Ctrl-C), the call that stopped it is *unknown* when Okta may
have acted on it (its answer was cut off, a 5xx answered it, it was in flight at Ctrl-C, an
accepted 202 was still being awaited) and *not done* otherwise, like every call not sent.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from oktaql.errors import APIError, Error, OperationalError, WriteCall, WriteIncomplete
from oktaql.planning import Call
from oktaql.provider import Method

ABSENT = "already absent"


def is_absent(call: Call, exc: BaseException) -> bool:
    """A DELETE whose object is not there: done. Okta's 404 for a path it has no endpoint for
    (``Resource not found: /api/v1/... (URI)``) is an error, not absence."""
    return (
        isinstance(exc, APIError)
        and exc.status == 404
        and call.request.method.upper() == "DELETE"
        and not (exc.error_summary or "").rstrip().endswith("(URI)")
    )


class WriteLedger:
    def __init__(self, statement: str, method: Method, calls: list[Call]):
        self.statement = statement  # "DELETE okta.apps.tokens"
        self.method = method
        self.calls = calls
        self.done: list[WriteCall] = []
        self.absent = 0

    def record(self, index: int, body: Any) -> None:
        """Call ``index`` (0-based) was answered; ``body`` is its decoded answer."""
        call = self.calls[index]
        ids = path_ids(self.method.path, call.request.url)
        row = None
        if call.request.method.upper() == "POST" and isinstance(body, dict) and "id" in body:
            row = body  # a create: the new object's id is what identifies it now
            ids["id"] = body["id"]
        self.done.append(self._entry(index, ids=ids, row=row))

    def record_absent(self, index: int) -> None:
        self.absent += 1
        self.done.append(self._entry(index, note=ABSENT))

    def stopped(
        self,
        index: int,
        cause: BaseException,
        *,
        in_flight: bool,
        awaiting: bool = False,
        rows: list[tuple[Any, ...]] | None = None,
        columns: list[str] | None = None,
    ) -> WriteIncomplete | None:
        """The error for a write stopped at call ``index`` by ``cause``; None when nothing was
        changed (nothing done, nothing unknown): then the cause says it all, and a note on it
        says so. ``in_flight``: the call was being sent (or, ``awaiting``, had been accepted
        and was being polled)."""
        interrupted = isinstance(cause, KeyboardInterrupt)
        acted = isinstance(cause, OperationalError) and cause.may_have_acted
        unknown: list[WriteCall] = []
        pending: list[WriteCall] = []
        if awaiting:
            unknown.append(self._entry(index, note="accepted (202); not awaited to its end"))
        elif in_flight and (interrupted or acted):
            why = "in flight at the interruption" if interrupted else "its answer was lost"
            unknown.append(self._entry(index, note=why))
        elif index < len(self.calls):  # == len: the last call acted, its answer unreadable
            note = "" if interrupted or not isinstance(cause, Error) else "failed"
            pending.append(self._entry(index, note=note))
        pending += [self._entry(i) for i in range(index + 1, len(self.calls))]
        if not self.done and not unknown:
            if len(self.calls) > 1:
                cause.add_note(
                    f"nothing was changed: the write stopped at request {index + 1} of "
                    f"{len(self.calls)}, before any took effect"
                )
            return None
        return WriteIncomplete(
            self.statement,
            len(self.calls),
            done=list(self.done),
            pending=pending,
            unknown=unknown,
            cause=cause,
            rows=rows,
            columns=columns,
        )

    def _entry(
        self, index: int, *, ids: dict[str, Any] | None = None, row: Any = None, note: str = ""
    ) -> WriteCall:
        req = self.calls[index].request
        return WriteCall(
            index + 1,
            req.method,
            req.url,
            ids if ids is not None else path_ids(self.method.path, req.url),
            row,
            note,
        )


def path_ids(template: str, url: str) -> dict[str, str]:
    """The path parameters of ``url`` by the method's path ``template``
    (``/api/v1/apps/{appId}/tokens/{tokenId}`` → appId, tokenId)."""
    parts = re.split(r"\{([^}/]+)\}", template)
    names = parts[1::2]
    if not names:
        return {}
    pattern = "".join(
        re.escape(p) if i % 2 == 0 else "([^/]+)" for i, p in enumerate(parts)
    ).rstrip("/")
    try:
        path = urlsplit(url).path
    except ValueError:
        return {}
    m = re.search(pattern + "/?$", path)
    if m is None:
        return {}
    return {n: unquote(v) for n, v in zip(names, m.groups(), strict=True)}
