from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_ohlc(close, *, open_=None, start="2024-01-01", freq="B") -> pd.DataFrame:
    close = np.asarray(close, dtype=float)
    open_ = close if open_ is None else np.asarray(open_, dtype=float)
    index = pd.date_range(start, periods=close.size, freq=freq)
    return pd.DataFrame(
        {"Open": open_, "High": np.maximum(open_, close), "Low": np.minimum(open_, close), "Close": close}, index=index
    )


@pytest.fixture(scope="session")
def goog() -> pd.DataFrame:
    from backtesting.test import GOOG

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
