"""Celery tasks (docs/contracts.md §3): thin wrappers around the market-data services."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from .base import ProviderUnavailable
from .services import fetch_prices, held_symbols, update_latest_quotes

logger = logging.getLogger("personal_finance.data_sources")


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ProviderUnavailable,),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=5,
)
def fetch_market_data(self, symbols: list[str] | None = None, start: str | None = None, partial: bool = False) -> dict:
    """Daily history for ``symbols`` (default: every held symbol). Idempotent: bars are upserted."""
    symbols = symbols or held_symbols()
    report = fetch_prices(symbols=symbols, start=dt.date.fromisoformat(start) if start else None, partial=partial)
    unavailable = [s for s, r in report["symbols"].items() if r.get("error_type") == "ProviderUnavailable"]
    if unavailable and len(unavailable) == len(symbols):
        raise ProviderUnavailable(f"no provider reachable for {', '.join(unavailable)}")
    logger.info("fetch_market_data: %d ok, %d failed", report["ok"], report["failed"])
    return report


@shared_task(
    bind=True, acks_late=True, autoretry_for=(ProviderUnavailable,), retry_backoff=5, retry_jitter=True, max_retries=3
)
def update_asset_prices(self, symbols: list[str] | None = None) -> dict:
    """Latest quotes for every held symbol (high queue). Idempotent: the day's bar is upserted."""
    report = update_latest_quotes(symbols=symbols)
    logger.info("update_asset_prices: %d stored, %d failed", len(report["stored"]), len(report["failed"]))
    return report
