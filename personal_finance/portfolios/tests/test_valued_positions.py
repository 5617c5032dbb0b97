"""The one mark-to-market: ``selectors.valued_positions`` on ``assets.selectors.mark_to_market``."""

import datetime as dt
from decimal import Decimal as D

import pytest

from personal_finance.assets.selectors import assets_with_last_price, mark_to_market
from personal_finance.portfolios.selectors import valued_positions

from .factories import AssetFactory, FxRateFactory, PortfolioFactory, PriceBarFactory, TransactionFactory

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2024, 3, 4)


def _trade(portfolio, type_, asset, qty, price, *, day=dt.date(2024, 1, 2), fx=D(1), currency="USD"):
    return TransactionFactory(
        portfolio=portfolio,
        type=type_,
        asset=asset,
        trade_date=day,
        quantity=D(qty),
        price=D(price),
        amount=D(qty) * D(price),
        fx_rate=fx,
        currency=currency,
    )


@pytest.fixture
def market():
    aaa = AssetFactory(symbol="VPAAA")
    bbb = AssetFactory(symbol="VPBBB", currency="EUR")
    ccc = AssetFactory(symbol="VPCCC")
    PriceBarFactory(asset=aaa, date=dt.date(2024, 2, 29), close=D(125))
    PriceBarFactory(asset=aaa, date=dt.date(2024, 3, 1), close=D(130))
    PriceBarFactory(asset=aaa, date=dt.date(2024, 3, 5), close=D(999))  # after as_of: not used
    PriceBarFactory(asset=bbb, date=dt.date(2024, 3, 1), close=D(60))
    PriceBarFactory(asset=ccc, date=dt.date(2024, 3, 1), close=D(11))
    FxRateFactory(base="EUR", quote="USD", date=dt.date(2024, 3, 1), rate=D("1.2"))
    return {"AAA": aaa, "BBB": bbb, "CCC": ccc}


@pytest.fixture
def portfolio(user, market):
    p = PortfolioFactory(owner=user)
    TransactionFactory(portfolio=p, type="deposit", amount=D(10000))
    _trade(p, "buy", market["AAA"], 10, 100)
    _trade(p, "buy", market["BBB"], 5, 50, fx=D("1.1"), currency="EUR")  # cost 275 USD
    _trade(p, "buy", market["CCC"], 1, 10)
    _trade(p, "sell", market["CCC"], 1, 12, day=dt.date(2024, 1, 3))  # closed: realised 2
    _trade(p, "sell", market["AAA"], 5, 120, day=dt.date(2024, 2, 1))  # realised 100
    TransactionFactory(portfolio=p, type="dividend", asset=market["AAA"], trade_date=dt.date(2024, 2, 2), amount=D(20))
    return p


def test_values_each_open_position_and_the_totals(portfolio, market):
    v = valued_positions(portfolio=portfolio, as_of=AS_OF)
    assert [p.asset.symbol for p in v.positions] == ["VPAAA", "VPBBB"]  # ledger order, closed CCC left out
    aaa, bbb = v.positions
    assert (aaa.quantity, aaa.cost_basis, aaa.realized_gain, aaa.dividends) == (5, 500, 100, 20)
    assert (aaa.price, aaa.price_date, aaa.fx_rate, aaa.market_value) == (130, dt.date(2024, 3, 1), 1, 650)
    assert aaa.unrealized_gain == 150
    assert (bbb.quantity, bbb.cost_basis, bbb.price, bbb.fx_rate) == (5, D(275), 60, D("1.2"))
    assert bbb.market_value == D(360)
    assert v.cash == 10000 - 1000 - 275 - 10 + 12 + 600 + 20
    assert (v.market_value, v.cost_basis, v.total_value) == (1010, 775, v.cash + 1010)
    assert (v.realized_gain, v.dividends, v.net_contributions) == (102, 20, 10000)
    assert v.complete is True
    assert (v.as_of, v.base_currency) == (AS_OF, "USD")


def test_overrides_replace_the_last_close(portfolio):
    v = valued_positions(portfolio=portfolio, as_of=AS_OF, overrides={"VPAAA": D(140)})
    aaa, bbb = v.positions
    assert (aaa.price, aaa.price_date, aaa.market_value) == (140, AS_OF, 700)
    assert bbb.market_value == 360
    assert v.market_value == 1060


def test_a_missing_price_or_fx_rate_leaves_the_position_unvalued(portfolio):
    unpriced = AssetFactory(symbol="VPNOPX")
    no_rate = AssetFactory(symbol="VPGBP", currency="GBP")
    PriceBarFactory(asset=no_rate, date=dt.date(2024, 3, 1), close=D(7))
    _trade(portfolio, "buy", unpriced, 2, 10)
    _trade(portfolio, "buy", no_rate, 3, 7, fx=D("1.25"), currency="GBP")
    v = valued_positions(portfolio=portfolio, as_of=AS_OF)
    by_symbol = {p.asset.symbol: p for p in v.positions}
    missing_price, missing_rate = by_symbol["VPNOPX"], by_symbol["VPGBP"]
    assert (missing_price.price, missing_price.price_date, missing_price.fx_rate) == (None, None, 1)
    assert (missing_rate.price, missing_rate.fx_rate) == (7, None)
    assert missing_price.market_value is None
    assert missing_price.unrealized_gain is None
    assert missing_rate.market_value is None
    assert v.complete is False
    assert v.market_value == 1010  # the valued positions only
    assert v.cost_basis == 775 + 20 + D("26.25")


def test_before_any_price_or_transaction(user, market):
    empty = valued_positions(portfolio=PortfolioFactory(owner=user), as_of=AS_OF)
    assert (empty.positions, empty.cash, empty.total_value, empty.complete) == ([], 0, 0, True)


def test_queries_do_not_grow_with_transactions_or_positions(user, django_assert_num_queries):
    def fill(n):
        p = PortfolioFactory(owner=user)
        TransactionFactory(portfolio=p, type="deposit", amount=D(10**6))
        for i in range(n):
            asset = AssetFactory(symbol=f"VPQ{n}X{i}")
            PriceBarFactory(asset=asset, date=dt.date(2024, 3, 1), close=D(3))
            for _ in range(n):
                _trade(p, "buy", asset, 1, 2)
        return p

    small, large = fill(2), fill(12)
    for p, positions in ((small, 2), (large, 12)):
        with django_assert_num_queries(2):  # ledger, last prices (USD only: no FX)
            assert len(valued_positions(portfolio=p, as_of=AS_OF).positions) == positions


def test_one_fx_query_per_foreign_currency(portfolio, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):  # ledger, last prices, EUR->USD
        valued_positions(portfolio=portfolio, as_of=AS_OF)


def test_mark_to_market_takes_preloaded_prices_and_any_base(market, django_assert_num_queries):
    assets = assets_with_last_price([market["AAA"].pk, market["BBB"].pk], as_of=AS_OF)
    with django_assert_num_queries(1):  # USD->EUR only (through the stored EUR/USD pair)
        marks = mark_to_market(
            [(market["BBB"].pk, D(2)), (market["AAA"].pk, D(3))], base_currency="EUR", as_of=AS_OF, assets=assets
        )
    bbb, aaa = marks
    assert (bbb.fx_rate, bbb.market_value) == (1, 120)
    assert aaa.fx_rate == 1 / D("1.2")
    assert aaa.market_value == D(3) * D(130) * (1 / D("1.2"))
    assert mark_to_market([], base_currency="USD", as_of=AS_OF) == []
