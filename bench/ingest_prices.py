"""Benchmark: load 1,000,000 daily price rows into PostgreSQL with our ingestion path (COPY into a
staging table, then one INSERT ... ON CONFLICT DO UPDATE) and, in the same run, with a raw
``COPY`` of the same rows through psql into the same (emptied) table. Target: ours at least half of
raw COPY's throughput. Also times the data profiler's validation of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pfp_bench_ingest .venv/bin/python bench/ingest_prices.py

Needs PostgreSQL (the scratch database is dropped and recreated; its name must contain "bench").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ledger_data import setup_django


def make_rows(n_assets: int, n_days: int, seed: int = 7) -> tuple[list[str], pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = pd.bdate_range("2000-01-03", periods=n_days)
    frames = []
    symbols = [f"B{i:04d}" for i in range(n_assets)]
    for i in range(n_assets):
        close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, n_days)))
        open_ = close * (1 + rng.normal(0, 0.003, n_days))
        frames.append(
            pd.DataFrame(
                {
                    "asset_id": i,  # replaced by the real id below
                    "date": days.strftime("%Y-%m-%d"),
                    "open": open_.round(4),
                    "high": (np.maximum(open_, close) * 1.01).round(4),
                    "low": (np.minimum(open_, close) * 0.99).round(4),
                    "close": close.round(4),
                    "adj_close": close.round(4),
                    "volume": rng.integers(1_000, 10_000_000, n_days),
                    "source": "bench",
                }
            )
        )
    return symbols, pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=400)
    parser.add_argument("--days", type=int, default=2500)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("set DATABASE_URL to a scratch PostgreSQL database (its name must contain 'bench')")
    os.environ.setdefault("REDIS_URL", "")
    setup_django()
    from django.db import connection, transaction

    from personal_finance.assets.models import Asset, PriceBar
    from personal_finance.assets.services import COLUMNS, price_bars_upsert
    from personal_finance.data_profiler.checks import profile_frame

    symbols, rows = make_rows(args.assets, args.days)
    assets = Asset.objects.bulk_create([Asset(symbol=s, currency="USD") for s in symbols])
    rows["asset_id"] = np.repeat([a.pk for a in assets], args.days)
    n = len(rows)
    print(f"rows: {n:,} ({args.assets} assets x {args.days} days)")
    table = PriceBar._meta.db_table

    # Raw COPY through psql, from a file written beforehand (file writing not timed).
    tmp = Path(tempfile.mkdtemp(prefix="pfp_ingest_"))
    try:
        path = tmp / "rows.tsv"
        rows.to_csv(path, sep="\t", header=False, index=False, na_rep="\\N")
        url = os.environ["DATABASE_URL"]
        parts = urlsplit(url)
        psql = shutil.which("psql")
        copy_cmd = f"\\copy {table} ({', '.join(COLUMNS)}) FROM '{path}'"
        env = {**os.environ, "PGPASSWORD": parts.password or ""}
        psql_args = [
            psql,
            "-h",
            parts.hostname or "localhost",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-d",
            parts.path.lstrip("/"),
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
        ]
        results = {"raw": [], "ours": []}
        for _round in range(2):
            with connection.cursor() as cur:
                cur.execute(f"TRUNCATE {table}")
            started = time.perf_counter()
            subprocess.run([*psql_args, "-c", copy_cmd], check=True, env=env)
            results["raw"].append(time.perf_counter() - started)

            with connection.cursor() as cur:
                cur.execute(f"TRUNCATE {table}")
            started = time.perf_counter()
            with transaction.atomic():
                written = price_bars_upsert(rows, refresh=False)
            results["ours"].append(time.perf_counter() - started)
            assert written == n, (written, n)
        # Idempotent re-load of the same rows (every row is an update).
        started = time.perf_counter()
        with transaction.atomic():
            price_bars_upsert(rows, refresh=False)
        reload_s = time.perf_counter() - started
        assert PriceBar.objects.count() == n
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    raw_s, ours_s = min(results["raw"]), min(results["ours"])
    print(f"raw psql COPY:          {raw_s:7.2f} s  {n / raw_s:12,.0f} rows/s")
    print(
        f"ours (COPY+ON CONFLICT):{ours_s:7.2f} s  {n / ours_s:12,.0f} rows/s  (DataFrame -> table, incl. serialisation)"
    )
    print(f"ratio ours/raw throughput: {raw_s / ours_s:.2f}  (target >= 0.50)")
    print(f"re-load of the same rows (all updates): {reload_s:.2f} s")

    # The data profiler on the same 1,000,000 rows (one frame per asset, as ingestion runs it).
    frames = {
        a: g.set_index(pd.DatetimeIndex(g["date"]))[["open", "high", "low", "close", "volume"]].rename(
            columns=str.title
        )
        for a, g in rows.groupby("asset_id", sort=False)
    }
    started = time.perf_counter()
    findings = 0
    for frame in frames.values():
        findings += len(profile_frame(frame, calendar="XNYS")["findings"])
    profile_s = time.perf_counter() - started
    print(
        f"profiler: {n:,} rows in {len(frames)} series: {profile_s:.2f} s ({n / profile_s:,.0f} rows/s, {findings} findings)"
    )


if __name__ == "__main__":
    main()
