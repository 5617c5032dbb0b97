"""Risk and return metrics of docs/contracts.md §11: one definition for the whole product.

Pure numpy (pandas only accepted at the edges, for dates), no Django import: the backtesting
engine, the analytics services, the ``metrics`` command and the benchmarks all call
:func:`compute_metrics` or the building blocks below. Conventions are documented in
``docs/metrics.md``; in short:

- ``returns`` are daily simple returns, 252 periods a year; ``rf`` is an annual rate converted to a
  per-period rate by compounding, ``(1 + rf) ** (1 / 252) - 1``.
- NaN returns are dropped before computing (a missing observation is not a flat day). With a
  benchmark, the stand-alone metrics use every return; the comparison metrics use the dates (or,
  for arrays, the positions) where both are present.
- A metric that is undefined (no data, one return for a standard deviation, zero volatility, zero
  downside, no drawdown for Calmar, constant benchmark for beta) is ``float("nan")``, never an
  infinity. Use :func:`json_safe` to turn it into ``None`` for JSON.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from personal_finance.analytics.returns import time_weighted_return, twr_daily_returns, xirr

__all__ = [
    "METRIC_KEYS",
    "PERIODS_PER_YEAR",
    "annual_volatility",
    "annualized_return",
    "compute_metrics",
    "conditional_value_at_risk",
    "drawdown_series",
    "json_safe",
    "max_drawdown",
    "max_drawdown_duration",
    "monthly_returns_table",
    "parametric_cvar",
    "parametric_var",
    "per_period_rate",
    "rolling_sharpe",
    "rolling_volatility",
    "sharpe_ratio",
    "sortino_ratio",
    "time_weighted_return",
    "total_return",
    "twr_daily_returns",
    "value_at_risk",
    "xirr",
]

#: A return series: a pandas Series (dates from a DatetimeIndex) or anything numpy makes 1-D floats of.
Returns: TypeAlias = pd.Series | ArrayLike

PERIODS_PER_YEAR = 252
VAR_CUTOFF = 0.05
_Z = NormalDist().inv_cdf(VAR_CUTOFF)  # -1.6448536269514726
_ES_FACTOR = NormalDist().pdf(_Z) / VAR_CUTOFF  # phi(z) / alpha, about 2.0627
_NAN = float("nan")
_NS_PER_DAY = 86_400_000_000_000

#: Keys always present in :func:`compute_metrics`' result (docs/contracts.md §11), in output order.
METRIC_KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "max_drawdown_duration_days",
    "calmar",
    "var_95",
    "cvar_95",
    "var_95_parametric",
    "cvar_95_parametric",
)
#: Extra stand-alone keys, always present.
EXTRA_KEYS = (
    "best_day",
    "worst_day",
    "avg_return",
    "win_rate",
    "avg_win",
    "avg_loss",
    "profit_factor",
    "skew",
    "kurtosis",
)
#: Keys present only when a benchmark is given.
BENCHMARK_KEYS = (
    "beta",
    "alpha",
    "correlation",
    "tracking_error",
    "information_ratio",
    "information_ratio_annualized",
    "up_capture",
    "down_capture",
    "benchmark_total_return",
    "benchmark_cagr",
)


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _values(returns: Returns) -> NDArray[np.float64]:
    """The returns as a 1-D float array with NaN removed."""
    arr = np.asarray(returns, dtype="float64").ravel()
    mask = np.isnan(arr)
    return arr[~mask] if mask.any() else arr


def _days(index: pd.Index) -> NDArray[np.int64] | None:
    """Calendar day numbers of a DatetimeIndex, or None when the index carries no dates."""
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_convert(None)
        days: NDArray[np.int64] = index.values.astype("datetime64[D]").astype("int64")
        return days
    return None


def _prepare(returns: Returns) -> tuple[NDArray[np.float64], NDArray[np.int64] | None]:
    """Return values (NaN dropped) and their calendar day numbers (None without dates)."""
    if isinstance(returns, pd.Series):
        arr = returns.to_numpy(dtype="float64", na_value=np.nan)
        days = _days(returns.index)
        mask = np.isnan(arr)
        if mask.any():
            arr = arr[~mask]
            days = days[~mask] if days is not None else None
        return arr, days
    return _values(returns), None


def _pair(returns: Returns, benchmark: Returns) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Paired observations of returns and benchmark: by date for two Series, else by position."""
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        if not returns.index.equals(benchmark.index):
            benchmark = benchmark.reindex(returns.index)
        r = returns.to_numpy(dtype="float64", na_value=np.nan)
        b = benchmark.to_numpy(dtype="float64", na_value=np.nan)
    else:
        r = np.asarray(returns, dtype="float64").ravel()
        b = np.asarray(benchmark, dtype="float64").ravel()
        if r.shape != b.shape:
            msg = f"returns and benchmark differ in length ({r.size} and {b.size}); pass two Series to align by date"
            raise ValueError(msg)
    ok = ~(np.isnan(r) | np.isnan(b))
    if not ok.all():
        r, b = r[ok], b[ok]
    return r, b


