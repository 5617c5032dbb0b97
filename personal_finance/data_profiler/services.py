"""Writes: run the profiler over an asset's stored prices and keep the result."""

from __future__ import annotations

import logging

from django.utils import timezone

from personal_finance.assets.models import Asset

from .calendars import resolve_calendar
from .checks import ERROR, WARNING, count_by_severity, profile_frame
from .models import AssetProfile
from .selectors import asset_calendar, asset_price_frame, asset_split_dates

logger = logging.getLogger("personal_finance.data_profiler")


def profile_asset(asset: Asset, *, calendar: str | None = None) -> AssetProfile:
    """Profile the asset's stored price bars and store the result (one profile per asset).

    The calendar comes from the asset (exchange, symbol suffix, asset class) unless given
    (``"none"`` for no gap check). Recorded splits are passed as known, so an as-traded close
    jump on an ex-date is not reported. Three queries: the bars, the splits, one upsert.
    """
    calendar = asset_calendar(asset) if calendar is None else resolve_calendar(calendar)
    report = profile_frame(
        asset_price_frame(asset=asset), calendar=calendar, known_splits=asset_split_dates(asset=asset)
    )
    counts = count_by_severity(report)
    profile = AssetProfile(
        asset=asset,
        report=report,
        calendar=calendar or "",
        checked_at=timezone.now(),
        errors=counts[ERROR],
        warnings=counts[WARNING],
    )
    # One statement (INSERT ... ON CONFLICT DO UPDATE): concurrent runs cannot collide.
    AssetProfile.objects.bulk_create(
        [profile],
        update_conflicts=True,
        unique_fields=["asset"],
        update_fields=["report", "calendar", "checked_at", "errors", "warnings"],
    )
    logger.info(
        "profiled %s: %s rows, %s errors, %s warnings", asset.symbol, report["rows"], profile.errors, profile.warnings
    )
    return profile
