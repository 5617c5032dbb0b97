"""Reads of the ledger: owner-scoped querysets, ledger rows and the portfolio marked to market."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.utils import timezone

from personal_finance.assets.models import Asset
from personal_finance.assets.selectors import mark_to_market
from personal_finance.contrib.services import OwnerScopedService

from .ledger import ZERO, LedgerRow, replay
from .models import Portfolio, Transaction

LEDGER_FIELDS = ("type", "asset_id", "quantity", "price", "fees", "amount", "fx_rate", "trade_date", "id")


class PortfolioService(OwnerScopedService[Portfolio]):
    model = Portfolio
    owner_field = "owner"


def ledger_symbols() -> list[str]:
    """Symbols that appear in any portfolio's ledger (registered with data_sources as the symbols
    to keep up to date)."""
    return sorted(Transaction.objects.filter(asset__isnull=False).values_list("asset__symbol", flat=True).distinct())


def ledger_rows(*, portfolio: Portfolio, until: dt.date | None = None) -> list[LedgerRow]:
    """The portfolio's transactions as ``LedgerRow``-ordered tuples (no object per row: ``replay``
    unpacks them positionally)."""
    qs = Transaction.objects.filter(portfolio=portfolio)
    if until is not None:
        qs = qs.filter(trade_date__lte=until)
    return cast("list[LedgerRow]", list(qs.order_by("trade_date", "id").values_list(*LEDGER_FIELDS)))


@dataclass(frozen=True, slots=True)
class ValuedPosition:
    """An open position (average cost) marked to market; amounts in the portfolio's base currency."""

    asset: Asset
    quantity: Decimal
    cost_basis: Decimal
    realized_gain: Decimal
    dividends: Decimal
    price: Decimal | None  # the override, else the last close on or before the valuation date
    price_date: dt.date | None
    fx_rate: Decimal | None  # base units per unit of the asset's currency
    market_value: Decimal | None  # None when the price or the FX rate is missing

    @property
    def unrealized_gain(self) -> Decimal | None:
        return None if self.market_value is None else self.market_value - self.cost_basis


@dataclass(frozen=True, slots=True)
class PortfolioValuation:
    """A portfolio marked to market on ``as_of``, in its base currency.

    ``positions`` are the open ones, in ledger order. ``realized_gain`` and ``dividends`` are the
    totals over every position, closed ones included; ``market_value`` sums the priced positions
    only, and ``complete`` says whether every open position has a price and an FX rate.
    """

    portfolio: Portfolio
    as_of: dt.date
    positions: list[ValuedPosition]
    cash: Decimal
    net_contributions: Decimal
    interest: Decimal
    realized_gain: Decimal
    dividends: Decimal
    market_value: Decimal
    cost_basis: Decimal
    complete: bool

    @property
    def base_currency(self) -> str:
        return self.portfolio.base_currency

    @property
    def total_value(self) -> Decimal:
        return self.market_value + self.cash


def valued_positions(
    *, portfolio: Portfolio, as_of: dt.date | None = None, overrides: Mapping[str, Decimal] | None = None
) -> PortfolioValuation:
    """The ledger replayed up to ``as_of`` (default today) and each open position marked to
    market (``assets.selectors.mark_to_market``): the symbol's price in ``overrides``, else its
    last close on or before ``as_of``, times the FX rate of ``as_of``.

    Queries do not grow with the number of transactions or holdings: one for the ledger, one for
    the last prices, and one or two per distinct foreign currency of the open positions.
    """
    as_of = as_of or timezone.now().date()
    state = replay(ledger_rows(portfolio=portfolio, until=as_of))
    open_positions = [p for p in state.positions.values() if p.quantity != 0]
    marks = mark_to_market(
        ((p.asset_id, p.quantity) for p in open_positions),
        base_currency=portfolio.base_currency,
        as_of=as_of,
        overrides=overrides,
    )
    positions = [
        ValuedPosition(
            asset=mark.asset,
            quantity=pos.quantity,
            cost_basis=pos.cost_basis,
            realized_gain=pos.realized_gain,
            dividends=pos.dividends,
            price=mark.price,
            price_date=mark.price_date,
            fx_rate=mark.fx_rate,
            market_value=mark.market_value,
        )
        for pos, mark in zip(open_positions, marks, strict=True)
    ]
    return PortfolioValuation(
        portfolio=portfolio,
        as_of=as_of,
        positions=positions,
        cash=state.cash,
        net_contributions=state.net_contributions,
        interest=state.interest,
        realized_gain=sum((p.realized_gain for p in state.positions.values()), ZERO),
        dividends=sum((p.dividends for p in state.positions.values()), ZERO),
        market_value=sum((p.market_value for p in positions if p.market_value is not None), ZERO),
        cost_basis=sum((p.cost_basis for p in positions), ZERO),
        complete=all(p.market_value is not None for p in positions),
    )
