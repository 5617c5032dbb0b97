"""Portfolio return math of docs/contracts.md §11: time-weighted (TWR) and money-weighted (XIRR) returns.

Pure numpy, no Django import. Conventions (also in ``docs/metrics.md``):

- ``values[t]`` is the market value at the end of day ``t`` (after that day's flows).
- ``flows[t]`` is the external cash flow of day ``t`` seen from the portfolio: positive when money
  comes in (deposit, transfer in, a buy seen from one holding), negative when it leaves
  (withdrawal, a sale seen from one holding). Flows happen at the **start of the day**, so the
  money is exposed to the whole day's move: ``r_t = values[t] / (values[t-1] + flows[t]) - 1``,
  with ``values[-1] = 0`` before the first day.
- A day with nothing invested (``values[t-1] + flows[t] <= 0`` and ``values[t] == 0``) has return 0
  and is neutral in the chain: a holding sold entirely and bought back later is chain-linked
  across the gap without the gap distorting the percentage.
- XIRR: amounts from the investor's side (negative = money put in, positive = money taken out
  or the final value), discounted on actual/365 years from the first date.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

_NAN = float("nan")


def twr_daily_returns(
    values: pd.Series | ArrayLike, flows: pd.Series | ArrayLike | None = None, *, strict: bool = True
) -> pd.Series | NDArray[np.float64]:
    """Daily time-weighted returns with external flows removed (start-of-day flows).

    ``values`` and ``flows`` are equally shaped arrays or Series (a Series result keeps the index
    of ``values``); a 2-D array is one series per column (time along axis 0). With ``strict``
    (the default) a day that ends with value but had nothing invested raises ValueError; without
    it that day's return is 0 (used for ledgers whose cash goes negative).
    """
    v = np.asarray(values, dtype="float64")
    if v.ndim != 2:
        v = v.ravel()
    f = (
        np.zeros_like(v)
        if flows is None
        else np.asarray(flows, dtype="float64").reshape(v.shape if np.size(flows) == v.size else -1)
    )
    if f.shape != v.shape:
        msg = f"values and flows differ in length ({v.size} and {f.size})"
        raise ValueError(msg)
    if np.isnan(v).any() or np.isnan(f).any():
        msg = "values and flows must not contain NaN"
        raise ValueError(msg)
    base = np.empty_like(v)
    if v.shape[0]:
        base[0] = 0.0
        base[1:] = v[:-1]
    base += f
    # Relative tolerance: "V - everything withdrawn" can leave float dust instead of exactly 0.
    tol = 1e-9 * (np.abs(base - f) + np.abs(f))
    invested = base > tol
    bad = ~invested & (v != 0)
    if strict and bad.any():
        i = int(np.argmax(bad.reshape(v.shape[0], -1).any(axis=1)))
        msg = f"day {i}: value with nothing invested (previous value plus flows is not positive)"
        raise ValueError(msg)
    r = np.zeros_like(v)
    np.divide(v, base, out=r, where=invested)
    r[invested] -= 1.0
    if isinstance(values, pd.Series):
        return pd.Series(r, index=values.index, name="twr")
    return r


def time_weighted_return(values: pd.Series | ArrayLike, flows: pd.Series | ArrayLike | None = None) -> float:
    """Total time-weighted return: the chain-linked daily returns of :func:`twr_daily_returns`."""
    r = np.asarray(twr_daily_returns(values, flows), dtype="float64")
    if r.size == 0:
        return _NAN
    return float(np.prod(r + 1.0)) - 1.0


def _npv(rate_log: float, t: NDArray[np.float64], a: NDArray[np.float64]) -> tuple[float, float]:
    """NPV and its derivative in ``g = log(1 + rate)``: ``sum a exp(-g t)``, ``-sum a t exp(-g t)``."""
    with np.errstate(over="ignore", invalid="ignore"):
        disc = np.exp(-rate_log * t)
        val = float(np.dot(a, disc))
        der = -float(np.dot(a * t, disc))
    return val, der


def xirr(
    dates: ArrayLike, amounts: ArrayLike, *, guess: float = 0.1, tol: float = 1e-12, max_iter: int = 100
) -> float:
    """Money-weighted annual return: the rate where the NPV of ``amounts`` is zero (actual/365).

    ``dates`` are anything ``pandas.to_datetime`` accepts; amounts on the same date are summed.
    Newton's method on ``log(1 + rate)`` from ``guess``, falling back to bisection on a bracket
    found by scanning rates from -99.99% to +10^6%. NaN when there is no sign change in the
    amounts (no solution) or fewer than two dates. With several roots (unconventional flows) the
    one Newton reaches from ``guess`` is returned, else the lowest bracketed one.
    """
    d = pd.to_datetime(pd.Index(dates)).values.astype("datetime64[D]").astype("int64")
    a = np.asarray(amounts, dtype="float64").ravel()
    if d.size != a.size:
        msg = f"dates and amounts differ in length ({d.size} and {a.size})"
        raise ValueError(msg)
    if a.size == 0 or np.isnan(a).any():
        return _NAN
    days, inverse = np.unique(d, return_inverse=True)
    a = np.bincount(inverse.ravel(), weights=a, minlength=days.size)
    if days.size < 2 or not ((a > 0).any() and (a < 0).any()):
        return _NAN
    t = (days - days[0]) / 365.0
    scale = np.abs(a).max()
    a = a / scale

    g = math.log1p(guess)
    for _ in range(max_iter):
        val, der = _npv(g, t, a)
        if not (math.isfinite(val) and math.isfinite(der)) or der == 0.0:
            break
        step = val / der
        g -= step
        if abs(step) < tol:
            val, _ = _npv(g, t, a)
            if math.isfinite(g) and abs(val) < 1e-9:
                return math.expm1(g)
            break

    # Bisection fallback on g in [log(1e-4), log(1e4 + 1)].
    grid = np.log(np.concatenate([np.geomspace(1e-4, 1.0, 200)[:-1], 1.0 + np.geomspace(1e-6, 1e4, 400)]))
    with np.errstate(over="ignore", invalid="ignore"):
        vals = np.exp(-np.outer(grid, t)) @ a
    sign = np.sign(vals)
    change = np.flatnonzero((sign[:-1] * sign[1:] <= 0) & np.isfinite(vals[:-1]) & np.isfinite(vals[1:]))
    if change.size == 0:
        return _NAN
    lo, hi = grid[change[0]], grid[change[0] + 1]
    f_lo = vals[change[0]]
    if f_lo == 0.0:
        return math.expm1(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid, _ = _npv(mid, t, a)
        if f_mid == 0.0 or hi - lo < 1e-15:
            return math.expm1(mid)
        if (f_mid > 0) == (f_lo > 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return math.expm1(0.5 * (lo + hi))
