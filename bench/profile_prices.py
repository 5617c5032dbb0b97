"""Data profiler (docs/contracts.md §10) over 1,000,000 price rows: 400 symbols x 2,500 XNYS sessions.

Run from the repository root:

    .venv/bin/python bench/profile_prices.py [--symbols 400] [--sessions 2500] [--repeats 3] [--seed 42]

Each symbol is a seeded daily random walk (1% daily volatility) on the real XNYS sessions ending
2023-12-29, with consistent Open/High/Low. Defects are planted so the checks have something to
find: every 10th symbol misses 5 sessions, every 20th has an unadjusted 2:1 split, every 25th a
one-day bad print, every 40th a stale run, every 50th a missing close. Two paths are timed, each
the best of ``--repeats`` runs over all symbols (one profile per symbol, as ingestion and the
stored per-asset profiles do it):

- ``profile_frame``: the checks on in-memory float DataFrames (what ingestion and ``profile_asset`` run);
- ``profile_csv``: the raw CSV path of the ``profile_prices`` command (reading the text, parsing
  the dates and numbers, then the same checks), over the same rows as CSV bytes in memory.

The XNYS calendar is loaded once before timing (the profiler caches its sessions per process).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exchange_calendars as xc

from personal_finance.data_profiler.checks import profile_csv, profile_frame

GAPS = (100, 101, 102, 900, 1800)  # sessions dropped from every 10th symbol


def make_frames(symbols: int, sessions: int, seed: int) -> list[pd.DataFrame]:
    """``symbols`` frames of exactly ``sessions`` rows each (a gappy symbol spans more sessions)."""
    calendar = xc.get_calendar("XNYS", start="1990-01-01")
    width = sessions + len(GAPS)
    days = pd.DatetimeIndex(calendar.sessions[calendar.sessions <= "2023-12-29"][-width:], name="Date")
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.01, (symbols, width)), axis=1))
    open_ = close * np.exp(rng.normal(0, 0.003, (symbols, width)))
    high = np.maximum(open_, close) * (1 + rng.uniform(0.001, 0.01, (symbols, width)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0.001, 0.01, (symbols, width)))
    volume = rng.integers(100_000, 5_000_000, (symbols, width))
    frames = []
    for s in range(symbols):
        o, h, lo, c = (a[s].copy() for a in (open_, high, low, close))
        if s % 20 == 0:  # unadjusted 2:1 split
            for a in (o, h, lo, c):
                a[width // 2 :] *= 0.5
        if s % 25 == 0:  # one bad print
            for a in (o, h, lo, c):
                a[width // 3] *= 1.4
        if s % 40 == 0:  # stale run of 8
            at = width // 4
            o[at : at + 8] = h[at : at + 8] = lo[at : at + 8] = c[at : at + 8] = c[at]
        if s % 50 == 0:  # missing close
            c[width // 5] = np.nan
        frame = pd.DataFrame({"Open": o, "High": h, "Low": lo, "Close": c, "Volume": volume[s]}, index=days)
        if s % 10 == 0:
            frame = frame.drop(days[list(GAPS)])
        else:
            frame = frame.iloc[len(GAPS) :]
        frames.append(frame)
    return frames


def best_of(repeats: int, fn) -> tuple[float, list]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    # exchange_calendars 4.13 trips a pandas 3.1 deprecation warning when it builds a calendar.
    warnings.filterwarnings("ignore", category=pd.errors.Pandas4Warning)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=400)
    parser.add_argument("--sessions", type=int, default=2500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    frames = make_frames(args.symbols, args.sessions, args.seed)
    rows = sum(len(f) for f in frames)
    csvs = [f.to_csv(float_format="%.6f", date_format="%Y-%m-%d").encode() for f in frames]
    profile_frame(frames[0])  # load the calendar before timing

    frame_time, reports = best_of(args.repeats, lambda: [profile_frame(f) for f in frames])
    csv_time, csv_reports = best_of(args.repeats, lambda: [profile_csv(b) for b in csvs])

    found = Counter((f["check"], f["severity"]) for r in reports for f in r["findings"])
    assert sum(r["rows"] for r in csv_reports) == rows
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}, ", end="")
    print(f"exchange_calendars {xc.__version__}")
    print(f"{args.symbols} symbols x {args.sessions} sessions = {rows:,} rows (best of {args.repeats})")
    print(
        f"profile_frame: {frame_time:.3f} s  ({rows / frame_time:,.0f} rows/s, {frame_time / len(frames) * 1e3:.2f} ms/symbol)"
    )
    print(
        f"profile_csv:   {csv_time:.3f} s  ({rows / csv_time:,.0f} rows/s, {csv_time / len(frames) * 1e3:.2f} ms/symbol)"
    )
    print("findings:", ", ".join(f"{check} ({severity}) x{n}" for (check, severity), n in sorted(found.items())))


if __name__ == "__main__":
    main()
