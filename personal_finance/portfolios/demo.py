"""The demo data of ``seed_demo``: a realistic portfolio of a few years of activity.

Prices come from the provider chain (real quotes when a provider is reachable, else the bundled
sample set, labelled ``sample``); this module only writes the transactions, as a native CSV.
"""

from __future__ import annotations

import bisect
import datetime as dt
from decimal import Decimal

import pandas as pd

from personal_finance.data_sources.sample import SAMPLE_ASSETS, SPLITS, START

DEMO_SYMBOLS = ("AAPL", "MSFT", "NVDA", "VTI", "BND", "SAP.DE")
SPLIT_RATIOS = {symbol: (day, Decimal(int(ratio))) for symbol, (day, ratio) in SPLITS.items()}


def demo_transactions_csv(end: dt.date, closes: dict[str, dict[dt.date, Decimal]]) -> str:
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
        ccy = SAMPLE_ASSETS[symbol][2]
        add(date, type_, symbol, quantity, _price_on(closes[symbol], date), fees, "", ccy)
        held[symbol] = held.get(symbol, Decimal(0)) + (quantity if type_ == "buy" else -quantity)

    days = [d.date() for d in pd.bdate_range(START, end)]
    first = days[1]
    add(first, "deposit", amount=Decimal(60000), note="initial deposit")
    for symbol, qty in (("AAPL", 60), ("MSFT", 40), ("VTI", 50), ("BND", 120), ("NVDA", 100), ("SAP.DE", 30)):
        trade(first, "buy", symbol, qty)
    month = None
    quarter_paid = set()
    split_done = set()
    for day in days[2:]:
        for symbol, (split_day, ratio) in SPLIT_RATIOS.items():
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
            for symbol in DEMO_SYMBOLS:
                spec = SAMPLE_ASSETS[symbol]
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


def _price_on(closes: dict[dt.date, Decimal], day: dt.date) -> Decimal:
    """The close of ``day``, or of the last earlier day with a close (holidays of real data)."""
    if day in closes:
        return closes[day]
    earlier = [d for d in closes if d <= day]
    return closes[max(earlier)] if earlier else closes[min(closes)]


def _on_or_after(days: list[dt.date], target: dt.date) -> dt.date | None:
    i = bisect.bisect_left(days, target)
    return days[i] if i < len(days) else None
