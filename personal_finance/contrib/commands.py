"""Shared behaviour of the management commands of docs/contracts.md §9.

One human line by default, exactly one JSON document on stdout with ``--json``; bad input exits
with status 2 and a message on stderr naming the file, row and column.

A command that reads files only and needs no database sets ``requires_system_checks = []``, as
any Django command can.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import NoReturn

from django.core.management.base import BaseCommand, CommandError


class InputError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, returncode=2)


def _default(value):
    """Decimals as strings (exact), dates and datetimes in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ContractCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")

    def emit(self, options, summary: str | Callable[[], str], document) -> None:
        """Write ``document`` as JSON with ``--json`` (NaN and infinities refused), else ``summary``.

        Either may be given as a function of no arguments, called only when its output is wanted
        (a document that is costly to build).
        """
        if options.get("json"):
            document = document() if callable(document) else document
            self.stdout.write(json.dumps(document, default=_default, allow_nan=False))
        else:
            self.stdout.write(summary() if callable(summary) else summary)

    def fail(self, message: str) -> NoReturn:
        """Stop with exit status 2 and ``message`` on stderr (no traceback of the error handled)."""
        raise InputError(message) from None
