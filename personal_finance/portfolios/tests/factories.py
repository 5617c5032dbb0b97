import datetime as dt
from decimal import Decimal

import factory

# The asset factories live with the assets app (a lower layer); re-exported for existing imports.
from personal_finance.assets.tests.factories import AssetFactory, FxRateFactory, PriceBarFactory
from personal_finance.portfolios.models import Portfolio, Transaction
from personal_finance.users.tests.factories import UserFactory

__all__ = ["AssetFactory", "FxRateFactory", "PortfolioFactory", "PriceBarFactory", "TransactionFactory"]


class PortfolioFactory(factory.django.DjangoModelFactory):
    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Portfolio {n}")
    base_currency = "USD"

    class Meta:
        model = Portfolio


class TransactionFactory(factory.django.DjangoModelFactory):
    portfolio = factory.SubFactory(PortfolioFactory)
    type = "deposit"
    trade_date = dt.date(2024, 1, 2)
    amount = Decimal("1000")
    currency = "USD"

    class Meta:
        model = Transaction
