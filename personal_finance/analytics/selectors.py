"""Feed the pure analytics from the database with a bounded number of queries: the valuation of
a portfolio, a benchmark's returns, and the period of a request (``documents`` shapes them)."""

from __future__ import annotations

import datetime as dt
import gc
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
from django.db import connections

from personal_finance.assets.models import Asset, FxRate, PriceSeries
from personal_finance.contrib.db_router import analytics_reads
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.models import Portfolio, Transaction

from .valuation import (
    EPOCH_ORDINAL,
    KINDS,
    FxArrays,
    LedgerArrays,
    PriceArrays,
    Valuation,
    value_portfolio,
)

PERIODS = ("ytd", "1m", "3m", "6m", "1y", "3y", "5y", "10y", "max")


def day_number(d: dt.date) -> int:
    return d.toordinal() - EPOCH_ORDINAL


def from_day(n: int) -> dt.date:
    return dt.date.fromordinal(int(n) + EPOCH_ORDINAL)


def _series_arrays(series: PriceSeries | None, adjusted: bool = False) -> tuple[np.ndarray, np.ndarray]:
    if series is None:
        return np.array([], dtype="int64"), np.array([], dtype="float64")
    days = np.frombuffer(bytes(series.days), dtype="int32").astype("int64")
    values = np.frombuffer(bytes(series.adj_closes if adjusted else series.closes), dtype="float64")
    return days, values


def _fx_arrays(currency: str, base: str, end: dt.date) -> tuple[np.ndarray, np.ndarray]:
    """Base units per ``currency`` unit, daily: the direct pair, else the inverse pair."""
    if currency == base:
        return np.array([], dtype="int64"), np.array([], dtype="float64")
    for pair, invert in (((currency, base), False), ((base, currency), True)):
        rows = list(
            FxRate.objects.filter(base=pair[0], quote=pair[1], date__lte=end)
            .order_by("date")
            .values_list("date", "rate")
        )
        if rows:
            days = np.array([day_number(d) for d, _ in rows], dtype="int64")
            rates = np.array([float(r) for _, r in rows])
            return days, (1.0 / rates if invert else rates)
    # No rate at all: the valuation falls back to the rates the transactions carried.
    return np.array([], dtype="int64"), np.array([np.nan])


def _kinds(types) -> np.ndarray:
    """Transaction types to KINDS codes, mapping each distinct text once."""
    if not types:
        return np.zeros(0, dtype="int8")
    names, inverse = np.unique(np.asarray(types, dtype=object).astype(str), return_inverse=True)
    return np.array([KINDS[name] for name in names], dtype="int8")[inverse.ravel()]


def _packed_series(connection, asset_ids: list[int]) -> dict[int, tuple[bytes, bytes]]:
    """The packed (days, closes) arrays of these assets in one raw query. On PostgreSQL the rows
    come in the binary protocol: bytea as raw bytes, not hex text twice the size to decode."""
    if not asset_ids:
        return {}
    table = PriceSeries._meta.db_table
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        cursor = psycopg.Cursor(connection.connection)
        try:
            sql = f"SELECT asset_id, days, closes FROM {table} WHERE asset_id = ANY(%s)"  # noqa: S608 - fixed identifiers
            cursor.execute(sql, [asset_ids], binary=True)
            rows = cursor.fetchall()
        finally:
            cursor.close()
    else:
        placeholders = ", ".join(["%s"] * len(asset_ids))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT asset_id, days, closes FROM {table} WHERE asset_id IN ({placeholders})", asset_ids)  # noqa: S608
            rows = cursor.fetchall()
    return {asset_id: (bytes(days), bytes(closes)) for asset_id, days, closes in rows}


@dataclass
class PortfolioData:
    portfolio: Portfolio
    assets: list[Asset]
    valuation: Valuation
    end: dt.date


