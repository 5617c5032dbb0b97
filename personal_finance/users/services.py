from __future__ import annotations

from rest_framework.authtoken.models import Token

from .models import User


def user_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
