"""Group writes, group membership and group rules.

``POST /api/v1/groups``, ``PUT|DELETE /api/v1/groups/{id}``,
``PUT|DELETE /api/v1/groups/{id}/users/{userId}`` and ``/api/v1/groups/rules/**``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _org_groups
from .._http import Ctx, Handler, Reply, paged
from .._render import render_group, render_group_rule, render_user
from .._route_helpers import (
    expand,
    filtered,
    group_or_404,
    sorted_for_search,
    starts,
    user_or_404,
    validated,
)
from ._family import Doc, Family, Parents


def create_group(ctx: Ctx) -> Reply:
    group = validated(_org_groups.create_group, ctx.org, ctx.json_body(), ctx.path)
    return Reply(200, render_group(group, ctx.base))


def replace_group(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    group = validated(_org_groups.replace_group, ctx.org, group_id, ctx.json_body(), ctx.path)
    return Reply(200, render_group(group, ctx.base))


def delete_group(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    _org_groups.delete_group(ctx.org, group_id, ctx.path)
    return Reply(204)


def assign_user(ctx: Ctx, group_id: str, user_id: str) -> Reply:
    group_or_404(ctx, group_id)
    uid = user_or_404(ctx, user_id)["id"]
    _org_groups.add_member(ctx.org, group_id, uid, ctx.path)
    return Reply(204)


def unassign_user(ctx: Ctx, group_id: str, user_id: str) -> Reply:
    group_or_404(ctx, group_id)
    uid = user_or_404(ctx, user_id)["id"]
    _org_groups.remove_member(ctx.org, group_id, uid, ctx.path)
    return Reply(204)


# ------------------------------------------------------------ rules


def _rule_store(ctx: Ctx, parents: Parents) -> dict[str, Doc]:
    store: dict[str, Doc] = ctx.org._group_rules
    return store


def _rule_docs(ctx: Ctx, parents: Parents) -> list[Doc]:
    docs = _org_groups.group_rule_docs(ctx.org)
    search = (ctx.param("search") or "").lower()
    return [r for r in docs if search in r["name"].lower()] if search else docs


def _render_rule(rule: Doc, base: str) -> Doc:
    return render_group_rule(rule, base)


def _write_rule(ctx: Ctx, parents: Parents, body: Any, current: Doc | None) -> Doc:
    if current is None:
        return _org_groups.create_group_rule(ctx.org, body, ctx.path)
    return _org_groups.replace_group_rule(ctx.org, current["id"], body, ctx.path)


def _remove_rule(ctx: Ctx, parents: Parents, rule: Doc) -> None:
    _org_groups.delete_group_rule(ctx.org, rule["id"], ctx.flag("removeUsers", False), ctx.path)


def _rule_status(ctx: Ctx, parents: Parents, rule: Doc, status: str) -> None:
    _org_groups.set_group_rule_status(ctx.org, rule["id"], status, ctx.path)


RULES = Family(
    "/api/v1/groups/rules",
    "rule_id",
    "GroupRule",
    _rule_store,
    _render_rule,
    write=_write_rule,
    remove=_remove_rule,
    set_status=_rule_status,
    docs=_rule_docs,
    created=200,
    deleted=202,
    default_limit=50,
    by_seq=True,
)


def _with_group_names(handler: Handler) -> Handler:
    """``expand=groupIdToGroupNameMap``: the names of the groups a rule assigns to."""

    def wrapped(ctx: Ctx, **params: str) -> Reply:
        reply = handler(ctx, **params)
        if "groupIdToGroupNameMap" in expand(ctx):
            org = ctx.org
            for out in reply.body if isinstance(reply.body, list) else [reply.body]:
                ids = out["actions"]["assignUserToGroups"]["groupIds"]
                names = {g: org.group_doc(g)["profile"]["name"] for g in ids if org.group_doc(g)}
                out["_embedded"] = {"groupIdToGroupNameMap": names}
        return reply

    return wrapped


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
        docs = [g for g in docs if starts(ql, (g["profile"].get("name"),))]
    docs = filtered(ctx, filtered(ctx, docs), param="search")
    docs, natural = sorted_for_search(ctx, docs)
    return paged(
        ctx,
        docs,
        _group_renderer(ctx),
        default_limit=300 if q else 10000,
        max_limit=10000,
        ordered_by_seq=natural,
    )


def get_group(ctx: Ctx, group_id: str) -> Reply:
    return Reply(200, _group_renderer(ctx)(group_or_404(ctx, group_id)))


def list_group_users(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    org, base = ctx.org, ctx.base
    docs = [org.user_doc(uid) for uid in org.member_ids(group_id)]
    return paged(ctx, docs, lambda u: render_user(u, base), default_limit=1000, max_limit=10000)


def list_group_apps(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    org, base = ctx.org, ctx.base
    docs = org.apps_of_group(group_id)
    return paged(ctx, docs, lambda a: org.render_app(a, base), default_limit=20, max_limit=200)


# ------------------------------------------------------------------ routes

ROUTES: list[tuple[str, dict[str, Handler]]] = [
    ("/api/v1/groups", {"GET": list_groups, "POST": create_group}),
    (
        "/api/v1/groups/{group_id}",
        {"GET": get_group, "PUT": replace_group, "DELETE": delete_group},
    ),
    ("/api/v1/groups/{group_id}/users", {"GET": list_group_users}),
    ("/api/v1/groups/{group_id}/users/{user_id}", {"PUT": assign_user, "DELETE": unassign_user}),
    ("/api/v1/groups/{group_id}/apps", {"GET": list_group_apps}),
    *[
        (path, {m: _with_group_names(h) if m == "GET" else h for m, h in calls.items()})
        for path, calls in RULES.routes()
    ],
]
