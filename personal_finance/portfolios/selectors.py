"""Reads of the ledger: owner-scoped querysets and derived holdings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from personal_finance.assets.selectors import assets_with_last_price, fx_rates_to
from personal_finance.contrib.services import OwnerScopedService

from .ledger import ZERO, replay
from .models import Portfolio, Transaction

LEDGER_FIELDS = ("type", "asset_id", "quantity", "price", "fees", "amount", "fx_rate", "trade_date", "id")
CENT = Decimal("0.01")


class PortfolioService(OwnerScopedService):
    model = Portfolio
    owner_field = "owner"


class TransactionService(OwnerScopedService):
    model = Transaction
    owner_field = "portfolio__owner"


def portfolio_list(*, user) -> QuerySet[Portfolio]:
    return PortfolioService(user).get_queryset()


def portfolio_get(*, user, pk) -> Portfolio:
    return PortfolioService(user).get(pk)


def transaction_list(*, portfolio: Portfolio) -> QuerySet[Transaction]:
    return portfolio.transactions.select_related("asset").order_by("trade_date", "id")


def ledger_symbols() -> list[str]:
    """Symbols that appear in any portfolio's ledger (registered with data_sources as the symbols
    to keep up to date)."""
    return sorted(Transaction.objects.filter(asset__isnull=False).values_list("asset__symbol", flat=True).distinct())


def ledger_rows(*, portfolio: Portfolio, until: dt.date | None = None) -> list[tuple]:
    """The portfolio's transactions as ``LedgerRow``-ordered tuples (no object per row)."""
    qs = Transaction.objects.filter(portfolio=portfolio)
    if until is not None:
        qs = qs.filter(trade_date__lte=until)
    return list(qs.order_by("trade_date", "id").values_list(*LEDGER_FIELDS))


def _q(value: Decimal | None, places: Decimal = CENT) -> str | None:
    return None if value is None else str(value.quantize(places))


def _num(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if value == value.to_integral() else str(value.normalize())


def portfolio_holdings(*, portfolio: Portfolio, as_of: dt.date | None = None) -> dict:
    """Positions with quantity, average cost, cost basis, last price, market value, unrealised
    gain and weight, plus the cash balance, all in the portfolio's base currency.

    Queries do not grow with the number of transactions or holdings: one for the ledger, one for
    the assets with their last prices, and one or two per distinct asset currency for FX.
    """
    as_of = as_of or timezone.now().date()
    base = portfolio.base_currency
    state = replay(ledger_rows(portfolio=portfolio, until=as_of))
    open_positions = [p for p in state.positions.values() if p.quantity != 0]
    assets = assets_with_last_price([p.asset_id for p in state.positions.values()], as_of=as_of)
    rates = fx_rates_to({a.currency for a in assets.values()}, base, as_of)

    rows = []
    total_value = ZERO
    total_cost = ZERO
    complete = True
    for pos in open_positions:
        asset = assets[pos.asset_id]
        rate = rates.get(asset.currency)
        market_value = None
        if asset.last_close is not None and rate is not None:
            market_value = pos.quantity * asset.last_close * rate
            total_value += market_value
        else:
            complete = False
        total_cost += pos.cost_basis
        gain = None if market_value is None else market_value - pos.cost_basis
        rows.append(
            {
                "asset": asset,
                "pos": pos,
                "rate": rate,
                "market_value": market_value,
                "gain": gain,
            }
        )
    portfolio_value = total_value + state.cash
    holdings = []
    for row in sorted(rows, key=lambda r: -(r["market_value"] or ZERO)):
        asset, pos, mv, gain = row["asset"], row["pos"], row["market_value"], row["gain"]
        holdings.append(
            {
                "symbol": asset.symbol,
                "name": asset.name,
                "asset_class": asset.asset_class,
                "currency": asset.currency,
                "quantity": _num(pos.quantity),
                "average_cost": _q(pos.cost_basis / pos.quantity, Decimal("0.000001")),
                "cost_basis": _q(pos.cost_basis),
                "last_price": None if asset.last_close is None else _num(asset.last_close),
                "last_price_date": asset.last_date.isoformat() if asset.last_date else None,
                "fx_rate": None if row["rate"] is None else _num(row["rate"]),
                "market_value": _q(mv),
                "unrealized_gain": _q(gain),
                "unrealized_gain_pct": _q(gain / pos.cost_basis * 100)
                if gain is not None and pos.cost_basis
                else None,
                "realized_gain": _q(pos.realized_gain),
                "dividends": _q(pos.dividends),
                "weight": _q(mv / portfolio_value, Decimal("0.000001"))
                if mv is not None and portfolio_value
                else None,
            }
        )
    return {
        "portfolio": portfolio.pk,
        "base_currency": base,
        "as_of": as_of.isoformat(),
        "holdings": holdings,
        "cash": _q(state.cash),
        "cash_weight": _q(state.cash / portfolio_value, Decimal("0.000001")) if portfolio_value else None,
        "total_market_value": _q(total_value),
        "total_cost_basis": _q(total_cost),
        "total_unrealized_gain": _q(total_value - total_cost) if complete else None,
        "total_value": _q(portfolio_value),
        "net_contributions": _q(state.net_contributions),
        "realized_gain": _q(sum((p.realized_gain for p in state.positions.values()), ZERO)),
        "dividends": _q(sum((p.dividends for p in state.positions.values()), ZERO)),
        "interest": _q(state.interest),
        "complete": complete,
    }
