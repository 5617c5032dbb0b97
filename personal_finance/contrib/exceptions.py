"""The one application error type that services raise (rendered by the API exception handler)."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business-rule failure the user can act on.

    ``errors`` maps a field (or a location such as ``"row 3"``) to a list of messages.
    ``status_code`` is the HTTP status the API answers with (400 unless stated).
    """

    status_code = 400

    def __init__(self, message: str, *, errors: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ApplicationError):
    status_code = 404


class PermissionDeniedError(ApplicationError):
    status_code = 403
