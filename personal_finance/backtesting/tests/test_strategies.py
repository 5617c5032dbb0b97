from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from personal_finance.backtesting.engine import BacktestInputError, run_backtest
from personal_finance.backtesting.strategies import REGISTRY, Param, Strategy, get_strategy, register
from personal_finance.backtesting.tests.conftest import make_ohlc


def ohlc(n=60, start=100.0, step=0.5):
    return make_ohlc(start + step * np.arange(n) + np.sin(np.arange(n)))


@pytest.mark.parametrize(
    ("strategy", "params", "match"),
    [
        ("nope", {}, "unknown strategy 'nope' \\(known: buy_hold, dca, momentum, rebalance, sma_cross\\)"),
        ("sma_cross", {"fats": 3}, "unknown parameter 'fats' for strategy 'sma_cross' \\(known: fast, slow\\)"),
        ("sma_cross", {"fast": "ten"}, "parameter 'fast' must be a whole number, got 'ten'"),
        ("sma_cross", {"fast": 2.5}, "parameter 'fast' must be a whole number"),
        ("sma_cross", {"fast": True}, "parameter 'fast' must be a whole number"),
        ("sma_cross", {"fast": 20, "slow": 20}, "fast \\(20\\) must be smaller than slow \\(20\\)"),
        ("sma_cross", {"fast": 30, "slow": 20}, "fast \\(30\\) must be smaller than slow \\(20\\)"),
        ("sma_cross", {"fast": 0}, "parameter 'fast' must be >= 1"),
        ("sma_cross", {"slow": 100}, "needs at least 101 bars with these parameters; the prices have 60"),
        ("momentum", {"lookback": 80}, "needs at least 82 bars"),
        ("momentum", {"top_n": 2, "lookback": 10}, "top_n \\(2\\) is larger than the number of assets \\(1\\)"),
        ("rebalance", {"period": "fortnight"}, "parameter 'period' must be D, W, M, Q, Y"),
        ("rebalance", {"weights": {}}, "the weights are empty"),
        ("rebalance", {"weights": ""}, "the weights are empty"),
        ("rebalance", {"weights": "ASSET:0.5"}, "the weights sum to 0.5, not 1"),
        ("rebalance", {"weights": {"ASSET": -1, "X": 2}}, "weight of ASSET is negative"),
        ("rebalance", {"threshold": "x"}, "parameter 'threshold' must be a number"),
        ("dca", {"amount": 0}, "parameter 'amount' must be >= 0.01"),
        ("momentum", {"absolute": "maybe"}, "parameter 'absolute' must be true or false"),
    ],
)
def test_validation_messages(strategy, params, match):
    with pytest.raises(BacktestInputError, match=match) as info:
        run_backtest(ohlc(), strategy, params)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda f: f.assign(Close=f.Close.where(f.index != f.index[5])), "missing Close price on 2024-01-08"),
        (
            lambda f: f.assign(Open=f.Open.where(f.index != f.index[3], -1.0)),
            "non-positive Open price -1 on 2024-01-04",
        ),
        (lambda f: f.assign(Low=0.0), "non-positive Low price 0 on 2024-01-01"),
        (lambda f: f.drop(columns="High"), "missing column 'High'"),
        (lambda f: f.iloc[:0], "no rows"),
        (lambda f: pd.concat([f, f.iloc[-1:]]), "duplicate date 2024-03-22"),
        (lambda f: f.reset_index(drop=True).set_axis(["x"] * len(f)), "the index must be dates"),
    ],
)
def test_bad_prices(mutate, match):
    with pytest.raises(BacktestInputError, match=match):
        run_backtest(mutate(ohlc()), "buy_hold", {})


def test_unsorted_prices_are_sorted():
    frame = ohlc()
    a = run_backtest(frame, "sma_cross", {"fast": 3, "slow": 7})
    b = run_backtest(frame.iloc[::-1], "sma_cross", {"fast": 3, "slow": 7})
    pd.testing.assert_series_equal(a.equity, b.equity, check_freq=False)


def test_params_from_text_are_coerced():
    r = run_backtest(ohlc(), "sma_cross", {"fast": "3", "slow": "7"})
    assert r.params == {"fast": 3, "slow": 7}
    r = run_backtest(ohlc(), "momentum", {"lookback": "20", "absolute": "yes", "period": "w"})
    assert r.params["absolute"] is True
    assert r.params["period"] == "W"


def test_schema_describes_params():
    schema = get_strategy("sma_cross").schema()
    assert schema["params"]["fast"] == {
        "type": "int",
        "help": schema["params"]["fast"]["help"],
        "default": 10,
        "min": 1,
    }


