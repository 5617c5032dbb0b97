import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personal_finance.analytics.models import PerformanceReport, PortfolioMetrics, PortfolioSnapshot
from personal_finance.assets.models import PriceBar
from personal_finance.assets.services import price_series_refresh
from personal_finance.portfolios.models import Transaction
from personal_finance.portfolios.tests.factories import AssetFactory, PortfolioFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(user):
    p = PortfolioFactory(owner=user, name="Analytics")
    a = AssetFactory(symbol="ANL", sector="Technology", country="United States")
    b = AssetFactory(symbol="BMK")
    day = dt.date(2024, 1, 1)
    for i in range(30):
        d = day + dt.timedelta(days=i)
        PriceBar.objects.create(asset=a, date=d, close=Decimal(100 + i))
        PriceBar.objects.create(asset=b, date=d, close=Decimal(200 + 2 * i * (-1) ** i))
    price_series_refresh(asset_ids=[a.pk, b.pk])
    Transaction.objects.create(portfolio=p, type="deposit", trade_date=day, amount=Decimal(10000), currency="USD")
    Transaction.objects.create(
        portfolio=p,
        type="buy",
        trade_date=day,
        asset=a,
        quantity=Decimal(50),
        price=Decimal(100),
        amount=Decimal(5000),
        currency="USD",
    )
    return p


def url(p, kind):
    return f"/api/portfolios/{p.pk}/{kind}/"


def test_performance_route_and_cache(auth_client, portfolio):
    first = auth_client.get(url(portfolio, "performance"), {"end": "2024-01-30"})
    assert first.status_code == 200, first.json()
    assert first["X-Cache"] == "miss"
    body = first.json()
    assert body["twr"] == pytest.approx((10000 + 50 * 29) / 10000 - 1)
    assert set(body["series"]) >= {"dates", "value", "invested", "cash", "twr_index"}
    assert body["metrics"]["total_return"] == pytest.approx(body["twr"])
    second = auth_client.get(url(portfolio, "performance"), {"end": "2024-01-30"})
    assert second["X-Cache"] == "hit"
    assert second.json() == body


def test_cache_is_invalidated_by_transactions_and_prices(auth_client, portfolio):
    params = {"end": "2024-01-30", "series": "false"}
    before = auth_client.get(url(portfolio, "performance"), params).json()
    auth_client.post(
        f"/api/portfolios/{portfolio.pk}/transactions/",
        {"date": "2024-01-10", "type": "deposit", "amount": "1000"},
        format="json",
    )
    after_tx = auth_client.get(url(portfolio, "performance"), params)
    assert after_tx["X-Cache"] == "miss"
    assert after_tx.json()["net_flows"] == before["net_flows"] + 1000
    bar = PriceBar.objects.get(asset__symbol="ANL", date=dt.date(2024, 1, 30))
    bar.close = Decimal(200)
    bar.save()  # a single save refreshes the series and invalidates through the signal
    after_price = auth_client.get(url(portfolio, "performance"), params)
    assert after_price["X-Cache"] == "miss"
    assert after_price.json()["end_value"] > after_tx.json()["end_value"]


def test_periods_benchmark_and_bad_input(auth_client, portfolio):
    custom = auth_client.get(
        url(portfolio, "performance"), {"start": "2024-01-10", "end": "2024-01-20", "benchmark": "bmk"}
    )
    assert custom.status_code == 200, custom.json()
    body = custom.json()
    assert body["start"] == "2024-01-10"
    assert body["benchmark"]["symbol"] == "BMK"
    assert "beta" in body["metrics"]
    for params, field in [
        ({"period": "2w"}, "period"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "start"),
        ({"benchmark": "NOPE"}, "benchmark"),
        ({"rf": "abc"}, "rf"),
        ({"start": "soon"}, "start"),
    ]:
        response = auth_client.get(url(portfolio, "performance"), params)
        assert response.status_code == 400, (params, response.json())
        assert field in response.json()["errors"], response.json()


