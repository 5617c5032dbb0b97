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
from numpy.typing import NDArray

from personal_finance.backtesting.errors import BacktestInputError

try:  # pandas' compiled rolling mean; see rolling_mean()
    from pandas._libs.window.aggregations import roll_mean as _roll_mean
except ImportError:  # pragma: no cover
    _roll_mean = None

OHLC = ("Open", "High", "Low", "Close")
DEFAULT_SYMBOL = "ASSET"


def rolling_mean(values: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """``pd.Series(values).rolling(n).mean()`` as an array, without the Series overhead.

    Calls pandas' own rolling-mean routine (compensated summation) so the numbers are bit for bit
    those of ``Series.rolling``; falls back to the public API if that private routine moves.
    """
    values = np.ascontiguousarray(values, dtype=np.float64)
    if _roll_mean is not None:
        end = np.arange(1, values.size + 1, dtype=np.int64)
        try:
            return np.asarray(_roll_mean(values, np.maximum(end - n, 0), end, n))
        except (TypeError, ValueError):  # pragma: no cover - a pandas version with another signature
            pass
    out: NDArray[np.float64] = pd.Series(values).rolling(n).mean().to_numpy()
    return out


@dataclass
class MarketData:
    index: pd.DatetimeIndex
    symbols: list[str]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    multi: bool = False
    _sma: dict[tuple[int, int], NDArray[np.float64]] = field(default_factory=dict, repr=False)

    @property
    def n_bars(self) -> int:
        return len(self.index)

    @property
    def n_assets(self) -> int:
        return len(self.symbols)

    def sma(self, k: int, n: int) -> NDArray[np.float64]:
        """Simple moving average of asset ``k``'s close over ``n`` bars (NaN while warming up).

        pandas' rolling mean, the same numbers as backtesting.py's ``SMA`` bit for bit, so tie and
        crossing decisions agree exactly. Cached: a parameter sweep computes each window once.
        """
        key = (k, n)
        out = self._sma.get(key)
        if out is None:
            out = rolling_mean(self.close[:, k], n)
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


def _check_frame(frame: object, symbol: str) -> tuple[pd.DatetimeIndex, NDArray[np.float64]]:
    """The frame's dates and a ``T x 4`` float array of Open/High/Low/Close, checked and sorted."""
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
    if index.hasnans:
        raise BacktestInputError(f"prices for {symbol}: a date is missing (NaT) in the index", field="prices")
    try:
        values = np.column_stack([np.asarray(frame[cols[name]].to_numpy(), dtype=np.float64) for name in OHLC])
    except (TypeError, ValueError):
        values = np.column_stack([pd.to_numeric(frame[cols[name]], errors="coerce").to_numpy(float) for name in OHLC])
    if not index.is_monotonic_increasing:
        order = np.argsort(index.asi8, kind="stable")
        index, values = index[order], values[order]
    if not index.is_unique:
        day = index[int(np.argmax(index.duplicated()))]
        raise BacktestInputError(f"prices for {symbol}: duplicate date {day.date().isoformat()}", field="prices")
    finite = np.isfinite(values)
    if not finite.all():
        r, c = np.argwhere(~finite)[0]
        raise BacktestInputError(
            f"prices for {symbol}: missing {OHLC[c]} price on {index[r].date().isoformat()}", field="prices"
        )
    nonpos = values <= 0
    if nonpos.any():
        r, c = np.argwhere(nonpos)[0]
        raise BacktestInputError(
            f"prices for {symbol}: non-positive {OHLC[c]} price {values[r, c]:g} on {index[r].date().isoformat()}",
            field="prices",
        )
    return index, values


def prepare_prices(prices: pd.DataFrame | dict[str, pd.DataFrame], symbol: str | None = None) -> MarketData:
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
    index = frames[symbols[0]][0]
    if len(symbols) == 1:
        values = frames[symbols[0]][1]
        arrays = [np.ascontiguousarray(values[:, c : c + 1]) for c in range(4)]
    else:
        for s in symbols[1:]:
            index = index.intersection(frames[s][0])
        if len(index) == 0:
            raise BacktestInputError("prices: the assets have no dates in common", field="prices")
        rows = [frames[s][0].get_indexer(index) for s in symbols]
        arrays = [np.column_stack([frames[s][1][r, c] for s, r in zip(symbols, rows, strict=True)]) for c in range(4)]
    return MarketData(
        index=pd.DatetimeIndex(index),
        symbols=symbols,
        open=arrays[0],
        high=arrays[1],
        low=arrays[2],
        close=arrays[3],
        multi=multi,
    )


def schedule_bars(index: pd.DatetimeIndex, period: str | int) -> NDArray[np.int64]:
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
