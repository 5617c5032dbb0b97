"""Shared behaviour of the management commands of DESIGN section 9.

One human line by default, exactly one JSON document on stdout with ``--json``; bad input exits
with status 2 and a message on stderr naming the file, row and column.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError


class InputError(CommandError):
    def __init__(self, message: str):
        super().__init__(message, returncode=2)


def _default(value):
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class ContractCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")

    def emit(self, options, summary: str, document) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(document, default=_default, allow_nan=False))
        else:
            self.stdout.write(summary)

    def fail(self, message: str) -> None:
        raise InputError(message)
