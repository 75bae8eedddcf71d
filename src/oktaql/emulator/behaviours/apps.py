"""Handlers for ``/api/v1/apps/**`` (apps, lifecycle, tokens, assignments) and OAuth clients.

Each handler takes a :class:`~oktaql.emulator._http.Ctx` plus the path
parameters and returns a :class:`~oktaql.emulator._http.Reply`, or raises
:class:`~oktaql.emulator._http.OktaError`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _events, _org_grants, _org_groups
from .._filters import FilterError, compile_filter, resolve_path
from .._http import (
    Ctx,
    Handler,
    Reply,
    bad_cursor,
    bad_filter,
    delete_app_forbidden,
    not_found,
    paged,
    validation_failed,
)
from .._render import render_app_group, render_app_user, render_client
from .._route_helpers import validated

if TYPE_CHECKING:
    from .._org import Org


def _app_or_404(ctx: Ctx, app_id: str) -> dict[str, Any]:
    app = ctx.org.app_doc(app_id)
    if app is None:
        raise not_found(app_id, "AppInstance")
    return app


def _expand(ctx: Ctx) -> set[str]:
    raw = ctx.param("expand") or ""
    return {part.strip() for part in raw.split(",") if part.strip()}


def _with_secret(out: dict[str, Any], secret: str | None) -> dict[str, Any]:
    # The secret is shown only in create/replace responses, never stored in the
    # document; copy the nested dicts so the stored app is not modified.
    if secret is None:
        return out
    creds = dict(out["credentials"])
    creds["oauthClient"] = {**creds["oauthClient"], "client_secret": secret}
    return {**out, "credentials": creds}


# ------------------------------------------------------------------- apps


def list_apps(ctx: Ctx) -> Reply:
    org = ctx.org
    docs = org.app_docs()
    q = ctx.param("q")
    if q:
        ql = q.lower()
        docs = [
            a
            for a in docs
            if str(a.get("name", "")).lower().startswith(ql)
            or str(a.get("label", "")).lower().startswith(ql)
        ]
    expr = ctx.param("filter")
    if expr is not None:

        def resolver(app: Any, path: tuple[str, ...]) -> Any:
            # Okta's app filter supports ``user.id`` / ``group.id`` (assignments).
            if path == ("user", "id"):
                return [u["id"] for u in org.app_user_docs(app["id"])]
            if path == ("group", "id"):
                return [g["id"] for g in org.app_group_docs(app["id"])]
            return resolve_path(app, path)

        try:
            pred = compile_filter(expr, resolver)
        except FilterError as exc:
            raise bad_filter(str(exc)) from None
        docs = [a for a in docs if pred(a)]
    base = ctx.base
    return paged(ctx, docs, lambda a: org.render_app(a, base), default_limit=20, max_limit=200)


def create_app(ctx: Ctx) -> Reply:
    activate = ctx.flag("activate", True)
    app, secret = validated(ctx.org.create_app, ctx.json_body(), activate)
    return Reply(200, _with_secret(ctx.org.render_app(app, ctx.base), secret))


def get_app(ctx: Ctx, app_id: str) -> Reply:
    return Reply(200, ctx.org.render_app(_app_or_404(ctx, app_id), ctx.base))


def replace_app(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    app, secret = validated(ctx.org.replace_app, app_id, ctx.json_body())
    return Reply(200, _with_secret(ctx.org.render_app(app, ctx.base), secret))


def delete_app(ctx: Ctx, app_id: str) -> Reply:
    app = _app_or_404(ctx, app_id)
    if app["status"] == "ACTIVE":
        raise delete_app_forbidden()
    ctx.org.delete_app(app_id)
    return Reply(204)


def activate_app(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    ctx.org.set_app_status(app_id, "ACTIVE")
    return Reply(200, {})


def deactivate_app(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    ctx.org.set_app_status(app_id, "INACTIVE")
    return Reply(200, {})


# ----------------------------------------------------------------- tokens


def list_tokens(ctx: Ctx, app_id: str) -> Reply:
    app = _app_or_404(ctx, app_id)
    limit = ctx.limit(20, 200)
    tokens = ctx.org.token_set(app_id)
    links = [ctx.self_link()]
    if tokens is None:  # not an OAuth client: it has no refresh tokens
        return Reply(200, [], links)
    start = 0
    after = ctx.param("after")
    if after:
        index = tokens.index_of(after)
        if index is None:
            raise bad_cursor()
        start = index + 1
    indices, more = tokens.page(start, limit)
    expand_scope = "scope" in _expand(ctx)
    base, label = ctx.base, app["label"]
    body = tokens.render_json(indices, base, label, expand_scope)
    if more and indices:
        links.append(ctx.next_link(tokens.token_id(indices[-1])))
    return Reply(200, body, links)


def _token_index(ctx: Ctx, app_id: str, token_id: str) -> int:
    _app_or_404(ctx, app_id)
    tokens = ctx.org.token_set(app_id)
    index = tokens.index_of(token_id) if tokens else None
    if tokens is None or index is None or not tokens.is_active(index):
        raise not_found(token_id, "OAuth2RefreshToken")
    return index


def get_token(ctx: Ctx, app_id: str, token_id: str) -> Reply:
    index = _token_index(ctx, app_id, token_id)
    app = ctx.org.app_doc(app_id)
    tokens = ctx.org.token_set(app_id)
    expand_scope = "scope" in _expand(ctx)
    return Reply(200, tokens.render(index, ctx.base, app["label"], expand_scope))


def revoke_token(ctx: Ctx, app_id: str, token_id: str) -> Reply:
    index = _token_index(ctx, app_id, token_id)
    ctx.org.token_set(app_id).revoke(index)
    return Reply(204)


def revoke_all_tokens(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    tokens = ctx.org.token_set(app_id)
    if tokens is not None:
        tokens.revoke_all()
    return Reply(204)


# ------------------------------------------------------------ assignments


@dataclass(frozen=True)
class _Assigned:
    """What differs between an app's user and group assignments."""

    listed: str  # Org method: the app's assignment documents
    target: str  # Org method: the assigned user or group
    embed: str  # the ``expand`` value that embeds it
    type_name: str  # in 404 errors
    render: Callable[..., dict[str, Any]]
    q_values: Callable[[dict[str, Any], dict[str, Any]], tuple[Any, ...]]  # what ``q`` matches
    default_limit: int
    max_limit: int
    unassign: Callable[[Org, str, str, str], None]  # (org, app, id, uri)


