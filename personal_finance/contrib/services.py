"""Shared by every app's services: the owner-scoped base service (the seed design's
``BaseService``) and model validation raised as an ``ApplicationError``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models

from .exceptions import ApplicationError, NotFoundError

M = TypeVar("M", bound=models.Model)


class OwnerScopedService(Generic[M]):
    """Every read and write of an owned model goes through ``get_queryset``.

    Subclasses set ``model`` and ``owner_field`` (a lookup path such as ``"owner"`` or
    ``"portfolio__owner"``). Objects of another user are reported as not found (404), never as
    forbidden, so their existence does not leak.
    """

    model: type[M]
    owner_field: str = "owner"

    def __init__(self, user: Any = None) -> None:
        self.user = user

    def get_queryset(self) -> models.QuerySet[M]:
        if self.user is None or not self.user.is_authenticated:
            return self.model._default_manager.none()
        return self.model._default_manager.filter(**{self.owner_field: self.user})

    def get(self, pk: object) -> M:
        try:
            return self.get_queryset().get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError):
            name = str(self.model._meta.verbose_name or self.model.__name__)
            raise NotFoundError(f"{name.capitalize()} not found.") from None


def clean_or_raise(
    obj: models.Model, *, message: str = "Invalid input.", field: str | None = None, **full_clean_kwargs
) -> None:
    """``obj.full_clean(**full_clean_kwargs)``; a ``ValidationError`` is raised as an
    ``ApplicationError`` (400) with ``message`` and the field errors. With ``field`` (a batch of
    objects checked at once), every message goes under that one key, naming the object: ``{field:
    ["<obj>: <message>", ...]}``."""
    try:
        obj.full_clean(**full_clean_kwargs)
    except ValidationError as exc:
        errors = exc.message_dict if field is None else {field: [f"{obj}: {m}" for m in exc.messages]}
        raise ApplicationError(message, errors=errors) from None
