from __future__ import annotations

from django.db import transaction
from rest_framework.authtoken.models import Token

from .models import User


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", name: str = "", is_staff: bool = False) -> User:
    user = User(username=username, email=email, name=name, is_staff=is_staff)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user


def user_token(*, user: User) -> str:
    token, _ = Token.objects.get_or_create(user=user)
    return token.key