_USERS = _Assigned(
    "app_user_docs",
    "user_doc",
    "user",
    "AppUser",
    render_app_user,
    lambda a, u: (
        a.get("credentials", {}).get("userName"),
        u["profile"].get("firstName"),
        u["profile"].get("lastName"),
        u["profile"].get("email"),
    ),
    50,
    500,
    _org_groups.unassign_app_user,
)
_GROUPS = _Assigned(
    "app_group_docs",
    "group_doc",
    "group",
    "ApplicationGroupAssignment",
    render_app_group,
    lambda a, g: (g["profile"]["name"],),
    20,
    200,
    _org_groups.unassign_app_group,
)


def _list_assigned(kind: _Assigned) -> Handler:
    def handler(ctx: Ctx, app_id: str) -> Reply:
        _app_or_404(ctx, app_id)
        target = getattr(ctx.org, kind.target)
        docs = getattr(ctx.org, kind.listed)(app_id)
        q = (ctx.param("q") or "").lower()
        if q:
            docs = [
                a
                for a in docs
                if any(
                    isinstance(v, str) and v.lower().startswith(q)
                    for v in kind.q_values(a, target(a["id"]))
                )
            ]
        embed = kind.embed in _expand(ctx)
        base = ctx.base

        def render(a: dict[str, Any]) -> dict[str, Any]:
            return kind.render(app_id, a, base, target(a["id"]) if embed else None)

        return paged(ctx, docs, render, default_limit=kind.default_limit, max_limit=kind.max_limit)

    return handler


