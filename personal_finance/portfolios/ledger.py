"""Pure ledger arithmetic (no Django): replay transactions into positions and cash.

Positions use the average-cost method (the tax app keeps its own lots). Everything is ``Decimal``;
amounts are converted to the portfolio's base currency at each transaction's ``fx_rate``, so cost
basis is historical while market value uses the rate of the valuation date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, TypeAlias

ZERO = Decimal(0)

# Cash effect of each type, in the transaction currency, as a multiple of ``amount``.
CASH_SIGN = {
    "buy": -1,
    "sell": 1,
    "dividend": 1,
    "interest": 1,
    "fee": -1,
    "deposit": 1,
    "withdrawal": -1,
    "split": 0,
    "transfer_in": 0,
    "transfer_out": 0,
}
EXTERNAL_FLOW_TYPES = ("deposit", "withdrawal", "transfer_in", "transfer_out")


class LedgerRow(NamedTuple):
    """One transaction as the ledger needs it. ``ref`` identifies it in errors (id or CSV row).

    A plain tuple in this field order works as well (``replay`` unpacks positionally), so a
    selector can hand over database rows without building an object per row."""

    type: str
    asset_id: int | None
    quantity: Decimal | None
    price: Decimal | None
    fees: Decimal
    amount: Decimal
    fx_rate: Decimal
    trade_date: object = None
    ref: object = None


# What ``replay`` takes: a ``LedgerRow``, or a plain tuple of all nine fields in its order.
LedgerTuple: TypeAlias = tuple[
    str, int | None, Decimal | None, Decimal | None, Decimal, Decimal, Decimal, object, object
]


@dataclass(slots=True)
class Position:
    asset_id: int
    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO  # base currency, average cost
    realized_gain: Decimal = ZERO  # base currency
    dividends: Decimal = ZERO  # base currency
    fees: Decimal = ZERO  # base currency
    first_date: object = None


@dataclass
class LedgerState:
    positions: dict[int, Position] = field(default_factory=dict)
    cash: Decimal = ZERO  # base currency
    net_contributions: Decimal = ZERO  # deposits - withdrawals, base currency
    interest: Decimal = ZERO
    fees: Decimal = ZERO


class OversellError(ValueError):
    def __init__(self, row: LedgerRow, held: Decimal) -> None:
        self.row = row
        self.held = held
        super().__init__(
            f"cannot {row.type.replace('_', ' ')} {_fmt(row.quantity)} shares: only {_fmt(held)} held on {row.trade_date}"
        )


def _fmt(value: Decimal | None) -> str:
    if value is None:
        return "?"
    text = format(value.normalize(), "f")
    return text


def trade_amount(type_: str, quantity: Decimal, price: Decimal, fees: Decimal) -> Decimal:
    """Cash moved by a trade when the source gave no amount."""
    gross = quantity * price
    return gross + fees if type_ == "buy" else gross - fees


def replay(rows: Iterable[LedgerTuple], state: LedgerState | None = None) -> LedgerState:
    """Apply ``rows`` (already in ledger order) to ``state``. Raises OversellError on a short."""
    state = state or LedgerState()
    positions = state.positions
    for row in rows:
        t, asset_id, quantity, price, fees, amount, fx, trade_date, _ref = row
        if asset_id is not None:
            pos = positions.get(asset_id)
            if pos is None:
                pos = positions[asset_id] = Position(asset_id, first_date=trade_date)
        else:
            pos = None
        sign = CASH_SIGN[t]
        if sign:
            state.cash += sign * amount * fx
        if t == "buy":
            assert pos is not None  # a trade names its asset
            assert quantity is not None  # and its quantity
            pos.quantity += quantity
            pos.cost_basis += amount * fx
            pos.fees += fees * fx
        elif t in ("sell", "transfer_out"):
            assert pos is not None
            assert quantity is not None
            if quantity > pos.quantity:
                raise OversellError(LedgerRow._make(row), pos.quantity)
            removed = pos.cost_basis * quantity / pos.quantity if pos.quantity else ZERO
            pos.quantity -= quantity
            pos.cost_basis = ZERO if pos.quantity == 0 else pos.cost_basis - removed
            if t == "sell":
                pos.realized_gain += amount * fx - removed
                pos.fees += fees * fx
            else:
                state.net_contributions -= quantity * (price or ZERO) * fx
        elif t == "transfer_in":
            assert pos is not None
            assert quantity is not None
            value = quantity * (price or ZERO) * fx
            pos.quantity += quantity
            pos.cost_basis += value
            state.net_contributions += value
        elif t == "split":
            assert pos is not None
            assert quantity is not None  # the split ratio
            pos.quantity *= quantity
        elif t == "dividend":
            assert pos is not None
            pos.dividends += amount * fx
        elif t == "interest":
            state.interest += amount * fx
        elif t == "fee":
            state.fees += amount * fx
            if pos is not None:
                pos.fees += amount * fx
        elif t == "deposit":
            state.net_contributions += amount * fx
        elif t == "withdrawal":
            state.net_contributions -= amount * fx
    return state
