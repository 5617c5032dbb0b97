"""Writes of shared market data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from personal_finance.contrib.exceptions import ApplicationError

from .models import Asset, AssetClass, FxRate, PriceBar


def normalize_symbol(symbol: str) -> str:
    return (symbol or "").strip().upper()


@transaction.atomic
def asset_create(
    *, symbol: str, name: str = "", asset_class: str = AssetClass.EQUITY, currency: str = "USD", **extra
) -> Asset:
    asset = Asset(
        symbol=normalize_symbol(symbol), name=name, asset_class=asset_class, currency=currency.upper(), **extra
    )
    try:
        asset.full_clean()
    except ValidationError as exc:
        raise ApplicationError("Invalid asset.", errors=exc.message_dict) from None
    asset.save()
    return asset


def asset_get_or_create(*, symbol: str, currency: str = "USD", **defaults) -> tuple[Asset, bool]:
    existing = Asset.objects.filter(symbol=normalize_symbol(symbol)).first()
    if existing is not None:
        return existing, False
    return asset_create(symbol=symbol, currency=currency, **defaults), True


def price_bars_upsert(*, asset: Asset, bars: Iterable[dict], source: str = "") -> int:
    """Insert or update daily bars of one asset (unique on asset and date); returns rows written."""
    objs = [
        PriceBar(
            asset=asset,
            date=bar["date"],
            open=bar.get("open"),
            high=bar.get("high"),
            low=bar.get("low"),
            close=bar["close"],
            adj_close=bar.get("adj_close"),
            volume=bar.get("volume"),
            source=bar.get("source", source),
        )
        for bar in bars
    ]
    with transaction.atomic():
        PriceBar.objects.bulk_create(
            objs,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["asset", "date"],
            update_fields=["open", "high", "low", "close", "adj_close", "volume", "source"],
        )
        price_series_refresh(asset_ids=[asset.pk])
    return len(objs)


def fx_rate_upsert(*, base: str, quote: str, date: dt.date, rate: Decimal, source: str = "") -> FxRate:
    obj, _ = FxRate.objects.update_or_create(
        base=base.upper(), quote=quote.upper(), date=date, defaults={"rate": rate, "source": source}
    )
    return obj


def price_series_refresh(*, asset_ids) -> int:
    """Rebuild the packed price arrays of these assets from their bars (one query for all), and
    tell analytics that their prices changed. Returns the number of series written."""
    import numpy as np
    from django.db.models import F

    from .models import PriceSeries

    asset_ids = sorted(set(asset_ids))
    if not asset_ids:
        return 0
    rows = (
        PriceBar.objects.filter(asset_id__in=asset_ids)
        .order_by("asset_id", "date")
        .values_list("asset_id", "date", "close", F("adj_close"))
    )
    grouped: dict[int, list] = {a: [] for a in asset_ids}
    for asset_id, day, close, adj in rows.iterator(chunk_size=20000):
        grouped[asset_id].append((day.toordinal() - 719163, float(close), float(adj if adj is not None else close)))
    objs = []
    for asset_id, items in grouped.items():
        arr = np.array(items, dtype="float64").reshape(-1, 3)
        objs.append(
            PriceSeries(
                asset_id=asset_id,
                days=arr[:, 0].astype("int32").tobytes(),
                closes=arr[:, 1].tobytes(),
                adj_closes=arr[:, 2].tobytes(),
                bars=len(items),
                first_date=dt.date.fromordinal(int(arr[0, 0]) + 719163) if items else None,
                last_date=dt.date.fromordinal(int(arr[-1, 0]) + 719163) if items else None,
            )
        )
    PriceSeries.objects.bulk_create(
        objs,
        update_conflicts=True,
        unique_fields=["asset"],
        update_fields=["days", "closes", "adj_closes", "bars", "first_date", "last_date", "updated_at"],
    )
    from personal_finance.contrib.signals import prices_changed

    prices_changed.send(sender=PriceSeries, asset_ids=asset_ids)
    return len(objs)
