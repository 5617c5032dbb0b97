"""All 1,035 sma_cross pairs 5 <= fast < slow <= 50 on GOOG: our run_sweep vs backtesting.py's
optimize() vs vectorbt (MA.run_combs + Portfolio.from_signals).

    .venv/bin/python bench/backtest_grid.py [--repeats 5] [--skip-optimize]

"Cold" numbers run in a fresh interpreter (subprocess): import time, then the first call, which
for vectorbt includes numba's compilation (or loading numba's on-disk cache when one exists).
"Warm" numbers are the median of repeats in one process after a first call. backtesting.py's
optimize() runs the grid in a multiprocessing pool on every core of the machine.

The three do not compute identical things: ours and backtesting.py follow docs/contracts.md §13 (whole shares,
fills at the next open, Sharpe on daily returns x sqrt(252)); vectorbt's from_signals fills at the
close with whole shares (size_granularity=1) and annualises over 365 days. The ranking metric is
Sharpe on all three.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
GRID = {"fast": range(5, 51), "slow": range(5, 51)}


def ours():
    from backtesting.test import GOOG

    from personal_finance.backtesting.sweep import run_sweep

    return run_sweep(GOOG, "sma_cross", GRID, metric="sharpe")


def vbt_grid():
    import numpy as np
    import vectorbt as vbt
    from backtesting.test import GOOG

    close = GOOG["Close"]
    fast, slow = vbt.MA.run_combs(close, window=np.arange(5, 51), r=2, short_names=["fast", "slow"])
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    pf = vbt.Portfolio.from_signals(close, entries, exits, init_cash=10_000, size_granularity=1, freq="1D")
    return pf.sharpe_ratio()


def _bt_strategy():
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # module-level name so the optimize() pool can pickle it
        n1 = 10
        n2 = 20

        def init(self):
            self.sma1 = self.I(SMA, self.data.Close, self.n1)
            self.sma2 = self.I(SMA, self.data.Close, self.n2)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()

    SmaCross.__qualname__ = "SmaCross"
    return SmaCross


def bt_optimize():
    from backtesting import Backtest
    from backtesting.test import GOOG

    global SmaCross  # noqa: PLW0603
    SmaCross = _bt_strategy()
    bt = Backtest(GOOG, SmaCross, cash=10_000)
    _stats, heatmap = bt.optimize(
        n1=range(5, 51),
        n2=range(5, 51),
        constraint=lambda p: p.n1 < p.n2,
        maximize="Sharpe Ratio",
        return_heatmap=True,
    )
    return heatmap


CASES = {"ours": ours, "vectorbt": vbt_grid, "backtesting.py": bt_optimize}
MODULES = {
    "ours": "personal_finance.backtesting.sweep",
    "vectorbt": "vectorbt",
    "backtesting.py": "backtesting",
}


def child(name):
    """Run in a fresh interpreter: time the import, then the first call."""
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    __import__(MODULES[name])
    __import__("backtesting.test")
    t1 = time.perf_counter()
    result = CASES[name]()
    t2 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "first": t2 - t1, "rows": len(result)}))


def cold(name):
    out = subprocess.run(
        [sys.executable, __file__, "--child", name], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def warm(name, repeats):
    fn = CASES[name]
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-optimize", action="store_true", help="leave backtesting.py's optimize() out")
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    warnings.filterwarnings("ignore")
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}, grid 5 <= fast < slow <= 50")
    table = ours()
    best = table.iloc[0]
    print(f"our table: {len(table)} rows; best fast={int(best.fast)} slow={int(best.slow)} sharpe={best.sharpe:.4f}")

    results = {}
    for name in ("ours", "vectorbt"):
        c = cold(name)
        w, wmin = warm(name, args.repeats)
        results[name] = (c, w, wmin)
        print(
            f"{name:15s} cold: import {c['import']:.2f} s + first call {c['first']:.3f} s; "
            f"warm: median {w:.3f} s (min {wmin:.3f}) over {args.repeats}; rows {c['rows']}"
        )
    if not args.skip_optimize:
        c = cold("backtesting.py")  # one full optimize() in a fresh interpreter (it is slow)
        results["backtesting.py"] = (c, c["first"], c["first"])
        print(f"backtesting.py  optimize(): {c['first']:.2f} s for {c['rows']} combinations (one run, all cores)")

    o = results["ours"][1]
    v = results["vectorbt"]
    print(f"vectorbt warm / ours warm:  {v[1] / o:.2f}x (target: ours no slower than 1.5x vectorbt warm)")
    print(f"vectorbt cold first call / ours cold first call: {v[0]['first'] / results['ours'][0]['first']:.1f}x")
    if "backtesting.py" in results:
        print(f"backtesting.py optimize / ours warm: {results['backtesting.py'][1] / o:.0f}x (target >= 20x)")


if __name__ == "__main__":
    main()
