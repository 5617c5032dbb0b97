"""WebSocket authentication: the session cookie, or ``?token=<api token>`` (docs/contracts.md §8)."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from rest_framework.authtoken.models import Token


@database_sync_to_async
def _user_for_token(key: str):
    try:
        return Token.objects.select_related("user").get(key=key).user
    except Token.DoesNotExist:
        return None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from ``?token=`` when the session did not authenticate."""

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            params = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            token = (params.get("token") or [""])[0]
            if token:
                token_user = await _user_for_token(token[:64])
                if token_user is not None and token_user.is_active:
                    scope = dict(scope, user=token_user)
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner):  # noqa: N802 - mirrors channels' AuthMiddlewareStack
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))
