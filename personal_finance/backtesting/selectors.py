"""Reads that feed the engine from storage (the ORM stays here; the engine gets float arrays)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from personal_finance.backtesting.errors import BacktestInputError


class PricesUnavailableError(BacktestInputError):
    """No stored prices for the symbol."""


def load_prices_for_symbol(symbol: str, *, start=None, end=None, adjusted: bool = True) -> pd.DataFrame:
    """Stored daily bars of ``symbol`` as the engine wants them: a float DataFrame with ``Open``,
    ``High``, ``Low``, ``Close`` columns on an ascending tz-naive DatetimeIndex (``start``/``end``
    inclusive dates).

    ``adjusted``: when every bar has an ``adj_close``, Open/High/Low/Close are scaled by
    ``adj_close / close`` so splits and dividends do not show up as jumps; otherwise prices are as
    traded. Bars without an open/high/low stay NaN, which the engine refuses with the date.
    Raises :class:`PricesUnavailableError` when the asset or its prices are not stored.
    """
    from personal_finance.assets.selectors import asset_by_symbol, price_bars

    asset = asset_by_symbol(symbol)
    if asset is None:
        raise PricesUnavailableError(
            f"no stored prices for {symbol.strip().upper()}: the asset is unknown; fetch it first "
            f"(manage.py fetch_prices {symbol.strip().upper()}) or pass --prices FILE.csv",
            field="symbol",
        )
    rows = list(
        price_bars(asset=asset, start=start, end=end).values_list("date", "open", "high", "low", "close", "adj_close")
    )
    if not rows:
        raise PricesUnavailableError(
            f"no stored prices for {asset.symbol} in the requested dates; fetch them first "
            f"(manage.py fetch_prices {asset.symbol}) or pass --prices FILE.csv",
            field="symbol",
        )
    dates, *columns = zip(*rows, strict=True)
    values = np.array([[np.nan if v is None else float(v) for v in col] for col in columns], dtype=np.float64).T
    ohlc, adj = values[:, :4], values[:, 4]
    if adjusted and not np.isnan(adj).any():
        ohlc = ohlc * (adj / ohlc[:, 3])[:, None]
    index = pd.DatetimeIndex(pd.to_datetime(list(dates)), name="Date")
    return pd.DataFrame(ohlc, index=index, columns=["Open", "High", "Low", "Close"])
