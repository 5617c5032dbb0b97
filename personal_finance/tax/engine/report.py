"""Form 8949 rows, Schedule D totals and the JSON-ready report (docs/contracts.md §9 and §12).

Rounding: the engine keeps full `Decimal` precision; amounts are rounded to cents (half up) only
here, once per reported amount. Derived amounts are computed from the rounded ones so every row
and total foots: gain_loss = proceeds - basis, reportable_gain_loss = gain_loss + disallowed_loss,
Form 8949 column (h) = (d) - (e) + (g), and Schedule D totals are sums of the rounded rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

from .compute import EngineResult, compute, gc_paused
from .types import DEFAULT_METHOD, LONG, SHORT, ZERO, OpenLot, RealizedRow, Transaction

CENT = Decimal("0.01")
CENTS_ZERO = Decimal("0.00")  # adding it turns a rounded -0.00 into 0.00
WASH_CODE = "W"


class RealizedDict(TypedDict):
    """One realised row of the report, amounts as cent strings."""

    sell: str
    lot: str
    quantity: str
    proceeds: str
    basis: str
    gain_loss: str
    disallowed_loss: str
    reportable_gain_loss: str
    term: str
    date_acquired: str
    date_sold: str


class Form8949Row(TypedDict):
    """Form 8949 columns (a)-(h) of one row."""

    description: str
    date_acquired: str
    date_sold: str
    proceeds: str
    basis: str
    code: str
    adjustment: str
    gain_loss: str


class Totals(TypedDict):
    """One Schedule D line: the number of rows and the sums of their rounded amounts."""

    rows: int
    proceeds: str
    basis: str
    adjustment: str
    gain_loss: str


class ScheduleD(TypedDict):
    short_term: Totals
    long_term: Totals
    net_gain_loss: str


class Summary(TypedDict):
    """Figures of the one-line human summary."""

    sales: int
    short_term: str
    long_term: str
    net: str
    disallowed: str
    open_lots: int


@dataclass(slots=True)
class _Sums:
    """Running sums of one term's rounded amounts."""

    proceeds: Decimal = ZERO
    basis: Decimal = ZERO
    adjustment: Decimal = ZERO
    rows: int = 0


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + CENTS_ZERO


def money(value: Decimal) -> str:
    return str(cents(value))


def quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _rows(
    realized: list[RealizedRow],
) -> tuple[list[RealizedDict], list[Form8949Row], list[Form8949Row], ScheduleD]:
    """One pass: realised rows, Form 8949 parts I and II, and the Schedule D totals."""
    out_realized: list[RealizedDict] = []
    part_i: list[Form8949Row] = []
    part_ii: list[Form8949Row] = []
    sums = {SHORT: _Sums(), LONG: _Sums()}
    quantize = Decimal.quantize
    for row in realized:
        proceeds = quantize(row.proceeds, CENT, ROUND_HALF_UP)
        basis = quantize(row.basis, CENT, ROUND_HALF_UP)
        disallowed = quantize(row.disallowed_loss, CENT, ROUND_HALF_UP) if row.disallowed_loss else CENTS_ZERO
        gain = proceeds - basis
        proceeds_s = str(proceeds + CENTS_ZERO)
        basis_s = str(basis + CENTS_ZERO)
        disallowed_s = str(disallowed + CENTS_ZERO)
        reportable_s = str(gain + disallowed + CENTS_ZERO)
        acquired = row.date_acquired.isoformat()
        sold = row.date_sold.isoformat()
        qty = quantity(row.quantity)
        out_realized.append(
            {
                "sell": row.sell,
                "lot": row.lot,
                "quantity": qty,
                "proceeds": proceeds_s,
                "basis": basis_s,
                "gain_loss": str(gain + CENTS_ZERO),
                "disallowed_loss": disallowed_s,
                "reportable_gain_loss": reportable_s,
                "term": row.term,
                "date_acquired": acquired,
                "date_sold": sold,
            }
        )
        (part_ii if row.term == LONG else part_i).append(
            {
                "description": f"{qty} {row.symbol}",
                "date_acquired": acquired,
                "date_sold": sold,
                "proceeds": proceeds_s,
                "basis": basis_s,
                "code": WASH_CODE if row.disallowed_loss > 0 else "",
                "adjustment": disallowed_s,
                "gain_loss": reportable_s,
            }
        )
        acc = sums[LONG if row.term == LONG else SHORT]
        acc.proceeds += proceeds
        acc.basis += basis
        acc.adjustment += disallowed
        acc.rows += 1

    def totals(acc: _Sums) -> Totals:
        return {
            "rows": acc.rows,
            "proceeds": money(acc.proceeds),
            "basis": money(acc.basis),
            "adjustment": money(acc.adjustment),
            "gain_loss": money(acc.proceeds - acc.basis + acc.adjustment),
        }

    short, long_ = sums[SHORT], sums[LONG]
    net = short.proceeds - short.basis + short.adjustment + long_.proceeds - long_.basis + long_.adjustment
    schedule_d: ScheduleD = {"short_term": totals(short), "long_term": totals(long_), "net_gain_loss": money(net)}
    return out_realized, part_i, part_ii, schedule_d


@dataclass
class TaxReport:
    method: str
    year: int | None
    realized: list[RealizedRow]
    lots: list[OpenLot]
    transactions: int

    def schedule_d(self) -> ScheduleD:
        return _rows(self.realized)[3]

    def summary(self) -> Summary:
        """Figures of the one-line human summary."""
        sched = self.schedule_d()
        return {
            "sales": len({r.sell for r in self.realized}),
            "short_term": sched["short_term"]["gain_loss"],
            "long_term": sched["long_term"]["gain_loss"],
            "net": sched["net_gain_loss"],
            "disallowed": money(sum((cents(r.disallowed_loss) for r in self.realized), ZERO)),
            "open_lots": len(self.lots),
        }

    def to_dict(self) -> dict[str, Any]:
        with gc_paused():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        realized, part_i, part_ii, schedule_d = _rows(self.realized)
        return {
            "realized": realized,
            "lots": [lot_dict(lot) for lot in self.lots],
            "form_8949": {"part_i": part_i, "part_ii": part_ii},
            "schedule_d": schedule_d,
        }


def lot_dict(lot: OpenLot) -> dict[str, Any]:
    """One open lot as a JSON row (the services add their own fields of other types to it)."""
    return {
        "lot": lot.lot,
        "symbol": lot.symbol,
        "quantity": quantity(lot.quantity),
        "basis": money(lot.basis),
        "adjusted_basis": money(lot.adjusted_basis),
        "date_acquired": lot.date_acquired.isoformat(),
    }


def build_report(
    transactions: Iterable[Transaction],
    *,
    method: str = DEFAULT_METHOD,
    year: int | None = None,
    account_methods: dict[str, str] | None = None,
) -> TaxReport:
    """The full report. `year` keeps only sales of that year (wash sales still see every year).
    `account_methods` gives accounts their own lot method (see `compute`)."""
    result: EngineResult = compute(transactions, method, account_methods=account_methods)
    realized = result.realized
    if year is not None:
        realized = [r for r in realized if r.date_sold.year == year]
    return TaxReport(
        method=result.method, year=year, realized=realized, lots=result.lots, transactions=result.transactions
    )
