"""Reads of stored profiles and of the price bars a profile is built from."""

from __future__ import annotations

import pandas as pd

from personal_finance.assets.models import Asset, CorporateAction, PriceBar

from .calendars import calendar_for
from .models import AssetProfile

BAR_COLUMNS = ("date", "open", "high", "low", "close")


def asset_profile(*, asset: Asset) -> AssetProfile | None:
    return AssetProfile.objects.filter(asset=asset).first()


def asset_with_profile(*, symbol: str) -> Asset | None:
    """The asset of ``symbol`` with its stored profile joined in (one query); None when unknown."""
    return Asset.objects.select_related("profile").filter(symbol=(symbol or "").strip().upper()).first()


def asset_calendar(asset: Asset) -> str | None:
    return calendar_for(symbol=asset.symbol, exchange=asset.exchange, asset_class=asset.asset_class)


def asset_price_frame(*, asset: Asset) -> pd.DataFrame:
    """The asset's stored bars as a float DataFrame indexed by date (one query)."""
    rows = list(PriceBar.objects.filter(asset=asset).order_by("date").values_list(*BAR_COLUMNS))
    frame = pd.DataFrame.from_records(rows, columns=list(BAR_COLUMNS))
    index = pd.DatetimeIndex(pd.to_datetime(frame["date"]), name="Date")
    values = frame[list(BAR_COLUMNS[1:])].to_numpy(dtype="float64") if rows else None
    return pd.DataFrame(values, index=index, columns=["Open", "High", "Low", "Close"])


def asset_split_dates(*, asset: Asset) -> list:
    """Ex-dates of the asset's recorded splits (one query)."""
    return list(
        CorporateAction.objects.filter(asset=asset, kind=CorporateAction.Kind.SPLIT).values_list("date", flat=True)
    )
