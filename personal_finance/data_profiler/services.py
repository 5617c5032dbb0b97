"""Writes: run the profiler over an asset's stored prices and keep the result."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from personal_finance.assets.models import Asset

from .checks import count_by_severity, profile_frame
from .models import AssetProfile
from .selectors import asset_calendar, asset_price_frame, asset_split_dates

logger = logging.getLogger("personal_finance.data_profiler")


@transaction.atomic
def profile_asset(asset: Asset, *, calendar: str | None = None) -> AssetProfile:
    """Profile the asset's stored price bars and store the result (one profile per asset).

    The calendar comes from the asset (exchange, symbol suffix, asset class) unless given.
    Recorded splits are passed as known, so an as-traded close jump on an ex-date is not reported.
    """
    calendar = calendar if calendar is not None else asset_calendar(asset)
    report = profile_frame(
        asset_price_frame(asset=asset), calendar=calendar, known_splits=asset_split_dates(asset=asset)
    )
    counts = count_by_severity(report)
    profile, _ = AssetProfile.objects.update_or_create(
        asset=asset,
        defaults={
            "report": report,
            "calendar": calendar or "",
            "checked_at": timezone.now(),
            "errors": counts["error"],
            "warnings": counts["warning"],
        },
    )
    logger.info(
        "profiled %s: %s rows, %s errors, %s warnings", asset.symbol, report["rows"], profile.errors, profile.warnings
    )
    return profile
