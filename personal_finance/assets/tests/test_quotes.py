"""The one write path of a live price (quote_record / quote_announce) and the batch paths of the
one bar upsert (COPY on PostgreSQL, a subset of columns on conflict, repeated keys)."""

import datetime as dt
from decimal import Decimal as D

import pandas as pd
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personal_finance.assets import services
from personal_finance.assets.models import PriceBar
from personal_finance.assets.services import Quote, price_bars_upsert, quote_announce, quote_record
from personal_finance.contrib.signals import price_quoted

from .factories import AssetFactory, PriceBarFactory

pytestmark = pytest.mark.django_db

TS = dt.datetime(2024, 1, 3, 15, 30, tzinfo=dt.UTC)


@pytest.fixture
def quoted():
    """Every price_quoted signal sent while the test runs, as dicts of its keyword arguments."""
    received = []

    def receiver(sender, **kwargs):
        kwargs.pop("signal")
        received.append(kwargs)

    price_quoted.connect(receiver, dispatch_uid="test-quoted")
    yield received
    price_quoted.disconnect(dispatch_uid="test-quoted")


def test_quote_record_creates_the_days_bar_and_announces_it(quoted):
    asset = AssetFactory(symbol="AAPL")
    quote = quote_record(asset=asset, price=D("187.23"), ts=TS, source="yahoo", previous_close=D("185"))
    assert (quote.day, quote.created, quote.changed) == (dt.date(2024, 1, 3), True, True)
    bar = PriceBar.objects.get(asset=asset)
    assert (bar.date, bar.close, bar.source, bar.open) == (dt.date(2024, 1, 3), D("187.23"), "yahoo", None)
    assert quoted == [
        {"symbol": "AAPL", "price": D("187.23"), "ts": TS, "previous_close": D("185"), "simulated": False}
    ]


def test_quote_record_updates_only_close_and_source_of_an_existing_bar(quoted):
    asset = AssetFactory(symbol="MSFT")
    PriceBarFactory(asset=asset, date=dt.date(2024, 1, 3), open=D("10"), high=D("12"), close=D("11"), source="csv")
    quote = quote_record(asset=asset, price=D("11.5"), ts=TS, source="yahoo")
    assert (quote.created, quote.changed) == (False, True)
    bar = PriceBar.objects.get(asset=asset)
    assert (bar.open, bar.high, bar.close, bar.source) == (D("10"), D("12"), D("11.5"), "yahoo")
    assert [q["price"] for q in quoted] == [D("11.5")]


def test_an_unchanged_quote_is_neither_written_nor_announced_unless_asked(quoted):
    asset = AssetFactory(symbol="IBM")
    PriceBarFactory(asset=asset, date=dt.date(2024, 1, 3), close=D("150"), source="csv")
    with CaptureQueriesContext(connection) as queries:
        quote = quote_record(asset=asset, price=D("150.00"), ts=TS, source="yahoo")
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("SELECT") == 1  # the read of the day's close
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements)
    assert (quote.created, quote.changed) == (False, False)
    assert PriceBar.objects.get(asset=asset).source == "csv"
    assert quoted == []
    quote_record(asset=asset, price=D("150"), ts=TS, source="yahoo", announce_unchanged=True)
    assert [q["symbol"] for q in quoted] == ["IBM"]


def test_the_quote_day_is_the_utc_day():
    asset = AssetFactory(symbol="SAP.DE")
    late = dt.datetime(2024, 1, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))  # 04:30 UTC next day
    assert quote_record(asset=asset, price=D("1"), ts=late, source="x").day == dt.date(2024, 1, 4)


def test_quote_announce_only_sends_the_signal(quoted):
    asset = AssetFactory(symbol="NEWCO")
    quote_announce(Quote(asset=asset, price=D("2"), ts=TS, day=TS.date()), simulated=True)
    assert not PriceBar.objects.filter(asset=asset).exists()
    assert quoted == [{"symbol": "NEWCO", "price": D("2"), "ts": TS, "previous_close": None, "simulated": True}]


@pytest.mark.parametrize("rows", [10, services.COPY_MIN_ROWS + 10])
def test_a_batch_upsert_updates_only_the_named_columns(rows):
    """Small batches go through the ORM, large ones (PostgreSQL) through COPY: same result."""
    asset = AssetFactory(symbol="BIG")
    days = pd.date_range("2020-01-01", periods=rows, freq="D")
    frame = pd.DataFrame(
        {
            "asset_id": asset.pk,
            "date": days.strftime("%Y-%m-%d"),
            "open": 1.0,
            "close": [1.0 + i / 100 for i in range(rows)],
            "volume": 100,
            "source": "csv",
        }
    )
    assert price_bars_upsert(frame) == rows
    again = frame.assign(open=9.0, close=frame["close"] * 2, source="yahoo")
    written = price_bars_upsert(again, update=("close",))
    assert written == rows
    first = PriceBar.objects.filter(asset=asset).order_by("date").first()
    assert (first.open, first.close, first.volume, first.source) == (D("1"), D("2"), 100, "csv")
    assert PriceBar.objects.filter(asset=asset).count() == rows
    if connection.vendor == "postgresql" and rows >= services.COPY_MIN_ROWS:
        # The COPY path leaves its staging table empty for the next batch of the transaction.
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {services._STAGE}")
            assert cursor.fetchone()[0] == 0


def test_a_key_repeated_in_one_batch_keeps_its_last_row():
    asset = AssetFactory(symbol="DUP")
    day = dt.date(2024, 1, 2)
    written = price_bars_upsert(
        asset=asset, bars=[{"date": day, "close": D("1")}, {"date": day, "close": D("3")}], source="x"
    )
    assert written == 1
    assert PriceBar.objects.get(asset=asset).close == D("3")
