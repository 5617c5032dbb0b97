"""Form 8949 rows, Schedule D totals and the JSON-ready report (DESIGN 9 and 12).

Rounding: the engine keeps full `Decimal` precision; amounts are rounded to cents (half up) only
here, once per reported amount. Derived amounts are computed from the rounded ones so every row
and total foots: gain_loss = proceeds - basis, reportable_gain_loss = gain_loss + disallowed_loss,
Form 8949 column (h) = (d) - (e) + (g), and Schedule D totals are sums of the rounded rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .compute import EngineResult, compute
from .types import DEFAULT_METHOD, LONG, ZERO, OpenLot, RealizedRow, Transaction

CENT = Decimal("0.01")
WASH_CODE = "W"


def cents(value: Decimal) -> Decimal:
    rounded = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return rounded if rounded != 0 else Decimal("0.00")


def money(value: Decimal) -> str:
    return str(cents(value))


def quantity(value: Decimal) -> str:
    return format(value.normalize(), "f")


@dataclass(frozen=True, slots=True)
class Form8949Row:
    description: str
    date_acquired: str
    date_sold: str
    proceeds: Decimal
    basis: Decimal
    code: str
    adjustment: Decimal
    gain_loss: Decimal
    term: str

    def as_dict(self) -> dict:
        return {
            "description": self.description,
            "date_acquired": self.date_acquired,
            "date_sold": self.date_sold,
            "proceeds": str(self.proceeds),
            "basis": str(self.basis),
            "code": self.code,
            "adjustment": str(self.adjustment),
            "gain_loss": str(self.gain_loss),
        }


def form_8949_row(row: RealizedRow) -> Form8949Row:
    proceeds = cents(row.proceeds)
    basis = cents(row.basis)
    adjustment = cents(row.disallowed_loss)
    return Form8949Row(
        description=f"{quantity(row.quantity)} {row.symbol}",
        date_acquired=row.date_acquired.isoformat(),
        date_sold=row.date_sold.isoformat(),
        proceeds=proceeds,
        basis=basis,
        code=WASH_CODE if row.disallowed_loss > 0 else "",
        adjustment=adjustment,
        gain_loss=proceeds - basis + adjustment,
        term=row.term,
    )


def _totals(rows: list[Form8949Row]) -> dict:
    proceeds = sum((r.proceeds for r in rows), ZERO)
    basis = sum((r.basis for r in rows), ZERO)
    adjustment = sum((r.adjustment for r in rows), ZERO)
    gain = sum((r.gain_loss for r in rows), ZERO)
    return {
        "rows": len(rows),
        "proceeds": money(proceeds),
        "basis": money(basis),
        "adjustment": money(adjustment),
        "gain_loss": money(gain),
    }


@dataclass
class TaxReport:
    method: str
    year: int | None
    realized: list[RealizedRow]
    lots: list[OpenLot]
    transactions: int

    @property
    def form_8949(self) -> tuple[list[Form8949Row], list[Form8949Row]]:
        rows = [form_8949_row(r) for r in self.realized]
        return [r for r in rows if r.term != LONG], [r for r in rows if r.term == LONG]

    def schedule_d(self) -> dict:
        part_i, part_ii = self.form_8949
        short, long_ = _totals(part_i), _totals(part_ii)
        net = Decimal(short["gain_loss"]) + Decimal(long_["gain_loss"])
        return {"short_term": short, "long_term": long_, "net_gain_loss": money(net)}

    def summary(self) -> dict:
        """Figures of the one-line human summary."""
        sched = self.schedule_d()
        return {
            "sales": len({r.sell for r in self.realized}),
            "short_term": sched["short_term"]["gain_loss"],
            "long_term": sched["long_term"]["gain_loss"],
            "net": sched["net_gain_loss"],
            "disallowed": money(sum((r.disallowed_loss for r in self.realized), ZERO)),
            "open_lots": len(self.lots),
        }

    def to_dict(self) -> dict:
        part_i, part_ii = self.form_8949
        short, long_ = _totals(part_i), _totals(part_ii)
        net = Decimal(short["gain_loss"]) + Decimal(long_["gain_loss"])
        return {
            "realized": [realized_dict(r) for r in self.realized],
            "lots": [lot_dict(lot) for lot in self.lots],
            "form_8949": {
                "part_i": [r.as_dict() for r in part_i],
                "part_ii": [r.as_dict() for r in part_ii],
            },
            "schedule_d": {"short_term": short, "long_term": long_, "net_gain_loss": money(net)},
        }


def realized_dict(row: RealizedRow) -> dict:
    proceeds = cents(row.proceeds)
    basis = cents(row.basis)
    disallowed = cents(row.disallowed_loss)
    gain = proceeds - basis
    return {
        "sell": row.sell,
        "lot": row.lot,
        "quantity": quantity(row.quantity),
        "proceeds": str(proceeds),
        "basis": str(basis),
        "gain_loss": str(cents(gain)),
        "disallowed_loss": str(disallowed),
        "reportable_gain_loss": str(cents(gain + disallowed)),
        "term": row.term,
        "date_acquired": row.date_acquired.isoformat(),
        "date_sold": row.date_sold.isoformat(),
    }


def lot_dict(lot: OpenLot) -> dict:
    return {
        "lot": lot.lot,
        "symbol": lot.symbol,
        "quantity": quantity(lot.quantity),
        "basis": money(lot.basis),
        "adjusted_basis": money(lot.adjusted_basis),
        "date_acquired": lot.date_acquired.isoformat(),
    }


def build_report(
    transactions: Iterable[Transaction], *, method: str = DEFAULT_METHOD, year: int | None = None
) -> TaxReport:
    """The full report. `year` keeps only sales of that year (wash sales still see every year)."""
    result: EngineResult = compute(transactions, method)
    realized = result.realized
    if year is not None:
        realized = [r for r in realized if r.date_sold.year == year]
    return TaxReport(
        method=result.method, year=year, realized=realized, lots=result.lots, transactions=result.transactions
    )
