from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from personal_finance.assets.models import Asset, PriceBar
from personal_finance.backtesting.selectors import PricesUnavailableError, load_prices_for_symbol


@pytest.fixture
def stored(db, goog):
    asset = Asset.objects.create(symbol="GOOG", name="Alphabet")
    PriceBar.objects.bulk_create(
        PriceBar(
            asset=asset,
            date=day.date(),
            open=Decimal(str(row.Open)),
            high=Decimal(str(row.High)),
            low=Decimal(str(row.Low)),
            close=Decimal(str(row.Close)),
        )
        for day, row in goog.iloc[:300].iterrows()
    )
    return asset


def test_loads_stored_bars_as_floats(stored, goog):
    frame = load_prices_for_symbol("goog")
    assert list(frame.columns) == ["Open", "High", "Low", "Close"]
    assert len(frame) == 300
    assert frame["Close"].tolist() == goog["Close"].iloc[:300].tolist()
    part = load_prices_for_symbol("GOOG", start=dt.date(2005, 1, 1), end=dt.date(2005, 1, 31))
    assert part.index.min() >= dt.datetime(2005, 1, 1)
    assert part.index.max() <= dt.datetime(2005, 1, 31)


def test_adjusted_prices_when_every_bar_has_adj_close(stored):
    PriceBar.objects.filter(asset=stored).update(adj_close=Decimal("1"))
    frame = load_prices_for_symbol("GOOG")
    assert frame["Close"].to_numpy() == pytest.approx(1.0, rel=1e-12)
    raw = load_prices_for_symbol("GOOG", adjusted=False)
    assert (raw["Close"] > 1).all()


def test_unknown_symbol(db):
    with pytest.raises(PricesUnavailableError, match="no stored prices for NOPE: the asset is unknown"):
        load_prices_for_symbol("nope")


def test_command_with_symbol(stored):
    out = io.StringIO()
    call_command("backtest", "--symbol", "GOOG", "--strategy", "sma_cross", "--json", stdout=out)
    doc = json.loads(out.getvalue())
    assert len(doc["equity"]) == 300
    with pytest.raises(CommandError, match="no stored prices for MSFT") as info:
        call_command("backtest", "--symbol", "MSFT", "--strategy", "buy_hold")
    assert info.value.returncode == 2
