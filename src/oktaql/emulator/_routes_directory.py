"""Handlers for users, groups and authorization servers (read-only for now)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._filters import MISSING, FilterError, compile_filter, resolve_path
from ._http import Ctx, Reply, bad_filter, not_found, paged, validation_failed
from ._render import render_group, render_user
from ._tokens import render_auth_server, render_scope


def _apply_expr(ctx: Ctx, param: str, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    expr = ctx.param(param)
    if expr is None:
        return docs
    try:
        pred = compile_filter(expr)
    except FilterError as exc:
        raise bad_filter(str(exc)) from None
    return [d for d in docs if pred(d)]


def _sorted_for_search(ctx: Ctx, docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Apply ``sortBy``/``sortOrder`` (search only); returns (docs, still in list order)."""
    sort_by = ctx.param("sortBy")
    if not sort_by or ctx.param("search") is None:
        return docs, True
    order = (ctx.param("sortOrder") or "asc").lower()
    if order not in ("asc", "desc"):
        raise validation_failed("sortOrder", f"'{order}' is not one of asc, desc.")
    path = tuple(sort_by.split("."))

    def key(doc: dict[str, Any]) -> tuple[bool, str, str]:
        # Okta sorts case-insensitively and orders ties by id; missing values last.
        value = resolve_path(doc, path)
        missing = value is MISSING or value is None
        return (missing, "" if missing else str(value).lower(), doc["id"])

    ordered = sorted(docs, key=key)
    if order == "desc":
        present = [d for d in ordered if not key(d)[0]]
        absent = [d for d in ordered if key(d)[0]]
        ordered = list(reversed(present)) + absent
    return ordered, False


def _starts(q: str, values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, str) and v.lower().startswith(q) for v in values)


# ------------------------------------------------------------------ users


def list_users(ctx: Ctx) -> Reply:
    org = ctx.org
    q, expr, search = ctx.param("q"), ctx.param("filter"), ctx.param("search")
    docs = org.user_docs()
    if expr is None and search is None:
        # A plain listing (and ``q``) omits DEPROVISIONED users, as Okta does.
        docs = [u for u in docs if u["status"] != "DEPROVISIONED"]
    if q:
        ql = q.lower()
        docs = [
            u
            for u in docs
            if _starts(
                ql,
                (
                    u["profile"].get("firstName"),
                    u["profile"].get("lastName"),
                    u["profile"].get("email"),
                ),
            )
        ]
    docs = _apply_expr(ctx, "filter", docs)
    docs = _apply_expr(ctx, "search", docs)
    docs, natural = _sorted_for_search(ctx, docs)
    base = ctx.base
    return paged(
        ctx,
        docs,
        lambda u: render_user(u, base),
        default_limit=10 if q else 200,
        max_limit=200,
        ordered_by_seq=natural,
    )


def _user_or_404(ctx: Ctx, user_id: str) -> dict[str, Any]:
    user = ctx.org.user_doc(user_id)
    if user is None:
        raise not_found(user_id, "User")
    return user


def get_user(ctx: Ctx, user_id: str) -> Reply:
    return Reply(200, render_user(_user_or_404(ctx, user_id), ctx.base))


def list_user_groups(ctx: Ctx, user_id: str) -> Reply:
    user = _user_or_404(ctx, user_id)
    base = ctx.base
    docs = ctx.org.groups_of_user(user["id"])
    return paged(ctx, docs, lambda g: render_group(g, base), default_limit=200, max_limit=200)


# ----------------------------------------------------------------- groups


def _group_renderer(ctx: Ctx) -> Callable[[dict[str, Any]], dict[str, Any]]:
    org, base = ctx.org, ctx.base
    expand = {p.strip() for p in (ctx.param("expand") or "").split(",") if p.strip()}
    if "stats" not in expand:
        return lambda g: render_group(g, base)

    def render(g: dict[str, Any]) -> dict[str, Any]:
        stats = {
            "usersCount": len(org.member_ids(g["id"])),
            "appsCount": len(org.apps_of_group(g["id"])),
            "groupPushMappingsCount": 0,
            "hasAdminPrivilege": g["profile"]["name"] == "Admins",
        }
        return render_group(g, base, stats)

    return render


def list_groups(ctx: Ctx) -> Reply:
    docs = ctx.org.group_docs()
    q = ctx.param("q")
    if q:
        ql = q.lower()
        docs = [g for g in docs if _starts(ql, (g["profile"].get("name"),))]
    docs = _apply_expr(ctx, "filter", docs)
    docs = _apply_expr(ctx, "search", docs)
    docs, natural = _sorted_for_search(ctx, docs)
    return paged(
        ctx,
        docs,
        _group_renderer(ctx),
        default_limit=300 if q else 10000,
        max_limit=10000,
        ordered_by_seq=natural,
    )


def _group_or_404(ctx: Ctx, group_id: str) -> dict[str, Any]:
    group = ctx.org.group_doc(group_id)
    if group is None:
        raise not_found(group_id, "UserGroup")
    return group


def get_group(ctx: Ctx, group_id: str) -> Reply:
    return Reply(200, _group_renderer(ctx)(_group_or_404(ctx, group_id)))


def list_group_users(ctx: Ctx, group_id: str) -> Reply:
    _group_or_404(ctx, group_id)
    org, base = ctx.org, ctx.base
    docs = [org.user_doc(uid) for uid in org.member_ids(group_id)]
    return paged(ctx, docs, lambda u: render_user(u, base), default_limit=1000, max_limit=10000)


def list_group_apps(ctx: Ctx, group_id: str) -> Reply:
    _group_or_404(ctx, group_id)
    org, base = ctx.org, ctx.base
    docs = org.apps_of_group(group_id)
    return paged(ctx, docs, lambda a: org.render_app(a, base), default_limit=20, max_limit=200)


# ------------------------------------------------- authorization servers


def list_auth_servers(ctx: Ctx) -> Reply:
    base = ctx.base
    servers = ctx.org.server_list()
    q = ctx.param("q")
    if q:
        servers = [s for s in servers if s.name.lower().startswith(q.lower())]
    docs = [{"id": s.id, "server": s} for s in servers]
    return paged(
        ctx,
        docs,
        lambda d: render_auth_server(d["server"], base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def _server_or_404(ctx: Ctx, server_id: str) -> Any:
    server = ctx.org.server(server_id)
    if server is None:
        raise not_found(server_id, "AuthorizationServer")
    return server


def get_auth_server(ctx: Ctx, server_id: str) -> Reply:
    return Reply(200, render_auth_server(_server_or_404(ctx, server_id), ctx.base))


def list_scopes(ctx: Ctx, server_id: str) -> Reply:
    server = _server_or_404(ctx, server_id)
    base = ctx.base
    docs = list(server.scopes)
    q = ctx.param("q")
    if q:
        docs = [s for s in docs if s["name"].lower().startswith(q.lower())]
    return paged(
        ctx,
        docs,
        lambda s: render_scope(server, s, base),
        default_limit=200,
        max_limit=200,
        ordered_by_seq=False,
    )


def get_scope(ctx: Ctx, server_id: str, scope_id: str) -> Reply:
    server = _server_or_404(ctx, server_id)
    scope = next((s for s in server.scopes if s["id"] == scope_id), None)
    if scope is None:
        raise not_found(scope_id, "OAuth2Scope")
    return Reply(200, render_scope(server, scope, ctx.base))
