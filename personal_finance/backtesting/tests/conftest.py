from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from backtesting.test import GOOG

from personal_finance.assets.models import Asset, PriceBar


def make_ohlc(close, *, open_=None, start="2024-01-01", freq="B") -> pd.DataFrame:
    close = np.asarray(close, dtype=float)
    open_ = close if open_ is None else np.asarray(open_, dtype=float)
    index = pd.date_range(start, periods=close.size, freq=freq)
    return pd.DataFrame(
        {"Open": open_, "High": np.maximum(open_, close), "Low": np.minimum(open_, close), "Close": close}, index=index
    )


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    return GOOG.copy()


@pytest.fixture(scope="session")
def three_assets() -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(7)
    out = {}
    for name, drift in (("AAA", 0.0008), ("BBB", 0.0002), ("CCC", -0.0003)):
        close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.012, 600)))
        open_ = close * np.exp(rng.normal(0, 0.003, 600))
        out[name] = make_ohlc(close, open_=open_, start="2020-01-01")
    return out


def store_bars(symbol: str, frame: pd.DataFrame):
    """Store ``frame``'s OHLC rows as ``symbol``'s daily bars (what ``fetch_prices`` would do)."""
    asset, _ = Asset.objects.get_or_create(symbol=symbol, defaults={"name": symbol})
    PriceBar.objects.bulk_create(
        PriceBar(
            asset=asset,
            date=day.date(),
            open=Decimal(str(row.Open)),
            high=Decimal(str(row.High)),
            low=Decimal(str(row.Low)),
            close=Decimal(str(row.Close)),
        )
        for day, row in frame.iterrows()
    )
    return asset


@pytest.fixture
def goog_stored(db, goog):
    """500 bars of backtesting.py's GOOG sample stored as GOOG."""
    return store_bars("GOOG", goog.iloc[:500])


@pytest.fixture
def three_stored(db, three_assets):
    for symbol, frame in three_assets.items():
        store_bars(symbol, frame.iloc[:300])
    return list(three_assets)
