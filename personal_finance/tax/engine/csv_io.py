"""Reading the `tax_report` transactions CSV (docs/contracts.md §12).

Header `id,date,action,symbol,quantity,price,fees[,lots][,ratio]`, plus the optional `time`
(HH:MM[:SS], orders one day's trades) and `account` (or `portfolio`) columns; names are
case-insensitive, extra columns are ignored. Dates are ISO `YYYY-MM-DD`. Empty cells: `fees`
means 0; `quantity`/`price` may be empty on a split row. Errors raise `TaxInputError` naming the
data row (the first row after the header is row 1) and the column.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from personal_finance.contrib.textinput import TextSource, read_text

from .types import ACTIONS, BUY, CSV_REQUIRED, SELL, SPLIT, ZERO, TaxInputError, Transaction

REQUIRED = CSV_REQUIRED
OPTIONAL = ("lots", "ratio", "time", "account", "portfolio")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_decimal(text: str, *, row: int, column: str) -> Decimal:
    text = text.strip()
    if not _NUMBER.match(text):
        raise TaxInputError(f"not a number: {text!r}", row=row, column=column)
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        raise TaxInputError(f"not a number: {text!r}", row=row, column=column) from None


def parse_date(text: str, *, row: int, column: str = "date") -> date:
    text = text.strip()
    if not _DATE.match(text):
        raise TaxInputError(f"not an ISO date (YYYY-MM-DD): {text!r}", row=row, column=column)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TaxInputError(f"not a valid date: {text!r}", row=row, column=column) from None


def parse_ratio(text: str, *, row: int, column: str = "ratio") -> Decimal:
    """`2:1` -> 2 (two new shares for one old), `1:10` -> 0.1 (reverse split); a bare number is the ratio."""
    text = text.strip()
    if not text:
        raise TaxInputError("a split needs a ratio such as 2:1", row=row, column=column)
    if ":" in text:
        new, _, old = text.partition(":")
        if not _NUMBER.match(new.strip()) or not _NUMBER.match(old.strip()):
            raise TaxInputError(f"not a ratio like 2:1: {text!r}", row=row, column=column)
        new_d, old_d = Decimal(new.strip()), Decimal(old.strip())
        if new_d <= 0 or old_d <= 0:
            raise TaxInputError(f"ratio terms must be positive: {text!r}", row=row, column=column)
        return new_d / old_d
    if not _NUMBER.match(text):
        raise TaxInputError(f"not a ratio like 2:1: {text!r}", row=row, column=column)
    value = Decimal(text)
    if value <= 0:
        raise TaxInputError(f"ratio must be positive: {text!r}", row=row, column=column)
    return value


def parse_lots(text: str, *, row: int, column: str = "lots") -> tuple[tuple[str, Decimal], ...]:
    """`b1:100;b2:50` -> (("b1", 100), ("b2", 50))."""
    text = text.strip()
    if not text:
        return ()
    out = []
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        lot_id, sep, qty = part.rpartition(":")
        lot_id = lot_id.strip()
        if not sep or not lot_id:
            raise TaxInputError(f"expected lot:quantity pairs like b1:100;b2:50, got {part!r}", row=row, column=column)
        value = parse_decimal(qty, row=row, column=column)
        if value <= 0:
            raise TaxInputError(f"lot quantity must be positive in {part!r}", row=row, column=column)
        out.append((lot_id, value))
    return tuple(out)


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is allowed), not empty; otherwise an error naming the row and, when
    possible, the column."""
    return read_text(data, error=TaxInputError)


