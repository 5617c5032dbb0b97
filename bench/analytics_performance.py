"""Benchmark (issue 5): the performance endpoint on a portfolio of 50,000 transactions over 500
symbols with 20 years of daily prices (Ghostfolio answers HTTP 500 at ~14,000 transactions, 250
symbols, 12 years). Targets: under 1 s cold, under 50 ms cached, peak memory under 1 GiB.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pfp_bench_analytics REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/analytics_performance.py

"Cold" = a fresh database connection and an empty analytics cache: the request reads the ledger,
the packed price series and FX rates, values the portfolio and computes every metric and holding.
"Cached" = the same request again (a Redis hit in full mode). Memory: the process's peak RSS
(ru_maxrss) and the Python allocation peak of one cold request (tracemalloc).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _ledger_data import generate_ledger, make_market, make_portfolio, setup_django


def rss_mib() -> float:
    """This process's peak RSS. VmHWM belongs to the process's own memory map; ru_maxrss is kept
    across exec on Linux, so a child started by a large parent would report the parent's peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(portfolio_id: int, repeat: int) -> None:
    """Runs in a fresh process on the prepared database: cold and cached requests, memory."""
    import os

    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    django.setup()
    from django.core.cache import cache
    from django.db import connection
    from rest_framework.test import APIClient

    from personal_finance.analytics import documents, selectors
    from personal_finance.portfolios.models import Portfolio

    portfolio = Portfolio.objects.select_related("owner").get(pk=portfolio_id)
    client = APIClient()
    client.force_authenticate(portfolio.owner)
    path = f"/api/portfolios/{portfolio.pk}/performance/"
    # Process warm-up, not part of the measure: the first request of a process imports the URLconf
    # (every app's views: pandas, numpy, reportlab, ...). A cheap unrelated route pays it.
    started = time.perf_counter()
    client.get(f"/api/portfolios/{portfolio.pk}/")
    warmup = time.perf_counter() - started
    base_rss = rss_mib()
    colds = []
    for _ in range(3):
        cache.clear()
        connection.close()
        started = time.perf_counter()
        response = client.get(path)
        colds.append(time.perf_counter() - started)
        assert response.status_code == 200, response.content[:500]
        assert response["X-Cache"] == "miss"
    cold_rss = rss_mib()
    body = response.json()
    cached = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = client.get(path)
        cached.append(time.perf_counter() - started)
        assert r["X-Cache"] == "hit"
    started = time.perf_counter()
    data = selectors.load_valuation(portfolio)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    documents.performance(data, start=None, end=data.end)
    compute_s = time.perf_counter() - started
    tracemalloc.start()
    cache.clear()
    client.get(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"portfolio: {portfolio.transactions.count():,} transactions, {len(data.assets)} symbols, {data.valuation.days.size:,} valuation days ({body['inception']} to {body['end']})"
    )
    print(f"process warm-up (first request of the process, a cheap route): {warmup * 1000:.0f} ms")
    print(
        f"cold request:   best {min(colds) * 1000:7.1f} ms, all {[round(c * 1000) for c in colds]} ms (target < 1000 ms)"
    )
    print(
        f"  of which load (queries + unpack) {load_s * 1000:.0f} ms, valuation + metrics + holdings {compute_s * 1000:.0f} ms"
    )
    print(
        f"cached request: median {statistics.median(cached) * 1000:7.2f} ms, p95 {np.percentile(cached, 95) * 1000:.2f} ms (target < 50 ms); cache {cache.__class__.__name__} ({'Redis' if os.environ.get('REDIS_URL') else 'local memory'})"
    )
    print(
        f"memory: peak RSS of the serving process {cold_rss:.0f} MiB after the cold requests ({base_rss:.0f} MiB after start-up; target < 1024), Python allocation peak of one cold request {peak / 2**20:.0f} MiB"
    )
    print(
        f"response: twr {body['twr']:.4f}, mwr {body['mwr']:.4f}, {len(body['holdings'])} holdings, {len(body['series']['dates']):,} series points, {len(response.content) / 1024:.0f} KiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--measure", type=int, help="(internal) measure this portfolio id on the prepared database")
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.repeat)
        return
    import os

    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    setup_django()
    from django.db import transaction

    from personal_finance.assets.models import Asset, FxRate
    from personal_finance.assets.services import COLUMNS, price_bars_upsert, price_series_refresh
    from personal_finance.portfolios.importers import transactions_import

    t0 = time.perf_counter()
    market = make_market(symbols=args.symbols, years=args.years, seed=42)
    ledger = generate_ledger(market, transactions=args.transactions, seed=42)
    portfolio = make_portfolio()
    assets = Asset.objects.bulk_create(
        [Asset(symbol=s, currency=market.currency[s], name=f"Bench {s}") for s in market.symbols]
    )
    FxRate.objects.bulk_create(
        [
            FxRate(base="EUR", quote="USD", date=d, rate=round(float(r), 6))
            for d, r in zip(market.days, market.eurusd, strict=True)
        ],
        batch_size=5000,
    )
    dates = pd.DatetimeIndex(market.days).strftime("%Y-%m-%d")
    with transaction.atomic():
        for j, asset in enumerate(assets):
            c = market.close[:, j]
            frame = pd.DataFrame(
                {
                    "asset_id": asset.pk,
                    "date": dates,
                    "open": c.round(4),
                    "high": (c * 1.004).round(4),
                    "low": (c * 0.996).round(4),
                    "close": c.round(4),
                    "adj_close": (c * market.adj_factor[:, j] / market.adj_factor[-1, j]).round(4),
                    "volume": 1_000_000,
                    "source": "bench",
                }
            )
            price_bars_upsert(frame[list(COLUMNS)], refresh=False)
    bars = len(market.days) * len(assets)
    t1 = time.perf_counter()
    price_series_refresh(asset_ids=[a.pk for a in assets])
    t2 = time.perf_counter()
    result = transactions_import(portfolio=portfolio, raw=ledger.csv_bytes(), max_bytes=10**9)
    t3 = time.perf_counter()
    print(
        f"set-up: {bars:,} bars in {t1 - t0:.1f} s, packed series in {t2 - t1:.1f} s, {result['created']:,} transactions imported in {t3 - t2:.1f} s"
    )

    # Measure in a fresh process so the memory figure is the serving process's, not the set-up's.
    import subprocess

    subprocess.run(
        [sys.executable, __file__, "--measure", str(portfolio.pk), "--repeat", str(args.repeat)], check=True
    )


if __name__ == "__main__":
    main()
