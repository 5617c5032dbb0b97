"""Validated bulk ingestion (COPY + ON CONFLICT on PostgreSQL, the ORM upsert on SQLite)."""

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.assets.models import Asset, CorporateAction, PriceBar
from personal_finance.assets.tests.factories import AssetFactory
from personal_finance.data_sources.base import CorporateActions, History
from personal_finance.data_sources.cassette import ReplayClient
from personal_finance.data_sources.chain import ProviderChain
from personal_finance.data_sources.csv_provider import CSVProvider
from personal_finance.data_sources.ingest import IngestRefused, adjusted_closes, ingest_history
from personal_finance.data_sources.sample import SampleProvider
from personal_finance.data_sources.services import fetch_fx, fetch_prices, update_latest_quotes
from personal_finance.data_sources.yahoo import YahooProvider

pytestmark = pytest.mark.django_db
CASSETTES = Path(__file__).resolve().parents[1] / "cassettes"
JAN = (dt.date(2024, 1, 2), dt.date(2024, 1, 10))


def bars(closes, start="2024-01-02"):
    index = pd.bdate_range(start, periods=len(closes), name="Date")
    close = pd.Series(closes, index=index, dtype="float64")
    return pd.DataFrame({"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close, "Volume": 1000.0})


def chain_of(*providers):
    return ProviderChain(list(providers), retries=0, sleep=lambda s: None, rate=0)


def test_fetch_from_recorded_yahoo_stores_bars_and_asset_info():
    yahoo = YahooProvider(client=ReplayClient(CASSETTES / "yahoo_basic.json"))
    report = fetch_prices(symbols=["aapl", "MSFT"], start=JAN[0], end=JAN[1], chain=chain_of(yahoo))
    assert report["ok"] == 2
    assert report["symbols"]["AAPL"]["rows_written"] == 7
    bar = PriceBar.objects.get(asset__symbol="AAPL", date=dt.date(2024, 1, 10))
    assert bar.close == Decimal("186.19")
    assert bar.adj_close == Decimal("184.83")
    assert bar.volume == 46792900
    assert bar.source == "yahoo"


def test_ingestion_is_idempotent_and_updates_values():
    asset = AssetFactory(symbol="IDEM")
    history = History("IDEM", bars([10, 11, 12]), "csv")
    assert ingest_history(asset=asset, history=history).rows_written == 3
    history.bars.loc[history.bars.index[-1], ["Close", "High"]] = 12.5
    ingest_history(asset=asset, history=history)
    assert PriceBar.objects.filter(asset=asset).count() == 3
    assert PriceBar.objects.get(asset=asset, date=dt.date(2024, 1, 4)).close == Decimal("12.5")


def test_rows_with_errors_are_refused_by_name_and_nothing_is_stored():
    asset = AssetFactory(symbol="BADROW")
    frame = bars([10, 11, -1, 12])
    with pytest.raises(IngestRefused) as info:
        ingest_history(asset=asset, history=History("BADROW", frame, "csv"))
    assert "2024-01-04" in info.value.message
    assert "non_positive_prices" in info.value.errors["2024-01-04"]
    assert not PriceBar.objects.filter(asset=asset).exists()
    result = ingest_history(asset=asset, history=History("BADROW", frame, "csv"), partial=True)
    assert result.rows_written == 3
    assert [r["date"] for r in result.refused] == ["2024-01-04"]
    assert "non_positive_prices" in result.refused[0]["checks"]


def test_one_bad_symbol_loses_nothing_of_the_others(tmp_path):
    (tmp_path / "GOOD.csv").write_text("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-03,10,11,9,10.5\n")
    (tmp_path / "BAD.csv").write_text("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-03,10,9,11,-3\n")
    report = fetch_prices(symbols=["GOOD", "BAD"], start=dt.date(2024, 1, 1), chain=chain_of(CSVProvider(tmp_path)))
    assert report["symbols"]["GOOD"]["rows_written"] == 2
    assert report["symbols"]["BAD"]["error_type"] == "IngestRefused"
    assert PriceBar.objects.filter(asset__symbol="GOOD").count() == 2
    assert not PriceBar.objects.filter(asset__symbol="BAD").exists()


def test_splits_are_stored_and_adjusted_closes_follow_them():
    yahoo = YahooProvider(client=ReplayClient(CASSETTES / "yahoo_basic.json"))
    fetch_prices(symbols=["NVDA"], start=dt.date(2024, 6, 5), end=dt.date(2024, 6, 12), chain=chain_of(yahoo))
    split = CorporateAction.objects.get(asset__symbol="NVDA", kind="split")
    assert (split.date, split.ratio) == (dt.date(2024, 6, 10), Decimal(10))

    asset = AssetFactory(symbol="SPLT")
    history = History(
        "SPLT",
        bars([100, 102, 51, 52]),
        "csv",
        CorporateActions(splits=pd.Series([2.0], index=pd.DatetimeIndex(["2024-01-04"]))),
    )
    ingest_history(asset=asset, history=history)
    adj = dict(PriceBar.objects.filter(asset=asset).values_list("date", "adj_close"))
    assert adj[dt.date(2024, 1, 2)] == Decimal("50")
    assert adj[dt.date(2024, 1, 3)] == Decimal("51")
    assert adj[dt.date(2024, 1, 5)] == Decimal("52")


def test_adjusted_closes_for_dividends():
    closes = pd.Series([100.0, 100.0, 98.0], index=pd.bdate_range("2024-01-02", periods=3))
    dividends = pd.Series([2.0], index=pd.DatetimeIndex(["2024-01-04"]))
    adjusted = adjusted_closes(closes, pd.Series(dtype="float64"), dividends)
    assert list(adjusted.round(6)) == [98.0, 98.0, 98.0]


def test_fx_and_latest_quotes():
    sample = SampleProvider()
    fx = fetch_fx(base="EUR", quote="USD", start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 12), chain=chain_of(sample))
    assert fx["rows"] == 9
    assert fx["sample"] is True
    yahoo = YahooProvider(client=ReplayClient(CASSETTES / "yahoo_basic.json"))
    AssetFactory(symbol="AAPL")
    report = update_latest_quotes(symbols=["AAPL"], chain=chain_of(yahoo))
    assert report["stored"]["AAPL"]["price"] == "186.19"
    today_bar = PriceBar.objects.get(asset__symbol="AAPL")
    assert today_bar.close == Decimal("186.19")
    again = update_latest_quotes(symbols=["AAPL"], chain=chain_of(yahoo))  # idempotent
    assert again["stored"]["AAPL"]["price"] == "186.19"
    assert PriceBar.objects.filter(asset__symbol="AAPL").count() == 1


def test_fetch_prices_command_json_and_bad_date(capsys):
    call_command("fetch_prices", "VTI", "--start", "2024-01-02", "--end", "2024-01-05", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["symbols"]["VTI"]["rows_written"] == 4
    assert doc["symbols"]["VTI"]["sample"] is True
    call_command("fetch_prices", "VTI", "--start", "2024-01-02", "--end", "2024-01-05")
    assert "SAMPLE DATA" in capsys.readouterr().out
    with pytest.raises(CommandError) as info:
        call_command("fetch_prices", "VTI", "--start", "02/01/2024")
    assert info.value.returncode == 2
    with pytest.raises(CommandError):
        call_command("fetch_prices", "NOSUCHSYMBOLX")
    assert not Asset.objects.filter(symbol="NOSUCHSYMBOLX").exists()


def test_tasks_run_the_services_eagerly():
    from personal_finance.data_sources.tasks import fetch_market_data, update_asset_prices

    report = fetch_market_data.delay(["BND"], "2024-01-02").get()
    assert report["symbols"]["BND"]["source"] == "sample"
    assert update_asset_prices.delay(["BND"]).get()["stored"]["BND"]["source"] == "sample"


def test_provider_state_admin(client):
    from personal_finance.data_sources.models import ProviderState
    from personal_finance.users.tests.factories import UserFactory

    ProviderState.objects.create(name="yahoo", state="open", last_error="DNS")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get("/admin/data_sources/providerstate/")
    assert page.status_code == 200
    assert b"yahoo" in page.content