def read_transactions(source: TextSource) -> list[Transaction]:
    """Parse CSV text (or the bytes, path or file `read_text` reads) into transactions, validated
    cell by cell."""
    text = read_text(source, error=TaxInputError)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    names = [h.strip().lower() for h in header]
    positions: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in positions and name in REQUIRED + OPTIONAL:
            raise TaxInputError(f"duplicate column {name!r} in the header", row=0, column=name)
        positions.setdefault(name, i)
    for name in REQUIRED:
        if name not in positions:
            raise TaxInputError(
                f"missing column {name!r}; the header must contain {','.join(REQUIRED)}", row=0, column=name
            )
    i_id, i_date, i_action, i_symbol, i_qty, i_price, i_fees = (positions[n] for n in REQUIRED)
    i_lots = positions.get("lots")
    i_ratio = positions.get("ratio")
    i_time = positions.get("time")
    i_account = positions.get("account", positions.get("portfolio"))
    width = len(names)

    out: list[Transaction] = []
    row = 0
    for record in reader:
        row += 1
        if not any(record):
            continue  # blank line
        cells = record + [""] * (width - len(record)) if len(record) < width else record
        tx_id = cells[i_id].strip()
        if not tx_id:
            raise TaxInputError("missing id", row=row, column="id")
        tx_date = parse_date(cells[i_date], row=row)
        action = cells[i_action].strip().lower()
        if action not in ACTIONS:
            raise TaxInputError(
                f"unknown action {cells[i_action].strip()!r} (expected buy, sell or split)", row=row, column="action"
            )
        symbol = cells[i_symbol].strip().upper()
        if not symbol:
            raise TaxInputError("missing symbol", row=row, column="symbol")
        tx_time = cells[i_time].strip() if i_time is not None else ""
        if tx_time and not _TIME.match(tx_time):
            raise TaxInputError(f"not a time (HH:MM[:SS]): {tx_time!r}", row=row, column="time")
        account = cells[i_account].strip() if i_account is not None else ""

        if action == SPLIT:
            ratio_text = cells[i_ratio] if i_ratio is not None else ""
            ratio = parse_ratio(ratio_text, row=row)
            out.append(
                Transaction(
                    id=tx_id,
                    date=tx_date,
                    action=SPLIT,
                    symbol=symbol,
                    ratio=ratio,
                    time=tx_time,
                    account=account,
                    row=row,
                )
            )
            continue

        qty_text, price_text, fees_text = cells[i_qty].strip(), cells[i_price].strip(), cells[i_fees].strip()
        if not qty_text:
            raise TaxInputError("missing quantity", row=row, column="quantity")
        quantity = parse_decimal(qty_text, row=row, column="quantity")
        if quantity <= 0:
            raise TaxInputError(f"quantity must be positive, got {qty_text!r}", row=row, column="quantity")
        if not price_text:
            raise TaxInputError("missing price", row=row, column="price")
        price = parse_decimal(price_text, row=row, column="price")
        if price < 0:
            raise TaxInputError(f"price must not be negative, got {price_text!r}", row=row, column="price")
        fees = parse_decimal(fees_text, row=row, column="fees") if fees_text else ZERO
        if fees < 0:
            raise TaxInputError(f"fees must not be negative, got {fees_text!r}", row=row, column="fees")
        lots = parse_lots(cells[i_lots], row=row) if (i_lots is not None and action == SELL) else ()
        out.append(
            Transaction(
                id=tx_id,
                date=tx_date,
                action=BUY if action == BUY else SELL,
                symbol=symbol,
                quantity=quantity,
                price=price,
                fees=fees,
                lots=lots,
                time=tx_time,
                account=account,
                row=row,
            )
        )
    if not out:
        raise TaxInputError("no transactions after the header", row=1)
    return out


def read_transactions_file(path: str | os.PathLike[str]) -> list[Transaction]:
    return read_transactions(Path(path))


def write_transactions(transactions: Iterable[Transaction], fh: IO[str]) -> None:
    """Write transactions in the CSV format `read_transactions` reads (used by the benchmark)."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow([*REQUIRED, "lots", "ratio", "account"])
    for tx in transactions:
        lots = ";".join(f"{lot_id}:{qty}" for lot_id, qty in tx.lots)
        ratio = "" if tx.ratio is None else str(tx.ratio)
        if tx.action == SPLIT:
            writer.writerow([tx.id, tx.date.isoformat(), tx.action, tx.symbol, "", "", "", "", ratio, tx.account])
        else:
            writer.writerow(
                [
                    tx.id,
                    tx.date.isoformat(),
                    tx.action,
                    tx.symbol,
                    tx.quantity,
                    tx.price,
                    tx.fees,
                    lots,
                    ratio,
                    tx.account,
                ]
            )
