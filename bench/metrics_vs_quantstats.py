"""Full metric set (docs/contracts.md §11) on a 20-year daily series: ours vs quantstats, side by side.

Run from the repository root:

    .venv/bin/python bench/metrics_vs_quantstats.py [--repeats 30] [--seed 42]

Both sides get the same pandas Series (5040 daily returns on business days, seeded) and the same
benchmark Series. Each side computes its full set once per repeat; the best of the repeats is
reported, with the ratio ours / quantstats (target: at most 0.10). quantstats' own
``_prepare_returns`` cache is left as it ships (warm after the first repeat), which favours it; the
``--cold`` flag clears it before every repeat.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from personal_finance.analytics.metrics import compute_metrics

N = 5040  # 20 years x 252


def make_series(seed: int) -> tuple[pd.Series, pd.Series]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2005-01-03", periods=N)
    bench = 0.0003 + 0.011 * rng.standard_t(4, N) / math.sqrt(2.0)
    port = 0.0002 + 0.8 * bench + 0.007 * rng.standard_normal(N)
    return pd.Series(port, index=index, name="port"), pd.Series(bench, index=index, name="bench")


def ours(r: pd.Series, b: pd.Series, rf: float) -> dict:
    return compute_metrics(r, b, rf)


def quantstats_set(qs, r: pd.Series, b: pd.Series, rf: float, with_duration: bool) -> dict:
    """The same metrics from quantstats.stats (pandas for the two it lacks: tracking error, correlation)."""
    s = qs.stats
    out = {
        "total_return": s.comp(r),
        "cagr": s.cagr(r),
        "volatility": s.volatility(r),
        "sharpe": s.sharpe(r, rf=rf),
        "sortino": s.sortino(r, rf=rf),
        "max_drawdown": s.max_drawdown(r),
        "calmar": s.calmar(r),
        "var_95_parametric": s.value_at_risk(r),
        "cvar_95_parametric": s.cvar(r),
        "cvar_95": s.cvar(r, method="historical"),
        "best_day": s.best(r),
        "worst_day": s.worst(r),
        "avg_return": s.avg_return(r),
        "win_rate": s.win_rate(r),
        "avg_win": s.avg_win(r),
        "avg_loss": s.avg_loss(r),
        "profit_factor": s.profit_factor(r),
        "skew": s.skew(r),
        "kurtosis": s.kurtosis(r),
        "information_ratio": s.information_ratio(r, b),
        "tracking_error": (r - b).std() * math.sqrt(252),
        "correlation": r.corr(b),
    }
    greeks = s.greeks(r, b)
    out["beta"], out["alpha"] = greeks["beta"], greeks["alpha"]
    if with_duration:
        details = s.drawdown_details(s.to_drawdown_series(r))
        out["max_drawdown_duration_days"] = float(details["days"].max())
    return out


def best_of(fn, repeats: int, before=None) -> float:
    best = math.inf
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rf", type=float, default=0.02)
    parser.add_argument("--cold", action="store_true", help="clear quantstats' returns cache before each repeat")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    import quantstats as qs

    r, b = make_series(args.seed)
    clear = qs.utils._PREPARE_RETURNS_CACHE.clear if args.cold else None

    # warm-up (imports, first-call caches) and a sanity check that both compute the same numbers
    mine = ours(r, b, args.rf)
    theirs = quantstats_set(qs, r, b, args.rf, with_duration=True)
    for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "beta"):
        if not math.isclose(mine[key], float(theirs[key]), rel_tol=1e-9):
            msg = f"{key}: ours {mine[key]!r} != quantstats {theirs[key]!r}"
            raise SystemExit(msg)

    t_ours = best_of(lambda: ours(r, b, args.rf), args.repeats)
    t_ours_np = best_of(lambda: compute_metrics(r.to_numpy(), b.to_numpy(), args.rf), args.repeats)
    t_qs = best_of(lambda: quantstats_set(qs, r, b, args.rf, with_duration=False), args.repeats, clear)
    t_qs_dur = best_of(lambda: quantstats_set(qs, r, b, args.rf, with_duration=True), args.repeats, clear)

    print(f"series: {N} daily returns + benchmark, seed {args.seed}, rf {args.rf}, best of {args.repeats}")
    print(f"quantstats cache: {'cleared before each repeat' if args.cold else 'as shipped (warm)'}")
    print(f"ours (compute_metrics, pandas Series in)      : {t_ours * 1e3:8.3f} ms")
    print(f"ours (compute_metrics, numpy arrays in)       : {t_ours_np * 1e3:8.3f} ms")
    print(f"quantstats (same set, no drawdown duration)   : {t_qs * 1e3:8.3f} ms")
    print(f"quantstats (same set, with drawdown_details)  : {t_qs_dur * 1e3:8.3f} ms")
    print(f"ratio ours / quantstats (no duration)         : {t_ours / t_qs:8.4f}  (target <= 0.10)")
    print(f"ratio ours / quantstats (with duration)       : {t_ours / t_qs_dur:8.4f}")
    status = "PASS" if t_ours / t_qs <= 0.10 else "FAIL"
    print(f"target ours <= 0.10 x quantstats (strict, no duration): {status}")


if __name__ == "__main__":
    main()
