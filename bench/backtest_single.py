"""One sma_cross 10/20 backtest on backtesting.py's GOOG sample: our engine vs backtesting.py's run().

    .venv/bin/python bench/backtest_single.py [--repeats 30]

Both sides do a full run with statistics: ours returns stats (compute_metrics), the trades table,
the equity curve and the buy-and-hold curve; backtesting.py returns its stats Series. Same
settings on both sides (cash 10,000, commission 0.002, fill at next open, long-only), and the script
checks that both give the same trades and final equity before timing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backtesting import Backtest, Strategy
from backtesting.lib import crossover
from backtesting.test import GOOG, SMA

from personal_finance.backtesting.engine import run_backtest


class SmaCross(Strategy):
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


def timed(fn, repeats):
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002)

    def theirs():
        return bt.run()

    def ours():
        return run_backtest(GOOG, "sma_cross", {"fast": 10, "slow": 20}, cash=10_000, commission=0.002)

    ref, mine = theirs(), ours()
    closed = mine.trades[~mine.trades["is_open"]]
    assert closed["size"].tolist() == ref._trades["Size"].tolist()
    assert closed["entry_bar"].tolist() == ref._trades["EntryBar"].tolist()
    assert abs(mine.stats["equity_final"] / ref["Equity Final [$]"] - 1) < 1e-9
    print(f"GOOG: {len(GOOG)} bars, {len(closed)} closed trades, final equity {mine.stats['equity_final']:.2f} (same)")
    print(f"cpus: {os.cpu_count()}, python {sys.version.split()[0]}, repeats {args.repeats} (median, min)")
    t_theirs, m_theirs = timed(theirs, args.repeats)
    t_ours, m_ours = timed(ours, args.repeats)
    print(f"backtesting.py Backtest.run(): {t_theirs * 1e3:8.2f} ms  (min {m_theirs * 1e3:.2f})")
    print(f"our run_backtest():            {t_ours * 1e3:8.2f} ms  (min {m_ours * 1e3:.2f})")
    print(f"ratio (backtesting.py / ours): {t_theirs / t_ours:.1f}x faster (target >= 10x)")


if __name__ == "__main__":
    main()
