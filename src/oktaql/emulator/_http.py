"""HTTP plumbing shared by the handlers: Okta error bodies, replies, paging.

Error bodies follow Okta's ``Error`` schema exactly::

    {"errorCode": "E0000007", "errorSummary": "Not found: ...",
     "errorLink": "E0000007", "errorId": "oae...", "errorCauses": []}
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

JSON = "application/json"


def dumps(obj: Any) -> bytes:
    # Compact separators: Okta sends compact JSON, and it is cheaper to build.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class OktaError(Exception):
    """Raised by handlers; rendered as an Okta error body with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        summary: str,
        causes: Sequence[str] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(summary)
        self.status = status
        self.code = code
        self.summary = summary
        self.causes = list(causes)
        self.headers = headers or {}

    def body(self, error_id: str) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": error_id,
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


def invalid_token() -> OktaError:
    return OktaError(401, "E0000011", "Invalid token provided")


def not_found(resource_id: str, type_name: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {resource_id} ({type_name})")


def validation_failed(field_name: str, cause: str) -> OktaError:
    return OktaError(
        400, "E0000001", f"Api validation failed: {field_name}", [f"{field_name}: {cause}"]
    )


def malformed_body() -> OktaError:
    return OktaError(400, "E0000003", "The request body was not well-formed.")


def bad_filter(detail: str) -> OktaError:
    return OktaError(400, "E0000031", "Invalid search criteria.", [detail])


def bad_cursor() -> OktaError:
    return OktaError(
        400,
        "E0000029",
        "Invalid paging request.",
        ["The 'after' cursor does not come from a previous page of this list."],
    )


def method_not_allowed(allowed: Sequence[str]) -> OktaError:
    return OktaError(
        405,
        "E0000022",
        "The endpoint does not support the provided HTTP method",
        headers={"Allow": ", ".join(allowed)},
    )


def delete_app_forbidden() -> OktaError:
    return OktaError(
        403,
        "E0000056",
        "Delete application forbidden.",
        ["The application must be deactivated before it can be deleted."],
    )


def rate_limited() -> OktaError:
    return OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")


def concurrency_limited() -> OktaError:
    # Okta answers a concurrency violation with the rate limit's code and summary
    return OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")


def internal_error() -> OktaError:
    return OktaError(500, "E0000009", "Internal Server Error")


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able object, pre-encoded JSON bytes, or None for no body
    links: list[str] = field(default_factory=list)  # full ``Link`` header values


# a route's handler: (ctx, **path parameters) -> Reply, or raises OktaError
Handler = Callable[..., "Reply"]


@dataclass
class Ctx:
    """What a handler needs from the request, already decoded."""

    org: Any  # the Org; typed loosely to avoid an import cycle
    base: str  # "http://127.0.0.1:PORT" (no trailing slash)
    path: str  # raw request path, for self/next links
    query: list[tuple[str, str]]  # decoded query pairs, in request order
    raw_query: str = ""  # the query string exactly as received (for the self link)
    body: bytes = b""

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def flag(self, name: str, default: bool) -> bool:
        raw = self.param(name)
        if raw is None:
            return default
        low = raw.lower()
        if low not in ("true", "false"):
            raise validation_failed(name, f"'{raw}' is not a valid boolean.")
        return low == "true"

    def json_body(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise malformed_body() from exc

    def limit(self, default: int, maximum: int) -> int:
        """Parse ``limit``: non-integers are a 400, too large is clamped (as Okta does)."""
        raw = self.param("limit")
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise validation_failed("limit", f"'{raw}' is not a valid integer.") from None
        if value < 1:  # Okta treats -1 (and other non-positive values) as "default"
            return default
        return min(value, maximum)

    def self_link(self) -> str:
        qs = self.raw_query
        return f'<{self.base}{self.path}{"?" + qs if qs else ""}>; rel="self"'

    def next_link(self, cursor: str) -> str:
        pairs = [(k, v) for k, v in self.query if k != "after"] + [("after", cursor)]
        qs = "&".join(f"{_q(k)}={_q(v)}" for k, v in pairs)
        return f'<{self.base}{self.path}?{qs}>; rel="next"'


def _q(text: str) -> str:
    return quote(text, safe="")


def paged(
    ctx: Ctx,
    docs: list[dict[str, Any]],
    render: Callable[[dict[str, Any]], Any],
    *,
    default_limit: int,
    max_limit: int,
    ordered_by_seq: bool = True,
    key: Callable[[Any], str] = lambda d: d["id"],
) -> Reply:
    """One page of ``docs`` with Okta's ``Link`` headers; the cursor is the last one's ``key``.

    ``docs`` are in list-position order when ``ordered_by_seq`` (the usual
    case), so a cursor whose item has since been deleted still resolves.
    """
    limit = ctx.limit(default_limit, max_limit)
    after = ctx.param("after")
    start = 0
    if after:
        if ordered_by_seq:
            seq = ctx.org.seq_of(after)
            if seq is None:
                raise bad_cursor()
            seq_of = ctx.org.seq_of
            start = bisect_right(docs, seq, key=lambda d: seq_of(d["id"]))
        else:
            pos = next((i for i, d in enumerate(docs) if key(d) == after), None)
            if pos is None:
                raise bad_cursor()
            start = pos + 1
    page = docs[start : start + limit]
    links = [ctx.self_link()]
    if start + limit < len(docs) and page:
        links.append(ctx.next_link(key(page[-1])))
    return Reply(200, [render(d) for d in page], links)