def per_period_rate(rf: float, periods: int = PERIODS_PER_YEAR) -> float:
    """Convert an annual rate to a per-period rate by compounding: ``(1 + rf) ** (1 / periods) - 1``."""
    if not rf:
        return 0.0
    return float((1.0 + rf) ** (1.0 / periods) - 1.0)


def json_safe(metrics: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``metrics`` with NaN and infinities replaced by ``None`` (JSON ``null``)."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = None
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------
# Building blocks on plain arrays (the ``_`` helpers assume a clean float array)
# --------------------------------------------------------------------------------------------


def _std(r: NDArray[np.float64], mean: float | None = None) -> float:
    """Sample standard deviation (ddof=1); exactly 0.0 for constant input; NaN below 2 values."""
    n = r.size
    if n < 2:
        return _NAN
    if mean is None:
        mean = float(r.sum()) / n
    d = r - mean
    var = float(np.dot(d, d)) / (n - 1)
    if var == 0.0 or r.max() == r.min():
        return 0.0
    return math.sqrt(var)


def _div(num: float, den: float) -> float:
    """``num / den``, NaN when the denominator is zero or either side is NaN."""
    if den == 0.0 or math.isnan(den) or math.isnan(num):
        return _NAN
    return num / den


def _total(r: NDArray[np.float64]) -> float:
    if r.size == 0:
        return _NAN
    return float(np.prod(r + 1.0)) - 1.0


def _cagr_from_total(total: float, n: int, periods: int = PERIODS_PER_YEAR) -> float:
    if n == 0 or math.isnan(total) or total <= -1.0:
        return _NAN
    cagr: float = (1.0 + total) ** (periods / n) - 1.0  # a positive base: a float, never complex
    return cagr


def _wealth(r: NDArray[np.float64]) -> NDArray[np.float64]:
    """Wealth path starting at 1 before the first return (length N + 1)."""
    w = np.empty(r.size + 1)
    w[0] = 1.0
    np.cumprod(r + 1.0, out=w[1:])
    return w


def _dd_and_duration(
    r: NDArray[np.float64], days: NDArray[np.int64] | None, start_day: int | None
) -> tuple[float, float]:
    """Max drawdown and longest drawdown duration (calendar days with dates, else periods)."""
    n = r.size
    if n == 0:
        return _NAN, _NAN
    w = _wealth(r)
    peak = np.maximum.accumulate(w)
    mdd = float((w / peak).min()) - 1.0
    at_peak = np.flatnonzero(w >= peak)  # indices of new highs (index 0 is always one)
    nxt = np.empty_like(at_peak)
    nxt[:-1] = at_peak[1:]
    nxt[-1] = n
    gap = nxt - at_peak
    episode = gap > 1  # something strictly below the peak between two highs
    episode[-1] = gap[-1] > 0  # still under water at the end
    if not episode.any():
        return mdd, 0.0
    if days is None:
        return mdd, float((nxt[episode] - at_peak[episode]).max())
    t = np.empty(n + 1, dtype="int64")
    t[1:] = days
    t[0] = days[0] - 1 if start_day is None else start_day
    return mdd, float((t[nxt[episode]] - t[at_peak[episode]]).max())


def _hist_var(r: NDArray[np.float64], cutoff: float = VAR_CUTOFF) -> float:
    if r.size == 0:
        return _NAN
    return float(np.percentile(r, 100.0 * cutoff))


def _hist_cvar(r: NDArray[np.float64], cutoff: float = VAR_CUTOFF) -> float:
    n = r.size
    if n == 0:
        return _NAN
    k = int((n - 1) * cutoff)
    return float(np.partition(r, k)[: k + 1].mean())


def _capture(r: NDArray[np.float64], b: NDArray[np.float64], mask: NDArray[np.bool_]) -> float:
    """Ratio of the annualised returns of ``r`` and ``b`` over the periods selected by ``mask``."""
    n = int(mask.sum())
    if n == 0:
        return _NAN
    rs, bs = r[mask], b[mask]
    return _div(_cagr_from_total(_total(rs), n), _cagr_from_total(_total(bs), n))


# --------------------------------------------------------------------------------------------
# Public single-metric functions (any array-like or Series of returns)
# --------------------------------------------------------------------------------------------


def total_return(returns: Returns) -> float:
    """Compounded return, ``prod(1 + r) - 1``."""
    return _total(_values(returns))


def annualized_return(returns: Returns, periods: int = PERIODS_PER_YEAR) -> float:
    """CAGR, ``(1 + total_return) ** (periods / N) - 1``."""
    r = _values(returns)
    return _cagr_from_total(_total(r), r.size, periods)


def annual_volatility(returns: Returns, periods: int = PERIODS_PER_YEAR) -> float:
    """``std(r, ddof=1) * sqrt(periods)``."""
    return _std(_values(returns)) * math.sqrt(periods)


def sharpe_ratio(returns: Returns, rf: float = 0.0, periods: int = PERIODS_PER_YEAR) -> float:
    """``mean(r - rf_d) / std(r - rf_d, ddof=1) * sqrt(periods)`` with ``rf`` annual."""
    r = _values(returns)
    if r.size == 0:
        return _NAN
    x = r - per_period_rate(rf, periods)
    mean = float(x.sum()) / x.size
    return _div(mean, _std(x, mean)) * math.sqrt(periods)


def sortino_ratio(returns: Returns, rf: float = 0.0, periods: int = PERIODS_PER_YEAR) -> float:
    """``mean(x) * periods / (sqrt(mean(min(x, 0) ** 2)) * sqrt(periods))`` with ``x = r - rf_d``."""
    r = _values(returns)
    if r.size == 0:
        return _NAN
    x = r - per_period_rate(rf, periods)
    down = np.minimum(x, 0.0)
    dd = math.sqrt(float(np.dot(down, down)) / x.size)
    return _div(float(x.sum()) / x.size * math.sqrt(periods), dd)


def max_drawdown(returns: Returns) -> float:
    """Deepest fall of wealth below its running peak (wealth 1 before the first return), <= 0."""
    r = _values(returns)
    if r.size == 0:
        return _NAN
    w = _wealth(r)
    return float((w / np.maximum.accumulate(w)).min()) - 1.0


def max_drawdown_duration(returns: Returns, start: object = None) -> float:
    """Longest time from a peak to the recovery of that peak (or to the end when not recovered).

    With a DatetimeIndex the result is in calendar days; the starting wealth (before the first
    return) is dated ``start`` when given (e.g. the first price date), else the day before the
    first return. Without dates the result counts periods. 0.0 when wealth never falls.
    """
    r, days = _prepare(returns)
    start_day = _start_day(start)
    return _dd_and_duration(r, days, start_day)[1]


def value_at_risk(returns: Returns, cutoff: float = VAR_CUTOFF) -> float:
    """Historical VaR: the ``cutoff`` quantile of the returns, numpy's linear interpolation."""
    return _hist_var(_values(returns), cutoff)


def conditional_value_at_risk(returns: Returns, cutoff: float = VAR_CUTOFF) -> float:
    """Historical CVaR: mean of the ``floor((N - 1) * cutoff) + 1`` worst returns."""
    return _hist_cvar(_values(returns), cutoff)


def parametric_var(returns: Returns) -> float:
    """Normal VaR at 95%: ``mean + z_0.05 * std(ddof=1)``."""
    r = _values(returns)
    if r.size == 0:
        return _NAN
    mean = float(r.sum()) / r.size
    return mean + _Z * _std(r, mean)


def parametric_cvar(returns: Returns) -> float:
    """Normal expected shortfall at 95%: ``mean - std(ddof=1) * pdf(z_0.05) / 0.05``."""
    r = _values(returns)
    if r.size == 0:
        return _NAN
    mean = float(r.sum()) / r.size
    return mean - _ES_FACTOR * _std(r, mean)


def _start_day(start: object) -> int | None:
    if start is None:
        return None
    stamp = pd.Timestamp(start)
    if stamp.tz is not None:
        stamp = stamp.tz_convert(None)
    return int(np.datetime64(stamp.date(), "D").astype("int64"))


# --------------------------------------------------------------------------------------------
# The full set
# --------------------------------------------------------------------------------------------


def compute_metrics(
    returns: Returns, benchmark: Returns | None = None, rf: float = 0.0, *, start: object = None
) -> dict[str, float]:
    """All metrics of docs/contracts.md §11 for daily simple ``returns`` (Series with DatetimeIndex or array).

    ``benchmark`` (same kind) adds the comparison metrics; two Series are aligned on dates, arrays
    by position (same length required). ``rf`` is an annual risk-free rate. ``start`` optionally
    dates the starting wealth for ``max_drawdown_duration_days`` (see :func:`max_drawdown_duration`).
    Every value is a Python float; undefined values are NaN (see :func:`json_safe`).
    """
    r, days = _prepare(returns)
    n = r.size
    rf_d = per_period_rate(rf)
    sqrt_p = math.sqrt(PERIODS_PER_YEAR)
    out: dict[str, float] = {}

    if n == 0:
        out = dict.fromkeys((*METRIC_KEYS, *EXTRA_KEYS), _NAN)
    else:
        total = _total(r)
        cagr = _cagr_from_total(total, n)
        mean = float(r.sum()) / n
        std = _std(r, mean)
        if rf_d:
            x = r - rf_d
            x_mean = mean - rf_d
            x_std = _std(x, x_mean)
        else:
            x, x_mean, x_std = r, mean, std
        down = np.minimum(x, 0.0)
        downside = math.sqrt(float(np.dot(down, down)) / n)
        mdd, duration = _dd_and_duration(r, days, _start_day(start))

        out["total_return"] = total
        out["cagr"] = cagr
        out["volatility"] = std * sqrt_p
        out["sharpe"] = _div(x_mean, x_std) * sqrt_p
        out["sortino"] = _div(x_mean * sqrt_p, downside)
        out["max_drawdown"] = mdd
        out["max_drawdown_duration_days"] = duration
        out["calmar"] = _div(cagr, abs(mdd))
        out["var_95"] = _hist_var(r)
        out["cvar_95"] = _hist_cvar(r)
        out["var_95_parametric"] = mean + _Z * std
        out["cvar_95_parametric"] = mean - _ES_FACTOR * std
        out.update(_extras(r, mean))

    if benchmark is not None:
        out.update(_benchmark_metrics(returns, benchmark, rf_d))
    return out


def _extras(r: NDArray[np.float64], mean: float) -> dict[str, float]:
    n = r.size
    wins = r[r > 0]
    losses = r[r < 0]
    nonzero = wins.size + losses.size
    win_sum = float(wins.sum())
    loss_sum = float(losses.sum())
    d = r - mean
    d2 = d * d
    m2 = float(d2.sum())
    skew = kurt = _NAN
    if n > 2 and m2 > 0:
        m3 = float(np.dot(d2, d))
        skew = (n * math.sqrt(n - 1) / (n - 2)) * m3 / m2**1.5
        if n > 3:
            m4 = float(np.dot(d2, d2))
            kurt = (n * (n + 1) * (n - 1) * m4) / ((n - 2) * (n - 3) * m2 * m2) - 3.0 * (n - 1) ** 2 / (
                (n - 2) * (n - 3)
            )
    return {
        "best_day": float(r.max()),
        "worst_day": float(r.min()),
        "avg_return": mean,
        "win_rate": _div(float(wins.size), float(nonzero)),
        "avg_win": float(wins.mean()) if wins.size else _NAN,
        "avg_loss": float(losses.mean()) if losses.size else _NAN,
        "profit_factor": _div(win_sum, -loss_sum),
        "skew": skew,
        "kurtosis": kurt,
    }


def _benchmark_metrics(returns: Returns, benchmark: Returns, rf_d: float) -> dict[str, float]:
    r, b = _pair(returns, benchmark)
    n = r.size
    sqrt_p = math.sqrt(PERIODS_PER_YEAR)
    if n == 0:
        return dict.fromkeys(BENCHMARK_KEYS, _NAN)
    r_mean = float(r.sum()) / n
    b_mean = float(b.sum()) / n
    dr = r - r_mean
    db = b - b_mean
    b_var = float(np.dot(db, db))
    r_var = float(np.dot(dr, dr))
    cov = float(np.dot(dr, db))
    if n < 2 or b.max() == b.min():
        b_var = 0.0
    if n < 2 or r.max() == r.min():
        r_var = 0.0
    beta = _div(cov, b_var)
    # alpha on excess returns: (1 + mean((r - rf) - beta * (b - rf))) ** 252 - 1
    daily_alpha = (r_mean - rf_d) - beta * (b_mean - rf_d)
    alpha = _NAN if math.isnan(daily_alpha) else (1.0 + daily_alpha) ** PERIODS_PER_YEAR - 1.0
    active = r - b
    a_mean = r_mean - b_mean
    a_std = _std(active, a_mean)
    b_total = _total(b)
    return {
        "beta": beta,
        "alpha": alpha,
        "correlation": _div(cov, math.sqrt(r_var * b_var)),
        "tracking_error": a_std * sqrt_p,
        "information_ratio": _div(a_mean, a_std),
        "information_ratio_annualized": _div(a_mean, a_std) * sqrt_p,
        "up_capture": _capture(r, b, b > 0),
        "down_capture": _capture(r, b, b < 0),
        "benchmark_total_return": b_total,
        "benchmark_cagr": _cagr_from_total(b_total, n),
    }


# --------------------------------------------------------------------------------------------
# Series views: drawdowns, rolling windows, monthly table
# --------------------------------------------------------------------------------------------


def _like(
    values: NDArray[np.float64], returns: Returns, index: pd.Index | None = None
) -> pd.Series | NDArray[np.float64]:
    if isinstance(returns, pd.Series):
        return pd.Series(values, index=returns.index if index is None else index, name=returns.name)
    return values


def drawdown_series(returns: Returns) -> pd.Series | NDArray[np.float64]:
    """Drawdown after each return, ``wealth / running_peak - 1`` (wealth 1 before the first return).

    Same length and index as ``returns``; NaN returns count as flat (wealth carried forward).
    """
    arr = np.asarray(returns, dtype="float64").ravel()
    w = _wealth(np.nan_to_num(arr, nan=0.0))
    dd = w / np.maximum.accumulate(w) - 1.0
    return _like(dd[1:], returns)


def _windows(arr: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    return np.lib.stride_tricks.sliding_window_view(arr, window)


def rolling_volatility(returns: Returns, window: int = PERIODS_PER_YEAR) -> pd.Series | NDArray[np.float64]:
    """Annualised sample volatility over each trailing ``window`` returns (NaN before the first full one)."""
    arr = np.asarray(returns, dtype="float64").ravel()
    out = np.full(arr.size, _NAN)
    if arr.size >= window >= 2:
        out[window - 1 :] = _windows(arr, window).std(axis=1, ddof=1) * math.sqrt(PERIODS_PER_YEAR)
    return _like(out, returns)


def rolling_sharpe(
    returns: Returns, window: int = PERIODS_PER_YEAR, rf: float = 0.0
) -> pd.Series | NDArray[np.float64]:
    """Sharpe ratio (same definition as :func:`sharpe_ratio`) over each trailing ``window`` returns."""
    arr = np.asarray(returns, dtype="float64").ravel() - per_period_rate(rf)
    out = np.full(arr.size, _NAN)
    if arr.size >= window >= 2:
        win = _windows(arr, window)
        mean = win.mean(axis=1)
        std = win.std(axis=1, ddof=1)
        std[win.max(axis=1) == win.min(axis=1)] = 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(std > 0, mean / std, _NAN) * math.sqrt(PERIODS_PER_YEAR)
        out[window - 1 :] = ratio
    return _like(out, returns)


MONTH_COLUMNS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def monthly_returns_table(returns: pd.Series) -> pd.DataFrame:
    """Compounded return per year (rows) and month (``Jan`` .. ``Dec``), plus the ``Year`` total.

    Months without any return are NaN; NaN returns are ignored. Needs a DatetimeIndex.
    """
    if not isinstance(returns, pd.Series) or not isinstance(returns.index, pd.DatetimeIndex):
        msg = "monthly_returns_table needs a pandas Series with a DatetimeIndex"
        raise TypeError(msg)
    clean = returns.dropna()
    index = clean.index
    years = index.year.to_numpy()
    months = index.month.to_numpy()
    if clean.empty:
        return pd.DataFrame(columns=[*MONTH_COLUMNS, "Year"], dtype="float64")
    logw = np.log1p(clean.to_numpy(dtype="float64"))
    first = int(years.min())
    n_years = int(years.max()) - first + 1
    slot = (years - first) * 12 + (months - 1)
    sums = np.bincount(slot, weights=logw, minlength=n_years * 12).reshape(n_years, 12)
    counts = np.bincount(slot, minlength=n_years * 12).reshape(n_years, 12)
    table = np.where(counts > 0, np.expm1(sums), _NAN)
    year_counts = counts.sum(axis=1)
    year_total = np.where(year_counts > 0, np.expm1(sums.sum(axis=1)), _NAN)
    frame = pd.DataFrame(table, index=pd.Index(range(first, first + n_years), name="year"), columns=MONTH_COLUMNS)
    frame["Year"] = year_total
    return frame.loc[year_counts > 0]
