"""Shared set-up of the ledger benchmarks (bench/ledger_import.py, bench/ledger_holdings.py).

* ``setup_django()``: a scratch database, never the repository's db.sqlite3. With DATABASE_URL
  set, its database (default name ``pfp_bench``) is dropped, recreated and migrated; the name must
  contain "bench" so a real database is never dropped. Without DATABASE_URL, a temporary SQLite
  file. Both run ``migrate`` programmatically.
* ``make_market()``: seeded daily price paths (geometric Brownian motion) for N symbols over
  business days, with splits (2:1, 3:1, 1:10 reverse; one per symbol per 15 years on average),
  10% of the symbols in EUR, and a EUR/USD path.
* ``generate_ledger()``: a seeded native-format history at those prices: monthly deposits plus
  top-ups whenever a buy would overdraw cash, mostly buys, sells never exceeding the shares held,
  dividends on held positions, split rows for held symbols, a few transfers in and out, interest,
  account fees and withdrawals; EUR rows carry the optional fx_rate column.
* ``price_bars_for()``: daily bars (business days) from the same price paths, so market values
  are consistent with the trade prices.
"""

from __future__ import annotations

import atexit
import csv
import datetime as dt
import io
import os
import random
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_DOWN, Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

REPO = Path(__file__).resolve().parents[1]
NATIVE_HEADER = ["date", "type", "symbol", "quantity", "price", "fees", "amount", "currency", "external_id", "note"]
HEADER = [*NATIVE_HEADER, "fx_rate"]
CENT = Decimal("0.01")
Q4 = Decimal("0.0001")


