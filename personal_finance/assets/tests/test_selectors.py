"""Reads of shared market data: symbols, bar ranges, last prices, FX rates."""

import datetime as dt
from decimal import Decimal as D

import pytest

from personal_finance.assets.selectors import (
    asset_by_symbol,
    asset_list,
    assets_with_last_price,
    fx_rate,
    fx_rates_to,
    price_bars,
)

from .factories import AssetFactory, FxRateFactory, PriceBarFactory

pytestmark = pytest.mark.django_db


def day(n: int) -> dt.date:
    return dt.date(2024, 1, 1) + dt.timedelta(days=n)


# --- assets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["BRK-B", "brk-b", "Brk-B", "  brk-b\t"])
def test_asset_by_symbol_ignores_case_and_spaces(query):
    asset = AssetFactory(symbol="BRK-B")
    AssetFactory(symbol="BRK-A")
    assert asset_by_symbol(query) == asset


def test_asset_by_symbol_unknown_is_none():
    AssetFactory(symbol="AAPL")
    assert asset_by_symbol("AAP") is None
    assert asset_by_symbol("") is None


def test_asset_list_is_every_asset():
    for symbol in ("MSFT", "AAPL"):
        AssetFactory(symbol=symbol)
    assert [a.symbol for a in asset_list()] == ["AAPL", "MSFT"]


# --- price_bars --------------------------------------------------------------------------------


@pytest.fixture
def bars():
    asset = AssetFactory(symbol="AAPL")
    for n in (5, 1, 3, 2, 4):  # created out of order
        PriceBarFactory(asset=asset, date=day(n), close=D(n))
    PriceBarFactory(asset=AssetFactory(symbol="OTHER"), date=day(3), close=D("99"))
    return asset


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, [1, 2, 3, 4, 5]),
        (day(3), None, [3, 4, 5]),
        (None, day(2), [1, 2]),
        (day(2), day(4), [2, 3, 4]),  # both ends included
        (day(3), day(3), [3]),
        (day(6), None, []),
        (day(4), day(2), []),
    ],
)
def test_price_bars_range(bars, start, end, expected):
    rows = price_bars(asset=bars, start=start, end=end)
    assert [(b.date, b.close) for b in rows] == [(day(n), D(n)) for n in expected]


# --- assets_with_last_price --------------------------------------------------------------------


def test_assets_with_last_price():
    aapl, msft, bare = AssetFactory(symbol="AAPL"), AssetFactory(symbol="MSFT"), AssetFactory(symbol="BARE")
    PriceBarFactory(asset=aapl, date=day(1), close=D("180.5"))
    PriceBarFactory(asset=aapl, date=day(4), close=D("185.25"))
    PriceBarFactory(asset=msft, date=day(3), close=D("370"))
    other = AssetFactory(symbol="NOT-ASKED")
    PriceBarFactory(asset=other, date=day(9), close=D("1"))

    got = assets_with_last_price([aapl.pk, msft.pk, bare.pk])
    assert {pk: (a.symbol, a.last_close, a.last_date) for pk, a in got.items()} == {
        aapl.pk: ("AAPL", D("185.25"), day(4)),
        msft.pk: ("MSFT", D("370"), day(3)),
        bare.pk: ("BARE", None, None),
    }


def test_assets_with_last_price_as_of():
    aapl, msft = AssetFactory(symbol="AAPL"), AssetFactory(symbol="MSFT")
    PriceBarFactory(asset=aapl, date=day(1), close=D("180.5"))
    PriceBarFactory(asset=aapl, date=day(4), close=D("185.25"))
    PriceBarFactory(asset=msft, date=day(3), close=D("370"))

    def last(as_of):
        got = assets_with_last_price([aapl.pk, msft.pk], as_of=as_of)
        return {a.symbol: (a.last_close, a.last_date) for a in got.values()}

    assert last(day(3)) == {"AAPL": (D("180.5"), day(1)), "MSFT": (D("370"), day(3))}  # on the day included
    assert last(day(2)) == {"AAPL": (D("180.5"), day(1)), "MSFT": (None, None)}
    assert last(day(0)) == {"AAPL": (None, None), "MSFT": (None, None)}
    assert last(day(30)) == {"AAPL": (D("185.25"), day(4)), "MSFT": (D("370"), day(3))}


def test_assets_with_last_price_of_unknown_or_no_ids():
    asset = AssetFactory()
    assert assets_with_last_price([]) == {}
    assert list(assets_with_last_price([asset.pk, asset.pk + 1000])) == [asset.pk]
    assert list(assets_with_last_price(iter([asset.pk]))) == [asset.pk]  # any iterable


