"""Yahoo Finance through yfinance.

``YahooClient`` is the thin layer that talks to yfinance and returns plain data (frames, dicts)
plus what yfinance only logs (per-symbol failures). Tests and the offline machines replay a
recorded cassette through ``cassette.ReplayClient`` instead; ``record_yahoo_cassettes`` records
one on a machine with network. ``YahooProvider`` maps those results to our types and errors.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from decimal import Decimal

import pandas as pd

from .base import (
    AssetInfo,
    CorporateActions,
    History,
    PriceProvider,
    ProviderDown,
    ProviderError,
    Quote,
    RateLimited,
    SymbolNotFound,
    normalise_bars,
)

logger = logging.getLogger("personal_finance.data_sources")

_DOWN = re.compile(r"resolve host|failed to perform|timed out|timeout|connection|ssl|50[0-9]|curl", re.IGNORECASE)
_LIMIT = re.compile(r"too many requests|rate limit|429", re.IGNORECASE)
_FAILED_LINE = re.compile(r"^\[(?P<symbols>[^\]]*)\]: (?P<reason>.*)$", re.DOTALL)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _failures_from_log(messages: list[str]) -> dict[str, str]:
    """yfinance logs failed symbols as "['A', 'B']: Reason" instead of raising: collect them."""
    failures: dict[str, str] = {}
    for message in messages:
        for line in message.splitlines():
            match = _FAILED_LINE.match(line.strip())
            if match:
                for symbol in re.findall(r"'([^']+)'", match.group("symbols")):
                    failures[symbol] = match.group("reason")
            m = re.match(r"Failed to get ticker '([^']+)' reason: (.*)", line.strip())
            if m:
                failures.setdefault(m.group(1), m.group(2))
    return failures


class YahooClient:
    """Calls yfinance. Each method returns JSON-friendly data so a cassette can record it."""

    _lock = threading.Lock()

    def download(self, symbols: list[str], start: dt.date, end: dt.date | None) -> dict:
        import yfinance as yf  # noqa: PLC0415 - 1.4 s to import; loaded only when Yahoo is really called

        capture = _Capture()
        yf_logger = logging.getLogger("yfinance")
        with self._lock:  # yfinance keeps per-download state in module globals
            yf_logger.addHandler(capture)
            try:
                frame = yf.download(
                    symbols,
                    start=start.isoformat(),
                    end=(end + dt.timedelta(days=1)).isoformat() if end else None,
                    group_by="ticker",
                    auto_adjust=False,
                    actions=True,
                    threads=False,
                    progress=False,
                    timeout=10,
                )
            except Exception as exc:  # noqa: BLE001 - recorded and classified by the provider
                return {"frames": {}, "failures": dict.fromkeys(symbols, f"{type(exc).__name__}: {exc}")}
            finally:
                yf_logger.removeHandler(capture)
        failures = _failures_from_log(capture.messages)
        frames = {}
        if isinstance(frame.columns, pd.MultiIndex):
            for symbol in frame.columns.get_level_values(0).unique():
                sub = frame[symbol].dropna(how="all")
                if not sub.empty:
                    frames[str(symbol)] = _frame_to_json(sub)
        elif not frame.empty and len(symbols) == 1:
            frames[symbols[0]] = _frame_to_json(frame.dropna(how="all"))
        return {"frames": frames, "failures": failures}

    def quote(self, symbol: str) -> dict:
        import yfinance as yf  # noqa: PLC0415 - 1.4 s to import; loaded only when Yahoo is really called

        try:
            info = yf.Ticker(symbol).fast_info
            return {
                "last_price": float(info["lastPrice"]),
                "previous_close": float(info["previousClose"]) if info.get("previousClose") else None,
                "currency": info.get("currency") or "",
            }
        except Exception as exc:  # noqa: BLE001 - recorded and classified by the provider
            return {"error": f"{type(exc).__name__}: {exc}"}

    def info(self, symbol: str) -> dict:
        import yfinance as yf  # noqa: PLC0415 - 1.4 s to import; loaded only when Yahoo is really called

        try:
            data = yf.Ticker(symbol).info or {}
        except Exception as exc:  # noqa: BLE001
            return {"error": f"{type(exc).__name__}: {exc}"}
        keep = ("shortName", "longName", "quoteType", "currency", "exchange", "sector", "country", "isin")
        return {k: data.get(k) for k in keep if data.get(k) is not None}


def _frame_to_json(frame: pd.DataFrame) -> dict:
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_convert(None)
    return {
        "index": [d.date().isoformat() for d in index],
        "columns": {str(c): [None if pd.isna(v) else float(v) for v in frame[c]] for c in frame.columns},
    }


def frame_from_json(data: dict) -> pd.DataFrame:
    index = pd.DatetimeIndex(pd.to_datetime(data["index"]), name="Date")
    return pd.DataFrame(
        {k: pd.array(v, dtype="Float64").astype("float64") for k, v in data["columns"].items()}, index=index
    )


def classify(provider: str, symbol: str, reason: str) -> ProviderError:
    if _LIMIT.search(reason):
        return RateLimited(f"Yahoo rate limited: {reason}", provider=provider, symbol=symbol)
    if _DOWN.search(reason):
        return ProviderDown(f"Yahoo unreachable: {reason}", provider=provider, symbol=symbol)
    return SymbolNotFound(f"Yahoo has no data for {symbol}: {reason}", provider=provider, symbol=symbol)


ASSET_CLASSES = {
    "EQUITY": "equity",
    "ETF": "etf",
    "MUTUALFUND": "fund",
    "CRYPTOCURRENCY": "crypto",
    "CURRENCY": "fx",
    "INDEX": "other",
}


class YahooProvider(PriceProvider):
    name = "yahoo"

    def __init__(self, client=None, batch_size: int = 50):
        self.client = client or YahooClient()
        self.batch_size = batch_size

    def history(self, symbols, start, end=None):
        results: dict = {}
        for i in range(0, len(symbols), self.batch_size):
            batch = symbols[i : i + self.batch_size]
            payload = self.client.download(batch, start, end)
            if not isinstance(payload, dict) or "frames" not in payload:
                raise ProviderDown("Yahoo returned a payload we cannot read", provider=self.name)
            for symbol in batch:
                raw = payload["frames"].get(symbol)
                if raw is not None:
                    try:
                        frame = frame_from_json(raw)
                        bars = normalise_bars(frame)
                    except (KeyError, TypeError, ValueError) as exc:
                        results[symbol] = ProviderDown(
                            f"malformed Yahoo data for {symbol}: {exc}", provider=self.name, symbol=symbol
                        )
                        continue
                    if "Close" not in bars.columns:
                        results[symbol] = ProviderDown(
                            f"malformed Yahoo data for {symbol}: no Close column", provider=self.name, symbol=symbol
                        )
                        continue
                    actions = CorporateActions(
                        splits=_nonzero(frame.get("Stock Splits")),
                        dividends=_nonzero(frame.get("Dividends")),
                    )
                    results[symbol] = History(symbol, bars, self.name, actions)
                elif symbol in payload["failures"]:
                    results[symbol] = classify(self.name, symbol, payload["failures"][symbol])
                else:
                    # No rows and no complaint: the symbol exists but has no bars in the range.
                    results[symbol] = History(
                        symbol, pd.DataFrame(columns=["Open", "High", "Low", "Close"]), self.name
                    )
        return results

    def latest_quotes(self, symbols):
        out: dict = {}
        now = dt.datetime.now(dt.UTC)
        for symbol in symbols:
            data = self.client.quote(symbol)
            if "error" in data:
                out[symbol] = classify(self.name, symbol, data["error"])
                continue
            try:
                price = Decimal(repr(float(data["last_price"])))
                prev = data.get("previous_close")
                out[symbol] = Quote(
                    symbol=symbol,
                    price=price,
                    previous_close=Decimal(repr(float(prev))) if prev else None,
                    ts=now,
                    currency=data.get("currency", ""),
                    source=self.name,
                )
            except (KeyError, TypeError, ValueError) as exc:
                out[symbol] = ProviderDown(
                    f"malformed Yahoo quote for {symbol}: {exc}", provider=self.name, symbol=symbol
                )
        return out

    def asset_info(self, symbol):
        data = self.client.info(symbol)
        if "error" in data:
            raise classify(self.name, symbol, data["error"])
        if not data:
            raise SymbolNotFound(f"Yahoo has no information for {symbol}", provider=self.name, symbol=symbol)
        return AssetInfo(
            symbol=symbol,
            name=data.get("longName") or data.get("shortName") or "",
            asset_class=ASSET_CLASSES.get(str(data.get("quoteType", "")).upper(), "other"),
            currency=str(data.get("currency") or "").upper(),
            exchange=data.get("exchange") or "",
            sector=data.get("sector") or "",
            country=data.get("country") or "",
            isin=str(data.get("isin") or "").replace("-", ""),
        )

    def corporate_actions(self, symbol, start, end=None):
        result = self.history([symbol], start, end)[symbol]
        if isinstance(result, ProviderError):
            raise result
        return result.actions

    def fx_rates(self, base, quote, start, end=None):
        symbol = f"{base}{quote}=X"
        result = self.history([symbol], start, end)[symbol]
        if isinstance(result, ProviderError):
            raise result
        return result.bars["Close"]


def _nonzero(series) -> pd.Series:
    if series is None:
        return pd.Series(dtype="float64")
    s = pd.Series(series).dropna()
    s = s[s != 0]
    index = pd.DatetimeIndex(s.index)
    if index.tz is not None:
        index = index.tz_convert(None)
    return pd.Series(s.to_numpy(dtype="float64"), index=index.normalize())
