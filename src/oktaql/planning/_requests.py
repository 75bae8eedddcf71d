"""Parameter values: from SQL literals, coerced by their schema type, into a request.

This is where a statement's bound parameters become one concrete HTTP request: the base URL from
the server template (or the configured org URL), path parameters percent-encoded as one segment
each, query parameters, header parameters, and the JSON body from ``data__`` fields.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from oktaql._http import Request, origin
from oktaql.catalog import suggest
from oktaql.errors import ConfigError, PlanError, ProviderError
from oktaql.provider import Method, Param

BODY_PREFIX = "data__"
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def is_loopback(host: str) -> bool:
    """An address on this machine: 127.0.0.0/8, ::1 or exactly "localhost" (not a DNS name
    that merely starts like one, such as 127.evil.example)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def coerce(name: str, ptype: str, value: Any, where: str) -> Any:
    """A parameter value of the schema's type, or an error naming the parameter."""
    if value is None:
        return None
    if ptype == "integer":
        if isinstance(value, bool):
            raise PlanError(f"{where}: {name} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        raise PlanError(f"{where}: {name} must be an integer, got {value!r}")
    if ptype == "number":
        if isinstance(value, bool):
            raise PlanError(f"{where}: {name} must be a number, got {value!r}")
        try:
            return float(value) if not isinstance(value, int) else value
        except (TypeError, ValueError):
            raise PlanError(f"{where}: {name} must be a number, got {value!r}") from None
    if ptype == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise PlanError(f"{where}: {name} must be true or false, got {value!r}")
    if ptype in ("object", "array"):
        # JSON text becomes JSON; text that merely *looks* like JSON but is broken is an error;
        # other text passes as a string, as StackQL sends it (the API then names the field)
        if isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise PlanError(
                    f"{where}: {name} is not valid JSON ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno}): {value!r}"
                ) from None
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return okta_time(value)
    return str(value)


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_query_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, dt.datetime):
        return okta_time(value)
    return str(value)