def test_momentum_rotates_into_the_strongest(three_assets):
    r = run_backtest(three_assets, "momentum", {"lookback": 60, "top_n": 1, "period": "M"})
    assert not r.trades.empty
    held = r.trades.groupby("symbol")["size"].count()
    assert held.index.isin(["AAA", "BBB", "CCC"]).all()
    # the first decision (bar 60) picks the best 60-bar return
    closes = {s: f["Close"].to_numpy() for s, f in three_assets.items()}
    best = max(closes, key=lambda s: closes[s][60] / closes[s][0])
    first = r.trades.sort_values("entry_bar").iloc[0]
    assert first.symbol == best
    assert first.entry_bar == 61


def test_momentum_absolute_goes_to_cash_when_everything_falls():
    falling = make_ohlc(100 - 0.5 * np.arange(80))
    r = run_backtest(falling, "momentum", {"lookback": 10, "absolute": True})
    assert r.trades.empty
    assert (r.equity == 10000).all()


def test_rebalance_keeps_weights(three_assets):
    r = run_backtest(three_assets, "rebalance", {"weights": "AAA:0.5,BBB:0.3,CCC:0.2", "period": "Q"}, cash=100000)
    first_buys = r.trades[r.trades.entry_bar == 1]  # the first lots, possibly split by later sales
    value = (first_buys["size"] * first_buys["entry_price"]).groupby(first_buys["symbol"]).sum().to_numpy()
    np.testing.assert_allclose(value / 100000, [0.5, 0.3, 0.2], atol=0.002)
    assert (r.trades.exit_bar > 0).any()  # quarterly rebalances sold something


def test_rebalance_by_drift_trades_less_with_a_wider_band(three_assets):
    tight = run_backtest(three_assets, "rebalance", {"threshold": 0.01}, cash=100000)
    wide = run_backtest(three_assets, "rebalance", {"threshold": 0.1}, cash=100000)
    assert len(tight.trades) > len(wide.trades)


def test_dca_invests_a_fixed_amount_every_period(three_assets):
    r = run_backtest(three_assets, "dca", {"amount": 300, "weights": "AAA:1"}, cash=50000)
    buys = r.trades.groupby("entry_bar").apply(lambda t: (t["size"] * t["entry_price"]).sum(), include_groups=False)
    assert len(buys) > 20
    budget = 300 * np.arange(1, len(buys) + 1)  # rounding leftovers roll into the next period
    price = three_assets["AAA"]["Open"].max()
    assert (buys.cumsum().to_numpy() <= budget + 1e-9).all()
    assert (buys.cumsum().to_numpy() > budget - price).all()
    assert (r.trades.exit_bar < 0).all()  # never sells


def test_dca_default_amount_spreads_the_cash(three_assets):
    r = run_backtest(three_assets, "dca", {}, cash=30000)
    invested = (r.trades["size"] * r.trades["entry_price"]).sum()
    assert 0.97 * 30000 < invested <= 30000


def test_register_a_new_strategy():
    @register
    class AlwaysLong(Strategy):
        name = "always_long_test"
        kind = "signal"
        params = {"start": Param("int", 0, "bar of the first order", min=0)}

        def signals(self, data, k):
            return np.array([self.p["start"]]), np.array([1], dtype=np.int8)

    try:
        r = run_backtest(ohlc(), "always_long_test", {"start": 5})
        assert r.trades.iloc[0].entry_bar == 6
    finally:
        REGISTRY.pop("always_long_test")


def test_documented_example_strategy(goog):
    """The Breakout example of docs/backtesting.md, verbatim."""

    @register
    class Breakout(Strategy):
        name = "breakout"
        kind = "signal"
        description = "Long on a close above the previous n-bar high, flat below the exit_n-bar low."
        params = {
            "n": Param("int", 20, "entry window, in bars", min=2),
            "exit_n": Param("int", 10, "exit window, in bars", min=2),
        }

        @classmethod
        def check_params(cls, values):
            if values["exit_n"] > values["n"]:
                raise BacktestInputError("exit_n must not exceed n", field="exit_n")

        def min_bars(self):
            return self.p["n"] + 1

        def signals(self, data, k):
            close = pd.Series(data.close[:, k])
            high = close.rolling(self.p["n"]).max().shift(1)
            low = close.rolling(self.p["exit_n"]).min().shift(1)
            state = np.where(close > high, 1.0, np.where(close < low, 0.0, np.nan))
            state = pd.Series(state).ffill().fillna(0.0).to_numpy()
            bars = np.flatnonzero(np.diff(state, prepend=0.0) != 0)
            return bars.astype(np.int64), state[bars].astype(np.int8)

    try:
        r = run_backtest(goog, "breakout", {"n": 20, "exit_n": 10}, commission=0.002)
        assert r.stats["trades"] > 10
        assert (r.trades["size"] > 0).all()
        with pytest.raises(BacktestInputError, match="exit_n must not exceed n"):
            run_backtest(goog, "breakout", {"n": 5, "exit_n": 10})
    finally:
        REGISTRY.pop("breakout")
