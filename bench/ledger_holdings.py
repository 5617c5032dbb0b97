"""Benchmark of derived holdings (issue 3): a portfolio of 50,000 transactions over 500 symbols.

Target: ``personal_finance.portfolios.documents.portfolio_holdings`` under 1 second.

Set-up (not timed against the target, printed for information): a seeded 20-year history
(bench/_ledger_data.py: buys mostly, sells never exceeding holdings, dividends, splits,
transfers, deposits covering cash, 10% EUR assets) imported through ``transactions_import``;
daily bars of the last ``--price-years`` years for every symbol through ``price_bars_upsert``;
daily EUR/USD rates for all 20 years.

Measured: the cold call (first call on a fresh database connection, so it includes connecting),
then ``--repeat`` warm calls (median and best), the query count of one call
(``CaptureQueriesContext``), a breakdown of one warm call into its steps, and the REST route
``GET /api/portfolios/{id}/holdings/`` (warm median). ``--profile`` prints a cProfile of a warm call.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pfp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/ledger_holdings.py
    .venv/bin/python bench/ledger_holdings.py          # temporary SQLite file
    options: [--transactions 50000] [--symbols 500] [--years 20] [--price-years 3] [--seed 42]
             [--repeat 10] [--profile]

PostgreSQL: the database named in DATABASE_URL is dropped and recreated (it must contain "bench").
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ledger_data import generate_ledger, make_market, make_portfolio, setup_django, store_market

TARGET_SECONDS = 1.0


def check(ok: bool, what) -> None:
    if not ok:
        sys.exit(f"check failed: {what}")


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--price-years", type=int, default=3, help="years of daily bars per symbol")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile one warm call and print the top")
    args = parser.parse_args()

    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, no collectstatic here
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from personal_finance.assets.selectors import mark_to_market
    from personal_finance.portfolios.documents import portfolio_holdings
    from personal_finance.portfolios.importers import transactions_import
    from personal_finance.portfolios.ledger import replay
    from personal_finance.portfolios.selectors import ledger_rows

    market = make_market(symbols=args.symbols, years=args.years, seed=args.seed)
    ledger = generate_ledger(market, transactions=args.transactions, seed=args.seed)
    start = time.perf_counter()
    stored = store_market(market, price_years=args.price_years)
    seconds = time.perf_counter() - start
    print(
        f"prices: {stored['bars']} daily bars ({args.symbols} symbols x {args.price_years} years), "
        f"{stored['fx_rates']} EUR/USD rates, stored in {seconds:.1f} s"
    )
    portfolio = make_portfolio("Bench holdings")
    start = time.perf_counter()
    result = transactions_import(portfolio=portfolio, raw=ledger.csv_bytes())
    seconds = time.perf_counter() - start
    check(result["created"] == args.transactions, result)
    print(
        f"ledger: {result['created']} transactions over {args.years} years "
        f"({market.days[0]} to {ledger.rows[-1][0]}), imported in {seconds:.1f} s"
    )
    print("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(ledger.counts.items(), key=lambda kv: -kv[1])))
    del ledger, market, result  # the generator's 50,000 row lists would slow the GC of every call
    gc.collect()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    # cold: first call on a new connection
    connection.close()
    with CaptureQueriesContext(connection) as ctx:
        holdings, cold = timed(lambda: portfolio_holdings(portfolio=portfolio))
    queries = len(ctx.captured_queries)
    check(holdings["complete"], "every holding has a price and an FX rate")
    n_holdings = len(holdings["holdings"])

    warm = []
    for _ in range(args.repeat):
        again, seconds = timed(lambda: portfolio_holdings(portfolio=portfolio))
        warm.append(seconds)
    check(again == holdings, "repeated calls agree")
    gc.disable()
    no_gc = [timed(lambda: portfolio_holdings(portfolio=portfolio))[1] for _ in range(args.repeat)]
    gc.enable()
    with CaptureQueriesContext(connection) as ctx:
        portfolio_holdings(portfolio=portfolio)
    warm_queries = len(ctx.captured_queries)

    # breakdown of one warm call into the selector's steps
    today = timezone.now().date()
    rows, t_rows = timed(lambda: ledger_rows(portfolio=portfolio, until=today))
    state, t_replay = timed(lambda: replay(rows))
    quantities = [(p.asset_id, p.quantity) for p in state.positions.values() if p.quantity != 0]
    _, t_mark = timed(lambda: mark_to_market(quantities, base_currency=portfolio.base_currency, as_of=today))

    # the REST route, authenticated as the owner
    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(portfolio.owner)
    url = f"/api/portfolios/{portfolio.pk}/holdings/"
    response = client.get(url)
    check(response.status_code == 200, response.status_code)
    api = []
    for _ in range(max(3, args.repeat // 2)):
        _, seconds = timed(lambda: client.get(url))
        api.append(seconds)

    median = statistics.median(warm)
    print(
        f"\n{connection.vendor}: holdings of {args.transactions} transactions, {len(state.positions)} symbols "
        f"traded, {n_holdings} open positions, cash {holdings['cash']}, total value {holdings['total_value']} "
        f"{holdings['base_currency']}"
    )
    print(f"{'measure':<52} {'seconds':>8} {'ratio to 1 s':>13}")
    for label, value in (
        ("cold (first call, new connection)", cold),
        (f"warm median of {args.repeat}", median),
        (f"warm best of {args.repeat}", min(warm)),
        (f"warm median of {args.repeat}, garbage collector off", statistics.median(no_gc)),
        (f"REST GET {url} warm median", statistics.median(api)),
    ):
        print(f"{label:<52} {value:8.3f} {value / TARGET_SECONDS:13.2f}")
    print(f"queries per call: {queries} cold, {warm_queries} warm")
    print(
        f"breakdown of a warm call: ledger_rows {t_rows:.3f} s ({len(rows)} rows), replay {t_replay:.3f} s, "
        f"mark_to_market (last prices, FX) {t_mark:.3f} s, "
        f"rest (formatting) ~{max(0.0, median - t_rows - t_replay - t_mark):.3f} s"
    )
    verdict = "met" if median < TARGET_SECONDS and cold < TARGET_SECONDS else "NOT met"
    print(f"target: under {TARGET_SECONDS:.0f} s: {verdict}")

    if args.profile or median >= TARGET_SECONDS:
        profiler = cProfile.Profile()
        profiler.enable()
        portfolio_holdings(portfolio=portfolio)
        profiler.disable()
        print("\ncProfile of one warm call, top 25 by cumulative time:")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
        print("top 15 by own time:")
        stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
