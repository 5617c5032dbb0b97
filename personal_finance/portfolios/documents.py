"""Documents of the portfolios API, built from the selectors: the holdings of a portfolio."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .cache import cached
from .ledger import ZERO
from .models import Portfolio
from .selectors import valued_positions

CENT = Decimal("0.01")
WEIGHT = Decimal("0.000001")


def _q(value: Decimal | None, places: Decimal = CENT) -> str | None:
    return None if value is None else str(value.quantize(places))


def _num(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return format(value.normalize(), "f") if value == value.to_integral() else str(value.normalize())


def portfolio_holdings(*, portfolio: Portfolio, as_of: dt.date | None = None) -> dict:
    """Positions with quantity, average cost, cost basis, last price, market value, unrealised
    gain and weight, plus the cash balance, all in the portfolio's base currency (the
    ``/api/portfolios/{id}/holdings/`` document; queries as ``selectors.valued_positions``)."""
    valuation = valued_positions(portfolio=portfolio, as_of=as_of)
    portfolio_value = valuation.total_value
    holdings = []
    for pos in sorted(valuation.positions, key=lambda p: -(p.market_value or ZERO)):
        asset, mv, gain = pos.asset, pos.market_value, pos.unrealized_gain
        holdings.append(
            {
                "symbol": asset.symbol,
                "name": asset.name,
                "asset_class": asset.asset_class,
                "currency": asset.currency,
                "quantity": _num(pos.quantity),
                "average_cost": _q(pos.cost_basis / pos.quantity, WEIGHT),
                "cost_basis": _q(pos.cost_basis),
                "last_price": _num(pos.price),
                "last_price_date": pos.price_date.isoformat() if pos.price_date else None,
                "fx_rate": _num(pos.fx_rate),
                "market_value": _q(mv),
                "unrealized_gain": _q(gain),
                "unrealized_gain_pct": _q(gain / pos.cost_basis * 100)
                if gain is not None and pos.cost_basis
                else None,
                "realized_gain": _q(pos.realized_gain),
                "dividends": _q(pos.dividends),
                "weight": _q(mv / portfolio_value, WEIGHT) if mv is not None and portfolio_value else None,
            }
        )
    return {
        "portfolio": portfolio.pk,
        "base_currency": valuation.base_currency,
        "as_of": valuation.as_of.isoformat(),
        "holdings": holdings,
        "cash": _q(valuation.cash),
        "cash_weight": _q(valuation.cash / portfolio_value, WEIGHT) if portfolio_value else None,
        "total_market_value": _q(valuation.market_value),
        "total_cost_basis": _q(valuation.cost_basis),
        "total_unrealized_gain": _q(valuation.market_value - valuation.cost_basis) if valuation.complete else None,
        "total_value": _q(portfolio_value),
        "net_contributions": _q(valuation.net_contributions),
        "realized_gain": _q(valuation.realized_gain),
        "dividends": _q(valuation.dividends),
        "interest": _q(valuation.interest),
        "complete": valuation.complete,
    }


def holdings_document(*, portfolio: Portfolio, as_of: dt.date | None = None) -> tuple[dict, bool]:
    """(``portfolio_holdings``, cache hit), cached per portfolio version: a change to its
    transactions or to its assets' prices bumps the version."""
    return cached(
        "holdings", portfolio.pk, {"as_of": as_of}, lambda: portfolio_holdings(portfolio=portfolio, as_of=as_of)
    )
