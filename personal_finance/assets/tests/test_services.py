"""Writes of shared market data: assets, bars, FX rates, and the packed series kept in step."""

import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest

from personal_finance.assets.models import Asset, FxRate, PriceBar, PriceSeries
from personal_finance.assets.services import (
    asset_create,
    asset_get_or_create,
    fx_rate_upsert,
    normalize_symbol,
    price_bars_upsert,
    price_series_refresh,
)
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.signals import prices_changed

from .factories import AssetFactory, PriceBarFactory

pytestmark = pytest.mark.django_db

EPOCH = dt.date(1970, 1, 1)


def day(n: int) -> dt.date:
    return dt.date(2024, 1, 1) + dt.timedelta(days=n)


def unpack(asset) -> tuple[list[dt.date], list[float], list[float]]:
    """The stored packed arrays of ``asset`` decoded as the readers decode them."""
    series = PriceSeries.objects.get(asset=asset)
    days = np.frombuffer(bytes(series.days), dtype="int32")
    closes = np.frombuffer(bytes(series.closes), dtype="float64")
    adj = np.frombuffer(bytes(series.adj_closes), dtype="float64")
    assert len(days) == len(closes) == len(adj) == series.bars
    return [EPOCH + dt.timedelta(days=int(d)) for d in days], closes.tolist(), adj.tolist()


@pytest.fixture
def sent():
    """Every ``prices_changed`` sent during the test, as (sender, asset_ids)."""
    calls = []

    def receiver(sender, asset_ids, **kwargs):
        calls.append((sender, list(asset_ids)))

    prices_changed.connect(receiver, weak=False, dispatch_uid="assets-tests-receiver")
    yield calls
    prices_changed.disconnect(dispatch_uid="assets-tests-receiver")


# --- normalize_symbol / asset_create / asset_get_or_create -------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" brk-b ", "BRK-B"), ("aapl", "AAPL"), ("^gspc\n", "^GSPC"), ("EURUSD=X", "EURUSD=X"), ("", ""), (None, "")],
)
def test_normalize_symbol(raw, expected):
    assert normalize_symbol(raw) == expected


def test_asset_create_normalizes_symbol_and_currency():
    asset = asset_create(symbol=" sap.de ", name="SAP", currency="eur", exchange="XETR", isin="DE0007164600")
    asset.refresh_from_db()
    assert (asset.symbol, asset.currency, asset.name, asset.exchange, asset.isin, asset.asset_class) == (
        "SAP.DE",
        "EUR",
        "SAP",
        "XETR",
        "DE0007164600",
        "equity",
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"symbol": "BRK B"}, "symbol"),
        ({"symbol": "  "}, "symbol"),
        ({"symbol": "X" * 33}, "symbol"),
        ({"symbol": "X", "currency": "dollars"}, "currency"),
        ({"symbol": "X", "currency": "U5D"}, "currency"),
        ({"symbol": "X", "asset_class": "stock"}, "asset_class"),
        ({"symbol": "X", "isin": "US037833100"}, "isin"),
    ],
)
def test_asset_create_refuses_invalid_fields(kwargs, field):
    with pytest.raises(ApplicationError) as exc:
        asset_create(**kwargs)
    assert exc.value.message == "Invalid asset."
    assert exc.value.status_code == 400
    assert list(exc.value.errors) == [field]
    assert all(isinstance(m, str) for m in exc.value.errors[field])
    assert not Asset.objects.exists()


def test_asset_create_refuses_a_duplicate_symbol_in_any_case():
    AssetFactory(symbol="AAPL")
    with pytest.raises(ApplicationError) as exc:
        asset_create(symbol="aapl")
    assert exc.value.errors == {"symbol": ["Asset with this Symbol already exists."]}
    assert Asset.objects.count() == 1


def test_asset_create_refuses_a_duplicate_isin():
    asset_create(symbol="AAPL", isin="US0378331005")
    with pytest.raises(ApplicationError) as exc:
        asset_create(symbol="AAPL.MX", isin="US0378331005")
    assert exc.value.errors == {"__all__": ["Constraint “asset_isin_unique” is violated."]}
    assert list(Asset.objects.values_list("symbol", flat=True)) == ["AAPL"]


def test_asset_get_or_create_is_idempotent():
    first, created = asset_get_or_create(symbol="vti", currency="USD", name="Vanguard Total", asset_class="etf")
    assert created is True
    assert (first.symbol, first.name, first.asset_class) == ("VTI", "Vanguard Total", "etf")
    again, created_again = asset_get_or_create(symbol=" VTI ", currency="EUR", name="Other name")
    assert created_again is False
    assert again.pk == first.pk
    again.refresh_from_db()
    # The existing row is returned as it is: the second call's fields are not applied.
    assert (again.currency, again.name) == ("USD", "Vanguard Total")
    assert Asset.objects.count() == 1


