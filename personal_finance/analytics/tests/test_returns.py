"""Time-weighted and money-weighted returns (docs/contracts.md §11), hand-computed cases. No database."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from personal_finance.analytics import metrics
from personal_finance.analytics.returns import time_weighted_return, twr_daily_returns, xirr


def test_twr_without_flows_is_the_value_change():
    values = [100.0, 110.0, 99.0, 120.0]
    r = twr_daily_returns(values, [100.0, 0, 0, 0])
    np.testing.assert_allclose(r, [0.0, 0.10, -0.10, 120 / 99 - 1])
    assert time_weighted_return(values, [100.0, 0, 0, 0]) == pytest.approx(0.20)


def test_twr_deposit_mid_series_does_not_distort():
    # Day 0: deposit 100 -> 100. Day 1: +10% -> 110. Day 2: deposit 1000 at the start, +10% -> 1221.
    # Day 3: -5% -> 1159.95. The money-weighted gain is dominated by the big deposit; TWR is not.
    values = [100.0, 110.0, 1221.0, 1159.95]
    flows = [100.0, 0.0, 1000.0, 0.0]
    np.testing.assert_allclose(twr_daily_returns(values, flows), [0.0, 0.10, 0.10, -0.05], atol=1e-12)
    assert time_weighted_return(values, flows) == pytest.approx(1.1 * 1.1 * 0.95 - 1)
    # the same market moves without the deposit give the same TWR
    assert time_weighted_return([100.0, 110.0, 121.0, 114.95], [100.0, 0, 0, 0]) == pytest.approx(
        time_weighted_return(values, flows)
    )


def test_twr_withdrawal_mid_series():
    values = [1000.0, 1100.0, 550.0, 605.0]
    flows = [1000.0, 0.0, -550.0, 0.0]  # withdraw half at the start of day 2, flat that day
    np.testing.assert_allclose(twr_daily_returns(values, flows), [0.0, 0.10, 0.0, 0.10], atol=1e-12)


def test_twr_re_entering_after_selling_everything():
    # One holding: bought for 1000 on day 0, +10% on day 1 and sold at the close for 1100 (the
    # proceeds leave at the start of day 2). Nothing held on days 2-3 while the stock falls 50%.
    # Bought again for 500 on day 4, worth 550 at the close; +10% on day 5.
    values = [1000.0, 1100.0, 0.0, 0.0, 550.0, 605.0]
    flows = [1000.0, 0.0, -1100.0, 0.0, 500.0, 0.0]
    r = twr_daily_returns(values, flows)
    np.testing.assert_allclose(r, [0.0, 0.10, 0.0, 0.0, 0.10, 0.10], atol=1e-12)
    assert time_weighted_return(values, flows) == pytest.approx(1.1**3 - 1)


def test_twr_repeated_buys():
    # Buy 10 at 10 (day 0), price 11 (day 1), buy 10 more at 11 (day 2, price ends at 12), price 12.
    values = [100.0, 110.0, 240.0, 240.0]
    flows = [100.0, 0.0, 110.0, 0.0]
    np.testing.assert_allclose(twr_daily_returns(values, flows), [0.0, 0.10, 240 / 220 - 1, 0.0], atol=1e-12)
    assert time_weighted_return(values, flows) == pytest.approx(0.20)  # the price went 10 -> 12


def test_twr_fees_reduce_return():
    # Buy 10 shares at 10 with a fee of 1: the flow is 101, the value 100 at an unchanged close.
    assert time_weighted_return([100.0, 110.0], [101.0, 0.0]) == pytest.approx(110 / 101 - 1)


def test_twr_series_keeps_index_and_feeds_compute_metrics():
    index = pd.bdate_range("2024-01-01", periods=4)
    values = pd.Series([100.0, 110.0, 1221.0, 1159.95], index=index)
    flows = pd.Series([100.0, 0.0, 1000.0, 0.0], index=index)
    r = twr_daily_returns(values, flows)
    assert isinstance(r, pd.Series)
    assert r.index.equals(index)
    assert metrics.compute_metrics(r)["total_return"] == pytest.approx(time_weighted_return(values, flows))


def test_twr_refuses_value_from_nothing_and_mismatched_lengths():
    with pytest.raises(ValueError, match="nothing invested"):
        twr_daily_returns([100.0, 110.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="differ in length"):
        twr_daily_returns([100.0, 110.0], [100.0])
    assert math.isnan(time_weighted_return([], []))


def test_xirr_ten_percent_over_a_year():
    assert xirr(["2023-01-01", "2024-01-01"], [-1000.0, 1100.0]) == pytest.approx(0.10, rel=1e-12)


def test_xirr_actual_365_on_a_leap_year():
    # 366 days: (1.1) ** (365 / 366) - 1
    rate = xirr(["2024-01-01", "2025-01-01"], [-1000.0, 1100.0])
    assert rate == pytest.approx(1.1 ** (365 / 366) - 1, rel=1e-12)


def test_xirr_several_flows_zero_npv_and_scipy():
    dates = pd.to_datetime(["2020-01-15", "2020-06-30", "2021-03-01", "2022-11-20", "2023-05-05"])
    amounts = np.array([-10000.0, -2500.0, 1500.0, -4000.0, 21000.0])
    rate = xirr(dates, amounts)
    t = (dates - dates[0]).days.to_numpy() / 365.0
    assert float(np.sum(amounts / (1 + rate) ** t)) == pytest.approx(0.0, abs=1e-7)
    optimize = pytest.importorskip("scipy.optimize")
    expected = optimize.brentq(lambda x: np.sum(amounts / (1 + x) ** t), -0.99, 10)
    assert rate == pytest.approx(expected, rel=1e-9)


def test_xirr_same_day_amounts_are_summed_and_order_is_free():
    a = xirr(["2024-01-01", "2023-01-01", "2023-01-01"], [1100.0, -600.0, -400.0])
    assert a == pytest.approx(0.10, rel=1e-12)


def test_xirr_losses_and_large_gains():
    assert xirr(["2023-01-01", "2024-01-01"], [-1000.0, 100.0]) == pytest.approx(-0.90, rel=1e-10)
    assert xirr(["2023-01-01", "2023-01-11"], [-1000.0, 2000.0]) == pytest.approx(2 ** (36.5) - 1, rel=1e-9)


def test_xirr_newton_fallback_to_bisection():
    # a bad guess far from the root still converges
    assert xirr(["2023-01-01", "2024-01-01"], [-1000.0, 1100.0], guess=500.0) == pytest.approx(0.10, rel=1e-10)


def test_xirr_undefined_cases_are_nan():
    assert math.isnan(xirr(["2023-01-01", "2024-01-01"], [1000.0, 1100.0]))  # no sign change
    assert math.isnan(xirr(["2023-01-01"], [-1000.0]))
    assert math.isnan(xirr([], []))
    with pytest.raises(ValueError, match="differ in length"):
        xirr(["2023-01-01"], [1.0, 2.0])


def test_metrics_module_re_exports_return_math():
    assert metrics.xirr is xirr
    assert metrics.time_weighted_return is time_weighted_return
