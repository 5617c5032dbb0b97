"""Small builders for engine tests (plain values, no database)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from personal_finance.tax.engine import Transaction, build_report

D = Decimal


def _d(value) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def buy(tx_id, day, qty, price, fees=0, symbol="XYZ", account="", time=""):
    return Transaction(
        id=tx_id,
        date=date.fromisoformat(day),
        action="buy",
        symbol=symbol,
        quantity=_d(qty),
        price=_d(price),
        fees=_d(fees),
        account=account,
        time=time,
    )


def sell(tx_id, day, qty, price, fees=0, symbol="XYZ", lots=(), account="", time=""):
    return Transaction(
        id=tx_id,
        date=date.fromisoformat(day),
        action="sell",
        symbol=symbol,
        quantity=_d(qty),
        price=_d(price),
        fees=_d(fees),
        lots=tuple((lot_id, _d(q)) for lot_id, q in lots),
        account=account,
        time=time,
    )


def split(tx_id, day, ratio, symbol="XYZ"):
    return Transaction(id=tx_id, date=date.fromisoformat(day), action="split", symbol=symbol, ratio=_d(ratio))


def report(transactions, method="fifo", year=None) -> dict:
    """The JSON-ready report (amounts as cent strings)."""
    return build_report(transactions, method=method, year=year).to_dict()


def rows_by(report_dict, sell_id):
    return [r for r in report_dict["realized"] if r["sell"] == sell_id]


def lots_by(report_dict, lot_id):
    return [lot for lot in report_dict["lots"] if lot["lot"] == lot_id]


def total_reportable(report_dict) -> Decimal:
    return sum((D(r["reportable_gain_loss"]) for r in report_dict["realized"]), D(0))
