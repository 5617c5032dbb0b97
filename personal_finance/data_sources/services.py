"""Market-data services: fetch through the provider chain, validate, store. Tasks and commands
call these; each symbol is its own transaction, so a failure loses nothing of the others."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from personal_finance.assets.models import Asset, AssetClass, FxRate
from personal_finance.assets.services import asset_get_or_create, normalize_symbol, quote_record

from .base import ProviderError, ProviderUnavailable, SymbolNotFound
from .chain import ProviderChain, build_chain
from .ingest import IngestRefused, ingest_history

logger = logging.getLogger("personal_finance.data_sources")


def default_start() -> dt.date:
    return dt.date.fromisoformat(settings.MARKET_DATA.get("HISTORY_START", "2021-01-01"))


def _ensure_asset(symbol: str, chain: ProviderChain) -> Asset:
    asset = Asset.objects.filter(symbol=symbol).first()
    if asset is not None:
        return asset
    try:
        info = chain.asset_info(symbol)
        fields = {k: v for k, v in info.__dict__.items() if k != "symbol" and v}
    except ProviderError:
        fields = {}
    currency = fields.pop("currency", "USD")
    if fields.get("asset_class") not in AssetClass.values:
        fields.pop("asset_class", None)
    return asset_get_or_create(symbol=symbol, currency=currency, **fields)[0]


def fetch_prices(
    *,
    symbols: list[str],
    start: dt.date | None = None,
    end: dt.date | None = None,
    partial: bool = False,
    chain: ProviderChain | None = None,
) -> dict:
    """Fetch daily history for ``symbols`` and store it. Returns a per-symbol report:
    ``{"symbols": {SYM: {...ingest result...} | {"error": ..., "error_type": ...}}, "ok": n, "failed": n}``.
    """
    chain = chain or build_chain()
    symbols = [normalize_symbol(s) for s in symbols if normalize_symbol(s)]
    start = start or default_start()
    results = chain.history(symbols, start, end)
    report: dict[str, dict] = {}
    for symbol in symbols:
        result = results[symbol]
        if isinstance(result, ProviderError):
            report[symbol] = {"error": str(result), "error_type": type(result).__name__}
            logger.warning("fetch %s failed: %s", symbol, result)
            continue
        try:
            with transaction.atomic():
                asset = _ensure_asset(symbol, chain)
                report[symbol] = ingest_history(asset=asset, history=result, partial=partial).as_dict()
        except IngestRefused as exc:
            report[symbol] = {"error": exc.message, "error_type": "IngestRefused", "rows": exc.errors}
        except Exception as exc:
            logger.exception("storing %s failed", symbol)
            report[symbol] = {"error": f"{type(exc).__name__}: {exc}", "error_type": type(exc).__name__}
    ok = sum(1 for r in report.values() if "error" not in r)
    return {"symbols": report, "ok": ok, "failed": len(report) - ok}


def fetch_fx(*, base: str, quote: str, start: dt.date | None = None, end: dt.date | None = None, chain=None) -> dict:
    chain = chain or build_chain()
    series, provider = chain.fx_rates(base.upper(), quote.upper(), start or default_start(), end)
    rows = [
        FxRate(
            base=base.upper(), quote=quote.upper(), date=ts.date(), rate=Decimal(repr(float(v))), source=provider.name
        )
        for ts, v in series.dropna().items()
        if v > 0
    ]
    with transaction.atomic():
        FxRate.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["base", "quote", "date"],
            update_fields=["rate", "source"],
        )
    return {"pair": f"{base}{quote}", "rows": len(rows), "source": provider.name, "sample": provider.sample}


# Where the symbols worth keeping up to date come from: each source returns symbols. The portfolios
# app registers the symbols held in any ledger from its AppConfig.ready(); data_sources never imports
# the ledger.
SYMBOL_SOURCES: list[Callable[[], Iterable[str]]] = []


def register_symbol_source(source: Callable[[], Iterable[str]]) -> None:
    if source not in SYMBOL_SOURCES:
        SYMBOL_SOURCES.append(source)


def held_symbols() -> list[str]:
    """Every symbol a registered source wants (by default: those in any portfolio's ledger)."""
    return sorted({symbol for source in SYMBOL_SOURCES for symbol in source()})


def update_latest_quotes(*, symbols: list[str] | None = None, chain: ProviderChain | None = None) -> dict:
    """Store the latest quote of each symbol as (or into) its bar of the quote's day; each new or
    changed one reaches the WebSocket subscribers after commit (``quote_record``)."""
    chain = chain or build_chain()
    symbols = symbols if symbols is not None else held_symbols()
    quotes = chain.latest_quotes(symbols) if symbols else {}
    stored, failed = {}, {}
    assets = {a.symbol: a for a in Asset.objects.filter(symbol__in=symbols)}
    for symbol, quote in quotes.items():
        if isinstance(quote, ProviderError) or symbol not in assets:
            failed[symbol] = str(quote) if isinstance(quote, ProviderError) else "unknown asset"
            continue
        saved = quote_record(
            asset=assets[symbol],
            price=quote.price,
            ts=quote.ts,
            source=quote.source,
            previous_close=quote.previous_close,
            simulated=quote.simulated,
        )
        stored[symbol] = {"price": str(quote.price), "date": saved.day.isoformat(), "source": quote.source}
    return {"stored": stored, "failed": failed, "at": timezone.now().isoformat()}


__all__ = [
    "ProviderUnavailable",
    "SymbolNotFound",
    "fetch_fx",
    "fetch_prices",
    "held_symbols",
    "register_symbol_source",
    "update_latest_quotes",
]