@pytest.mark.parametrize("as_of", [None, dt.date(2024, 1, 3)])
def test_assets_with_last_price_is_one_query_whatever_the_number_of_assets(django_assert_num_queries, as_of):
    few = [AssetFactory(symbol=f"FEW{i}") for i in range(2)]
    many = [AssetFactory(symbol=f"MANY{i}") for i in range(25)]
    for asset in few + many:
        for n in (1, 2, 3, 4):
            PriceBarFactory(asset=asset, date=day(n), close=D(n))
    with django_assert_num_queries(1):
        small = assets_with_last_price([a.pk for a in few], as_of=as_of)
    with django_assert_num_queries(1):
        large = assets_with_last_price([a.pk for a in many], as_of=as_of)
    expected = (D(2), day(2)) if as_of else (D(4), day(4))
    assert len(small) == 2
    assert len(large) == 25
    assert {(a.last_close, a.last_date) for a in large.values()} == {expected}


# --- fx_rate -----------------------------------------------------------------------------------


def test_same_currency_is_one_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert fx_rate("EUR", "EUR", day(1)) == D(1)


def test_direct_rate():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.08"))
    assert fx_rate("EUR", "USD", day(1)) == D("1.08")


def test_inverse_rate():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    assert fx_rate("USD", "EUR", day(1)) == D("0.8")


def test_cross_rate_through_usd():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    FxRateFactory(base="USD", quote="JPY", date=day(1), rate=D("150"))
    assert fx_rate("EUR", "JPY", day(1)) == D("187.5")
    assert fx_rate("JPY", "EUR", day(1)) == D(1) / D(150) * (D(1) / D("1.25"))


def test_cross_rate_through_usd_with_inverse_legs():
    FxRateFactory(base="USD", quote="EUR", date=day(1), rate=D("0.8"))  # EUR->USD is 1.25
    FxRateFactory(base="GBP", quote="USD", date=day(1), rate=D("1.6"))  # USD->GBP is 0.625
    assert fx_rate("EUR", "GBP", day(1)) == D("0.78125")


def test_direct_rate_wins_over_the_cross():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    FxRateFactory(base="USD", quote="GBP", date=day(1), rate=D("0.5"))
    FxRateFactory(base="EUR", quote="GBP", date=day(1), rate=D("0.6"))
    assert fx_rate("EUR", "GBP", day(1)) == D("0.6")


def test_no_rate_is_none():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    assert fx_rate("CHF", "USD", day(1)) is None
    assert fx_rate("USD", "CHF", day(1)) is None
    assert fx_rate("EUR", "CHF", day(1)) is None  # one leg of the cross is missing
    assert fx_rate("CHF", "EUR", day(1)) is None
    assert fx_rate("EUR", "USD", day(0)) is None  # only a later rate is stored


def test_latest_rate_on_or_before_the_date():
    FxRateFactory(base="EUR", quote="USD", date=day(2), rate=D("1.1"))
    FxRateFactory(base="EUR", quote="USD", date=day(5), rate=D("1.2"))
    FxRateFactory(base="EUR", quote="USD", date=day(9), rate=D("1.3"))
    assert fx_rate("EUR", "USD", day(1)) is None
    assert fx_rate("EUR", "USD", day(2)) == D("1.1")
    assert fx_rate("EUR", "USD", day(4)) == D("1.1")  # a weekend or holiday takes the last rate
    assert fx_rate("EUR", "USD", day(5)) == D("1.2")
    assert fx_rate("EUR", "USD", day(30)) == D("1.3")


def test_latest_of_direct_and_inverse_wins():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.1"))
    FxRateFactory(base="USD", quote="EUR", date=day(3), rate=D("0.8"))
    assert fx_rate("EUR", "USD", day(2)) == D("1.1")
    assert fx_rate("EUR", "USD", day(3)) == D("1.25")
    assert fx_rate("USD", "EUR", day(2)) == D(1) / D("1.1")


def test_cross_legs_each_take_their_latest_rate():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    FxRateFactory(base="USD", quote="JPY", date=day(1), rate=D("100"))
    FxRateFactory(base="USD", quote="JPY", date=day(3), rate=D("200"))
    assert fx_rate("EUR", "JPY", day(2)) == D("125")
    assert fx_rate("EUR", "JPY", day(3)) == D("250")


def test_fx_rates_to_one_currency():
    FxRateFactory(base="EUR", quote="USD", date=day(1), rate=D("1.25"))
    FxRateFactory(base="GBP", quote="USD", date=day(1), rate=D("1.5"))
    assert fx_rates_to(["EUR", "GBP", "USD", "EUR", "CHF"], "USD", day(1)) == {
        "EUR": D("1.25"),
        "GBP": D("1.5"),
        "USD": D(1),
        "CHF": None,
    }