def _get_assigned(kind: _Assigned) -> Handler:
    def handler(ctx: Ctx, app_id: str, **ids: str) -> Reply:
        (rid,) = ids.values()
        doc = _assignment(ctx, kind, app_id, rid)
        embed = kind.embed in _expand(ctx)
        target = getattr(ctx.org, kind.target)(rid) if embed else None
        return Reply(200, kind.render(app_id, doc, ctx.base, target))

    return handler


def _unassign(kind: _Assigned) -> Handler:
    def handler(ctx: Ctx, app_id: str, **ids: str) -> Reply:
        (rid,) = ids.values()
        _assignment(ctx, kind, app_id, rid)
        kind.unassign(ctx.org, app_id, rid, ctx.path)
        return Reply(204)

    return handler


def _assignment(ctx: Ctx, kind: _Assigned, app_id: str, rid: str) -> dict[str, Any]:
    _app_or_404(ctx, app_id)
    doc = next((a for a in getattr(ctx.org, kind.listed)(app_id) if a["id"] == rid), None)
    if doc is None:
        raise not_found(rid, kind.type_name)
    return doc


def _handlers_of(kind: _Assigned) -> tuple[Handler, Handler, Handler]:
    return _list_assigned(kind), _get_assigned(kind), _unassign(kind)


list_app_users, get_app_user, unassign_app_user = _handlers_of(_USERS)
list_app_groups, get_app_group, unassign_app_group = _handlers_of(_GROUPS)


def _object_body(ctx: Ctx) -> dict[str, Any]:
    body = ctx.json_body()
    if body is not None and not isinstance(body, dict):
        raise validation_failed("body", "The request body must be a JSON object.")
    return body or {}


