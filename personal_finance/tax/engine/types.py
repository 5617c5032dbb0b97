"""Value types of the tax engine: input transactions, output rows, the input error.

Pure Python (no Django): amounts and quantities are `Decimal`, dates are `datetime.date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import ClassVar

from personal_finance.contrib.textinput import EMPTY, UNDECODABLE, TextInputError

BUY = "buy"
SELL = "sell"
SPLIT = "split"
ACTIONS = (BUY, SELL, SPLIT)  # the `tax_report` CSV
CSV_REQUIRED = ("id", "date", "action", "symbol", "quantity", "price", "fees")  # its required columns
# Ledger feeds only: shares leaving the account without a sale (a transfer out); they are taken
# from the lots in method order and give no realised row.
TRANSFER_OUT = "transfer_out"
ENGINE_ACTIONS = (*ACTIONS, TRANSFER_OUT)

METHODS = ("fifo", "lifo", "hifo", "specific", "average")
DEFAULT_METHOD = "fifo"

SHORT = "short"
LONG = "long"

ZERO = Decimal(0)


class TaxInputError(TextInputError):
    """Bad input: names the data row (1 = first row after the header, 0 = the header) and the
    column when known; ``str()`` reads ``"row N, column name: message"`` (the command adds the file).

    Column names are case-insensitive and shown in lower case; an empty or unreadable file is an
    error at row 0, where the header is missing.
    """

    messages: ClassVar[dict[str, str]] = {
        **TextInputError.messages,
        EMPTY: "empty file: expected a header " + ",".join(CSV_REQUIRED),
        UNDECODABLE: "not valid UTF-8 text (byte {offset}: {byte!r})",
    }
    file_row: ClassVar[int | None] = 0

    def location(self) -> str:
        parts = []
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column.lower()}")
        return ", ".join(parts)


@dataclass(slots=True)
class Transaction:
    """One buy, sell or split.

    `quantity` is shares (positive); `price` is per share before fees; `fees` add to a buy's basis
    and reduce a sale's proceeds. `lots` names the lots a sale takes under the `specific` method as
    ((lot id, quantity), ...). `ratio` is a split's multiplier (2 for 2:1, 0.1 for 1:10). `time`
    orders trades of one day (input order otherwise). `account` tags the portfolio: a sale takes
    lots of its own account only, wash-sale matching runs across all accounts by symbol.
    `row` is the data row number used in error messages.
    """

    id: str
    date: date
    action: str
    symbol: str
    quantity: Decimal = ZERO
    price: Decimal = ZERO
    fees: Decimal = ZERO
    lots: tuple[tuple[str, Decimal], ...] = ()
    ratio: Decimal | None = None
    time: str = ""
    account: str = ""
    row: int | None = None


@dataclass(slots=True)
class RealizedRow:
    """One sale x lot (piece) match. Amounts at full precision; `disallowed_loss` is >= 0."""

    sell: str
    lot: str
    symbol: str
    account: str
    quantity: Decimal
    proceeds: Decimal
    basis: Decimal
    date_acquired: date
    date_sold: date
    term: str
    disallowed_loss: Decimal = ZERO

    @property
    def gain_loss(self) -> Decimal:
        return self.proceeds - self.basis

    @property
    def reportable_gain_loss(self) -> Decimal:
        return self.proceeds - self.basis + self.disallowed_loss


@dataclass(slots=True)
class OpenLot:
    """Shares still held at the end: `basis` is cost incl. fees, `adjusted_basis` adds wash-sale
    adjustments (under `average`, it is the pooled average cost of the shares)."""

    lot: str
    symbol: str
    account: str
    quantity: Decimal
    basis: Decimal
    adjusted_basis: Decimal
    date_acquired: date
    original_date: date
