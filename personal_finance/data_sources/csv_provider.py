"""Prices from CSV files in a folder: ``<PRICE_CSV_DIR>/<SYMBOL>.csv`` in the price CSV format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pandas as pd

from .base import History, PriceProvider, ProviderDown, Quote, SymbolNotFound, normalise_bars
from .price_csv import PriceCSVError, read_price_csv


class CSVProvider(PriceProvider):
    name = "csv"

    def __init__(self, directory: str | Path | None):
        self.directory = Path(directory) if directory else None

    def _path(self, symbol: str) -> Path | None:
        if self.directory is None:
            return None
        safe = "".join(ch for ch in symbol if ch.isalnum() or ch in ".-=^_")
        path = self.directory / f"{safe}.csv"
        return path if path.is_file() else None

    def _load(self, symbol: str) -> pd.DataFrame:
        path = self._path(symbol)
        if path is None:
            raise SymbolNotFound(f"no CSV file for {symbol}", provider=self.name, symbol=symbol)
        try:
            return normalise_bars(read_price_csv(path))
        except PriceCSVError as exc:
            raise ProviderDown(str(exc), provider=self.name, symbol=symbol) from None

    def history(self, symbols, start, end=None):
        out: dict = {}
        for symbol in symbols:
            try:
                frame = self._load(symbol)
            except (SymbolNotFound, ProviderDown) as exc:
                out[symbol] = exc
                continue
            out[symbol] = History(
                symbol, frame.loc[pd.Timestamp(start) : pd.Timestamp(end) if end else None], self.name
            )
        return out

    def latest_quotes(self, symbols):
        out: dict = {}
        for symbol in symbols:
            try:
                closes = self._load(symbol)["Close"]
            except (SymbolNotFound, ProviderDown) as exc:
                out[symbol] = exc
                continue
            out[symbol] = Quote(
                symbol=symbol,
                price=_dec(closes.iloc[-1]),
                previous_close=_dec(closes.iloc[-2]) if len(closes) > 1 else None,
                ts=dt.datetime.combine(closes.index[-1].date(), dt.time(21, 0), tzinfo=dt.UTC),
                source=self.name,
            )
        return out


def _dec(value):
    return Decimal(repr(float(value)))
