"""Handlers for ``/api/v1/apps/**`` (apps, lifecycle, tokens, assignments) and OAuth clients.

Each handler takes a :class:`~oktaql.emulator._http.Ctx` plus the path
parameters and returns a :class:`~oktaql.emulator._http.Reply`, or raises
:class:`~oktaql.emulator._http.OktaError`.
"""

from __future__ import annotations

from typing import Any

from ._appdefs import BodyError
from ._filters import FilterError, compile_filter, resolve_path
from ._http import (
    Ctx,
    Reply,
    bad_cursor,
    bad_filter,
    delete_app_forbidden,
    not_found,
    paged,
    validation_failed,
)
from ._render import render_app_group, render_app_user, render_client


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
    body = ctx.json_body()
    activate = ctx.flag("activate", True)
    try:
        app, secret = ctx.org.create_app(body, activate)
    except BodyError as exc:
        raise validation_failed(exc.field, exc.cause) from None
    return Reply(200, _with_secret(ctx.org.render_app(app, ctx.base), secret))


def get_app(ctx: Ctx, app_id: str) -> Reply:
    return Reply(200, ctx.org.render_app(_app_or_404(ctx, app_id), ctx.base))


def replace_app(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    body = ctx.json_body()
    try:
        app, secret = ctx.org.replace_app(app_id, body)
    except BodyError as exc:
        raise validation_failed(exc.field, exc.cause) from None
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


def list_app_users(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    org = ctx.org
    docs = org.app_user_docs(app_id)
    q = ctx.param("q")
    if q:
        ql = q.lower()

        def matches(au: dict[str, Any]) -> bool:
            profile = org.user_doc(au["id"])["profile"]
            values = (
                au.get("credentials", {}).get("userName"),
                profile.get("firstName"),
                profile.get("lastName"),
                profile.get("email"),
            )
            return any(isinstance(v, str) and v.lower().startswith(ql) for v in values)

        docs = [au for au in docs if matches(au)]
    embed = "user" in _expand(ctx)
    base = ctx.base

    def render(au: dict[str, Any]) -> dict[str, Any]:
        return render_app_user(app_id, au, base, org.user_doc(au["id"]) if embed else None)

    return paged(ctx, docs, render, default_limit=50, max_limit=500)


def get_app_user(ctx: Ctx, app_id: str, user_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    org = ctx.org
    doc = next((au for au in org.app_user_docs(app_id) if au["id"] == user_id), None)
    if doc is None:
        raise not_found(user_id, "AppUser")
    embed = "user" in _expand(ctx)
    return Reply(
        200, render_app_user(app_id, doc, ctx.base, org.user_doc(user_id) if embed else None)
    )


def list_app_groups(ctx: Ctx, app_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    org = ctx.org
    docs = org.app_group_docs(app_id)
    q = ctx.param("q")
    if q:
        ql = q.lower()
        docs = [
            ag for ag in docs if org.group_doc(ag["id"])["profile"]["name"].lower().startswith(ql)
        ]
    embed = "group" in _expand(ctx)
    base = ctx.base

    def render(ag: dict[str, Any]) -> dict[str, Any]:
        return render_app_group(app_id, ag, base, org.group_doc(ag["id"]) if embed else None)

    return paged(ctx, docs, render, default_limit=20, max_limit=200)


def get_app_group(ctx: Ctx, app_id: str, group_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    org = ctx.org
    doc = next((ag for ag in org.app_group_docs(app_id) if ag["id"] == group_id), None)
    if doc is None:
        raise not_found(group_id, "ApplicationGroupAssignment")
    embed = "group" in _expand(ctx)
    return Reply(
        200, render_app_group(app_id, doc, ctx.base, org.group_doc(group_id) if embed else None)
    )


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
    try:
        doc = ctx.org.assign_app_user(app_id, user_id, body, ctx.path, update=update)
    except BodyError as exc:
        raise validation_failed(exc.field, exc.cause) from None
    return Reply(200, render_app_user(app_id, doc, ctx.base))


def unassign_app_user(ctx: Ctx, app_id: str, user_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    if not any(au["id"] == user_id for au in ctx.org.app_user_docs(app_id)):
        raise not_found(user_id, "AppUser")
    ctx.org.unassign_app_user(app_id, user_id, ctx.path)
    return Reply(204)


def assign_app_group(ctx: Ctx, app_id: str, group_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    if ctx.org.group_doc(group_id) is None:
        raise not_found(group_id, "UserGroup")
    try:
        doc = ctx.org.assign_app_group(app_id, group_id, _object_body(ctx), ctx.path)
    except BodyError as exc:
        raise validation_failed(exc.field, exc.cause) from None
    return Reply(200, render_app_group(app_id, doc, ctx.base))


def unassign_app_group(ctx: Ctx, app_id: str, group_id: str) -> Reply:
    _app_or_404(ctx, app_id)
    if not any(ag["id"] == group_id for ag in ctx.org.app_group_docs(app_id)):
        raise not_found(group_id, "ApplicationGroupAssignment")
    ctx.org.unassign_app_group(app_id, group_id, ctx.path)
    return Reply(204)


def get_client(ctx: Ctx, client_id: str) -> Reply:
    app = ctx.org.app_for_client(client_id)
    if app is None:
        raise not_found(client_id, "OAuth2Client")
    return Reply(200, render_client(app, ctx.base))
