"""Feed the pure analytics from the database with a bounded number of queries, and shape the
documents the REST routes, tasks and reports serve."""

from __future__ import annotations

import datetime as dt
import gc
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connections

from personal_finance.assets.models import Asset, FxRate, PriceSeries
from personal_finance.contrib.db_router import analytics_reads
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.models import Portfolio, Transaction

from . import metrics as m
from .returns import xirr
from .valuation import (
    EPOCH_ORDINAL,
    KINDS,
    FxArrays,
    LedgerArrays,
    PriceArrays,
    Valuation,
    chain,
    holding_returns,
    mwr_flows,
    period_slice,
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
        import psycopg

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
    # One raw query, numbers cast to float in SQL (analytics works in float64, DESIGN 6): Django's
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


def _clean(x):
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else round(float(x), 10)
    return x


def _benchmark_returns(symbol: str, days: np.ndarray) -> pd.Series:
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


def performance(
    data: PortfolioData,
    *,
    start: dt.date | None,
    end: dt.date,
    benchmark: str | None = None,
    rf: float = 0.0,
    series: bool = True,
) -> dict:
    v = data.valuation
    if v.days.size == 0 or not data.portfolio.pk:
        return {}
    i0, i1 = period_slice(v.days, day_number(start) if start else None, day_number(end))
    r = v.returns[i0 + 1 : i1 + 1]
    dates = pd.to_datetime(v.days[i0 + 1 : i1 + 1].astype("datetime64[D]"))
    returns = pd.Series(r, index=dates)
    bench = _benchmark_returns(benchmark, v.days[i0 + 1 : i1 + 1]) if benchmark else None
    metrics = (
        m.json_safe(m.compute_metrics(returns, bench.dropna() if bench is not None else None, rf=rf))
        if r.size >= 2
        else {}
    )
    mdays, mamounts = mwr_flows(v, i0, i1)
    mwr = xirr(mdays.astype("datetime64[D]"), mamounts) if mdays.size >= 2 else float("nan")
    h = holding_returns(
        v, i0, i1, np.array([a.currency != data.portfolio.base_currency for a in data.assets], dtype=bool)
    )
    holdings = []
    for a, asset in enumerate(data.assets):
        active = (v.holding_value[i0 + 1 : i1 + 1, a] != 0).any() or (v.holding_flows[i0 + 1 : i1 + 1, a] != 0).any()
        if not active:
            continue
        holdings.append(
            {
                "symbol": asset.symbol,
                "currency": asset.currency,
                "value": _clean(v.holding_value[i1, a]),
                "twr": _clean(h["twr"][a]),
                "twr_local": _clean(h["twr_local"][a]),
                "currency_effect": _clean(h["currency_effect"][a])
                if asset.currency != data.portfolio.base_currency
                else 0.0,
                "pnl": _clean(h["pnl"][a]),
                "contribution": _clean(h["contribution"][a]),
                "dividends": _clean(h["dividends"][a]),
            }
        )
    holdings.sort(key=lambda x: -(x["value"] or 0))
    start_value = float(v.value[i0]) if i0 >= 0 else 0.0
    net_flows = float(v.flows[i0 + 1 : i1 + 1].sum())
    doc = {
        "portfolio": data.portfolio.pk,
        "base_currency": data.portfolio.base_currency,
        "start": from_day(v.days[i0]).isoformat() if i0 >= 0 else from_day(v.days[0]).isoformat(),
        "end": from_day(v.days[i1]).isoformat(),
        "inception": from_day(v.days[0]).isoformat(),
        "twr": _clean(chain(r)),
        "mwr": _clean(mwr),
        "start_value": _clean(start_value),
        "end_value": _clean(float(v.value[i1])),
        "net_flows": _clean(net_flows),
        "gain": _clean(float(v.value[i1]) - start_value - net_flows),
        "dividends": _clean(float(v.holding_income[i0 + 1 : i1 + 1].sum())),
        "trades_as_flows": v.trades_as_flows,
        "notes": v.notes,
        "metrics": {k: _clean(val) for k, val in metrics.items()},
        "benchmark": None,
        "holdings": holdings,
    }
    if bench is not None:
        b = bench.fillna(0.0).to_numpy()
        doc["benchmark"] = {"symbol": benchmark.upper(), "twr": _clean(chain(b))}
    if series:
        sl = slice(max(i0, 0), i1 + 1)
        growth = np.concatenate([[1.0], np.cumprod(1.0 + r)]) if i0 >= 0 else np.cumprod(1.0 + r)
        doc["series"] = {
            "dates": [from_day(d).isoformat() for d in v.days[sl]],
            "value": np.round(v.value[sl], 2).tolist(),
            "invested": np.round(v.invested[sl], 2).tolist(),
            "cash": np.round(v.cash[sl], 2).tolist(),
            "twr_index": np.round(growth, 8).tolist(),
        }
        if bench is not None:
            bgrowth = np.cumprod(1.0 + bench.fillna(0.0).to_numpy())
            doc["series"]["benchmark_index"] = np.round(
                np.concatenate([[1.0], bgrowth]) if i0 >= 0 else bgrowth, 8
            ).tolist()
    return doc


def risk(
    data: PortfolioData,
    *,
    start: dt.date | None,
    end: dt.date,
    benchmark: str | None = None,
    rf: float = 0.0,
    window: int = 252,
) -> dict:
    v = data.valuation
    i0, i1 = period_slice(v.days, day_number(start) if start else None, day_number(end))
    r = v.returns[i0 + 1 : i1 + 1]
    dates = pd.to_datetime(v.days[i0 + 1 : i1 + 1].astype("datetime64[D]"))
    returns = pd.Series(r, index=dates)
    bench = _benchmark_returns(benchmark, v.days[i0 + 1 : i1 + 1]).dropna() if benchmark else None
    metrics = m.json_safe(m.compute_metrics(returns, bench, rf=rf)) if r.size >= 2 else {}
    table = m.monthly_returns_table(returns) if r.size else pd.DataFrame()
    iso = [d.date().isoformat() for d in dates]
    daily = holding_returns(v, i0, i1, np.zeros(len(data.assets), dtype=bool))["daily"]
    holdings = []
    for a, asset in enumerate(data.assets):
        held = v.holding_value[i0 + 1 : i1 + 1, a] != 0
        if held.sum() < 2:
            continue
        hr = pd.Series(daily[held, a], index=dates[held])
        hm = m.json_safe(m.compute_metrics(hr, bench, rf=rf))
        holdings.append(
            {
                "symbol": asset.symbol,
                "days_held": int(held.sum()),
                "metrics": {k: _clean(val) for k, val in hm.items()},
            }
        )
    return {
        "portfolio": data.portfolio.pk,
        "start": iso[0] if iso else None,
        "end": iso[-1] if iso else None,
        "rf": rf,
        "metrics": {k: _clean(val) for k, val in metrics.items()},
        "rolling_window": window,
        "series": {
            "dates": iso,
            "drawdown": [_clean(x) for x in np.asarray(m.drawdown_series(returns))],
            "rolling_volatility": [_clean(x) for x in np.asarray(m.rolling_volatility(returns, window))],
            "rolling_sharpe": [_clean(x) for x in np.asarray(m.rolling_sharpe(returns, window, rf))],
        },
        "monthly_returns": [
            {"year": int(year), **{col: _clean(val) for col, val in row.items()}} for year, row in table.iterrows()
        ],
        "holdings": holdings,
    }


ALLOCATION_KEYS = {
    "asset": "symbol",
    "asset_class": "asset_class",
    "sector": "sector",
    "currency": "currency",
    "country": "country",
}


def allocation(portfolio: Portfolio, *, by: str, as_of: dt.date | None = None) -> dict:
    from decimal import Decimal

    from personal_finance.portfolios.selectors import portfolio_holdings

    if by not in ALLOCATION_KEYS:
        raise ApplicationError("Invalid input.", errors={"by": [f"one of {', '.join(ALLOCATION_KEYS)}"]})
    holdings = portfolio_holdings(portfolio=portfolio, as_of=as_of)
    attrs = {}
    if by in ("sector", "country"):
        attrs = dict(
            Asset.objects.filter(symbol__in=[h["symbol"] for h in holdings["holdings"]]).values_list("symbol", by)
        )
    groups: dict[str, Decimal] = {}
    for h in holdings["holdings"]:
        if h["market_value"] is None:
            continue
        key = (
            h["symbol"]
            if by == "asset"
            else (attrs.get(h["symbol"]) if by in attrs or by in ("sector", "country") else h[ALLOCATION_KEYS[by]])
        )
        key = key or "unknown"
        groups[key] = groups.get(key, Decimal(0)) + Decimal(h["market_value"])
    cash = Decimal(holdings["cash"])
    if cash:
        key = "cash" if by in ("asset", "asset_class") else (portfolio.base_currency if by == "currency" else "cash")
        groups[key] = groups.get(key, Decimal(0)) + cash
    total = sum(groups.values(), Decimal(0))
    rows = [
        {
            "key": k,
            "value": str(val.quantize(Decimal("0.01"))),
            "weight": str((val / total).quantize(Decimal("0.000001"))) if total else None,
        }
        for k, val in sorted(groups.items(), key=lambda kv: -kv[1])
    ]
    return {
        "portfolio": portfolio.pk,
        "by": by,
        "as_of": holdings["as_of"],
        "base_currency": portfolio.base_currency,
        "total": str(total.quantize(Decimal("0.01"))),
        "allocation": rows,
    }
