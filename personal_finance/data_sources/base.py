"""The market-data adapter interface, its value types and its typed errors (no Django import)."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

PRICE_COLUMNS = ("Open", "High", "Low", "Close", "Adj Close", "Volume")


class ProviderError(Exception):
    """Base of every provider failure. ``transient`` errors are retried and count against the
    provider's circuit breaker; the others (an unknown symbol) are answers, not outages."""

    transient = False

    def __init__(self, message: str, *, provider: str = "", symbol: str = ""):
        super().__init__(message)
        self.provider = provider
        self.symbol = symbol


class SymbolNotFound(ProviderError):
    """The provider does not know the symbol (or has no data for it at all)."""


class RateLimited(ProviderError):
    transient = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ProviderDown(ProviderError):
    """Network failure, timeout, HTTP 5xx or a payload we cannot read."""

    transient = True


class ProviderUnavailable(ProviderError):
    """Every provider of the chain failed or is skipped (circuit open)."""

    transient = True


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: Decimal
    previous_close: Decimal | None
    ts: dt.datetime
    currency: str = ""
    source: str = ""
    simulated: bool = False

    @property
    def change_pct(self) -> Decimal | None:
        if not self.previous_close:
            return None
        return (self.price / self.previous_close - 1) * 100


@dataclass(frozen=True)
class AssetInfo:
    symbol: str
    name: str = ""
    asset_class: str = ""
    currency: str = ""
    exchange: str = ""
    sector: str = ""
    country: str = ""
    isin: str = ""


@dataclass(frozen=True)
class CorporateActions:
    splits: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))  # date -> ratio
    dividends: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))  # date -> cash/share


@dataclass
class History:
    """Daily bars of one symbol: Open/High/Low/Close[/Adj Close/Volume] on a DatetimeIndex."""

    symbol: str
    bars: pd.DataFrame
    source: str
    actions: CorporateActions = field(default_factory=CorporateActions)
    sample: bool = False


class PriceProvider(ABC):
    """One source of market data. Methods raise ProviderError subclasses, never bare errors."""

    name: str = "provider"
    sample: bool = False  # True for data that is not real market data

    @abstractmethod
    def history(
        self, symbols: list[str], start: dt.date, end: dt.date | None = None
    ) -> dict[str, History | ProviderError]:
        """Daily history per symbol; a symbol's value is its History or the error it met."""

    @abstractmethod
    def latest_quotes(self, symbols: list[str]) -> dict[str, Quote | ProviderError]: ...

    def asset_info(self, symbol: str) -> AssetInfo:
        raise SymbolNotFound(f"{self.name} has no asset information", provider=self.name, symbol=symbol)

    def corporate_actions(self, symbol: str, start: dt.date, end: dt.date | None = None) -> CorporateActions:
        return CorporateActions()

    def fx_rates(self, base: str, quote: str, start: dt.date, end: dt.date | None = None) -> pd.Series:
        raise SymbolNotFound(
            f"{self.name} has no FX rates for {base}{quote}", provider=self.name, symbol=f"{base}{quote}=X"
        )


def normalise_bars(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the known columns, a tz-naive sorted date index and rows with a close."""
    frame = frame.rename(
        columns={c: str(c).title() if str(c).lower() != "adj close" else "Adj Close" for c in frame.columns}
    )
    cols = [c for c in PRICE_COLUMNS if c in frame.columns]
    out = frame[cols].apply(pd.to_numeric, errors="coerce")
    index = pd.DatetimeIndex(out.index)
    if index.tz is not None:
        index = index.tz_convert(None)
    out.index = index.normalize()
    out.index.name = "Date"
    out = out[out["Close"].notna()] if "Close" in out.columns else out.iloc[0:0]
    return out.sort_index()
