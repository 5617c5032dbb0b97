"""List and holdings endpoints: the number of queries does not grow with the number of rows."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personal_finance.portfolios.models import Transaction

from .factories import AssetFactory, PortfolioFactory, PriceBarFactory

pytestmark = pytest.mark.django_db


def _fill(portfolio, n_assets: int, n_buys: int):
    Transaction.objects.create(
        portfolio=portfolio, type="deposit", trade_date=dt.date(2024, 1, 1), amount=D(10**9), currency="USD"
    )
    for i in range(n_assets):
        asset = AssetFactory(symbol=f"Q{n_assets}X{i}")
        PriceBarFactory(asset=asset, date=dt.date(2024, 6, 3), close=D("12.5"))
        PriceBarFactory(asset=asset, date=dt.date(2024, 6, 4), close=D("13"))
        for j in range(n_buys):
            Transaction.objects.create(
                portfolio=portfolio,
                type="buy",
                asset=asset,
                trade_date=dt.date(2024, 2, 1) + dt.timedelta(days=j),
                quantity=D(1),
                price=D(10),
                amount=D(10),
                currency="USD",
            )


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/api/portfolios/",
        "/api/portfolios/{pk}/transactions/",
        "/api/portfolios/{pk}/holdings/",
    ],
)
def test_queries_do_not_grow_with_rows(auth_client, user, url):
    counts = []
    for n in (2, 12):
        portfolio = PortfolioFactory(owner=user)
        _fill(portfolio, n_assets=n, n_buys=n)
        counts.append(_count(auth_client, url.format(pk=portfolio.pk, n=n)))
    assert counts[0] == counts[1], counts
    assert counts[1] <= 8


def test_holdings_values_with_many_rows(auth_client, user):
    portfolio = PortfolioFactory(owner=user)
    _fill(portfolio, n_assets=3, n_buys=4)
    data = auth_client.get(f"/api/portfolios/{portfolio.pk}/holdings/").json()
    assert [h["quantity"] for h in data["holdings"]] == ["4", "4", "4"]
    assert all(h["market_value"] == "52.00" for h in data["holdings"])
    assert data["total_unrealized_gain"] == "36.00"
