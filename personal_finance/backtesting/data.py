"""Prices in, checked float arrays out (no Django import).

``prepare_prices`` accepts one OHLC DataFrame or a dict ``{symbol: DataFrame}`` and returns a
:class:`MarketData`: the common DatetimeIndex and ``T x K`` float64 arrays of Open/High/Low/Close.
Several assets are aligned on the dates they all have (an inner join).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd

from personal_finance.backtesting.errors import BacktestInputError

OHLC = ("Open", "High", "Low", "Close")
DEFAULT_SYMBOL = "ASSET"


@dataclass
class MarketData:
    index: pd.DatetimeIndex
    symbols: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    multi: bool = False
    _sma: dict = field(default_factory=dict, repr=False)

    @property
    def n_bars(self) -> int:
        return len(self.index)

    @property
    def n_assets(self) -> int:
        return len(self.symbols)

    def sma(self, k: int, n: int) -> np.ndarray:
        """Simple moving average of asset ``k``'s close over ``n`` bars (NaN while warming up).

        pandas' rolling mean, the same numbers as backtesting.py's ``SMA`` bit for bit, so tie and
        crossing decisions agree exactly. Cached: a parameter sweep computes each window once.
        """
        key = (k, n)
        out = self._sma.get(key)
        if out is None:
            out = pd.Series(self.close[:, k]).rolling(n).mean().to_numpy()
            self._sma[key] = out
        return out

    def asset_view(self, k: int) -> SimpleNamespace:
        return SimpleNamespace(
            open=self.open[:, k], high=self.high[:, k], low=self.low[:, k], close=self.close[:, k], index=self.index
        )

    def subset(self, symbols: list[str]) -> MarketData:
        cols = [self.symbols.index(s) for s in symbols]
        return MarketData(
            self.index,
            list(symbols),
            self.open[:, cols],
            self.high[:, cols],
            self.low[:, cols],
            self.close[:, cols],
            multi=self.multi,
        )


def _frame_columns(frame: pd.DataFrame, symbol: str) -> dict[str, str]:
    lookup = {str(c).strip().lower(): c for c in frame.columns}
    cols = {}
    for name in OHLC:
        if name.lower() not in lookup:
            raise BacktestInputError(f"prices for {symbol}: missing column {name!r}", field="prices")
        cols[name] = lookup[name.lower()]
    return cols


def _check_frame(frame, symbol: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise BacktestInputError(
            f"prices for {symbol} must be a pandas DataFrame of Open/High/Low/Close, got {type(frame).__name__}",
            field="prices",
        )
    if frame.empty:
        raise BacktestInputError(f"prices for {symbol}: no rows", field="prices")
    cols = _frame_columns(frame, symbol)
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError):
            raise BacktestInputError(
                f"prices for {symbol}: the index must be dates (a DatetimeIndex)", field="prices"
            ) from None
    out = pd.DataFrame(
        {name: pd.to_numeric(frame[col], errors="coerce").to_numpy(float) for name, col in cols.items()}
    )
    out.index = index
    if index.hasnans:
        raise BacktestInputError(f"prices for {symbol}: a date is missing (NaT) in the index", field="prices")
    if not index.is_monotonic_increasing:
        out = out.sort_index(kind="stable")
    dup = out.index.duplicated()
    if dup.any():
        day = out.index[int(np.argmax(dup))]
        raise BacktestInputError(f"prices for {symbol}: duplicate date {day.date().isoformat()}", field="prices")
    values = out.to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise BacktestInputError(
            f"prices for {symbol}: missing {OHLC[c]} price on {out.index[r].date().isoformat()}", field="prices"
        )
    nonpos = values <= 0
    if nonpos.any():
        r, c = np.argwhere(nonpos)[0]
        raise BacktestInputError(
            f"prices for {symbol}: non-positive {OHLC[c]} price {values[r, c]:g} on {out.index[r].date().isoformat()}",
            field="prices",
        )
    return out


def prepare_prices(prices, symbol: str | None = None) -> MarketData:
    """Check ``prices`` (a DataFrame or a dict of them) and return aligned arrays.

    Raises :class:`BacktestInputError` naming the symbol, date and column of the first problem:
    missing columns, missing or non-finite prices, non-positive prices, duplicate dates.
    Unsorted dates are sorted.
    """
    if isinstance(prices, dict):
        if not prices:
            raise BacktestInputError("prices: no assets given", field="prices")
        frames = {str(s).upper(): _check_frame(f, str(s).upper()) for s, f in prices.items()}
        multi = True
    else:
        name = (symbol or DEFAULT_SYMBOL).upper()
        frames = {name: _check_frame(prices, name)}
        multi = False
    symbols = list(frames)
    index = frames[symbols[0]].index
    for s in symbols[1:]:
        index = index.intersection(frames[s].index)
    if len(index) == 0:
        raise BacktestInputError("prices: the assets have no dates in common", field="prices")
    arrays = {}
    for name in OHLC:
        if len(symbols) == 1:
            arrays[name] = np.ascontiguousarray(frames[symbols[0]][name].to_numpy(float).reshape(-1, 1))
        else:
            arrays[name] = np.column_stack([frames[s][name].reindex(index).to_numpy(float) for s in symbols])
    return MarketData(
        index=pd.DatetimeIndex(index),
        symbols=symbols,
        open=arrays["Open"],
        high=arrays["High"],
        low=arrays["Low"],
        close=arrays["Close"],
        multi=multi,
    )


def schedule_bars(index: pd.DatetimeIndex, period) -> np.ndarray:
    """Decision bars of a schedule: bar 0, then the last bar of each calendar period (``D``, ``W``,
    ``M``, ``Q``, ``Y``) so orders fill as the next period opens; an int ``n`` means every ``n`` bars.
    The final bar is left out (an order there could not fill)."""
    n = len(index)
    if isinstance(period, int):
        bars = np.arange(0, n, period, dtype=np.int64)
    elif period == "D":
        bars = np.arange(n, dtype=np.int64)
    else:
        idx = index.tz_localize(None) if index.tz is not None else index
        codes = idx.to_period(period).asi8
        ends = np.flatnonzero(codes[1:] != codes[:-1])
        bars = np.unique(np.r_[0, ends]).astype(np.int64)
    return bars[bars < n - 1]