# --------------------------------------------------------------------------------------------
# Django on a scratch database
# --------------------------------------------------------------------------------------------
def _recreate_postgres(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "pfp_bench"
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: the benchmark database name must contain 'bench'")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


def setup_django(*, verbose: bool = True) -> str:
    """Configure and migrate a fresh scratch database; returns a one-line description."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ.setdefault("DJANGO_DEBUG", "False")  # measure without DEBUG's query log
    url = os.environ.get("DATABASE_URL", "")
    if url:
        if not url.startswith(("postgres://", "postgresql://")):
            sys.exit("DATABASE_URL must point at PostgreSQL (or be unset for a temporary SQLite file)")
        os.environ["DATABASE_URL"] = _recreate_postgres(url)
        where = f"PostgreSQL {urlsplit(os.environ['DATABASE_URL']).path.lstrip('/')} (dropped and recreated)"
    else:
        tmp = tempfile.mkdtemp(prefix="pfp_bench_")
        atexit.register(shutil.rmtree, tmp, ignore_errors=True)
        os.environ["SQLITE_PATH"] = str(Path(tmp) / "bench.sqlite3")
        where = f"SQLite {os.environ['SQLITE_PATH']} (temporary)"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from django.db import connection

    if verbose:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"database: {where}; server {connection.vendor} {_server_version(connection)}")
        print(f"machine: {os.cpu_count()} CPUs, load average {load} (timings scale with contention)")
    return where


def _server_version(connection) -> str:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SHOW server_version")
        else:
            cur.execute("select sqlite_version()")
        return cur.fetchone()[0]


def make_portfolio(name: str = "Bench"):
    from django.contrib.auth import get_user_model

    from personal_finance.portfolios.services import portfolio_create

    user, _ = get_user_model().objects.get_or_create(username="bench", defaults={"email": "bench@example.com"})
    return portfolio_create(owner=user, name=name, base_currency="USD")


# --------------------------------------------------------------------------------------------
# Market: business days, price paths with splits, EUR/USD
# --------------------------------------------------------------------------------------------
@dataclass
class Market:
    days: list[dt.date]
    symbols: list[str]
    currency: dict[str, str]
    close: np.ndarray  # (days, symbols), as traded (drops on split dates)
    adj_factor: np.ndarray  # (days, symbols): close * adj_factor is split-adjusted
    splits: dict[tuple[int, int], Decimal]  # (day index, symbol index) -> ratio
    eurusd: np.ndarray  # (days,)
    dividend_yield: np.ndarray  # (symbols,) annual


def business_days(start: dt.date, end: dt.date) -> list[dt.date]:
    out, d = [], start
    while d <= end:
        if d.weekday() < 5:
            out.append(d)
        d += dt.timedelta(days=1)
    return out


def make_market(*, symbols: int, years: int, seed: int, end: dt.date | None = None) -> Market:
    end = end or dt.date(2025, 12, 31)
    start = dt.date(end.year - years + 1, 1, 1)
    days = business_days(start, end)
    rng = np.random.default_rng(seed)
    n = len(days)
    names = [f"S{i:03d}" for i in range(symbols)]
    currency = {s: ("EUR" if i % 10 == 9 else "USD") for i, s in enumerate(names)}
    drift = rng.normal(0.08, 0.03, symbols) / 252
    vol = rng.uniform(0.15, 0.35, symbols) / np.sqrt(252)
    shocks = rng.standard_normal((n, symbols)) * vol + drift - vol**2 / 2
    log_adj = np.log(rng.uniform(10, 300, symbols)) + np.cumsum(shocks, axis=0)
    adj_close = np.exp(log_adj)
    # splits: on average one per symbol every 15 years; mostly forward, some 1:10 reverse
    adj_factor = np.ones((n, symbols))
    splits: dict[tuple[int, int], Decimal] = {}
    py = random.Random(seed)
    for j in range(symbols):
        for _ in range(int(rng.poisson(years / 15))):
            i = py.randrange(20, n)
            ratio = py.choice((Decimal(2), Decimal(2), Decimal(3), Decimal("0.1")))
            splits[(i, j)] = ratio
            adj_factor[i:, j] *= float(ratio)
    close = adj_close / adj_factor * adj_factor[-1]  # today's price = adjusted price
    eurusd = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    return Market(days, names, currency, close, adj_factor, splits, eurusd, rng.uniform(0.0, 0.04, symbols))


def money(x: float, places: Decimal = CENT) -> Decimal:
    return Decimal(repr(float(x))).quantize(places)


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------
@dataclass
class Ledger:
    rows: list[list[str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def csv_bytes(self) -> bytes:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(self.rows)
        return buf.getvalue().encode()


def generate_ledger(market: Market, *, transactions: int, seed: int) -> Ledger:
    """Exactly ``transactions`` rows in date order over the market's days.

    Cash never goes negative (a deposit tops it up before any buy it could not pay for) and no
    sale or transfer out exceeds the shares held. The event rate adapts so the history spans all
    the days; the surplus is cut from the tail, which keeps every invariant (a top-up deposit
    always precedes the buy it pays for).
    """
    rng = random.Random(seed + 1)
    days, symbols = market.days, market.symbols
    n_days, n_sym = len(days), len(symbols)
    splits_by_day: dict[int, list[tuple[int, Decimal]]] = {}
    for (di, j), ratio in market.splits.items():
        splits_by_day.setdefault(di, []).append((j, ratio))
    held: dict[int, Decimal] = {}
    cash = Decimal(0)  # USD, the portfolio's base currency
    ledger = Ledger()
    rows = ledger.rows
    counts = ledger.counts
    last_month = None
    carry = 0.0

    def emit(day, type_, symbol="", quantity="", price="", fees="", amount="", ccy="USD", fx="", note=""):
        rows.append(
            [day.isoformat(), type_, symbol, quantity, price, fees, amount, ccy, f"B{len(rows) + 1:07d}", note, fx]
        )

    for di, day in enumerate(days):
        for j, ratio in sorted(splits_by_day.get(di, ())):  # splits happen before the open
            if held.get(j):
                # the importer wants an FX rate even for a split of a foreign asset (no cash moves)
                ccy = market.currency[symbols[j]]
                fx = "" if ccy == "USD" else repr(round(float(market.eurusd[di]), 6))
                emit(day, "split", symbols[j], quantity=str(ratio), ccy=ccy, fx=fx)
                held[j] = held[j] * ratio
        if (day.year, day.month) != last_month:
            last_month = (day.year, day.month)
            amount = Decimal(rng.choice((500, 1000, 2000, 5000)))
            emit(day, "deposit", amount=str(amount), note="monthly")
            cash += amount
            interest = money(float(cash) * 0.02 / 12)
            if rng.random() < 0.5 and interest > 0:
                emit(day, "interest", amount=str(interest))
                cash += interest
            if rng.random() < 0.1 and cash > 100:
                emit(day, "fee", amount="4.95", note="account fee")
                cash -= Decimal("4.95")
        # events today: the rows still wanted spread over the days left (self-correcting)
        carry += max(0, transactions - len(rows)) / (n_days - di)
        k = int(carry)
        carry -= k
        universe = max(20, int(n_sym * min(1.0, 0.15 + di / (0.5 * n_days))))
        eur = Decimal(repr(round(float(market.eurusd[di]), 6)))
        for _ in range(k):
            j = rng.randrange(universe)
            sym = symbols[j]
            ccy = market.currency[sym]
            rate = eur if ccy == "EUR" else Decimal(1)
            fx = "" if ccy == "USD" else str(rate)
            price = max(money(market.close[di, j], Q4), Q4)
            have = held.get(j, Decimal(0))
            r = rng.random()
            if have > 0 and r < 0.22:  # sell part or all, never more than held
                qty = (
                    have
                    if rng.random() < 0.25
                    else (have * Decimal(repr(rng.uniform(0.05, 0.9)))).quantize(Q4, ROUND_DOWN)
                )
                qty = qty if qty > 0 else have
                fees = Decimal("4.95") if rng.random() < 0.5 else Decimal(0)
                gross = qty * price
                fees = fees if gross > fees else Decimal(0)
                emit(day, "sell", sym, str(qty), str(price), str(fees), ccy=ccy, fx=fx)
                held[j] = have - qty
                cash += (gross - fees) * rate
            elif have > 0 and r < 0.33:  # dividend on the shares held
                amount = money(float(have) * float(market.close[di, j]) * float(market.dividend_yield[j]) / 4)
                if amount > 0:
                    emit(day, "dividend", sym, amount=str(amount), ccy=ccy, fx=fx)
                    cash += amount * rate
            elif have > 0 and r < 0.335:  # half the shares leave for another account
                qty = (have / 2).quantize(Q4, ROUND_DOWN)
                qty = qty if qty > 0 else have
                emit(day, "transfer_out", sym, str(qty), str(price), ccy=ccy, fx=fx)
                held[j] = have - qty
            elif r < 0.005 or (have > 0 and r < 0.34):  # shares arrive at their carried cost
                qty = Decimal(rng.randint(1, 50))
                emit(
                    day,
                    "transfer_in",
                    sym,
                    str(qty),
                    str(money(float(price) * rng.uniform(0.6, 1.1), Q4)),
                    ccy=ccy,
                    fx=fx,
                )
                held[j] = have + qty
            else:  # buy whole or fractional shares, topping up cash first when short
                budget = rng.choice((250, 500, 1000, 2000, 5000))
                if rng.random() < 0.3:
                    qty = (Decimal(budget) / price).quantize(Q4, ROUND_DOWN)
                else:
                    qty = Decimal(max(1, int(budget / float(price))))
                qty = qty if qty > 0 else Decimal(1)
                fees = Decimal("4.95") if rng.random() < 0.5 else Decimal(0)
                cost = (qty * price + fees) * rate
                if cost > cash:
                    top_up = max(Decimal(1000), ((cost - cash) / 1000).to_integral_value(ROUND_CEILING) * 1000)
                    emit(day, "deposit", amount=str(top_up), note="top-up")
                    cash += top_up
                emit(day, "buy", sym, str(qty), str(price), str(fees), ccy=ccy, fx=fx)
                held[j] = have + qty
                cash -= cost
        if cash > 200_000 and rng.random() < 0.05:
            amount = (cash / 4).quantize(CENT, ROUND_DOWN)
            emit(day, "withdrawal", amount=str(amount))
            cash -= amount
    del rows[transactions:]
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    return ledger


def store_market(market: Market, *, price_years: int, source: str = "bench") -> dict:
    """Assets (if missing), daily bars of the last ``price_years`` years for every symbol through
    ``price_bars_upsert``, and EUR/USD rates for every day. Returns counts."""
    from personal_finance.assets.models import Asset, FxRate
    from personal_finance.assets.services import asset_get_or_create, price_bars_upsert

    first = dt.date(market.days[-1].year - price_years + 1, 1, 1)
    start = next(i for i, d in enumerate(market.days) if d >= first)
    bars = 0
    for j, sym in enumerate(market.symbols):
        asset, _ = asset_get_or_create(symbol=sym, currency=market.currency[sym], name=f"Bench {sym}")
        closes = market.close[start:, j]
        adj = closes * market.adj_factor[start:, j] / market.adj_factor[-1, j]
        series = []
        prev = closes[0]
        for k, (c, a) in enumerate(zip(closes, adj, strict=True)):
            o = prev
            series.append(
                {
                    "date": market.days[start + k],
                    "open": money(o, Decimal("0.0001")),
                    "high": money(max(o, c) * 1.004, Decimal("0.0001")),
                    "low": money(min(o, c) * 0.996, Decimal("0.0001")),
                    "close": money(c, Decimal("0.0001")),
                    "adj_close": money(a, Decimal("0.0001")),
                    "volume": 1_000_000 + k,
                }
            )
            prev = c
        bars += price_bars_upsert(series, asset=asset, source=source)
    FxRate.objects.bulk_create(
        [
            FxRate(base="EUR", quote="USD", date=d, rate=Decimal(repr(round(float(r), 6))), source=source)
            for d, r in zip(market.days, market.eurusd, strict=True)
        ],
        batch_size=2000,
        ignore_conflicts=True,
    )
    return {"assets": Asset.objects.count(), "bars": bars, "fx_rates": len(market.days)}
