"""The demo data of ``seed_demo``: a realistic portfolio that works offline.

Prices here are a generated *sample* (a seeded random walk per asset, labelled ``source="sample"``
in every bar), so the demo runs with no network; the market-data providers replace them with real
prices when they can reach a source.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

SAMPLE_SOURCE = "sample"
START = dt.date(2021, 1, 4)

# symbol: (name, class, currency, sector, country, start price, annual drift, annual vol, dividend/share/quarter)
DEMO_ASSETS = {
    "AAPL": ("Apple Inc.", "equity", "USD", "Technology", "United States", 130.0, 0.12, 0.28, Decimal("0.23")),
    "MSFT": (
        "Microsoft Corporation",
        "equity",
        "USD",
        "Technology",
        "United States",
        220.0,
        0.14,
        0.26,
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
}
SPLITS = {"NVDA": (dt.date(2024, 6, 10), Decimal(10))}
FX_PAIR = ("EUR", "USD", 1.22, 0.07)


def _bdays(start: dt.date, end: dt.date):
    import pandas as pd

    return pd.bdate_range(start, end)


def _seed(symbol: str) -> int:
    return int(hashlib.sha256(symbol.encode()).hexdigest()[:8], 16)


def sample_path(symbol: str, days: int, start: float, drift: float, vol: float) -> np.ndarray:
    """Closes of a seeded geometric random walk; the first ``days`` values never change."""
    rng = np.random.default_rng(_seed(symbol))
    shocks = rng.standard_normal(days)
    daily = (drift - 0.5 * vol**2) / 252 + vol / np.sqrt(252) * shocks
    return start * np.exp(np.cumsum(daily))


def q(value: float, places: str = "0.0001") -> Decimal:
    return Decimal(repr(float(value))).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def sample_bars(symbol: str, end: dt.date) -> list[dict]:
    _name, _cls, _ccy, _sector, _country, start, drift, vol, _div = DEMO_ASSETS[symbol]
    days = list(_bdays(START, end))
    closes = sample_path(symbol, len(days), start, drift, vol)
    split = SPLITS.get(symbol)
    rng = np.random.default_rng(_seed(symbol) + 1)
    spread = np.abs(rng.normal(0, vol / np.sqrt(252) / 2, size=(len(days), 3)))
    bars = []
    prev = closes[0]
    for i, day in enumerate(days):
        close = closes[i]
        factor = 1.0
        if split and day.date() < split[0]:
            factor = float(split[1])  # traded (unadjusted) prices before the split are higher
        open_ = prev * (1 + rng.normal(0, 0.002))
        high = max(open_, close) * (1 + spread[i, 0])
        low = min(open_, close) * (1 - spread[i, 1])
        bars.append(
            {
                "date": day.date(),
                "open": q(open_ * factor),
                "high": q(high * factor),
                "low": q(low * factor),
                "close": q(close * factor),
                "adj_close": q(close),
                "volume": int(1_000_000 * (1 + spread[i, 2] * 50)),
                "source": SAMPLE_SOURCE,
            }
        )
        prev = close
    return bars


def sample_fx(end: dt.date) -> list[tuple[dt.date, Decimal]]:
    days = list(_bdays(START, end))
    base, quote, start, vol = FX_PAIR
    path = sample_path(base + quote, len(days), start, 0.0, vol)
    return [(d.date(), q(v, "0.000001")) for d, v in zip(days, path, strict=True)]


def demo_transactions_csv(end: dt.date, closes: dict[str, dict[dt.date, Decimal]], fx: dict[dt.date, Decimal]) -> str:
    """A few years of realistic activity as a native-format CSV (deterministic, idempotent ids)."""
    rows: list[tuple] = []
    held: dict[str, Decimal] = {}
    n = 0

    def add(date, type_, symbol="", quantity="", price="", fees="", amount="", currency="USD", note=""):
        nonlocal n
        n += 1
        rows.append(
            (
                date.isoformat(),
                type_,
                symbol,
                str(quantity),
                str(price),
                str(fees),
                str(amount),
                currency,
                f"demo-{n:05d}",
                note,
            )
        )

    def trade(date, type_, symbol, quantity, fees=Decimal("1.00")):
        quantity = Decimal(quantity)
        ccy = DEMO_ASSETS[symbol][2]
        add(date, type_, symbol, quantity, closes[symbol][date], fees, "", ccy)
        held[symbol] = held.get(symbol, Decimal(0)) + (quantity if type_ == "buy" else -quantity)

    days = [d.date() for d in _bdays(START, end)]
    first = days[1]
    add(first, "deposit", amount=Decimal(60000), note="initial deposit")
    for symbol, qty in (("AAPL", 60), ("MSFT", 40), ("VTI", 50), ("BND", 120), ("NVDA", 100), ("SAP.DE", 30)):
        trade(first, "buy", symbol, qty)
    month = None
    quarter_paid = set()
    split_done = set()
    for day in days[2:]:
        for symbol, (split_day, ratio) in SPLITS.items():
            if day >= split_day and symbol not in split_done and held.get(symbol):
                add(day, "split", symbol, ratio, note=f"{ratio}:1 split")
                held[symbol] *= ratio
                split_done.add(symbol)
        if (day.year, day.month) != month:
            month = (day.year, day.month)
            add(day, "deposit", amount=Decimal(1000), note="monthly saving")
            trade(day, "buy", "VTI", 4, fees=Decimal(0))
            add(day, "interest", amount=Decimal("3.50"), note="cash interest")
            if day.month == 1:
                add(day, "fee", amount=Decimal(25), note="annual account fee")
        if day.month in (3, 6, 9, 12) and day.day >= 15 and (day.year, day.month) not in quarter_paid:
            quarter_paid.add((day.year, day.month))
            for symbol, spec in DEMO_ASSETS.items():
                per_share = spec[8]
                if per_share and held.get(symbol):
                    amount = (held[symbol] * per_share).quantize(Decimal("0.01"))
                    add(day, "dividend", symbol, amount=amount, currency=spec[2], note="quarterly dividend")
        if day == _on_or_after(days, dt.date(2022, 9, 1)):
            trade(day, "sell", "BND", held["BND"])  # sell the whole position ...
        if day == _on_or_after(days, dt.date(2023, 3, 1)):
            trade(day, "buy", "BND", 80)  # ... and re-enter it later
        if day == _on_or_after(days, dt.date(2023, 6, 15)):
            trade(day, "sell", "MSFT", 20)
        if day == _on_or_after(days, dt.date(2024, 11, 4)):
            trade(day, "buy", "AAPL", 15)
    header = "date,type,symbol,quantity,price,fees,amount,currency,external_id,note"
    lines = [header] + [",".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def _on_or_after(days: list[dt.date], target: dt.date) -> dt.date | None:
    import bisect

    i = bisect.bisect_left(days, target)
    return days[i] if i < len(days) else None
