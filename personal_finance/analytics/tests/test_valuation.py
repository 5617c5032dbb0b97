"""The valuation series on hand-computed ledgers: the complaints against peers get the right
percentage (repeated buys, re-entering a position, foreign-currency holdings)."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command

from personal_finance.analytics import documents, selectors
from personal_finance.assets.models import FxRate, PriceBar
from personal_finance.assets.services import price_series_refresh
from personal_finance.portfolios.documents import portfolio_holdings
from personal_finance.portfolios.models import Portfolio, Transaction
from personal_finance.portfolios.tests.factories import AssetFactory, PortfolioFactory

pytestmark = pytest.mark.django_db
D = [dt.date(2024, 1, d) for d in (1, 2, 3, 4, 5, 8, 9)]


def prices(asset, closes):
    for day, close in zip(D, closes, strict=False):
        if close is not None:
            PriceBar.objects.create(asset=asset, date=day, close=Decimal(str(close)))
    price_series_refresh(asset_ids=[asset.pk])


def tx(portfolio, day, type_, asset=None, qty=None, price=None, amount=None, fees=0, fx=1, currency="USD"):
    if amount is None and qty is not None and price is not None:
        amount = qty * price + fees if type_ == "buy" else qty * price - fees
    return Transaction.objects.create(
        portfolio=portfolio,
        trade_date=day,
        type=type_,
        asset=asset,
        quantity=None if qty is None else Decimal(str(qty)),
        price=None if price is None else Decimal(str(price)),
        amount=Decimal(str(amount or 0)),
        fees=Decimal(str(fees)),
        fx_rate=Decimal(str(fx)),
        currency=currency,
    )


def perf(portfolio, start=None, end=D[-1]):
    data = selectors.load_valuation(portfolio, end=end)
    return documents.performance(data, start=start, end=end), data


@pytest.fixture
def portfolio(user):
    return PortfolioFactory(owner=user)


def test_repeated_buys_do_not_show_as_gains(portfolio):
    a = AssetFactory(symbol="RB")
    prices(a, [100, 100, 110, 110, 121])
    tx(portfolio, D[0], "deposit", amount=10000)
    tx(portfolio, D[0], "buy", a, 10, 100)
    tx(portfolio, D[2], "buy", a, 50, 110)  # a big buy on a day the price is up
    doc, data = perf(portfolio, end=D[4])
    # Daily returns: day 2 flat, day 3 (+10% on 1000 of 10000), day 4 flat, day 5 (+10% on 6600 of 10100)
    r = data.valuation.returns
    assert r[1] == pytest.approx(0.0)
    assert r[2] == pytest.approx(100 / 10000)
    assert r[4] == pytest.approx(660 / 10100)
    assert doc["twr"] == pytest.approx((1 + 0.01) * (1 + 660 / 10100) - 1)
    holding = doc["holdings"][0]
    assert holding["twr"] == pytest.approx(1.1 * 1.1 - 1)  # the asset rose 10% twice
    assert holding["pnl"] == pytest.approx(100 + 660)


def test_reentering_after_selling_everything(portfolio):
    a = AssetFactory(symbol="RE")
    prices(a, [100, 110, 110, 120, 130])
    tx(portfolio, D[0], "deposit", amount=1000)
    tx(portfolio, D[0], "buy", a, 10, 100)
    tx(portfolio, D[1], "sell", a, 10, 110)
    tx(portfolio, D[3], "buy", a, 5, 120)
    doc, _ = perf(portfolio, end=D[4])
    holding = doc["holdings"][0]
    assert holding["twr"] == pytest.approx(1.1 * (130 / 120) - 1)  # the gap contributes nothing
    assert doc["twr"] == pytest.approx(1.1 * ((1100 + 50) / 1100) - 1)
    assert doc["end_value"] == pytest.approx(1100 - 600 + 650)


def test_foreign_currency_holding_separates_the_currency_effect(user):
    portfolio = PortfolioFactory(owner=user, base_currency="USD")
    a = AssetFactory(symbol="EU.DE", currency="EUR")
    prices(a, [100, 100, 100, 110])
    for day, rate in zip(D[:4], ["1.10", "1.21", "1.21", "1.21"], strict=True):
        FxRate.objects.create(base="EUR", quote="USD", date=day, rate=Decimal(rate))
    tx(portfolio, D[0], "deposit", amount=1100)
    tx(portfolio, D[0], "buy", a, 10, 100, fx="1.10", currency="EUR")
    doc, _ = perf(portfolio, end=D[3])
    h = doc["holdings"][0]
    assert h["twr_local"] == pytest.approx(0.10)
    assert h["twr"] == pytest.approx(1.1 * 1.1 - 1)
    assert h["currency_effect"] == pytest.approx(0.10)
    assert doc["twr"] == pytest.approx(1.1 * 1.1 - 1)


def test_dividends_count_as_return_and_fees_reduce_it(portfolio):
    a = AssetFactory(symbol="DV")
    prices(a, [100, 100, 100])
    tx(portfolio, D[0], "deposit", amount=1000)
    tx(portfolio, D[0], "buy", a, 10, 100)
    tx(portfolio, D[1], "dividend", a, amount=20)
    tx(portfolio, D[2], "fee", amount=5)
    doc, _ = perf(portfolio, end=D[2])
    assert doc["twr"] == pytest.approx((1020 / 1000) * (1015 / 1020) - 1)
    assert doc["holdings"][0]["twr"] == pytest.approx(0.02)
    assert doc["holdings"][0]["dividends"] == pytest.approx(20)
    assert doc["dividends"] == pytest.approx(20)


def test_ledger_without_deposits_uses_trades_as_flows(portfolio):
    a = AssetFactory(symbol="TF")
    prices(a, [100, 110, 121])
    tx(portfolio, D[0], "buy", a, 10, 100)
    tx(portfolio, D[1], "buy", a, 10, 110)
    doc, _ = perf(portfolio, end=D[2])
    assert doc["trades_as_flows"] is True
    assert doc["twr"] == pytest.approx(1.21 - 1)
    assert doc["mwr"] > 0


def test_mwr_is_the_xirr_of_the_flows(portfolio):
    a = AssetFactory(symbol="MW")
    PriceBar.objects.create(asset=a, date=dt.date(2023, 1, 2), close=Decimal(100))
    PriceBar.objects.create(asset=a, date=dt.date(2024, 1, 2), close=Decimal(110))
    price_series_refresh(asset_ids=[a.pk])
    tx(portfolio, dt.date(2023, 1, 2), "deposit", amount=1000)
    tx(portfolio, dt.date(2023, 1, 2), "buy", a, 10, 100)
    doc, _ = perf(portfolio, end=dt.date(2024, 1, 2))
    assert doc["mwr"] == pytest.approx(1.1 ** (365 / 365) - 1, rel=1e-9)
    assert doc["twr"] == pytest.approx(0.10)


def test_periods_and_splits(portfolio):
    a = AssetFactory(symbol="SP")
    prices(a, [200, 200, 100, 110])  # a 2:1 split on day 3 in traded prices
    tx(portfolio, D[0], "deposit", amount=2000)
    tx(portfolio, D[0], "buy", a, 10, 200)
    tx(portfolio, D[2], "split", a, qty=2)
    doc, _ = perf(portfolio, end=D[3])
    assert doc["twr"] == pytest.approx(0.10)
    since, _ = perf(portfolio, start=D[2], end=D[3])
    assert since["twr"] == pytest.approx(0.10)
    assert since["start"] == D[2].isoformat()
    assert since["start_value"] == pytest.approx(2000)


def test_valuation_matches_the_ledger_holdings(user):
    call_command("seed_demo", verbosity=0)
    portfolio = Portfolio.objects.get(owner__username="demo")
    today = dt.date.today()
    doc, data = perf(portfolio, end=today)
    holdings = portfolio_holdings(portfolio=portfolio, as_of=today)
    assert doc["end_value"] == pytest.approx(float(holdings["total_value"]), abs=0.02)
    assert np.isfinite(data.valuation.returns).all()
    assert doc["metrics"]["volatility"] > 0
    assert {h["symbol"] for h in doc["holdings"]} >= {"AAPL", "SAP.DE"}
