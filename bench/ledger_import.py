"""Benchmark of the CSV transaction import (issue 3): 50,000 native-format rows into a portfolio.

Times ``personal_finance.portfolios.importers.transactions_import`` end to end (decode, parse,
validate every row, replay the ledger for oversells, write in one database transaction):

1. parse only: ``decode`` + ``read_rows`` (no database);
2. dry run into a fresh portfolio (everything but the writes; unknown symbols are not created);
3. the import into that fresh portfolio (creates the 500 assets, then bulk-inserts the rows);
4. the same file again: every row skipped as a duplicate external id, nothing written;
5. the same file into a second fresh portfolio, the assets now existing.

Runs on a scratch database: PostgreSQL when DATABASE_URL is set (its database, ``pfp_bench`` in
the command below, is dropped and recreated; the name must contain "bench"), otherwise a
temporary SQLite file. Never the repository's db.sqlite3.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pfp_bench REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/ledger_import.py
    .venv/bin/python bench/ledger_import.py            # temporary SQLite file
    options: [--transactions 50000] [--symbols 500] [--years 20] [--seed 42] [--fx-lookup]
             [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _ledger_data import generate_ledger, make_market, make_portfolio, setup_django


def check(ok: bool, what) -> None:
    if not ok:
        sys.exit(f"check failed: {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--fx-lookup",
        action="store_true",
        help="leave the fx_rate column empty so the importer looks up stored EUR/USD rates",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the import (step 3) and print the top")
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from personal_finance.assets.models import Asset, FxRate
    from personal_finance.portfolios.importers import NATIVE, decode, read_rows, transactions_import
    from personal_finance.portfolios.models import Transaction

    t0 = time.perf_counter()
    market = make_market(symbols=args.symbols, years=args.years, seed=args.seed)
    ledger = generate_ledger(market, transactions=args.transactions, seed=args.seed)
    if args.fx_lookup:
        for row in ledger.rows:
            row[10] = ""
        FxRate.objects.bulk_create(
            [
                FxRate(base="EUR", quote="USD", date=d, rate=Decimal(repr(round(float(r), 6))))
                for d, r in zip(market.days, market.eurusd, strict=True)
            ],
            batch_size=2000,
        )
    raw = ledger.csv_bytes()
    n = len(ledger.rows)
    print(
        f"generated {n} rows, {len({r[2] for r in ledger.rows if r[2]})} symbols, "
        f"{market.days[0]} to {ledger.rows[-1][0]}, {len(raw) / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
    )
    print("  by type: " + ", ".join(f"{k} {v}" for k, v in sorted(ledger.counts.items(), key=lambda kv: -kv[1])))
    print(f"  fx_rate column: {'empty (looked up from stored rates)' if args.fx_lookup else 'given on EUR rows'}")

    figures: list[tuple[str, float, int | None, int]] = []

    def run(label: str, fn, rows: int):
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            result = fn()
            seconds = time.perf_counter() - start
        figures.append((label, seconds, len(ctx.captured_queries), rows))
        return result

    # 1. parse only
    parsed = run("parse only (decode + read_rows)", lambda: read_rows(decode(raw, max_bytes=10**9), NATIVE), n)
    check(len(parsed) == n, len(parsed))

    # 2-3. dry run, then the import, into a fresh portfolio
    portfolio = make_portfolio("Bench import")
    dry = run("dry run, fresh portfolio", lambda: transactions_import(portfolio=portfolio, raw=raw, dry_run=True), n)
    check(dry["would_create"] == n and dry["created"] == 0, dry)
    check(not Transaction.objects.exists() and not Asset.objects.exists(), "the dry run wrote rows")

    def do_import(p):
        return lambda: transactions_import(portfolio=p, raw=raw)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
    result = run(f"import, fresh portfolio (creates {len(dry['new_assets'])} assets)", do_import(portfolio), n)
    if args.profile:
        profiler.disable()
    check(result["created"] == n, result)
    check(Transaction.objects.filter(portfolio=portfolio).count() == n, "row count after the import")

    # 4. re-import: all duplicates
    again = run("re-import of the same file (all duplicates)", do_import(portfolio), n)
    check(again["created"] == 0 and again["skipped_duplicates"] == n, again)

    # 5. second fresh portfolio, assets known
    second = make_portfolio("Bench import 2")
    result2 = run("import, second fresh portfolio (assets exist)", do_import(second), n)
    check(result2["created"] == n and not result2["new_assets"], result2)

    print(
        f"\n{connection.vendor}: {n} rows, {len(raw) / 1e6:.1f} MB "
        f"(IMPORT_MAX_BYTES {settings.IMPORT_MAX_BYTES / 1_048_576:.0f} MiB)"
    )
    print(f"{'step':<52} {'seconds':>8} {'rows/s':>9} {'queries':>8}")
    for label, seconds, queries, rows in figures:
        print(f"{label:<52} {seconds:8.2f} {rows / seconds:9.0f} {queries:8d}")

    if args.profile:
        print("\ncProfile of step 3 (the import), project functions by cumulative time:")
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(r"personal_finance", 25)
        print("top 15 by own time:")
        stats.sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
