from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from personal_finance.backtesting.broker import Settings, simulate_signals, simulate_signals_batch
from personal_finance.backtesting.data import prepare_prices, rolling_mean
from personal_finance.backtesting.engine import BacktestInputError, run_backtest
from personal_finance.backtesting.strategies import get_strategy
from personal_finance.backtesting.sweep import chunked, evaluate_chunk, expand_grid, rank_results, run_sweep

GRID = {"fast": [5, 10, 15, 20], "slow": [10, 20, 30]}


def test_rolling_mean_is_pandas_bit_for_bit(goog):
    close = goog["Close"].to_numpy()
    for n in (2, 5, 17, 50):
        assert np.array_equal(rolling_mean(close, n), goog["Close"].rolling(n).mean().to_numpy(), equal_nan=True)


def test_expand_grid_filters_invalid():
    valid, skipped = expand_grid("sma_cross", GRID)
    assert len(valid) == 8
    assert all(p["fast"] < p["slow"] for p in valid)
    assert len(skipped) == 4
    assert "must be smaller than slow" in skipped[0][1]
    with pytest.raises(BacktestInputError, match="unknown parameter 'x'"):
        expand_grid("sma_cross", {"x": [1]})
    with pytest.raises(BacktestInputError, match="has no values"):
        expand_grid("sma_cross", {"fast": []})


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"commission": 0.002, "allow_short": True, "fill": "close"},
        {"commission": 0.001, "slippage_bps": 5, "fixed_fee": 1.0, "allow_short": True},
    ],
)
def test_batch_kernel_equals_scalar_kernel_exactly(goog, settings):
    data = prepare_prices(goog)
    valid, _ = expand_grid("sma_cross", {"fast": range(3, 30, 4), "slow": range(8, 60, 7)})
    cls = get_strategy("sma_cross")
    events = [cls(**p).signals(data, 0) for p in valid]
    kw = {
        "commission": 0.0,
        "fixed_fee": 0.0,
        "allow_short": False,
        "fill": "next_open",
        "slippage_bps": 0.0,
    } | settings
    s = Settings(
        cash=10000.0,
        commission=kw["commission"],
        fixed_fee=kw["fixed_fee"],
        slippage=kw["slippage_bps"] / 1e4,
        fill_close=kw["fill"] == "close",
        allow_short=kw["allow_short"],
    )
    batch = simulate_signals_batch(data.open[:, 0], data.close[:, 0], events, s)
    for k, (bars, targets) in enumerate(events):
        one = simulate_signals(data.open[:, 0], data.close[:, 0], bars, targets, s)
        assert np.array_equal(batch["equity"][k], one.equity)
        closed = one.trades["exit_bar"] >= 0
        assert batch["trades"][k] == closed.sum()
        assert batch["gross_win"][k] == pytest.approx(one.trades["pnl"][closed & (one.trades["pnl"] > 0)].sum())


def test_sweep_rows_equal_single_runs(goog):
    table = run_sweep(goog, "sma_cross", GRID, commission=0.002, metric="sharpe")
    assert table["rank"].tolist() == list(range(1, 9))
    assert table["sharpe"].is_monotonic_decreasing
    assert len(table.attrs["skipped"]) == 4
    for _, row in table.iterrows():
        r = run_backtest(goog, "sma_cross", {"fast": row.fast, "slow": row.slow}, commission=0.002)
        for key in ("sharpe", "max_drawdown", "equity_final", "return_pct", "trades", "win_rate_pct", "exposure_pct"):
            assert row[key] == r.stats[key], key
        assert row["profit_factor"] == pytest.approx(r.stats["profit_factor"], rel=1e-12)


def test_chunks_gather_into_the_same_table(goog):
    valid, _ = expand_grid("sma_cross", GRID)
    parts = [evaluate_chunk(goog, "sma_cross", chunk, metric="return_pct") for chunk in chunked(valid, 3)]
    gathered = rank_results(parts, "return_pct")
    whole = run_sweep(goog, "sma_cross", GRID, metric="return_pct")
    pd.testing.assert_frame_equal(gathered, whole)


def test_sweep_of_an_allocation_strategy(three_assets):
    table = run_sweep(three_assets, "momentum", {"lookback": [20, 60], "top_n": [1, 2]}, metric="cagr", top=3)
    assert len(table) == 3
    assert "cagr" in table
    best = table.iloc[0]
    r = run_backtest(three_assets, "momentum", {"lookback": int(best.lookback), "top_n": int(best.top_n)})
    assert best.cagr == r.stats["cagr"]


def test_lower_is_better_and_errors(goog):
    table = run_sweep(goog.iloc[:300], "sma_cross", GRID, metric="volatility")
    assert table["volatility"].is_monotonic_increasing
    with pytest.raises(BacktestInputError, match="unknown metric 'nope'"):
        run_sweep(goog, "sma_cross", GRID, metric="nope")
    with pytest.raises(BacktestInputError, match="no valid parameter combination"):
        run_sweep(goog, "sma_cross", {"fast": [30], "slow": [10]})
    assert math.isnan(run_sweep(goog.iloc[:40], "sma_cross", {"fast": [20], "slow": [38]})["win_rate_pct"][0])