def load_valuation(portfolio: Portfolio, *, end: dt.date | None = None) -> PortfolioData:
    """Reads go to the analytics read replica when one is configured (contrib.db_router)."""
    # The garbage collector would walk the 50,000 fresh row tuples several times while they are
    # built; nothing here makes reference cycles, so it pauses for the load.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with analytics_reads() as alias:
            return _load_valuation(portfolio, end=end, alias=alias)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load_valuation(portfolio: Portfolio, *, end: dt.date | None, alias: str) -> PortfolioData:
    """Four queries plus one or two per foreign currency: ledger, assets, packed prices, FX."""
    end = end or dt.date.today()  # noqa: DTZ011 - valuation dates are calendar dates
    # One raw query, numbers cast to float in SQL (analytics works in float64, docs/contracts.md §6): Django's
    # per-value converters would cost more than the query itself on 50,000 rows.
    table = Transaction._meta.db_table
    connection = connections[alias]
    day_sql = (
        "trade_date - DATE '1970-01-01'"
        if connection.vendor == "postgresql"
        else "CAST(julianday(trade_date) - 2440587.5 AS INTEGER)"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {day_sql}, type, asset_id, CAST(quantity AS DOUBLE PRECISION), CAST(price AS DOUBLE PRECISION),"  # noqa: S608 - fixed identifiers
            f" CAST(amount AS DOUBLE PRECISION), CAST(fx_rate AS DOUBLE PRECISION) FROM {table}"
            " WHERE portfolio_id = %s AND trade_date <= %s ORDER BY trade_date, id",
            [portfolio.pk, end],
        )
        rows = cursor.fetchall()
    asset_ids = sorted({r[2] for r in rows if r[2] is not None})
    assets = list(Asset.objects.filter(pk__in=asset_ids).order_by("pk"))
    index = {a.pk: i for i, a in enumerate(assets)}
    series = _packed_series(connection, asset_ids)
    currencies = sorted({a.currency for a in assets})
    cindex = {c: i for i, c in enumerate(currencies)}
    fx_days, fx_rates = [], []
    for c in currencies:
        d, r = _fx_arrays(c, portfolio.base_currency, end)
        fx_days.append(d)
        fx_rates.append(r)
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7  # one pass, in C
    ledger = LedgerArrays(
        day=np.array(columns[0], dtype="int64") if n else np.zeros(0, dtype="int64"),
        kind=_kinds(columns[1]),
        asset=np.fromiter((index[a] if a is not None else -1 for a in columns[2]), dtype="int64", count=n),
        quantity=np.nan_to_num(np.array(columns[3], dtype="float64")) if n else np.zeros(0),
        price=np.array(columns[4], dtype="float64") if n else np.zeros(0),
        amount=np.array(columns[5], dtype="float64") if n else np.zeros(0),
        fx=np.array(columns[6], dtype="float64") if n else np.zeros(0),
    )
    price_days, price_closes = [], []
    for a in assets:
        packed = series.get(a.pk)
        price_days.append(
            np.frombuffer(packed[0], dtype="int32").astype("int64") if packed else np.zeros(0, dtype="int64")
        )
        price_closes.append(np.frombuffer(packed[1], dtype="float64") if packed else np.zeros(0))
    prices = PriceArrays(price_days, price_closes, np.array([cindex[a.currency] for a in assets], dtype="int64"))
    for ci, (d, r) in enumerate(zip(fx_days, fx_rates, strict=True)):
        if d.size == 0 and r.size == 1:  # no stored rate: use the latest rate a transaction carried
            carried = ledger.fx[np.isin(ledger.asset, [i for i, a in enumerate(assets) if cindex[a.currency] == ci])]
            fx_days[ci] = np.array([0], dtype="int64")
            fx_rates[ci] = np.array([carried[-1] if carried.size else 1.0])
    valuation = value_portfolio(ledger, prices, FxArrays(fx_days, fx_rates), end_day=day_number(end))
    return PortfolioData(portfolio, assets, valuation, end)


def resolve_period(
    *, period: str | None, start: dt.date | None, end: dt.date | None, today: dt.date
) -> tuple[dt.date | None, dt.date]:
    end = end or today
    if start is not None:
        return start, end
    period = (period or "max").lower()
    if period not in PERIODS:
        raise ApplicationError("Invalid input.", errors={"period": [f"one of {', '.join(PERIODS)}"]})
    if period == "max":
        return None, end
    if period == "ytd":
        return dt.date(end.year - 1, 12, 31), end
    amount, unit = int(period[:-1]), period[-1]
    if unit == "m":
        month = end.month - amount
        year = end.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        return dt.date(year, month, min(end.day, 28)), end
    return dt.date(end.year - amount, end.month, min(end.day, 28)), end


def benchmark_returns(symbol: str, days: np.ndarray) -> pd.Series:
    """Daily returns of ``symbol``'s adjusted closes on ``days`` (NaN before its first close)."""
    asset = Asset.objects.filter(symbol=symbol.strip().upper()).select_related("series").first()
    if asset is None or not hasattr(asset, "series"):
        raise ApplicationError(
            "Invalid input.", errors={"benchmark": [f"no stored prices for {symbol!r}; fetch them first"]}
        )
    bdays, closes = _series_arrays(asset.series, adjusted=True)
    pos = np.searchsorted(bdays, days, side="right") - 1
    valid = pos >= 0
    level = np.where(valid, closes[np.clip(pos, 0, None)], np.nan)
    returns = pd.Series(level, index=pd.to_datetime(days.astype("datetime64[D]"))).pct_change()
    return returns