def test_asset_get_or_create_validates_new_assets():
    with pytest.raises(ApplicationError) as exc:
        asset_get_or_create(symbol="BAD SYMBOL")
    assert "symbol" in exc.value.errors
    assert not Asset.objects.exists()


# --- price_bars_upsert ---------------------------------------------------------------------------


def test_price_bars_upsert_inserts_then_updates_the_same_dates():
    asset = AssetFactory(symbol="AAPL")
    written = price_bars_upsert(
        asset=asset,
        bars=[
            {"date": day(2), "open": D("9"), "high": D("11"), "low": D("8"), "close": D("10"), "volume": 100},
            {"date": day(1), "close": D("9.5"), "adj_close": D("9.25")},
            {"date": day(3), "close": D("10.5"), "source": "csv"},
        ],
        source="yahoo",
    )
    assert written == 3
    rows = list(
        PriceBar.objects.filter(asset=asset).values_list("date", "open", "close", "adj_close", "volume", "source")
    )
    assert rows == [
        (day(1), None, D("9.5"), D("9.25"), None, "yahoo"),
        (day(2), D("9"), D("10"), None, 100, "yahoo"),
        (day(3), None, D("10.5"), None, None, "csv"),  # a bar's own source wins over the default
    ]
    assert unpack(asset) == ([day(1), day(2), day(3)], [9.5, 10.0, 10.5], [9.25, 10.0, 10.5])

    # The same dates again (and one new): updated in place, nothing duplicated.
    written = price_bars_upsert(
        asset=asset,
        bars=[
            {"date": day(2), "close": D("12"), "adj_close": D("11.5")},
            {"date": day(5), "close": D("13.125")},
        ],
        source="csv",
    )
    assert written == 2
    rows = list(PriceBar.objects.filter(asset=asset).values_list("date", "open", "close", "adj_close", "source"))
    assert rows == [
        (day(1), None, D("9.5"), D("9.25"), "yahoo"),
        (day(2), None, D("12"), D("11.5"), "csv"),  # every field is replaced, open included
        (day(3), None, D("10.5"), None, "csv"),
        (day(5), None, D("13.125"), None, "csv"),
    ]
    assert unpack(asset) == ([day(1), day(2), day(3), day(5)], [9.5, 12.0, 10.5, 13.125], [9.25, 11.5, 10.5, 13.125])
    series = PriceSeries.objects.get(asset=asset)
    assert (series.bars, series.first_date, series.last_date) == (4, day(1), day(5))


def test_price_bars_upsert_touches_only_its_asset(sent):
    mine, other = AssetFactory(symbol="MINE"), AssetFactory(symbol="OTHER")
    price_bars_upsert(asset=other, bars=[{"date": day(1), "close": D("50")}])
    sent.clear()
    price_bars_upsert(asset=mine, bars=[{"date": day(1), "close": D("5")}])
    assert unpack(other) == ([day(1)], [50.0], [50.0])
    assert unpack(mine) == ([day(1)], [5.0], [5.0])
    assert sent == [(PriceSeries, [mine.pk])]


def test_price_bars_upsert_refuses_a_non_positive_close_and_writes_nothing():
    from django.db import IntegrityError, transaction

    asset = AssetFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        price_bars_upsert(asset=asset, bars=[{"date": day(1), "close": D("1")}, {"date": day(2), "close": D("0")}])
    assert not PriceBar.objects.filter(asset=asset).exists()
    assert not PriceSeries.objects.filter(asset=asset).exists()


def test_price_bars_upsert_of_nothing_writes_an_empty_series():
    asset = AssetFactory()
    assert price_bars_upsert(asset=asset, bars=[]) == 0
    series = PriceSeries.objects.get(asset=asset)
    assert (series.bars, series.first_date, series.last_date) == (0, None, None)
    assert unpack(asset) == ([], [], [])


# --- fx_rate_upsert ----------------------------------------------------------------------------


def test_fx_rate_upsert_creates_then_updates_one_row():
    first = fx_rate_upsert(base="eur", quote="usd", date=day(1), rate=D("1.08"), source="ecb")
    assert (first.base, first.quote, first.date, first.rate, first.source) == ("EUR", "USD", day(1), D("1.08"), "ecb")
    second = fx_rate_upsert(base="EUR", quote="USD", date=day(1), rate=D("1.0875"))
    assert second.pk == first.pk
    assert list(FxRate.objects.values_list("base", "quote", "date", "rate", "source")) == [
        ("EUR", "USD", day(1), D("1.0875"), "")
    ]
    fx_rate_upsert(base="EUR", quote="USD", date=day(2), rate=D("1.09"))
    fx_rate_upsert(base="USD", quote="EUR", date=day(1), rate=D("0.92"))
    assert FxRate.objects.count() == 3


# --- price_series_refresh ----------------------------------------------------------------------


