from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from personal_finance.analytics.metrics import METRIC_KEYS, compute_metrics
from personal_finance.backtesting.engine import BacktestInputError, run_backtest
from personal_finance.backtesting.strategies import Strategy
from personal_finance.backtesting.tests.conftest import make_ohlc

# fast=2/slow=3 on these closes: up-cross decided on bar 4, down-cross on bar 8
CLOSES = [10.0, 9.0, 8.0, 8.5, 11.0, 12.0, 13.0, 12.5, 9.0, 8.0, 8.5, 8.7]
OPENS = [10.0, 9.5, 8.5, 8.2, 9.0, 11.5, 12.5, 13.0, 12.0, 8.5, 8.2, 8.6]


def data():
    return make_ohlc(CLOSES, open_=OPENS)


def test_next_open_fill_sizes_with_commission_and_charges_both_sides():
    r = run_backtest(data(), "sma_cross", {"fast": 2, "slow": 3}, cash=1000, commission=0.01)
    t = r.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar) == (5, 9)  # decided on bars 4 and 8, filled at the next opens
    assert t.entry_price == 11.5
    assert t.exit_price == 8.5
    assert t["size"] == math.floor(1000 / (11.5 * 1.01))  # 86
    entry_comm, exit_comm = 86 * 11.5 * 0.01, 86 * 8.5 * 0.01
    assert t.pnl == pytest.approx(86 * (8.5 - 11.5) - entry_comm - exit_comm)
    assert t.commission == pytest.approx(entry_comm + exit_comm)
    assert t.return_pct == pytest.approx(t.pnl / (86 * 11.5) * 100)
    assert r.stats["equity_final"] == pytest.approx(1000 + t.pnl)
    assert r.equity.iloc[4] == 1000  # nothing held yet
    assert r.equity.iloc[5] == pytest.approx(1000 - 86 * 11.5 - entry_comm + 86 * 12.0)


def test_close_fill_uses_the_deciding_bar():
    r = run_backtest(data(), "sma_cross", {"fast": 2, "slow": 3}, cash=1000, fill="close")
    t = r.trades.iloc[0]
    assert (t.entry_bar, t.exit_bar, t.entry_price, t.exit_price) == (4, 8, 11.0, 9.0)
    assert t["size"] == 90


def test_short_trades_have_negative_size_and_open_trade_is_marked():
    r = run_backtest(data(), "sma_cross", {"fast": 2, "slow": 3}, cash=1000, allow_short=True)
    assert r.trades["size"].tolist()[-1] < 0
    last = r.trades.iloc[-1]
    assert bool(last.is_open)
    assert pd.isna(last.exit_date)
    assert last.exit_bar == -1
    assert last.exit_price == CLOSES[-1]  # valued at the last close
    assert last.pnl == pytest.approx(last["size"] * (CLOSES[-1] - last.entry_price))
    assert r.stats["open_trades"] == 1
    assert r.stats["trades"] == 1
    shares = -last["size"]
    cash_after = r.stats["equity_final"] - last["size"] * CLOSES[-1]
    assert cash_after == pytest.approx(1000 + r.trades.pnl.iloc[0] + shares * last.entry_price)


def test_slippage_and_fixed_fee_worsen_fills():
    base = run_backtest(data(), "sma_cross", {"fast": 2, "slow": 3}, cash=1000)
    slip = run_backtest(data(), "sma_cross", {"fast": 2, "slow": 3}, cash=1000, slippage_bps=10, fixed_fee=1.0)
    t = slip.trades.iloc[0]
    assert t.entry_price == pytest.approx(11.5 * 1.001)
    assert t.exit_price == pytest.approx(8.5 * 0.999)
    assert t["size"] == math.floor((1000 - 1.0) / (11.5 * 1.001))
    assert t.commission == pytest.approx(2.0)
    assert slip.stats["equity_final"] < base.stats["equity_final"]


def test_signal_on_the_last_bar_is_dropped():
    closes = [10.0, 9.0, 8.0, 8.5, 11.0]  # up-cross decided on the last bar
    r = run_backtest(make_ohlc(closes), "sma_cross", {"fast": 2, "slow": 3})
    assert r.trades.empty
    assert r.stats["trades"] == 0
    assert math.isnan(r.stats["win_rate_pct"])


