"""Documents of the analytics routes, tasks and reports: the performance, risk and allocation of
a portfolio (each cached per portfolio version, ``portfolios.cache``) and the content of a stored
performance report. The reads are the selectors' (``load_valuation``, ``benchmark_returns``,
``portfolios.selectors.valued_positions``); here they are shaped into JSON-ready documents."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal

import numpy as np
import pandas as pd
from django.utils import timezone

from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.cache import cached
from personal_finance.portfolios.ledger import ZERO
from personal_finance.portfolios.models import Portfolio
from personal_finance.portfolios.selectors import valued_positions

from . import metrics as m
from . import render
from .returns import xirr
from .selectors import PortfolioData, benchmark_returns, day_number, from_day, load_valuation, resolve_period
from .valuation import chain, holding_returns, mwr_flows, period_slice

CENT = Decimal("0.01")
WEIGHT = Decimal("0.000001")


# --------------------------------------------------------------------------------------------
# Performance and risk
# --------------------------------------------------------------------------------------------
def _clean(x):
    if isinstance(x, float | np.floating):
        return None if not math.isfinite(float(x)) else round(float(x), 10)
    return x


def _period_returns(data: PortfolioData, start: dt.date | None, end: dt.date, benchmark: str | None) -> tuple:
    """The valuation over the period: its slice bounds ``(i0, i1)``, the daily returns as an array,
    their dates, the same as a dated series, and the benchmark's returns on those days (None
    without a benchmark)."""
    v = data.valuation
    i0, i1 = period_slice(v.days, day_number(start) if start else None, day_number(end))
    days = v.days[i0 + 1 : i1 + 1]
    r = v.returns[i0 + 1 : i1 + 1]
    dates = pd.to_datetime(days.astype("datetime64[D]"))
    bench = benchmark_returns(benchmark, days) if benchmark else None
    return i0, i1, r, dates, pd.Series(r, index=dates), bench


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
    i0, i1, r, _dates, returns, bench = _period_returns(data, start, end, benchmark)
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
    if bench is not None and benchmark:
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
    i0, i1, r, dates, returns, bench = _period_returns(data, start, end, benchmark)
    bench = bench.dropna() if bench is not None else None
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


# --------------------------------------------------------------------------------------------
# Allocation
# --------------------------------------------------------------------------------------------
ALLOCATION_KEYS = {
    "asset": "symbol",
    "asset_class": "asset_class",
    "sector": "sector",
    "currency": "currency",
    "country": "country",
}


def allocation(portfolio: Portfolio, *, by: str, as_of: dt.date | None = None) -> dict:
    """Market value and weight per ``by`` key (an asset attribute; cash under ``cash``, or the base
    currency when ``by`` is ``currency``); positions without a price or FX rate are left out."""
    if by not in ALLOCATION_KEYS:
        raise ApplicationError("Invalid input.", errors={"by": [f"one of {', '.join(ALLOCATION_KEYS)}"]})
    valuation = valued_positions(portfolio=portfolio, as_of=as_of)
    priced = [(p, p.market_value) for p in valuation.positions if p.market_value is not None]
    groups: dict[str, Decimal] = {}
    for pos, value in sorted(priced, key=lambda pv: -pv[1]):
        key = getattr(pos.asset, ALLOCATION_KEYS[by]) or "unknown"
        groups[key] = groups.get(key, ZERO) + value.quantize(CENT)
    cash = valuation.cash.quantize(CENT)
    if cash:
        key = portfolio.base_currency if by == "currency" else "cash"
        groups[key] = groups.get(key, ZERO) + cash
    total = sum(groups.values(), ZERO)
    rows = [
        {
            "key": k,
            "value": str(val.quantize(CENT)),
            "weight": str((val / total).quantize(WEIGHT)) if total else None,
        }
        for k, val in sorted(groups.items(), key=lambda kv: -kv[1])
    ]
    return {
        "portfolio": portfolio.pk,
        "by": by,
        "as_of": valuation.as_of.isoformat(),
        "base_currency": portfolio.base_currency,
        "total": str(total.quantize(CENT)),
        "allocation": rows,
    }


# --------------------------------------------------------------------------------------------
# Cached documents of the routes
# --------------------------------------------------------------------------------------------
def _performance_params(period, start, end, benchmark, rf, extra: dict) -> tuple:
    start, end = resolve_period(period=period, start=start, end=end, today=timezone.now().date())
    return start, end, {"start": start, "end": end, "benchmark": (benchmark or "").upper(), "rf": rf, **extra}


def _performance(portfolio, start, end, benchmark, rf, series):
    data = load_valuation(portfolio, end=end)
    return performance(data, start=start, end=end, benchmark=benchmark or None, rf=rf, series=series)


def _risk(portfolio, start, end, benchmark, rf, window):
    data = load_valuation(portfolio, end=end)
    return risk(data, start=start, end=end, benchmark=benchmark or None, rf=rf, window=window)


def performance_document(
    *, portfolio: Portfolio, period=None, start=None, end=None, benchmark=None, rf=0.0, series=True
) -> tuple[dict, bool]:
    start, end, params = _performance_params(period, start, end, benchmark, rf, {"series": series})
    return cached(
        "performance", portfolio.pk, params, lambda: _performance(portfolio, start, end, benchmark, rf, series)
    )


def performance_json(
    *, portfolio: Portfolio, period=None, start=None, end=None, benchmark=None, rf=0.0, series=True
) -> tuple[bytes, bool]:
    """The performance document as rendered JSON: a cache hit costs two cache reads, no rendering."""
    start, end, params = _performance_params(period, start, end, benchmark, rf, {"series": series})
    return cached(
        "performance.json",
        portfolio.pk,
        params,
        lambda: to_json(_performance(portfolio, start, end, benchmark, rf, series)),
    )


def risk_document(
    *, portfolio: Portfolio, period=None, start=None, end=None, benchmark=None, rf=0.0, window=252
) -> tuple[dict, bool]:
    start, end, params = _performance_params(period, start, end, benchmark, rf, {"window": window})
    return cached("risk", portfolio.pk, params, lambda: _risk(portfolio, start, end, benchmark, rf, window))


def risk_json(
    *, portfolio: Portfolio, period=None, start=None, end=None, benchmark=None, rf=0.0, window=252
) -> tuple[bytes, bool]:
    start, end, params = _performance_params(period, start, end, benchmark, rf, {"window": window})
    return cached(
        "risk.json", portfolio.pk, params, lambda: to_json(_risk(portfolio, start, end, benchmark, rf, window))
    )


def to_json(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def allocation_document(*, portfolio: Portfolio, by: str = "asset", as_of=None) -> tuple[dict, bool]:
    return cached(
        "allocation",
        portfolio.pk,
        {"by": by, "as_of": as_of or timezone.now().date()},
        lambda: allocation(portfolio, by=by, as_of=as_of),
    )


# --------------------------------------------------------------------------------------------
# Stored performance reports
# --------------------------------------------------------------------------------------------
REPORT_FORMATS = {"html": render.report_html, "csv": render.report_csv, "pdf": render.report_pdf}


def performance_report_content(*, portfolio: Portfolio, period: str, fmt: str) -> bytes:
    """The content of a performance report of ``portfolio`` over ``period`` in ``fmt``
    (``html``, ``csv`` or ``pdf``): the performance and risk documents, rendered."""
    doc, _ = performance_document(portfolio=portfolio, period=period)
    risk_doc, _ = risk_document(portfolio=portfolio, period=period)
    return REPORT_FORMATS[fmt](portfolio, doc, risk_doc)
