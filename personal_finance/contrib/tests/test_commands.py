"""``ContractCommand``: one JSON document or one human line, exit status 2 on bad input."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management.base import CommandError

from personal_finance.contrib.commands import ContractCommand


def _command() -> tuple[ContractCommand, StringIO]:
    out = StringIO()
    return ContractCommand(stdout=out), out


def test_summary_or_document_only_the_one_asked_for_is_built():
    built = []

    def summary():
        built.append("summary")
        return "one line"

    def document():
        built.append("document")
        return {"a": 1}

    command, out = _command()
    command.emit({"json": False}, summary, document)
    assert (out.getvalue(), built) == ("one line\n", ["summary"])
    command, out = _command()
    command.emit({"json": True}, summary, document)
    assert (json.loads(out.getvalue()), built) == ({"a": 1}, ["summary", "document"])


def test_json_writes_decimals_exactly_and_dates_in_iso_format():
    command, out = _command()
    command.emit({"json": True}, "unused", {"amount": Decimal("1.10"), "day": dt.date(2024, 1, 2)})
    assert out.getvalue() == '{"amount": "1.10", "day": "2024-01-02"}\n'


def test_json_refuses_nan():
    command, out = _command()
    with pytest.raises(ValueError, match="not JSON compliant"):
        command.emit({"json": True}, "unused", {"x": float("nan")})
    assert out.getvalue() == ""


def test_fail_exits_with_status_2():
    command, _ = _command()
    try:
        int("x")
    except ValueError:
        with pytest.raises(CommandError, match=r"FILE\.csv: row 2, column 'Close'") as info:
            command.fail("FILE.csv: row 2, column 'Close': not a number")
    assert info.value.returncode == 2
    assert info.value.__suppress_context__  # the error handled is not shown as its cause
