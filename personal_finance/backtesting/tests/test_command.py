from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from personal_finance.backtesting.tests.conftest import make_ohlc


@pytest.fixture
def goog_csv(goog, tmp_path):
    path = tmp_path / "goog.csv"
    goog.to_csv(path)
    return path


def run(*args):
    out = io.StringIO()
    call_command("backtest", *args, stdout=out)
    return out.getvalue()


def test_summary_line(goog_csv):
    text = run("--prices", str(goog_csv), "--strategy", "sma_cross", "--param", "fast=10", "--param", "slow=20")
    assert text.count("\n") == 1
    assert text.startswith("sma_cross(fast=10, slow=20) on GOOG 2004-08-19..2013-03-01: final equity 75,645.99")


def test_json_document(goog_csv):
    text = run(
        "--prices", str(goog_csv), "--strategy", "sma_cross", "--commission", "0.002", "--fill", "close",
        "--allow-short", "--cash", "20000", "--json",
    )  # fmt: skip
    doc = json.loads(text)
    assert {"stats", "trades", "equity"} <= set(doc)
    assert doc["equity"][0] == ["2004-08-19", 20000.0]
    assert len(doc["equity"]) == 2148
    assert doc["settings"] == {
        "cash": 20000.0,
        "commission": 0.002,
        "fixed_fee": 0.0,
        "slippage_bps": 0.0,
        "fill": "close",
        "allow_short": True,
    }
    first = doc["trades"][0]
    assert set(first) >= {"entry_date", "exit_date", "entry_price", "exit_price", "size", "pnl", "return_pct"}
    assert any(t["size"] < 0 for t in doc["trades"])
    assert doc["trades"][-1]["exit_date"] is None
    assert doc["trades"][-1]["is_open"] is True


def test_nan_becomes_null(tmp_path):
    path = tmp_path / "flat.csv"
    make_ohlc([10.0] * 30).to_csv(path)
    doc = json.loads(
        run("--prices", str(path), "--strategy", "sma_cross", "--param", "fast=2", "--param", "slow=5", "--json")
    )
    assert doc["stats"]["sharpe"] is None
    assert doc["stats"]["win_rate_pct"] is None


def test_several_files(tmp_path, three_assets):
    args = []
    for symbol, frame in three_assets.items():
        frame.to_csv(tmp_path / f"{symbol.lower()}.csv")
        args += ["--prices", f"{symbol}={tmp_path / f'{symbol.lower()}.csv'}"]
    doc = json.loads(run(*args, "--strategy", "rebalance", "--param", "weights=AAA:0.5,BBB:0.5,CCC:0", "--json"))
    assert {t["symbol"] for t in doc["trades"]} == {"AAA", "BBB"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "sma_cross", "--param", "fast"], "write parameters as NAME=VALUE"),
        (
            ["--strategy", "sma_cross", "--param", "fast=30", "--param", "slow=20"],
            "fast (30) must be smaller than slow (20)",
        ),
        (["--strategy", "sma_cross", "--param", "speed=3"], "unknown parameter 'speed'"),
        (["--strategy", "sma_cross", "--cash", "-5"], "cash must be positive"),
    ],
)
def test_bad_input_exits_2(goog_csv, args, message):
    with pytest.raises(CommandError) as info:
        run("--prices", str(goog_csv), *args)
    assert info.value.returncode == 2
    assert message in str(info.value)


def test_bad_csv_names_file_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Date,Open,High,Low,Close\n2024-01-02,1,1,1,1\n2024-01-03,1,1,x,1\n")
    with pytest.raises(CommandError) as info:
        run("--prices", str(path), "--strategy", "buy_hold")
    assert info.value.returncode == 2
    assert str(path) in str(info.value)
    assert "row 2" in str(info.value)
    assert "'Low'" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="cannot read file") as info:
        run("--prices", str(tmp_path / "nope.csv"), "--strategy", "buy_hold")
    assert info.value.returncode == 2


def test_symbol_needs_stored_prices(db):
    with pytest.raises(CommandError, match="no stored prices for AAPL") as info:
        run("--symbol", "AAPL", "--strategy", "buy_hold")
    assert info.value.returncode == 2