def test_out_of_money_stops_the_account():
    closes = [10.0, 11.0, 12.0, 11.0, 10.0, 9.0, 30.0, 60.0, 80.0, 90.0]
    r = run_backtest(make_ohlc(closes), "sma_cross", {"fast": 2, "slow": 3}, allow_short=True)
    assert (r.equity >= 0).all()
    assert r.equity.iloc[-1] == 0
    assert r.trades.iloc[-1].exit_bar >= 0  # force-closed, not left open


def test_stats_keys_and_sharpe_from_compute_metrics(goog):
    r = run_backtest(goog, "sma_cross", {"fast": 10, "slow": 20}, commission=0.002)
    for key in (*METRIC_KEYS, "equity_final", "return_pct", "trades", "win_rate_pct", "exposure_pct", "profit_factor"):
        assert key in r.stats
    returns = r.equity.pct_change().iloc[1:]
    expected = compute_metrics(returns, start=goog.index[0])
    assert r.stats["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
    assert r.stats["max_drawdown"] == pytest.approx(expected["max_drawdown"], rel=1e-12)
    closed = r.trades[~r.trades.is_open]
    wins, losses = closed.pnl[closed.pnl > 0].sum(), -closed.pnl[closed.pnl < 0].sum()
    assert r.stats["profit_factor"] == pytest.approx(wins / losses)
    assert r.stats["buy_hold_return_pct"] == pytest.approx((r.buy_hold.iloc[-1] / 10000 - 1) * 100)
    assert len(r.buy_hold) == len(goog)
    doc = r.to_dict()
    assert set(doc) >= {"stats", "trades", "equity"}
    assert doc["equity"][0] == ["2004-08-19", 10000.0]


def test_buy_hold_single_asset():
    r = run_backtest(data(), "buy_hold", {}, cash=1000, commission=0.001)
    t = r.trades.iloc[0]
    assert t.entry_bar == 1
    assert t["size"] == math.floor(1000 / (9.5 * 1.001))
    assert bool(t.is_open)
    np.testing.assert_allclose(r.equity.to_numpy(), r.buy_hold.to_numpy())


def test_sma_cross_on_several_assets_splits_cash(three_assets):
    r = run_backtest(three_assets, "sma_cross", {"fast": 5, "slow": 20})
    assert set(r.trades["symbol"]) == {"AAA", "BBB", "CCC"}
    parts = [
        run_backtest(frame, "sma_cross", {"fast": 5, "slow": 20}, cash=10000 / 3).equity
        for frame in three_assets.values()
    ]
    np.testing.assert_allclose(r.equity.to_numpy(), sum(p.to_numpy() for p in parts))


def test_per_bar_strategy_equals_vectorised(goog):
    class PerBarSma(Strategy):
        name = "per_bar_sma"
        kind = "signal"

        def next(self, i, view):
            if i < 21:
                return None
            c = view.close[: i + 1]
            f0, s0 = c[-11:-1].mean(), c[-21:-1].mean()
            f1, s1 = c[-10:].mean(), c[-20:].mean()
            if f0 < s0 and f1 > s1:
                return 1
            if f0 > s0 and f1 < s1:
                return 0
            return None

    head = goog.iloc[:400]
    mine = run_backtest(head, PerBarSma, {})
    ref = run_backtest(head, "sma_cross", {"fast": 10, "slow": 20})
    assert mine.trades["entry_bar"].tolist() == ref.trades["entry_bar"].tolist()
    assert mine.stats["equity_final"] == pytest.approx(ref.stats["equity_final"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"cash": 0}, "cash must be positive"),
        ({"commission": -0.1}, "commission"),
        ({"fill": "open"}, "fill must be one of next_open, close"),
        ({"slippage_bps": -1}, "slippage_bps"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(BacktestInputError, match=match):
        run_backtest(data(), "buy_hold", {}, **kwargs)


def test_engine_is_pure():
    code = (
        "import sys, personal_finance.backtesting.engine, personal_finance.backtesting.sweep;"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'backtesting', 'vectorbt')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
