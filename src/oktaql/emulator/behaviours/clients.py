"""The OAuth clients holding an owner's refresh tokens, and those tokens, by owner.

``/api/v1/users/{id}/clients[/{clientId}/tokens[/{id}]]`` and
``/api/v1/authorizationServers/{id}/clients[/{clientId}/tokens[/{id}]]`` are one view of the
apps' refresh tokens (``apps``' lazily generated :class:`~.._tokens.TokenSet`), filtered by
who owns them: a user, or the authorization server that issued them. What differs between the
two is data (:class:`Holder`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import _org_grants
from .._http import Ctx, Handler, Reply, not_found, paged
from .._render import render_server_client, render_user_client
from .._route_helpers import (
    expand,
    owned_token,
    revoke_reply,
    server_or_404,
    token_reply,
    user_or_404,
)

Doc = dict[str, Any]

if TYPE_CHECKING:
    from .._org import Org


def token_page(ctx: Ctx, app: Doc, indexes: list[int]) -> Reply:
    """A page of an app's tokens given by index, with the usual ``Link`` headers."""
    tokens = ctx.org.token_set(app["id"])
    embed = "scope" in expand(ctx)
    base, label = ctx.base, app["label"]
    docs = [{"id": tokens.token_id(i), "i": i} for i in indexes]
    return paged(
        ctx,
        docs,
        lambda d: tokens.render(d["i"], base, label, embed),
        default_limit=20,
        max_limit=200,
        ordered_by_seq=False,
    )


@dataclass(frozen=True)
class Holder:
    """Who the tokens are listed for."""

    path: str  # the owner's item path (``/api/v1/users/{user_id}``)
    owner: Callable[[Ctx, str], str]  # 404 unless the owner exists; its id
    apps: Callable[[Org, str], list[Doc]]  # the OAuth apps holding the owner's tokens
    render: Callable[[str, Doc, str], Doc]  # a client: (owner id, app, base)
    slot: int  # what owns a token in ``Org.token_attrs``: 0 the user, 1 the server

    def _app(self, ctx: Ctx, owner: str, client_id: str) -> tuple[str, Doc]:
        oid = self.owner(ctx, owner)
        app = _org_grants.app_for_client_id(ctx.org, client_id)
        if app is None:
            raise not_found(client_id, "OAuth2Client")
        return oid, app

    def _indexes(self, ctx: Ctx, oid: str, app: Doc) -> list[int]:
        slot = self.slot
        return _org_grants.active_token_indexes(
            ctx.org, app["id"], lambda *owners: owners[slot] == oid
        )

    def list_clients(self, ctx: Ctx, owner: str) -> Reply:
        oid, base = self.owner(ctx, owner), ctx.base
        docs = [
            {"id": a["credentials"]["oauthClient"]["client_id"], "app": a}
            for a in self.apps(ctx.org, oid)
        ]
        return paged(
            ctx,
            docs,
            lambda d: self.render(oid, d["app"], base),
            default_limit=200,
            max_limit=200,
            ordered_by_seq=False,
        )

    def list_tokens(self, ctx: Ctx, owner: str, client_id: str) -> Reply:
        oid, app = self._app(ctx, owner, client_id)
        return token_page(ctx, app, self._indexes(ctx, oid, app))

    def revoke_tokens(self, ctx: Ctx, owner: str, client_id: str) -> Reply:
        oid, app = self._app(ctx, owner, client_id)
        _org_grants.revoke_token_indexes(ctx.org, app["id"], self._indexes(ctx, oid, app), ctx.path)
        return Reply(204)

    def _token(self, ctx: Ctx, owner: str, client_id: str, token_id: str) -> tuple[Doc, int]:
        oid, app = self._app(ctx, owner, client_id)
        return app, owned_token(ctx, app, token_id, self.slot, oid)

    def get_token(self, ctx: Ctx, owner: str, client_id: str, token_id: str) -> Reply:
        return token_reply(ctx, *self._token(ctx, owner, client_id, token_id))

    def revoke_token(self, ctx: Ctx, owner: str, client_id: str, token_id: str) -> Reply:
        return revoke_reply(ctx, *self._token(ctx, owner, client_id, token_id))

    def routes(self) -> list[tuple[str, dict[str, Handler]]]:
        def positional(fn: Callable[..., Reply]) -> Handler:
            return lambda ctx, **params: fn(ctx, *params.values())

        tokens = f"{self.path}/clients/{{client_id}}/tokens"
        return [
            (f"{self.path}/clients", {"GET": positional(self.list_clients)}),
            (
                tokens,
                {"GET": positional(self.list_tokens), "DELETE": positional(self.revoke_tokens)},
            ),
            (
                f"{tokens}/{{token_id}}",
                {"GET": positional(self.get_token), "DELETE": positional(self.revoke_token)},
            ),
        ]


def _user(ctx: Ctx, user_id: str) -> str:
    uid: str = user_or_404(ctx, user_id)["id"]  # a login names the user too
    return uid


def _server(ctx: Ctx, server_id: str) -> str:
    return str(server_or_404(ctx, server_id).id)


USERS = Holder(
    "/api/v1/users/{user_id}", _user, _org_grants.user_client_app_docs, render_user_client, slot=0
)
SERVERS = Holder(
    "/api/v1/authorizationServers/{server_id}",
    _server,
    _org_grants.server_client_app_docs,
    render_server_client,
    slot=1,
)

ROUTES: list[tuple[str, dict[str, Handler]]] = [*USERS.routes(), *SERVERS.routes()]
