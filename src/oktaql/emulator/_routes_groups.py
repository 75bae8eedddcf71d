"""Group writes, group membership and group rules.

``POST /api/v1/groups``, ``PUT|DELETE /api/v1/groups/{id}``,
``PUT|DELETE /api/v1/groups/{id}/users/{userId}`` and ``/api/v1/groups/rules/**``.
"""

from __future__ import annotations

from typing import Any

from ._http import Ctx, Reply, not_found, paged
from ._render import render_group
from ._render_more import render_group_rule
from ._route_helpers import expand, group_or_404, user_or_404, validated


def create_group(ctx: Ctx) -> Reply:
    group = validated(ctx.org.create_group, ctx.json_body(), ctx.path)
    return Reply(200, render_group(group, ctx.base))


def replace_group(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    group = validated(ctx.org.replace_group, group_id, ctx.json_body(), ctx.path)
    return Reply(200, render_group(group, ctx.base))


def delete_group(ctx: Ctx, group_id: str) -> Reply:
    group_or_404(ctx, group_id)
    ctx.org.delete_group(group_id, ctx.path)
    return Reply(204)


def assign_user(ctx: Ctx, group_id: str, user_id: str) -> Reply:
    group_or_404(ctx, group_id)
    uid = user_or_404(ctx, user_id)["id"]
    ctx.org.add_member(group_id, uid, ctx.path)
    return Reply(204)


def unassign_user(ctx: Ctx, group_id: str, user_id: str) -> Reply:
    group_or_404(ctx, group_id)
    uid = user_or_404(ctx, user_id)["id"]
    ctx.org.remove_member(group_id, uid, ctx.path)
    return Reply(204)


# ------------------------------------------------------------ rules


def _rule_renderer(ctx: Ctx) -> Any:
    org, base = ctx.org, ctx.base
    names = "groupIdToGroupNameMap" in expand(ctx)

    def render(rule: dict[str, Any]) -> dict[str, Any]:
        out = render_group_rule(rule, base)
        if names:
            ids = rule["actions"]["assignUserToGroups"]["groupIds"]
            out["_embedded"] = {
                "groupIdToGroupNameMap": {
                    g: org.group_doc(g)["profile"]["name"] for g in ids if org.group_doc(g)
                }
            }
        return out

    return render


def list_rules(ctx: Ctx) -> Reply:
    docs = ctx.org.group_rule_docs()
    search = ctx.param("search")
    if search:
        docs = [r for r in docs if search.lower() in r["name"].lower()]
    return paged(ctx, docs, _rule_renderer(ctx), default_limit=50, max_limit=200)


def _rule(ctx: Ctx, rule_id: str) -> dict[str, Any]:
    rule = next((r for r in ctx.org.group_rule_docs() if r["id"] == rule_id), None)
    if rule is None:
        raise not_found(rule_id, "GroupRule")
    return rule


def get_rule(ctx: Ctx, rule_id: str) -> Reply:
    return Reply(200, _rule_renderer(ctx)(_rule(ctx, rule_id)))


def create_rule(ctx: Ctx) -> Reply:
    rule = validated(ctx.org.create_group_rule, ctx.json_body(), ctx.path)
    return Reply(200, render_group_rule(rule, ctx.base))


def replace_rule(ctx: Ctx, rule_id: str) -> Reply:
    _rule(ctx, rule_id)
    rule = validated(ctx.org.replace_group_rule, rule_id, ctx.json_body(), ctx.path)
    return Reply(200, render_group_rule(rule, ctx.base))


def delete_rule(ctx: Ctx, rule_id: str) -> Reply:
    _rule(ctx, rule_id)
    validated(ctx.org.delete_group_rule, rule_id, ctx.flag("removeUsers", False), ctx.path)
    return Reply(202)


def activate_rule(ctx: Ctx, rule_id: str) -> Reply:
    _rule(ctx, rule_id)
    validated(ctx.org.set_group_rule_status, rule_id, "ACTIVE", ctx.path)
    return Reply(204)


def deactivate_rule(ctx: Ctx, rule_id: str) -> Reply:
    _rule(ctx, rule_id)
    validated(ctx.org.set_group_rule_status, rule_id, "INACTIVE", ctx.path)
    return Reply(204)