def test_price_series_refresh_rebuilds_several_assets_and_sends_prices_changed(sent):
    a, b, empty = AssetFactory(symbol="A"), AssetFactory(symbol="B"), AssetFactory(symbol="EMPTY")
    # Bars written without the bulk path's refresh: ``bulk_create`` sends no signals.
    PriceBar.objects.bulk_create(
        [
            PriceBar(asset=a, date=day(3), close=D("3"), adj_close=D("2.5")),
            PriceBar(asset=a, date=day(1), close=D("1")),
            PriceBar(asset=b, date=day(2), close=D("20")),
        ]
    )
    assert not PriceSeries.objects.exists()
    assert sent == []

    assert price_series_refresh(asset_ids=[b.pk, a.pk, empty.pk, a.pk]) == 3

    assert unpack(a) == ([day(1), day(3)], [1.0, 3.0], [1.0, 2.5])
    assert unpack(b) == ([day(2)], [20.0], [20.0])
    assert unpack(empty) == ([], [], [])
    assert PriceSeries.objects.get(asset=empty).bars == 0
    # One signal for all of them, ids sorted and without duplicates.
    assert sent == [(PriceSeries, sorted([a.pk, b.pk, empty.pk]))]


def test_price_series_refresh_of_no_assets_does_nothing(sent, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert price_series_refresh(asset_ids=[]) == 0
    assert sent == []


def test_price_series_refresh_replaces_a_stale_series(sent):
    asset = AssetFactory()
    price_bars_upsert(asset=asset, bars=[{"date": day(1), "close": D("1")}, {"date": day(2), "close": D("2")}])
    PriceBar.objects.filter(asset=asset, date=day(1)).update(close=D("7"))  # .update sends no signal
    assert unpack(asset)[1] == [1.0, 2.0]
    price_series_refresh(asset_ids=[asset.pk])
    assert unpack(asset)[1] == [7.0, 2.0]
    assert PriceSeries.objects.filter(asset=asset).count() == 1


# --- signal handlers: single saves and deletes keep the series in step ---------------------------


def test_saving_one_bar_refreshes_the_series(sent):
    asset = AssetFactory()
    bar = PriceBar.objects.create(asset=asset, date=day(2), close=D("10"))
    assert unpack(asset) == ([day(2)], [10.0], [10.0])
    assert sent == [(PriceSeries, [asset.pk])]

    PriceBarFactory(asset=asset, date=day(1), close=D("9"), adj_close=D("8"))
    bar.close = D("11")
    bar.save()
    assert unpack(asset) == ([day(1), day(2)], [9.0, 11.0], [8.0, 11.0])


def test_deleting_one_bar_refreshes_the_series(sent):
    asset = AssetFactory()
    price_bars_upsert(asset=asset, bars=[{"date": day(n), "close": D(n)} for n in (1, 2, 3)])
    sent.clear()
    PriceBar.objects.get(asset=asset, date=day(2)).delete()
    assert unpack(asset) == ([day(1), day(3)], [1.0, 3.0], [1.0, 3.0])
    assert sent == [(PriceSeries, [asset.pk])]


def test_deleting_bars_through_a_queryset_refreshes_the_series():
    asset = AssetFactory()
    price_bars_upsert(asset=asset, bars=[{"date": day(n), "close": D(n)} for n in (1, 2, 3, 4)])
    PriceBar.objects.filter(asset=asset, date__gte=day(3)).delete()
    assert unpack(asset) == ([day(1), day(2)], [1.0, 2.0], [1.0, 2.0])
    PriceBar.objects.filter(asset=asset).delete()
    series = PriceSeries.objects.get(asset=asset)
    assert (series.bars, series.first_date, series.last_date) == (0, None, None)


def test_deleting_an_asset_does_not_reinsert_its_series(sent):
    asset, kept = AssetFactory(symbol="GONE"), AssetFactory(symbol="KEPT")
    for a in (asset, kept):
        price_bars_upsert(asset=a, bars=[{"date": day(n), "close": D(n)} for n in (1, 2)])
    sent.clear()
    pk = asset.pk
    asset.delete()
    # The cascade removes the series first; a refresh on each deleted bar would write it back
    # pointing at the asset being deleted.
    assert not PriceSeries.objects.filter(asset_id=pk).exists()
    assert not PriceBar.objects.filter(asset_id=pk).exists()
    assert sent == []
    assert unpack(kept)[0] == [day(1), day(2)]


def test_deleting_assets_through_a_queryset_does_not_reinsert_their_series():
    assets = [AssetFactory(symbol=f"Q{i}") for i in range(3)]
    for a in assets:
        price_bars_upsert(asset=a, bars=[{"date": day(1), "close": D("1")}])
    Asset.objects.filter(symbol__in=["Q0", "Q1"]).delete()
    assert list(PriceSeries.objects.values_list("asset_id", flat=True)) == [assets[2].pk]
