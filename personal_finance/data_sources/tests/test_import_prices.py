"""The ``import_prices`` command (moved from portfolios/tests/test_admin_and_commands.py)."""

import datetime as dt
import json
from decimal import Decimal as D

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.assets.models import Asset, PriceBar, PriceSeries

pytestmark = pytest.mark.django_db


def test_import_prices_command(tmp_path, capsys):
    path = tmp_path / "prices.csv"
    path.write_text(
        "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9.5,10.5,1000\n2024-01-03,10.5,11,10,10.75,2000\n"
    )
    call_command("import_prices", str(path), "--symbol", "abc", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert doc == {
        "symbol": "ABC",
        "asset_created": True,
        "rows": 2,
        "refused": [],
        "start": "2024-01-02",
        "end": "2024-01-03",
    }
    bar = PriceBar.objects.get(asset__symbol="ABC", date=dt.date(2024, 1, 3))
    assert bar.close == D("10.75")
    assert bar.volume == 2000
    call_command("import_prices", str(path), "--symbol", "ABC")  # idempotent upsert
    assert PriceBar.objects.filter(asset__symbol="ABC").count() == 2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,-1\n", "row 1, column 'Close'"),
        ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,x\n", "row 1, column 'Close'"),
        ("Date,Open,High,Low\n2024-01-02,10,11,9\n", "missing column"),
        ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-02,10,11,9,10\n", "row 2, column 'Date'"),
        ("Date,Open,High,Low,Close\n2024-01-02,10,11,9,10\n2024-01-03,10,9,11,10\n", "2024-01-03 (ohlc_inconsistent)"),
    ],
)
def test_import_prices_bad_input_exit_2(tmp_path, body, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(CommandError) as info:
        call_command("import_prices", str(path), "--symbol", "BAD")
    assert info.value.returncode == 2
    assert fragment in str(info.value)
    assert not Asset.objects.filter(symbol="BAD").exists()


def test_import_prices_keeps_the_packed_series_in_step(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,10,11,9.5,10.5\n2024-01-03,10.5,11,10,10.75\n")
    call_command("import_prices", str(path), "--symbol", "ABC", "--currency", "eur")
    asset = Asset.objects.get(symbol="ABC")
    assert asset.currency == "EUR"
    series = PriceSeries.objects.get(asset=asset)
    assert (series.bars, series.first_date, series.last_date) == (2, dt.date(2024, 1, 2), dt.date(2024, 1, 3))
    assert np.frombuffer(bytes(series.closes), dtype="float64").tolist() == [10.5, 10.75]
