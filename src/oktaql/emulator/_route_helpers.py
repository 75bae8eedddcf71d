"""Helpers shared by the behaviour modules (``behaviours/``): lookups, filters, paging order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from . import _org_grants
from ._appdefs import BodyError
from ._filters import MISSING, FilterError, compile_filter, resolve_path
from ._http import Ctx, Reply, bad_filter, not_found, validation_failed

T = TypeVar("T")


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def validated(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an org mutation; a :class:`BodyError` becomes Okta's 400 ``E0000001``."""
    try:
        return fn(*args, **kwargs)
    except BodyError as exc:
        raise validation_failed(exc.field, exc.cause) from None


def expand(ctx: Ctx) -> set[str]:
    raw = ctx.param("expand") or ""
    return {part.strip() for part in raw.split(",") if part.strip()}


def user_or_404(ctx: Ctx, user_id: str) -> dict[str, Any]:
    user = ctx.org.user_doc(user_id)
    if user is None:
        raise not_found(user_id, "User")
    return user


def app_or_404(ctx: Ctx, app_id: str) -> dict[str, Any]:
    app = ctx.org.app_doc(app_id)
    if app is None:
        raise not_found(app_id, "AppInstance")
    return app


def group_or_404(ctx: Ctx, group_id: str) -> dict[str, Any]:
    group = ctx.org.group_doc(group_id)
    if group is None:
        raise not_found(group_id, "UserGroup")
    return group


def server_or_404(ctx: Ctx, server_id: str) -> Any:
    server = ctx.org.server(server_id)
    if server is None:
        raise not_found(server_id, "AuthorizationServer")
    return server


def in_store(store: dict[str, dict[str, Any]], rid: str, type_name: str) -> dict[str, Any]:
    doc = store.get(rid)
    if doc is None:
        raise not_found(rid, type_name)
    return doc


def filtered(
    ctx: Ctx,
    docs: list[dict[str, Any]],
    resolver: Any = None,
    param: str = "filter",
    refused: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    """Apply a SCIM ``filter`` (or ``search``) expression; a bad one, or one using an
    operator the endpoint does not take (``refused``), is 400 ``E0000031``."""
    expr = ctx.param(param)
    if expr is None:
        return docs
    try:
        pred = compile_filter(expr, resolver, refused)
    except FilterError as exc:
        raise bad_filter(str(exc)) from None
    return [d for d in docs if pred(d)]


def prefix_q(ctx: Ctx, docs: list[dict[str, Any]], *keys: str) -> list[dict[str, Any]]:
    """``q``: case-insensitive prefix match on any of ``keys``."""
    q = ctx.param("q")
    if not q:
        return docs
    ql = q.lower()
    return [
        d
        for d in docs
        if any(isinstance(d.get(k), str) and d[k].lower().startswith(ql) for k in keys)
    ]


def owned_token(ctx: Ctx, app: dict[str, Any], token_id: str, slot: int, owner: str) -> int:
    """The index of an active refresh token of ``app`` whose owner is ``owner``.

    ``slot`` picks what owns it in ``Org.token_attrs``: 0 the user, 1 the authorization server.
    """
    tokens = ctx.org.token_set(app["id"])
    index = tokens.index_of(token_id)
    if (
        index is None
        or not tokens.is_active(index)
        or _org_grants.token_attrs(ctx.org, app["id"], index)[slot] != owner
    ):
        raise not_found(token_id, "OAuth2RefreshToken")
    return index


def token_reply(ctx: Ctx, app: dict[str, Any], index: int) -> Reply:
    tokens = ctx.org.token_set(app["id"])
    return Reply(200, tokens.render(index, ctx.base, app["label"], "scope" in expand(ctx)))


def revoke_reply(ctx: Ctx, app: dict[str, Any], index: int) -> Reply:
    _org_grants.revoke_token_indexes(ctx.org, app["id"], [index], ctx.path)
    return Reply(204)


def sorted_for_search(ctx: Ctx, docs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
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


def starts(q: str, values: tuple[Any, ...]) -> bool:
    return any(isinstance(v, str) and v.lower().startswith(q) for v in values)