def assign_app_user(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    body = _object_body(ctx)
    user_id = body.get("id")
    if not isinstance(user_id, str) or not user_id:
        raise validation_failed("id", "The field cannot be left blank.")
    if ctx.org.user_doc(user_id) is None:
        raise not_found(user_id, "User")
    return _app_user_write(ctx, app_id, user_id, body, update=False)


def update_app_user(ctx: Ctx, app_id: str, user_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    if not any(au["id"] == user_id for au in ctx.org.app_user_docs(app_id)):
        raise not_found(user_id, "AppUser")
    return _app_user_write(ctx, app_id, user_id, _object_body(ctx), update=True)


def _app_user_write(
    ctx: Ctx, app_id: str, user_id: str, body: dict[str, Any], *, update: bool
) -> Reply:
    doc = validated(
        _org_groups.assign_app_user, ctx.org, app_id, user_id, body, ctx.path, update=update
    )
    return Reply(200, render_app_user(app_id, doc, ctx.base))


def assign_app_group(ctx: Ctx, app_id: str, group_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    if ctx.org.group_doc(group_id) is None:
        raise not_found(group_id, "UserGroup")
    doc = validated(
        _org_groups.assign_app_group, ctx.org, app_id, group_id, _object_body(ctx), ctx.path
    )
    return Reply(200, render_app_group(app_id, doc, ctx.base))


def patch_app_group(ctx: Ctx, app_id: str, group_id: str) -> Reply:
    """JSON Patch (RFC 6902 ``add``/``replace``/``remove``) of ``/priority`` and ``/profile``."""
    current = _assignment(ctx, _GROUPS, app_id, group_id)
    ops = ctx.json_body()
    if not isinstance(ops, list):
        raise validation_failed("body", "The request body must be a JSON array.")
    doc = {"priority": current["priority"], "profile": dict(current.get("profile") or {})}
    for op in ops:
        kind, path = (op.get("op"), op.get("path")) if isinstance(op, dict) else (None, None)
        parts = path.split("/")[1:] if isinstance(path, str) and path.startswith("/") else []
        if kind not in ("add", "replace", "remove") or not parts:
            raise validation_failed("op", f"Unsupported patch operation {op!r}.")
        if parts == ["priority"] and kind != "remove":
            doc["priority"] = op.get("value")
        elif parts[0] == "profile" and len(parts) <= 2:
            if len(parts) == 1:
                doc["profile"] = {} if kind == "remove" else op.get("value")
            elif kind == "remove":
                doc["profile"].pop(parts[1], None)
            else:
                doc["profile"][parts[1]] = op.get("value")
        else:
            raise validation_failed("path", f"'{path}' cannot be patched.")
    out = validated(_org_groups.assign_app_group, ctx.org, app_id, group_id, doc, ctx.path)
    return Reply(200, render_app_group(app_id, out, ctx.base))


def get_client(ctx: Ctx, client_id: str) -> Reply:
    app = ctx.org.app_for_client(client_id)
    if app is None:
        raise not_found(client_id, "OAuth2Client")
    return Reply(200, render_client(app, ctx.base))


# ------------------------------------------------ System Log events of app changes


def _app_events(handler: Handler, event: str, *, status_change: bool = False) -> Handler:
    def wrapped(ctx: Ctx, **params: str) -> Reply:
        org = ctx.org
        before = org.app_doc(params.get("app_id", ""))
        before_status = before["status"] if before else None
        reply = handler(ctx, **params)
        if reply.status >= 300:
            return reply
        app = org.app_doc(params["app_id"]) if "app_id" in params else None
        if app is None and isinstance(reply.body, dict) and "id" in reply.body:
            app = org.app_doc(reply.body["id"])
        app = app or before
        if app is None or (status_change and app["status"] == before_status):
            return reply
        if event == "application.lifecycle.delete":
            _org_grants.forget_app_grants(org, app["id"])
        org.log(event, [_events.app_ref(app)], ctx.path)
        return reply

    return wrapped


def _token_revoke_events(handler: Handler, *, all_tokens: bool) -> Handler:
    def wrapped(ctx: Ctx, **params: str) -> Reply:
        org = ctx.org
        app = org.app_doc(params["app_id"])
        user_id = None
        if app is not None and not all_tokens:
            tokens = org.token_set(app["id"])
            index = tokens.index_of(params["token_id"]) if tokens else None
            if tokens is not None and index is not None and tokens.is_active(index):
                user_id = _org_grants.token_attrs(org, app["id"], index)[0]
        had = org.token_count(app["id"]) if app is not None else 0
        reply = handler(ctx, **params)
        if reply.status < 300 and app is not None and had:
            _org_grants.log_token_revoke(
                org, app, None if all_tokens else params["token_id"], user_id, ctx.path
            )
        return reply

    return wrapped


# ------------------------------------------------------------------ routes

A = "/api/v1/apps/{app_id}"

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    (
        "/api/v1/apps",
        {"GET": list_apps, "POST": _app_events(create_app, "application.lifecycle.create")},
    ),
    (
        A,
        {
            "GET": get_app,
            "PUT": _app_events(replace_app, "application.lifecycle.update"),
            "DELETE": _app_events(delete_app, "application.lifecycle.delete"),
        },
    ),
    (
        f"{A}/lifecycle/activate",
        {"POST": _app_events(activate_app, "application.lifecycle.activate", status_change=True)},
    ),
    (
        f"{A}/lifecycle/deactivate",
        {
            "POST": _app_events(
                deactivate_app, "application.lifecycle.deactivate", status_change=True
            )
        },
    ),
    (
        f"{A}/tokens",
        {"GET": list_tokens, "DELETE": _token_revoke_events(revoke_all_tokens, all_tokens=True)},
    ),
    (
        f"{A}/tokens/{{token_id}}",
        {"GET": get_token, "DELETE": _token_revoke_events(revoke_token, all_tokens=False)},
    ),
    (f"{A}/users", {"GET": list_app_users, "POST": assign_app_user}),
    (
        f"{A}/users/{{user_id}}",
        {"GET": get_app_user, "POST": update_app_user, "DELETE": unassign_app_user},
    ),
    (f"{A}/groups", {"GET": list_app_groups}),
    (
        f"{A}/groups/{{group_id}}",
        {
            "GET": get_app_group,
            "PUT": assign_app_group,
            "PATCH": patch_app_group,
            "DELETE": unassign_app_group,
        },
    ),
    ("/oauth2/v1/clients/{client_id}", {"GET": get_client}),
]
