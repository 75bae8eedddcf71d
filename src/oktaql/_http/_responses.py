"""Reading Okta's answers: a JSON body (or text), and an error status as an APIError naming
the request, Okta's ``errorCode``/``errorSummary``/causes and ``X-Okta-Request-Id``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from oktaql._http._models import Request
from oktaql._json import loads
from oktaql.errors import APIError, OperationalError

if TYPE_CHECKING:
    import httpx


def decode_json(req: Request, resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return loads(resp.content)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        ctype = resp.headers.get("Content-Type", "")
        if "json" in ctype:
            raise OperationalError(
                f"{req.describe()}: HTTP {resp.status_code} response is not valid JSON"
            ) from None
        try:
            return resp.text
        except (UnicodeDecodeError, LookupError):
            raise OperationalError(
                f"{req.describe()}: HTTP {resp.status_code} response is neither JSON nor text"
            ) from None


def api_error(req: Request, resp: httpx.Response) -> APIError:
    body: Any = None
    try:
        body = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, LookupError):
        body = None
    code = summary = None
    causes: list[str] = []
    if isinstance(body, dict):
        code = _text(body.get("errorCode"))
        summary = (
            _text(body.get("errorSummary"))
            or _text(body.get("error_description"))
            or _text(body.get("error"))
        )
        raw_causes = body.get("errorCauses")
        for c in raw_causes if isinstance(raw_causes, list) else []:
            if isinstance(c, dict) and c.get("errorSummary"):
                causes.append(str(c["errorSummary"]))
    rid = resp.headers.get("X-Okta-Request-Id")
    status = resp.status_code
    if 300 <= status < 400:
        summary = f"redirect to {resp.headers.get('Location', '?')} not followed"
    msg = f"{req.describe()} failed: HTTP {status}"
    if code:
        msg += f" {code}"
    if summary:
        msg += f": {summary}"
    if causes:
        msg += " (" + "; ".join(causes) + ")"
    if rid:
        msg += f" [X-Okta-Request-Id: {rid}]"
    return APIError(
        msg,
        status=status,
        method=req.method,
        url=req.url,
        error_code=code,
        error_summary=summary,
        request_id=rid,
        body=body,
    )


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else json.dumps(value, default=str)
