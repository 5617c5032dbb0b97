"""The bundled offline sample set: a few years of daily bars for the demo's assets.

The series are *generated* (a seeded geometric random walk per asset, deterministic: the same
symbol always gives the same history, and a longer range only appends) and labelled ``sample``
wherever they show (bar ``source``, provider ``sample`` flag, dashboard and API notes). They let the
demo, the tests and the offline machines run with no network; real providers take precedence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from .base import AssetInfo, CorporateActions, History, PriceProvider, Quote, SymbolNotFound

SAMPLE_SOURCE = "sample"
START = dt.date(2021, 1, 4)

# symbol: (name, class, currency, sector, country, start price, annual drift, annual vol, dividend/share/quarter)
SAMPLE_ASSETS = {
    "AAPL": ("Apple Inc.", "equity", "USD", "Technology", "United States", 130.0, 0.12, 0.28, Decimal("0.23")),
    "MSFT": (
        "Microsoft Corporation",
        "equity",
        "USD",
        "Technology",
        "United States",
        220.0,
        0.12,
        0.24,
        Decimal("0.62"),
    ),
    "NVDA": ("NVIDIA Corporation", "equity", "USD", "Technology", "United States", 13.0, 0.35, 0.50, Decimal("0.04")),
    "VTI": (
        "Vanguard Total Stock Market ETF",
        "etf",
        "USD",
        "Diversified",
        "United States",
        195.0,
        0.09,
        0.18,
        Decimal("0.80"),
    ),
    "BND": (
        "Vanguard Total Bond Market ETF",
        "etf",
        "USD",
        "Fixed Income",
        "United States",
        88.0,
        0.00,
        0.06,
        Decimal("0.55"),
    ),
    "SAP.DE": ("SAP SE", "equity", "EUR", "Technology", "Germany", 105.0, 0.15, 0.27, None),
    "^GSPC": ("S&P 500 (sample)", "other", "USD", "", "United States", 3700.0, 0.09, 0.17, None),
}
SPLITS = {"NVDA": (dt.date(2024, 6, 10), 10.0)}
FX = {("EUR", "USD"): (1.22, 0.07)}


def business_days(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    return pd.bdate_range(start, end, name="Date")


def _seed(symbol: str) -> int:
    return int(hashlib.sha256(symbol.encode()).hexdigest()[:8], 16)


def sample_path(key: str, days: int, start: float, drift: float, vol: float) -> np.ndarray:
    rng = np.random.default_rng(_seed(key))
    shocks = rng.standard_normal(days)
    daily = (drift - 0.5 * vol**2) / 252 + vol / np.sqrt(252) * shocks
    return start * np.exp(np.cumsum(daily))


def sample_frame(symbol: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Unadjusted OHLC (traded prices: higher before a split), adjusted close and volume."""
    spec = SAMPLE_ASSETS[symbol]
    start_price, drift, vol = spec[5], spec[6], spec[7]
    days = business_days(START, max(end, START))
    adjusted = sample_path(symbol, len(days), start_price, drift, vol)
    rng = np.random.default_rng(_seed(symbol) + 1)
    spread = np.abs(rng.normal(0, vol / np.sqrt(252) / 2, size=(len(days), 3)))
    # A generator per component keeps every series prefix-stable when the range grows.
    gaps = np.random.default_rng(_seed(symbol) + 2).normal(0, 0.002, len(days))
    opens = np.concatenate([[adjusted[0]], adjusted[:-1]]) * (1 + gaps)
    factor = np.ones(len(days))
    if symbol in SPLITS:
        split_day, ratio = SPLITS[symbol]
        factor[days.date < split_day] = ratio
    frame = pd.DataFrame(
        {
            "Open": np.round(opens * factor, 4),
            "High": np.round(np.maximum(opens, adjusted) * (1 + spread[:, 0]) * factor, 4),
            "Low": np.round(np.minimum(opens, adjusted) * (1 - spread[:, 1]) * factor, 4),
            "Close": np.round(adjusted * factor, 4),
            "Adj Close": np.round(adjusted, 4),
            "Volume": (1_000_000 * (1 + spread[:, 2] * 50)).astype("int64"),
        },
        index=days,
    )
    return frame.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def sample_fx(base: str, quote: str, start: dt.date, end: dt.date) -> pd.Series:
    inverse = (base, quote) not in FX
    spot, vol = FX[(quote, base) if inverse else (base, quote)]
    days = business_days(START, max(end, START))
    path = sample_path(min(base + quote, quote + base), len(days), spot, 0.0, vol)
    series = pd.Series(np.round(1 / path if inverse else path, 6), index=days)
    return series.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def to_decimal(value: float, places: str = "0.0001") -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


class SampleProvider(PriceProvider):
    name = "sample"
    sample = True

    def _check(self, symbol: str) -> None:
        if symbol not in SAMPLE_ASSETS:
            raise SymbolNotFound(f"no sample data for {symbol}", provider=self.name, symbol=symbol)

    def history(self, symbols, start, end=None):
        end = end or dt.date.today()  # noqa: DTZ011 - a calendar date in the exchange's sense
        out: dict = {}
        for symbol in symbols:
            try:
                self._check(symbol)
            except SymbolNotFound as exc:
                out[symbol] = exc
                continue
            out[symbol] = History(
                symbol,
                sample_frame(symbol, start, end),
                self.name,
                self.corporate_actions(symbol, start, end),
                sample=True,
            )
        return out

    def latest_quotes(self, symbols):
        out: dict = {}
        today = dt.date.today()  # noqa: DTZ011
        for symbol in symbols:
            try:
                self._check(symbol)
            except SymbolNotFound as exc:
                out[symbol] = exc
                continue
            closes = sample_frame(symbol, today - dt.timedelta(days=10), today)["Close"]
            out[symbol] = Quote(
                symbol=symbol,
                price=to_decimal(closes.iloc[-1]),
                previous_close=to_decimal(closes.iloc[-2]) if len(closes) > 1 else None,
                ts=dt.datetime.combine(closes.index[-1].date(), dt.time(21, 0), tzinfo=dt.UTC),
                currency=SAMPLE_ASSETS[symbol][2],
                source=self.name,
            )
        return out

    def asset_info(self, symbol):
        self._check(symbol)
        name, cls, ccy, sector, country, *_ = SAMPLE_ASSETS[symbol]
        exchange = "XETR" if symbol.endswith(".DE") else "XNYS"
        return AssetInfo(symbol, name, cls, ccy, exchange, sector, country)

    def corporate_actions(self, symbol, start, end=None):
        self._check(symbol)
        end = end or dt.date.today()  # noqa: DTZ011
        splits = pd.Series(dtype="float64")
        if symbol in SPLITS and start <= SPLITS[symbol][0] <= end:
            splits = pd.Series([SPLITS[symbol][1]], index=pd.DatetimeIndex([SPLITS[symbol][0]]))
        return CorporateActions(splits=splits)

    def fx_rates(self, base, quote, start, end=None):
        if (base, quote) not in FX and (quote, base) not in FX:
            raise SymbolNotFound(
                f"no sample FX rates for {base}{quote}", provider=self.name, symbol=f"{base}{quote}=X"
            )
        return sample_fx(base, quote, start, end or dt.date.today())  # noqa: DTZ011
