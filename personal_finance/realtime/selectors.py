"""Reads for the streams: a portfolio's live value with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from personal_finance.assets.selectors import assets_with_last_price, fx_rates_to
from personal_finance.portfolios.ledger import ZERO, replay
from personal_finance.portfolios.models import Portfolio
from personal_finance.portfolios.selectors import ledger_rows

from .messages import iso_z, utc_day

CENT = Decimal("0.01")


def portfolio_live_value(
    *, portfolio: Portfolio, overrides: dict[str, Decimal] | None = None, ts: dt.datetime | None = None
) -> dict:
    """``{"type": "portfolio", "id", "value", "day_change", "ts"}`` in the base currency.

    ``value`` is cash plus each open position at its newest price: the price in ``overrides``
    (the prices being published, simulated ones included) else the last stored close.
    ``day_change`` is each position times (newest price - last close before the day), FX at the
    day's rate. Queries: the ledger, the last prices (twice: the day's and the previous close)
    and one or two per distinct foreign currency; they do not grow with transactions or holdings.
    """
    overrides = overrides or {}
    ts = ts or timezone.now()
    day = utc_day(ts)
    state = replay(ledger_rows(portfolio=portfolio, until=day))
    open_positions = [p for p in state.positions.values() if p.quantity != 0]
    ids = [p.asset_id for p in open_positions]
    latest = assets_with_last_price(ids, as_of=day) if ids else {}
    previous = assets_with_last_price(ids, as_of=day - dt.timedelta(days=1)) if ids else {}
    rates = fx_rates_to({a.currency for a in latest.values()}, portfolio.base_currency, day) if ids else {}
    value = state.cash
    day_change = ZERO
    complete = True
    for pos in open_positions:
        asset = latest[pos.asset_id]
        price = overrides.get(asset.symbol, asset.last_close)
        rate = rates.get(asset.currency)
        if price is None or rate is None:
            complete = False
            continue
        value += pos.quantity * price * rate
        prev = previous[pos.asset_id].last_close
        if prev is not None:
            day_change += pos.quantity * (price - prev) * rate
    message = {
        "type": "portfolio",
        "id": portfolio.pk,
        "value": str(value.quantize(CENT)),
        "day_change": str(day_change.quantize(CENT)),
        "ts": iso_z(ts),
    }
    if not complete:
        message["complete"] = False  # a holding has no price or no FX rate yet
    return message