def okta_time(value: dt.datetime) -> str:
    """An instant as Okta writes one (``2024-01-05T00:00:00.000Z``): a value read from a
    TIMESTAMPTZ column (``since = (SELECT max(published) ...)``) is sent in Okta's own form,
    not Python's ``2024-01-05 00:00:00+00:00``."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="milliseconds") + "Z"
    return value.isoformat(timespec="milliseconds")


def _segment(value: Any) -> str:
    text = _query_text(value)
    if text in (".", ".."):  # a dot segment would be resolved away by the server
        return text.replace(".", "%2E")
    return quote(text, safe="")


def check_org_url(url: str, what: str = "org URL") -> str:
    """``url`` normalised, if a credential may go there: http(s), no user name or password,
    plain http only to this machine (loopback)."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise ConfigError(f"{what} {url!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{what} {url!r} is not an http(s) URL: use e.g. https://acme.okta.com")
    if parts.username or parts.password:
        raise ConfigError(f"{what} must not contain credentials; pass the token separately")
    host = parts.hostname
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{what} {url!r} uses plain http to a non-loopback host: the API token would "
            "travel unencrypted; use https (http is allowed only for 127.0.0.1/localhost)"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/v1"):  # the API's base, not the org's: requests add it themselves
        path = path[: -len("/api/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _server_value(name: str, value: Any, where: str) -> str:
    """A server variable's value: one DNS label (``acme`` of ``https://acme.okta.com``)."""
    text = str(value).strip()
    labels = text.split(".")
    if not text or not all(_HOST_LABEL.match(lbl) for lbl in labels):
        raise PlanError(
            f"{where}: {name} {text!r} is not a valid host name (letters, digits and '-' "
            "only, e.g. subdomain = 'acme')"
        )
    if len(labels) > 1:
        # a whole host name (a custom domain, another server) is the user's to configure,
        # never a statement's: the token would follow whatever a shared .sql file names
        raise PlanError(
            f"{where}: {name} {text!r} is not an Okta subdomain (one label, such as 'acme' for "
            f"https://acme.okta.com); for a custom domain or another host pass --org-url "
            f"https://{text} (or OKTA_CLIENT_ORGURL), or configure a profile with that org_url "
            "and name the profile: subdomain = '<profile>'"
        )
    return text


def _template_url(method: Method, values: dict[str, Any], where: str) -> str:
    url = method.server_url
    for pname in method.server_params:
        if pname not in values or values[pname] is None:
            raise PlanError(
                f"{where} needs {pname}: add {pname} = '<your org>' to the statement, "
                "or set the org URL (--org-url / OKTA_CLIENT_ORGURL)"
            )
        url = url.replace("{" + pname + "}", _server_value(pname, values[pname], where))
    return url.rstrip("/")


def base_url(
    method: Method,
    values: dict[str, Any],
    org_url: str | None,
    where: str,
    orgs: Mapping[str, str] | None = None,
    row_params: Collection[str] = (),
) -> tuple[str, str | None]:
    """Where a call goes and whose credential it carries: (base URL, named org or None).

    * ``subdomain = '<name>'`` naming a named org (a profile) goes to that org, with its
      credential: orgs are found by name, never by URL.
    * A server variable whose value comes from row data (``t.subdomain = a.label``), not from
      the statement's text, must name a named org or the session's own org; anything else is
      an error before any request.
    * Otherwise the session's org URL, when set, wins over the provider's ``servers``.
    * Without one, the provider's server template filled with one DNS label per variable;
      plain http only to loopback.
    """
    sub = values.get("subdomain")
    if orgs and isinstance(sub, str) and sub in orgs:
        return orgs[sub], sub
    fed = [p for p in method.server_params if p in row_params and values.get(p) is not None]
    if fed:
        shown = ", ".join(f"{p} {str(values[p])[:80]!r}" for p in fed)
        if org_url is not None and _names_org(method, values, org_url, where):
            return org_url, None
        known = ", ".join(sorted(orgs or {})) or "none configured"
        raise PlanError(
            f"{where}: {shown} comes from row data, not from the statement, and names no org "
            f"you configured (named orgs: {known}); a value read from the API or a table may "
            "only pick one of your named orgs (profiles) or the session's own org"
        )
    if org_url:
        return org_url, None
    if not method.server_params:
        # no variable for the statement to fill: the provider alone would pick the host
        raise ConfigError(
            f"{where}: the provider's server URL {method.server_url!r} names its own host; "
            "oktaql sends a credential only to an org you name: pass --org-url "
            "(OKTA_CLIENT_ORGURL) or name a profile"
        )
    url = _template_url(method, values, where)
    return check_org_url(url, "the provider's server URL"), None


def _names_org(method: Method, values: dict[str, Any], org_url: str, where: str) -> bool:
    """Whether the server variables' values name ``org_url`` through the provider's
    template (``acme`` for https://acme.okta.com)."""
    try:
        url = _template_url(method, values, where)
    except PlanError:
        return False
    return origin(url) == origin(org_url)


def body_from_fields(method: Method, fields: dict[str, Any], where: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, value in fields.items():
        bf = method.body_fields.get(name)
        if bf is None and method.body_fields and not method.body_open:
            raise PlanError(
                f"{where}: the request body has no field {name!r}"
                f"{suggest(name, method.body_fields)}; fields: {', '.join(method.body_fields)}"
            )
        if bf is not None and bf.type in ("integer", "number", "boolean"):
            # typed when the value converts; otherwise sent as given, and the API, which owns
            # body validation (polymorphic schemas included), answers E0000001 naming the field
            try:
                body[name] = coerce(f"{BODY_PREFIX}{name}", bf.type, value, where)
            except PlanError:
                body[name] = value
        elif bf is not None:
            body[name] = coerce(f"{BODY_PREFIX}{name}", bf.type, value, where)
        elif isinstance(value, str) and value.strip()[:1] in ("{", "["):
            try:
                body[name] = json.loads(value)
            except json.JSONDecodeError:
                body[name] = value
        else:
            body[name] = value
    return body


def encode_query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote, safe="")


def literal_query(method: Method, values: dict[str, Any], where: str) -> str:
    """The query string of ``values``' query parameters (``""`` when none), as
    :func:`build_request` sends them: what a fan-out's EXPLAIN shows before its rows."""
    pairs = [
        (pname, _query_text(coerce(pname, param.type, values[pname], where)))
        for pname, param in method.params.items()
        if param.location == "query" and values.get(pname) is not None
    ]
    return "?" + encode_query(pairs) if pairs else ""


def build_request(
    method: Method,
    values: dict[str, Any],
    *,
    org_url: str | None,
    orgs: Mapping[str, str] | None = None,
    body: Any = None,
    has_body: bool = False,
    verb_label: str,
    row_params: Collection[str] = (),
) -> Request:
    """One HTTP request for ``method`` with parameters ``values`` (already bound by name).

    ``row_params``: the parameters whose values were read from rows (a join, a subquery),
    not written in the statement; see :func:`base_url`."""
    where = f"{method.resource_id}: {verb_label}"
    params: dict[str, Param] = method.params
    missing = [p for p in method.required_params if values.get(p) is None]
    if missing:
        raise PlanError(f"{where} needs {' and '.join(missing)}")
    base, org = base_url(method, values, org_url, where, orgs, row_params)
    path = method.path
    query: list[tuple[str, str]] = []
    headers: dict[str, str] = {}
    for pname, param in params.items():
        if pname not in values or values[pname] is None or param.location == "server":
            continue
        value = coerce(pname, param.type, values[pname], where)
        if param.location == "path":
            segment = _segment(value)
            if not segment:
                # an empty segment would name the collection: `/tokens/` is "all tokens"
                raise PlanError(f"{where}: {pname} is empty; give the id of one object")
            path = path.replace("{" + pname + "}", segment)
        elif param.location == "query":
            query.append((pname, _query_text(value)))
        elif param.location == "header":
            if pname.lower() in ("authorization", "proxy-authorization"):
                raise PlanError(f"{where}: header {pname} is set by oktaql only, never a statement")
            text = _query_text(value)
            if "\r" in text or "\n" in text:
                raise PlanError(f"{where}: header {pname} must not contain line breaks")
            headers[pname] = text
        elif param.location == "cookie":
            headers["Cookie"] = f"{pname}={quote(_query_text(value))}"
    url = base + path
    if origin(url) != origin(base):
        # a provider path that does not start with "/" (":8443/x", "@evil.example/x",
        # ".evil.example/x") would move the request off the org
        raise ProviderError(
            f"{where}: the provider's path {method.path!r} does not stay on {base}; "
            "a path must start with '/'"
        )
    if query:
        url += "?" + encode_query(query)
    return Request(method.http_method, url, headers, body, has_body, org)
