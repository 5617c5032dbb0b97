"""Reads that feed the engine from storage. The price store does not exist yet (see docs/backtesting.md)."""

from __future__ import annotations

import pandas as pd

from personal_finance.backtesting.errors import BacktestInputError


class PricesUnavailableError(BacktestInputError):
    """No stored prices for the symbol (or no price store at all)."""


def load_prices_for_symbol(symbol: str, *, start=None, end=None) -> pd.DataFrame:
    """Stored daily OHLC prices of ``symbol`` as the engine wants them: a float DataFrame with
    ``Open``, ``High``, ``Low``, ``Close`` columns on an ascending tz-naive DatetimeIndex.

    Hook for the market-data store: until the assets app stores prices, this raises
    :class:`PricesUnavailableError` (the ``backtest`` command turns it into exit status 2).
    """
    raise PricesUnavailableError(
        f"--symbol {symbol} needs stored prices, and this installation has no price store yet; "
        "pass the prices as a file with --prices FILE.csv",
        field="symbol",
    )
