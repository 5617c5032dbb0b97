"""Builders of ledger rows for the tax app's database tests."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from personal_finance.portfolios.models import Transaction
from personal_finance.portfolios.tests.factories import AssetFactory


def d(day: str) -> dt.date:
    return dt.date.fromisoformat(day)


def trade(portfolio, kind: str, day: str, qty, price, symbol="XYZ", fees=0, fx="1", lots=None) -> Transaction:
    qty, price, fees, fx = Decimal(str(qty)), Decimal(str(price)), Decimal(str(fees)), Decimal(str(fx))
    gross = qty * price
    amount = gross + fees if kind == "buy" else (gross - fees if kind == "sell" else Decimal(0))
    return Transaction.objects.create(
        portfolio=portfolio,
        type=kind,
        trade_date=d(day),
        asset=AssetFactory(symbol=symbol),
        quantity=qty,
        price=price,
        fees=fees,
        amount=amount,
        currency=portfolio.base_currency,
        fx_rate=fx,
        tax_lots=lots,
    )


def split(portfolio, day: str, ratio, symbol="XYZ") -> Transaction:
    return Transaction.objects.create(
        portfolio=portfolio,
        type="split",
        trade_date=d(day),
        asset=AssetFactory(symbol=symbol),
        quantity=Decimal(str(ratio)),
        currency=portfolio.base_currency,
    )
