"""Reads for the streams: a portfolio's live value with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.utils import timezone

from personal_finance.assets.selectors import assets_with_last_price
from personal_finance.portfolios.ledger import ZERO
from personal_finance.portfolios.models import Portfolio
from personal_finance.portfolios.selectors import valued_positions

from .messages import LiveValue, utc_day


def portfolio_live_value(
    *, portfolio: Portfolio, overrides: Mapping[str, Decimal] | None = None, ts: dt.datetime | None = None
) -> LiveValue:
    """The portfolio on the UTC day of ``ts`` (default now) through ``valued_positions``.

    ``value`` is cash plus each open position at its newest price: the price in ``overrides``
    (the prices being published, simulated ones included) else the last stored close.
    ``day_change`` is each position times (newest price - last close before the day), FX at the
    day's rate. Queries: the ledger, the last prices (twice: the day's and the previous close)
    and one or two per distinct foreign currency; they do not grow with transactions or holdings.
    """
    ts = ts or timezone.now()
    day = utc_day(ts)
    valuation = valued_positions(portfolio=portfolio, as_of=day, overrides=overrides)
    priced = [p for p in valuation.positions if p.market_value is not None]
    previous = assets_with_last_price([p.asset.pk for p in priced], as_of=day - dt.timedelta(days=1)) if priced else {}
    day_change = ZERO
    for pos in priced:
        prev = previous[pos.asset.pk].last_close
        if prev is not None and pos.price is not None and pos.fx_rate is not None:  # priced: both set
            day_change += pos.quantity * (pos.price - prev) * pos.fx_rate
    return LiveValue(portfolio.pk, valuation.total_value, day_change, valuation.complete, ts)
