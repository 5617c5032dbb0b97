"""Reads of shared market data: latest prices and FX rates, with a bounded number of queries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django.db.models import F, OuterRef, QuerySet, Subquery

from .models import Asset, FxRate, PriceBar


class LastPrice(TypedDict):
    last_close: Decimal | None
    last_date: dt.date | None


if TYPE_CHECKING:  # django-stubs-ext is a development dependency: types only
    from typing import TypeAlias

    from django_stubs_ext import WithAnnotations

    # An Asset annotated by ``assets_with_last_price``.
    PricedAsset: TypeAlias = WithAnnotations[Asset, LastPrice]

ONE = Decimal(1)


def asset_list() -> QuerySet[Asset]:
    return Asset.objects.all()


def asset_by_symbol(symbol: str) -> Asset | None:
    return Asset.objects.filter(symbol=symbol.strip().upper()).first()


def price_bars(*, asset: Asset, start: dt.date | None = None, end: dt.date | None = None) -> QuerySet[PriceBar]:
    qs = PriceBar.objects.filter(asset=asset)
    if start:
        qs = qs.filter(date__gte=start)
    if end:
        qs = qs.filter(date__lte=end)
    return qs.order_by("date")


def assets_with_last_price(asset_ids: Iterable[int], *, as_of: dt.date | None = None) -> dict[int, PricedAsset]:
    """Assets keyed by id, annotated with ``last_close`` and ``last_date`` on or before ``as_of``.

    One query: a correlated subquery per asset served by the (asset, date) unique index.
    """
    bars = PriceBar.objects.filter(asset=OuterRef("pk"))
    if as_of is not None:
        bars = bars.filter(date__lte=as_of)
    bars = bars.order_by("-date")
    qs = Asset.objects.filter(pk__in=list(asset_ids)).annotate(
        last_close=Subquery(bars.values("close")[:1]),
        last_date=Subquery(bars.values("date")[:1]),
    )
    return {asset.pk: asset for asset in qs}


def fx_rate(from_currency: str, to_currency: str, on: dt.date) -> Decimal | None:
    """Units of ``to_currency`` per unit of ``from_currency`` on ``on`` (latest rate on or before).

    Uses the direct pair, else its inverse, else a cross through USD. None when no rate is stored.
    """
    if from_currency == to_currency:
        return ONE
    direct = _stored_rate(from_currency, to_currency, on)
    if direct is not None:
        return direct
    if "USD" not in (from_currency, to_currency):
        a = fx_rate(from_currency, "USD", on)
        b = fx_rate("USD", to_currency, on) if a is not None else None
        if a is not None and b is not None:
            return a * b
    return None


def _stored_rate(base: str, quote: str, on: dt.date) -> Decimal | None:
    rows = list(
        FxRate.objects.filter(base__in=(base, quote), quote__in=(base, quote), date__lte=on)
        .exclude(base=F("quote"))
        .order_by("-date")
        .values_list("base", "rate")[:2]
    )
    for row_base, rate in rows:
        return rate if row_base == base else ONE / rate
    return None


def fx_rates_to(currencies, to_currency: str, on: dt.date) -> dict[str, Decimal | None]:
    """Rates for several currencies into one; one or two queries per distinct currency."""
    return {ccy: fx_rate(ccy, to_currency, on) for ccy in set(currencies)}


@dataclass(frozen=True, slots=True)
class Mark:
    """One quantity of an asset marked to market in a base currency."""

    asset: PricedAsset  # with ``last_close`` and ``last_date``
    quantity: Decimal
    price: Decimal | None  # the override, else the last close on or before the valuation date
    price_date: dt.date | None  # the last close's date (the valuation date for an override)
    fx_rate: Decimal | None  # base units per unit of the asset's currency on the valuation date
    market_value: Decimal | None  # quantity x price x fx_rate; None when the price or the rate is missing


def mark_to_market(
    quantities: Iterable[tuple[int, Decimal]],
    *,
    base_currency: str,
    as_of: dt.date,
    overrides: Mapping[str, Decimal] | None = None,
    assets: Mapping[int, PricedAsset] | None = None,
) -> list[Mark]:
    """Each ``(asset id, quantity)`` at its last price on or before ``as_of`` (or its symbol's
    price in ``overrides``), converted into ``base_currency`` at the rate of ``as_of``; in the
    order given.

    Queries: one for the last prices (none when ``assets``, from ``assets_with_last_price``, is
    given) and one or two per distinct foreign currency; they do not grow with the quantities.
    """
    quantities = list(quantities)
    if not quantities:
        return []
    overrides = overrides or {}
    if assets is None:
        assets = assets_with_last_price({asset_id for asset_id, _ in quantities}, as_of=as_of)
    rates = fx_rates_to({assets[asset_id].currency for asset_id, _ in quantities}, base_currency, as_of)
    marks = []
    for asset_id, quantity in quantities:
        asset = assets[asset_id]
        price, price_date = asset.last_close, asset.last_date
        if asset.symbol in overrides:
            price, price_date = overrides[asset.symbol], as_of
        rate = rates[asset.currency]
        value = None if price is None or rate is None else quantity * price * rate
        marks.append(Mark(asset, quantity, price, price_date, rate, value))
    return marks
