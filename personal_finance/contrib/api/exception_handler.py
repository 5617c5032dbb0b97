"""Renders every API error as ``{"detail": ..., "errors": {field: [messages]}}`` (docs/contracts.md §7)."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler

from personal_finance.contrib.exceptions import ApplicationError

auth_logger = logging.getLogger("personal_finance.auth")


def _as_lists(errors: object) -> dict[str, Any]:
    if isinstance(errors, dict):
        out: dict[str, Any] = {}
        for key, value in errors.items():
            if isinstance(value, dict):
                out[key] = _as_lists(value)
            elif isinstance(value, list | tuple):
                out[key] = [v if isinstance(v, dict) else str(v) for v in value]
            else:
                out[key] = [str(value)]
        return out
    if isinstance(errors, list | tuple):
        return {"non_field_errors": [str(e) for e in errors]}
    return {"non_field_errors": [str(errors)]}


def api_exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(
            {"detail": exc.message, "errors": _as_lists(exc.errors)},
            status=exc.status_code,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.PermissionDenied | exceptions.NotAuthenticated):
        request = context.get("request")
        auth_logger.warning(
            "api access refused: %s user=%s path=%s",
            exc.__class__.__name__,
            getattr(getattr(request, "user", None), "pk", None),
            getattr(request, "path", None),
        )

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "errors": _as_lists(exc.detail)}
        response.status_code = status.HTTP_400_BAD_REQUEST
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"detail": str(detail), "errors": {}}
    return response
