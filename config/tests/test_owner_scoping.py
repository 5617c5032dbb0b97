"""Walk every route of the API router as a second user: the first user's objects answer 404 (or
403 for shared reference data the user may read but not change), for reads and for writes.

A new route makes this test fail until it is classified below, so no route escapes the check.
"""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import URLPattern, URLResolver

from config.api_router import router
from personal_finance.portfolios.tests.factories import AssetFactory, PortfolioFactory, TransactionFactory

pytestmark = pytest.mark.django_db

METHODS = ("get", "put", "patch", "delete", "post")

# Routes whose objects belong to a user, keyed by route name. Values: the kwargs to fill.
OWNED = {
    "portfolio-detail": {"pk": "portfolio"},
    "portfolio-holdings": {"pk": "portfolio"},
    "portfolio-transaction-list": {"portfolio_pk": "portfolio"},
    "portfolio-transaction-detail": {"portfolio_pk": "portfolio", "pk": "transaction"},
    "portfolio-transaction-import-csv": {"portfolio_pk": "portfolio"},
    "user-detail": {"username": "username"},
    "portfolio-analytics-performance": {"pk": "portfolio"},
    "portfolio-analytics-risk": {"pk": "portfolio"},
    "portfolio-analytics-allocation": {"pk": "portfolio"},
    "portfolio-report-list": {"portfolio_pk": "portfolio"},
    "portfolio-report-detail": {"portfolio_pk": "portfolio", "pk": "report"},
    "portfolio-report-download": {"portfolio_pk": "portfolio", "pk": "report"},
    # backtesting
    "backtest-detail": {"pk": "backtest"},
    "backtest-cancel": {"pk": "backtest"},
    "backtest-sweep-detail": {"pk": "sweep"},
    "backtest-sweep-cancel": {"pk": "sweep"},
    # tax
    "tax-rate-detail": {"year": "tax_year"},
    "tax-stored-report-detail": {"pk": "tax_report"},
    "tax-stored-report-download": {"pk": "tax_report"},
}
# Lists scoped to the requesting user: they answer 200 but never show the first user's objects.
SCOPED_LISTS = {
    "portfolio-list",
    "user-me",
    "backtest-list",
    "backtest-sweep-list",
    # tax: without ?portfolio= they cover the requesting user's own portfolios (another user's
    # portfolio id answers 404: personal_finance/tax/tests/test_api.py)
    "tax-lots-list",
    "tax-report-list",
    "tax-harvest-list",
    "tax-rate-list",
    "tax-stored-report-list",
}
# Shared reference data: readable by everyone signed in, writable by staff only (403).
SHARED = {
    "asset-list": {},
    "asset-detail": {"symbol": "symbol"},
    "asset-prices": {"symbol": "symbol"},
    "data-quality-detail": {"symbol": "symbol"},
}


def _routes():
    for pattern in router.urls:
        if isinstance(pattern, URLResolver) or not isinstance(pattern, URLPattern):
            continue
        if pattern.name in (None, "api-root") or pattern.name.endswith("-root"):
            continue
        if "format" in pattern.pattern.regex.groupindex:
            continue
        yield pattern


def _path(pattern: URLPattern, values: dict) -> str:
    regex = pattern.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\.", ".")
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), regex)
    return "/api/" + path.replace("\\", "")


@pytest.fixture
def first_users_data(user):
    portfolio = PortfolioFactory(owner=user, name="Secret")
    asset = AssetFactory(symbol="AAPL")
    TransactionFactory(portfolio=portfolio, type="deposit", amount=Decimal(1000))
    tx = TransactionFactory(
        portfolio=portfolio,
        type="buy",
        asset=asset,
        quantity=Decimal(1),
        price=Decimal(10),
        amount=Decimal(10),
        trade_date=dt.date(2024, 1, 3),
    )
    from personal_finance.analytics.models import PerformanceReport

    report = PerformanceReport.objects.create(owner=user, portfolio=portfolio, status="done", content=b"secret")
    from personal_finance.backtesting.models import BacktestRun, Sweep

    run = BacktestRun.objects.create(owner=user, strategy="sma_cross", symbols=["Secret"], params={"fast": 10})
    sweep = Sweep.objects.create(owner=user, strategy="sma_cross", symbols=["Secret"], grid={"fast": [5, 10]})
    from personal_finance.tax.models import TaxRate, TaxReport

    TaxRate.objects.create(owner=user, year=2024, short_term_rate=Decimal("0.32"), long_term_rate=Decimal("0.15"))
    tax_report = TaxReport.objects.create(owner=user, portfolio=portfolio, year=2024, status="done", content=b"secret")
    return {
        "backtest": run.pk,
        "sweep": sweep.pk,
        "portfolio": portfolio.pk,
        "transaction": tx.pk,
        "report": report.pk,
        "username": user.username,
        "symbol": "AAPL",
        "tax_year": 2024,
        "tax_report": tax_report.pk,
    }


def test_every_route_is_classified():
    names = {p.name for p in _routes()}
    unclassified = names - set(OWNED) - SCOPED_LISTS - set(SHARED)
    assert not unclassified, f"classify these routes in this test: {sorted(unclassified)}"


def test_second_user_gets_404_on_first_users_objects(other_client, first_users_data, user):
    from personal_finance.portfolios.models import Portfolio, Transaction

    checked = 0
    for pattern in _routes():
        if pattern.name not in OWNED:
            continue
        values = {k: first_users_data[v] for k, v in OWNED[pattern.name].items()}
        path = _path(pattern, values)
        for method in METHODS:
            response = getattr(other_client, method)(path, {}, format="json")
            if response.status_code == 405:
                continue
            assert response.status_code == 404, (method, path, response.status_code)
            assert set(response.json()) == {"detail", "errors"}
            checked += 1
    assert checked >= 10
    assert Portfolio.objects.filter(owner=user).count() == 1
    assert Transaction.objects.count() == 2


def test_scoped_lists_hide_first_users_objects(other_client, first_users_data):
    for pattern in _routes():
        if pattern.name not in SCOPED_LISTS:
            continue
        body = other_client.get(_path(pattern, {})).json()
        text = str(body)
        assert "Secret" not in text
        assert first_users_data["username"] not in text


def test_shared_reference_data_read_ok_write_forbidden(other_client, first_users_data):
    for pattern in _routes():
        if pattern.name not in SHARED:
            continue
        path = _path(pattern, {k: first_users_data[v] for k, v in SHARED[pattern.name].items()})
        assert other_client.get(path).status_code == 200, path
        for method in ("put", "patch", "delete", "post"):
            response = getattr(other_client, method)(path, {}, format="json")
            assert response.status_code in (403, 405), (method, path, response.status_code)


def test_anonymous_gets_401_everywhere(api_client, first_users_data):
    for pattern in _routes():
        spec = OWNED.get(pattern.name) or SHARED.get(pattern.name) or {}
        path = _path(pattern, {k: first_users_data[v] for k, v in spec.items()})
        assert api_client.get(path).status_code in (401, 405), path
