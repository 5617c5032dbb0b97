"""Metrics of docs/contracts.md §11 against empyrical and quantstats (development-only peers), and by hand.

No database. Where the peers agree we equal both to 1e-9 relative; where they disagree we test the
convention docs/contracts.md §11 picks (see docs/metrics.md) against the peer that follows it, or against the
contract's formula computed here.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from personal_finance.analytics import metrics as m
from personal_finance.analytics.metrics import (
    BENCHMARK_KEYS,
    EXTRA_KEYS,
    METRIC_KEYS,
    compute_metrics,
    drawdown_series,
    json_safe,
    monthly_returns_table,
    rolling_sharpe,
    rolling_volatility,
)

ep = pytest.importorskip("empyrical")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    qs = pytest.importorskip("quantstats")

REL = 1e-9


def _series(seed: int, n: int = 1500, first_negative: bool = False) -> tuple[pd.Series, pd.Series]:
    """Fat-tailed daily returns with a correlated benchmark, on business days."""
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2010-01-04", periods=n)
    bench = 0.0003 + 0.011 * rng.standard_t(4, n) / math.sqrt(2.0)
    port = 0.0002 + 0.8 * bench + 0.007 * rng.standard_normal(n)
    if first_negative:
        port[0] = -0.03
    return pd.Series(port, index=index, name="port"), pd.Series(bench, index=index, name="bench")


CASES = [(seed, rf, first_negative) for seed in (1, 2) for rf in (0.0, 0.03) for first_negative in (False, True)]


def _approx(value):
    return pytest.approx(float(value), rel=REL, abs=0.0)


@pytest.fixture(params=CASES, ids=lambda c: f"seed{c[0]}-rf{c[1]}-{'neg' if c[2] else 'pos'}")
def case(request):
    seed, rf, first_negative = request.param
    r, b = _series(seed, first_negative=first_negative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compute_metrics(r, b, rf=rf)
    return r, b, rf, (1 + rf) ** (1 / 252) - 1, result


# ---------------------------------------------------------------------------------------------
# Where empyrical and quantstats agree: equal to both
# ---------------------------------------------------------------------------------------------


def test_total_return_matches_both_peers(case):
    r, _, _, _, out = case
    assert float(ep.cum_returns_final(r)) == _approx(qs.stats.comp(r))
    assert out["total_return"] == _approx(ep.cum_returns_final(r))
    assert out["total_return"] == _approx(qs.stats.comp(r))


def test_cagr_matches_both_peers(case):
    r, _, _, _, out = case
    assert out["cagr"] == _approx(ep.annual_return(r))
    assert out["cagr"] == _approx(qs.stats.cagr(r))


def test_volatility_matches_both_peers(case):
    r, _, _, _, out = case
    assert out["volatility"] == _approx(ep.annual_volatility(r))
    assert out["volatility"] == _approx(qs.stats.volatility(r))


def test_sharpe_matches_both_peers_with_compounded_rf(case):
    r, _, rf, rf_d, out = case
    assert out["sharpe"] == _approx(ep.sharpe_ratio(r, risk_free=rf_d))
    assert out["sharpe"] == _approx(qs.stats.sharpe(r, rf=rf))


def test_sortino_matches_both_peers(case):
    r, _, rf, rf_d, out = case
    assert out["sortino"] == _approx(ep.sortino_ratio(r, required_return=rf_d))
    assert out["sortino"] == _approx(qs.stats.sortino(r, rf=rf))


def test_max_drawdown_matches_both_peers_including_a_first_day_loss(case):
    r, _, _, _, out = case
    assert out["max_drawdown"] == _approx(ep.max_drawdown(r))
    assert out["max_drawdown"] == _approx(qs.stats.max_drawdown(r))
    assert out["max_drawdown"] < 0


def test_calmar_matches_both_peers(case):
    r, _, _, _, out = case
    assert out["calmar"] == _approx(ep.calmar_ratio(r))
    assert out["calmar"] == _approx(qs.stats.calmar(r))


def test_historical_cvar_matches_both_peers(case):
    r, _, _, _, out = case
    assert out["cvar_95"] == _approx(ep.conditional_value_at_risk(r))
    assert out["cvar_95"] == _approx(qs.stats.cvar(r, method="historical"))


def test_beta_matches_both_peers(case):
    r, b, _, _, out = case
    assert out["beta"] == _approx(ep.beta(r, b))
    assert out["beta"] == _approx(qs.stats.greeks(r, b)["beta"])


def test_information_ratio_is_per_period_like_both_peers(case):
    r, b, _, _, out = case
    assert out["information_ratio"] == _approx(ep.excess_sharpe(r, b))
    assert out["information_ratio"] == _approx(qs.stats.information_ratio(r, b))
    assert out["information_ratio_annualized"] == _approx(out["information_ratio"] * math.sqrt(252))


# ---------------------------------------------------------------------------------------------
# Where they disagree: docs/contracts.md §11's convention, against the peer that follows it
# ---------------------------------------------------------------------------------------------


def test_var_95_is_historical_like_empyrical_not_quantstats(case):
    r, _, _, _, out = case
    assert out["var_95"] == _approx(ep.value_at_risk(r))
    assert out["var_95"] == _approx(np.percentile(r.to_numpy(), 5))
    assert out["var_95"] != _approx(qs.stats.value_at_risk(r))  # quantstats' VaR is parametric


def test_parametric_var_and_cvar_match_quantstats(case):
    r, _, _, _, out = case
    assert out["var_95_parametric"] == _approx(qs.stats.value_at_risk(r))
    assert out["cvar_95_parametric"] == _approx(qs.stats.cvar(r))


def test_parametric_constants_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    z, es_factor = m._Z, m._ES_FACTOR
    assert z == pytest.approx(stats.norm.ppf(0.05), rel=1e-14)
    assert es_factor == pytest.approx(stats.norm.pdf(stats.norm.ppf(0.05)) / 0.05, rel=1e-14)


def test_cvar_counts_floor_n_minus_1_times_5_percent_plus_1_worst():
    r = np.arange(1, 102, dtype=float) / -1000.0  # 101 returns: -0.001 .. -0.101
    # floor(100 * 0.05) + 1 = 6 worst returns: -0.101 .. -0.096
    assert compute_metrics(r)["cvar_95"] == pytest.approx(np.mean([-0.101, -0.100, -0.099, -0.098, -0.097, -0.096]))


def test_alpha_compounds_like_empyrical_not_quantstats(case):
    r, b, rf, rf_d, out = case
    assert out["alpha"] == _approx(ep.alpha(r, b, risk_free=rf_d))
    beta = np.cov(r, b, ddof=1)[0, 1] / np.var(b, ddof=1)
    expected = (1 + np.mean((r - rf_d) - beta * (b - rf_d))) ** 252 - 1
    assert out["alpha"] == _approx(expected)
    if rf == 0.0:
        quantstats_alpha = qs.stats.greeks(r, b)["alpha"]  # simple mean * 252
        assert out["alpha"] != _approx(quantstats_alpha)


def test_capture_ratios_match_empyrical(case):
    r, b, _, _, out = case
    assert out["up_capture"] == _approx(ep.up_capture(r, b))
    assert out["down_capture"] == _approx(ep.down_capture(r, b))


def test_tracking_error_and_correlation_by_formula(case):
    r, b, _, _, out = case
    active = (r - b).to_numpy()
    assert out["tracking_error"] == _approx(np.std(active, ddof=1) * math.sqrt(252))
    assert out["correlation"] == _approx(np.corrcoef(r, b)[0, 1])
    assert out["correlation"] == _approx(r.corr(b))


def test_extras_match_quantstats(case):
    r, _, _, _, out = case
    assert out["skew"] == _approx(qs.stats.skew(r))
    assert out["kurtosis"] == _approx(qs.stats.kurtosis(r))
    assert out["win_rate"] == _approx(qs.stats.win_rate(r))
    assert out["profit_factor"] == _approx(qs.stats.profit_factor(r))
    assert out["best_day"] == _approx(qs.stats.best(r))
    assert out["worst_day"] == _approx(qs.stats.worst(r))
    assert out["avg_win"] == _approx(qs.stats.avg_win(r))
    assert out["avg_loss"] == _approx(qs.stats.avg_loss(r))


# ---------------------------------------------------------------------------------------------
# Shape of the result, inputs, edge cases
# ---------------------------------------------------------------------------------------------


def test_keys_and_plain_floats(case):
    _, _, _, _, out = case
    assert list(out)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert set(out) == {*METRIC_KEYS, *EXTRA_KEYS, *BENCHMARK_KEYS}
    assert all(type(v) is float for v in out.values())


def test_no_benchmark_no_beta_or_alpha():
    r, _ = _series(3)
    out = compute_metrics(r)
    assert "beta" not in out
    assert "alpha" not in out
    assert set(out) == {*METRIC_KEYS, *EXTRA_KEYS}


def test_array_and_series_give_the_same_numbers_except_duration_units():
    r, b = _series(4)
    a = compute_metrics(r.to_numpy(), b.to_numpy())
    s = compute_metrics(r, b)
    for key in a:
        if key != "max_drawdown_duration_days":
            assert a[key] == pytest.approx(s[key], rel=1e-12, nan_ok=True), key


def test_benchmark_aligned_on_dates():
    r, b = _series(5, n=300)
    shuffled_partial = b.iloc[20:].sample(frac=1.0, random_state=1)
    out = compute_metrics(r, shuffled_partial)
    expected = compute_metrics(r.iloc[20:].to_numpy(), b.iloc[20:].to_numpy())
    assert out["beta"] == pytest.approx(expected["beta"], rel=1e-12)
    assert out["tracking_error"] == pytest.approx(expected["tracking_error"], rel=1e-12)
    # stand-alone metrics still use every return
    assert out["total_return"] == pytest.approx(float(np.prod(1 + r.to_numpy()) - 1), rel=1e-12)


def test_arrays_of_different_length_are_refused():
    with pytest.raises(ValueError, match="differ in length"):
        compute_metrics(np.zeros(5), np.zeros(4))


def test_nan_returns_are_dropped():
    r, _ = _series(6, n=200)
    with_gaps = r.copy()
    with_gaps.iloc[[3, 50, 51]] = np.nan
    out = compute_metrics(with_gaps)
    expected = compute_metrics(with_gaps.dropna().to_numpy())
    assert out["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
    assert out["volatility"] == pytest.approx(ep.annual_volatility(with_gaps), rel=REL)


def test_empty_returns_are_all_nan():
    out = compute_metrics(np.array([]))
    assert set(out) == {*METRIC_KEYS, *EXTRA_KEYS}
    assert all(math.isnan(v) for v in out.values())
    assert all(v is None for v in json_safe(out).values())


def test_single_return():
    out = compute_metrics(pd.Series([0.01], index=pd.to_datetime(["2024-01-02"])))
    assert out["total_return"] == pytest.approx(0.01)
    assert out["cagr"] == pytest.approx(1.01**252 - 1)
    assert math.isnan(out["volatility"])
    assert math.isnan(out["sharpe"])
    assert out["max_drawdown"] == 0.0
    assert out["max_drawdown_duration_days"] == 0.0
    assert math.isnan(out["calmar"])
    assert out["var_95"] == pytest.approx(0.01)


def test_zero_volatility_is_nan_not_infinite():
    out = compute_metrics(np.full(300, 0.001), np.full(300, 0.002))
    assert out["volatility"] == 0.0
    assert math.isnan(out["sharpe"])
    assert math.isnan(out["sortino"])  # no downside
    assert math.isnan(out["calmar"])  # no drawdown
    assert math.isnan(out["beta"])  # constant benchmark
    assert math.isnan(out["alpha"])
    assert math.isnan(out["information_ratio"])
    safe = json_safe(out)
    assert safe["sharpe"] is None
    json.dumps(safe, allow_nan=False)


def test_rf_changes_sharpe_not_volatility():
    r, _ = _series(7)
    a, b = compute_metrics(r), compute_metrics(r, rf=0.05)
    assert a["volatility"] == b["volatility"]
    assert b["sharpe"] < a["sharpe"]
    rf_d = 1.05 ** (1 / 252) - 1
    assert b["sharpe"] == pytest.approx(np.mean(r - rf_d) / np.std(r - rf_d, ddof=1) * math.sqrt(252), rel=REL)


def test_single_metric_functions_equal_compute_metrics():
    r, _ = _series(8)
    out = compute_metrics(r, rf=0.02)
    assert m.sharpe_ratio(r, rf=0.02) == pytest.approx(out["sharpe"], rel=1e-12)
    assert m.sortino_ratio(r, rf=0.02) == pytest.approx(out["sortino"], rel=1e-12)
    assert m.max_drawdown(r) == out["max_drawdown"]
    assert m.max_drawdown_duration(r) == out["max_drawdown_duration_days"]
    assert m.total_return(r) == pytest.approx(out["total_return"], rel=1e-12)
    assert m.annualized_return(r) == pytest.approx(out["cagr"], rel=1e-12)
    assert m.annual_volatility(r) == pytest.approx(out["volatility"], rel=1e-12)
    assert m.value_at_risk(r) == out["var_95"]
    assert m.conditional_value_at_risk(r) == out["cvar_95"]
    assert m.parametric_var(r) == pytest.approx(out["var_95_parametric"], rel=1e-12)
    assert m.parametric_cvar(r) == pytest.approx(out["cvar_95_parametric"], rel=1e-12)


# ---------------------------------------------------------------------------------------------
# Drawdowns
# ---------------------------------------------------------------------------------------------


def test_drawdown_series_by_hand():
    r = np.array([-0.10, 0.05, 0.10, -0.20, 0.25])
    # wealth 1 -> 0.9 -> 0.945 -> 1.0395 -> 0.8316 -> 1.0395
    expected = np.array([-0.10, -0.055, 0.0, -0.2, 0.0])
    np.testing.assert_allclose(drawdown_series(r), expected, rtol=0, atol=1e-12)
    assert compute_metrics(r)["max_drawdown"] == pytest.approx(-0.2)


def test_drawdown_series_keeps_index_and_matches_both_peers():
    r, _ = _series(9, first_negative=True)
    dd = drawdown_series(r)
    assert dd.index.equals(r.index)
    assert dd.iloc[0] == pytest.approx(-0.03)  # the start wealth of 1 is the first peak
    np.testing.assert_allclose(dd.to_numpy(), ep.stats.drawdown_series(r).to_numpy(), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(dd.to_numpy(), qs.stats.to_drawdown_series(r).to_numpy(), rtol=1e-9, atol=1e-15)


def test_duration_in_calendar_days_peak_to_recovery():
    index = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-08", "2024-01-09", "2024-01-10"])
    # wealth: 1.1 (peak on Jan 2), 0.99, 1.089, 1.11078 (recovered Jan 8: 6 days), 1.2219, 1.1608 (to Jan 10)
    r = pd.Series([0.10, -0.10, 0.10, 0.02, 0.10, -0.05], index=index)
    assert m.max_drawdown_duration(r) == 6.0
    # periods without dates: peak at period 1, recovered at period 4
    assert m.max_drawdown_duration(r.to_numpy()) == 3.0


def test_duration_unrecovered_runs_to_the_end_and_counts_from_the_start_wealth():
    index = pd.to_datetime(["2024-03-01", "2024-03-04", "2024-03-05"])
    r = pd.Series([-0.01, 0.005, 0.002], index=index)
    # peak is the starting wealth: dated the day before the first return by default, or `start`
    assert m.max_drawdown_duration(r) == 5.0  # Feb 29 -> Mar 5
    assert m.max_drawdown_duration(r, start="2024-02-28") == 6.0
    assert compute_metrics(r, start=pd.Timestamp("2024-02-28"))["max_drawdown_duration_days"] == 6.0
    assert m.max_drawdown_duration(r.to_numpy()) == 3.0


def test_duration_with_timezone_aware_dates():
    index = pd.DatetimeIndex(["2024-03-01 21:00", "2024-03-04 21:00", "2024-03-05 21:00"], tz="UTC")
    r = pd.Series([-0.01, 0.005, 0.002], index=index.tz_convert("America/New_York"))
    assert m.max_drawdown_duration(r) == 5.0
    assert m.max_drawdown_duration(r, start=pd.Timestamp("2024-02-28 21:00", tz="UTC")) == 6.0


def test_duration_zero_without_drawdown():
    assert compute_metrics(np.array([0.01, 0.0, 0.02]))["max_drawdown_duration_days"] == 0.0


def test_duration_picks_the_longest_episode():
    index = pd.bdate_range("2024-01-01", periods=8)  # Mon Jan 1 .. Wed Jan 10
    r = pd.Series([0.01, -0.02, 0.05, -0.001, -0.001, -0.001, 0.01, -0.5], index=index)
    # episodes: Jan 1 -> Jan 3 (2 days); Jan 3 -> Jan 9 (6 days); Jan 9 -> end Jan 10 (1 day)
    assert m.max_drawdown_duration(r) == 6.0


# ---------------------------------------------------------------------------------------------
# Rolling windows and the monthly table
# ---------------------------------------------------------------------------------------------


def test_rolling_volatility_matches_pandas():
    r, _ = _series(10, n=600)
    ours = rolling_volatility(r, window=252)
    expected = r.rolling(252).std(ddof=1) * math.sqrt(252)
    assert ours.index.equals(r.index)
    assert ours.iloc[:251].isna().all()
    np.testing.assert_allclose(ours.iloc[251:], expected.iloc[251:], rtol=1e-9)


def test_rolling_sharpe_matches_pandas_and_single_window():
    r, _ = _series(11, n=400)
    ours = rolling_sharpe(r, window=100, rf=0.02)
    rf_d = 1.02 ** (1 / 252) - 1
    x = r - rf_d
    expected = x.rolling(100).mean() / x.rolling(100).std(ddof=1) * math.sqrt(252)
    np.testing.assert_allclose(ours.iloc[99:], expected.iloc[99:], rtol=1e-9)
    assert ours.iloc[-1] == pytest.approx(m.sharpe_ratio(r.iloc[-100:], rf=0.02), rel=1e-9)
    assert isinstance(rolling_sharpe(r.to_numpy(), window=100), np.ndarray)


def test_rolling_shorter_than_window_is_all_nan():
    assert np.isnan(rolling_volatility(np.ones(10) * 0.01, window=252)).all()


def test_monthly_returns_table_compounds_by_hand():
    index = pd.to_datetime(["2023-12-28", "2023-12-29", "2024-01-02", "2024-01-31", "2024-03-01"])
    r = pd.Series([0.10, -0.05, 0.02, 0.03, -0.01], index=index)
    table = monthly_returns_table(r)
    assert list(table.index) == [2023, 2024]
    assert list(table.columns) == [*m.MONTH_COLUMNS, "Year"]
    assert table.loc[2023, "Dec"] == pytest.approx(1.10 * 0.95 - 1)
    assert table.loc[2024, "Jan"] == pytest.approx(1.02 * 1.03 - 1)
    assert math.isnan(table.loc[2024, "Feb"])
    assert table.loc[2024, "Mar"] == pytest.approx(-0.01)
    assert table.loc[2024, "Year"] == pytest.approx(1.02 * 1.03 * 0.99 - 1)
    assert table.loc[2023, "Year"] == pytest.approx(1.10 * 0.95 - 1)


def test_monthly_returns_table_matches_pandas_resample_and_skips_empty_years():
    r, _ = _series(12, n=800)
    r = pd.concat([r, pd.Series([0.01], index=pd.to_datetime(["2020-06-01"]))])
    table = monthly_returns_table(r)
    assert 2016 not in table.index  # no data between late 2013 and 2020
    monthly = (1 + r).groupby([r.index.year, r.index.month]).prod() - 1
    for (year, month), value in monthly.items():
        assert table.loc[year, m.MONTH_COLUMNS[month - 1]] == pytest.approx(value, rel=1e-12)
    yearly = (1 + r).groupby(r.index.year).prod() - 1
    np.testing.assert_allclose(table["Year"].to_numpy(), yearly.to_numpy(), rtol=1e-12)


def test_monthly_returns_table_needs_dates():
    with pytest.raises(TypeError):
        monthly_returns_table(np.array([0.01, 0.02]))
