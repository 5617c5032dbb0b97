"""Factories of the shared reference data (the lowest domain layer: other apps' tests import these)."""

import datetime as dt
from decimal import Decimal

import factory

from personal_finance.assets.models import Asset, CorporateAction, FxRate, PriceBar


class AssetFactory(factory.django.DjangoModelFactory):
    symbol = factory.Sequence(lambda n: f"SYM{n}")
    name = factory.LazyAttribute(lambda o: f"{o.symbol} Inc.")
    currency = "USD"

    class Meta:
        model = Asset
        django_get_or_create = ("symbol",)


class PriceBarFactory(factory.django.DjangoModelFactory):
    asset = factory.SubFactory(AssetFactory)
    date = dt.date(2024, 1, 2)
    close = Decimal("100")

    class Meta:
        model = PriceBar


class FxRateFactory(factory.django.DjangoModelFactory):
    base = "EUR"
    quote = "USD"
    date = dt.date(2024, 1, 2)
    rate = Decimal("1.1")

    class Meta:
        model = FxRate


class CorporateActionFactory(factory.django.DjangoModelFactory):
    asset = factory.SubFactory(AssetFactory)
    date = dt.date(2024, 6, 10)
    kind = CorporateAction.Kind.SPLIT
    ratio = Decimal("2")

    class Meta:
        model = CorporateAction