def test_risk_route(auth_client, portfolio):
    body = auth_client.get(url(portfolio, "risk"), {"end": "2024-01-30", "window": 5}).json()
    assert body["metrics"]["max_drawdown"] <= 0
    assert len(body["series"]["drawdown"]) == len(body["series"]["dates"]) == 30  # from inception: day 1 counts
    assert body["series"]["rolling_volatility"][3] is None
    assert body["series"]["rolling_volatility"][4] is not None
    assert body["monthly_returns"][0]["year"] == 2024
    holding = body["holdings"][0]
    assert holding["symbol"] == "ANL"
    assert holding["metrics"]["total_return"] == pytest.approx(129 / 100 - 1)


@pytest.mark.parametrize("kind", ["performance", "risk"])
@pytest.mark.parametrize("end", ["2024-01-30", "2023-06-30"])
def test_cash_only_ledger_and_end_before_inception_are_not_500s(auth_client, user, portfolio, kind, end):
    # Found by fuzzing: a portfolio whose ledger (up to `end`) holds no asset, e.g. only a deposit,
    # or ?end= before the first transaction, answered 500 (IndexError in the valuation).
    cash = PortfolioFactory(owner=user, name="Cash only")
    Transaction.objects.create(
        portfolio=cash, type="deposit", trade_date=dt.date(2024, 1, 2), amount=Decimal(100), currency="USD"
    )
    for p in (cash, portfolio):
        response = auth_client.get(url(p, kind), {"end": end})
        assert response.status_code in (200, 400), response.content
        assert response.status_code == 200 or set(response.json()) == {"detail", "errors"}


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        ("asset", {"ANL", "cash"}),
        ("asset_class", {"equity", "cash"}),
        ("sector", {"Technology", "cash"}),
        ("currency", {"USD"}),
        ("country", {"United States", "cash"}),
    ],
)
def test_allocation_route(auth_client, portfolio, by, keys):
    body = auth_client.get(url(portfolio, "allocation"), {"by": by}).json()
    assert {row["key"] for row in body["allocation"]} == keys
    assert sum(Decimal(r["weight"]) for r in body["allocation"]) == pytest.approx(Decimal(1), abs=Decimal("0.00001"))
    assert auth_client.get(url(portfolio, "allocation"), {"by": "planet"}).status_code == 400


def test_performance_queries_do_not_grow_with_transactions(auth_client, portfolio):
    def count():
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert auth_client.get(url(portfolio, "performance")).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    a = portfolio.transactions.exclude(asset=None).first().asset
    for i in range(20):
        Transaction.objects.create(
            portfolio=portfolio,
            type="buy",
            trade_date=dt.date(2024, 1, 2 + i),
            asset=a,
            quantity=Decimal(1),
            price=Decimal(100),
            amount=Decimal(100),
            currency="USD",
        )
    assert count() == small


@pytest.mark.parametrize(
    ("fmt", "magic"), [("html", b"<!doctype html>"), ("csv", b"section,key,value"), ("pdf", b"%PDF")]
)
def test_reports_are_generated_and_downloadable(auth_client, portfolio, fmt, magic):
    created = auth_client.post(
        f"/api/portfolios/{portfolio.pk}/reports/", {"format": fmt, "period": "max"}, format="json"
    )
    assert created.status_code in (201, 202), created.json()
    report = PerformanceReport.objects.get(pk=created.json()["id"])
    if report.status == "queued":  # eager mode runs the task on commit
        from personal_finance.analytics.services import performance_report_render

        performance_report_render(report=report)
    detail = auth_client.get(f"/api/portfolios/{portfolio.pk}/reports/{report.pk}/").json()
    assert detail["status"] == "done", detail
    download = auth_client.get(detail["download"])
    assert download.status_code == 200
    assert bytes(download.content).lower().startswith(magic.lower())


def test_tasks_store_metrics_and_snapshots(portfolio):
    from personal_finance.analytics.tasks import calculate_portfolio_metrics, update_risk_metrics

    result = calculate_portfolio_metrics.delay(portfolio.pk).get()
    assert result[portfolio.pk]["twr"] is not None
    assert PortfolioMetrics.objects.get(portfolio=portfolio).metrics["volatility"] >= 0
    stored = update_risk_metrics.delay(portfolio.pk).get()[portfolio.pk]
    assert stored == PortfolioSnapshot.objects.filter(portfolio=portfolio).count() > 20
    assert update_risk_metrics.delay(portfolio.pk).get()[portfolio.pk] == stored  # idempotent
