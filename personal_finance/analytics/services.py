"""Analytics services: cached documents for the REST routes, stored snapshots and metrics, reports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from personal_finance.contrib.queue import enqueue_on_commit
from personal_finance.portfolios.cache import cached
from personal_finance.portfolios.models import Portfolio

from . import selectors
from .models import PerformanceReport, PortfolioMetrics, PortfolioSnapshot

logger = logging.getLogger("personal_finance.analytics")


def _performance_params(period, start, end, benchmark, rf, extra: dict) -> tuple:
    start, end = selectors.resolve_period(period=period, start=start, end=end, today=timezone.now().date())
    return start, end, {"start": start, "end": end, "benchmark": (benchmark or "").upper(), "rf": rf, **extra}


def _performance(portfolio, start, end, benchmark, rf, series):
    data = selectors.load_valuation(portfolio, end=end)
    return selectors.performance(data, start=start, end=end, benchmark=benchmark or None, rf=rf, series=series)


def _risk(portfolio, start, end, benchmark, rf, window):
    data = selectors.load_valuation(portfolio, end=end)
    return selectors.risk(data, start=start, end=end, benchmark=benchmark or None, rf=rf, window=window)


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
    import json

    return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()


def allocation_document(*, portfolio: Portfolio, by: str = "asset", as_of=None) -> tuple[dict, bool]:
    return cached(
        "allocation",
        portfolio.pk,
        {"by": by, "as_of": as_of or timezone.now().date()},
        lambda: selectors.allocation(portfolio, by=by, as_of=as_of),
    )


@transaction.atomic
def portfolio_metrics_calculate(*, portfolio: Portfolio) -> PortfolioMetrics:
    doc, _ = performance_document(portfolio=portfolio, series=False)
    obj, _ = PortfolioMetrics.objects.update_or_create(
        portfolio=portfolio,
        defaults={
            "as_of": dt.date.fromisoformat(doc["end"]) if doc else timezone.now().date(),
            "twr": doc.get("twr"),
            "mwr": doc.get("mwr"),
            "metrics": doc.get("metrics", {}),
        },
    )
    return obj


@transaction.atomic
def portfolio_snapshots_update(*, portfolio: Portfolio) -> int:
    """Store one snapshot per valuation day (idempotent upsert); drop days no longer valued."""
    data = selectors.load_valuation(portfolio)
    v = data.valuation
    if not v.days.size:
        return 0
    cent = Decimal("0.01")
    rows = [
        PortfolioSnapshot(
            portfolio=portfolio,
            date=selectors.from_day(d),
            value=Decimal(repr(float(val))).quantize(cent),
            cash=Decimal(repr(float(c))).quantize(cent),
            invested=Decimal(repr(float(inv))).quantize(cent),
            flows=Decimal(repr(float(f))).quantize(cent),
            daily_return=float(r),
        )
        for d, val, c, inv, f, r in zip(v.days, v.value, v.cash, v.invested, v.flows, v.returns, strict=True)
    ]
    PortfolioSnapshot.objects.filter(portfolio=portfolio).exclude(date__in=[r.date for r in rows]).delete()
    PortfolioSnapshot.objects.bulk_create(
        rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["portfolio", "date"],
        update_fields=["value", "cash", "invested", "flows", "daily_return"],
    )
    return len(rows)


# --- reports ---------------------------------------------------------------------------------------
def performance_report_request(
    *, owner, portfolio: Portfolio, fmt: str = "html", period: str = "max"
) -> PerformanceReport:
    selectors.resolve_period(period=period, start=None, end=None, today=timezone.now().date())  # validates
    report = PerformanceReport.objects.create(owner=owner, portfolio=portfolio, format=fmt, period=period)
    enqueue_on_commit("personal_finance.analytics.tasks.generate_performance_reports", report.pk)
    return report


def performance_report_render(*, report: PerformanceReport) -> PerformanceReport:
    if report.status == PerformanceReport.Status.DONE:
        return report  # idempotent
    try:
        doc, _ = performance_document(portfolio=report.portfolio, period=report.period)
        risk, _ = risk_document(portfolio=report.portfolio, period=report.period)
        render = {"html": _render_html, "csv": _render_csv, "pdf": _render_pdf}[report.format]
        report.content = render(report.portfolio, doc, risk)
        report.status = PerformanceReport.Status.DONE
    except Exception as exc:
        logger.exception("report %s failed", report.pk)
        report.status = PerformanceReport.Status.FAILED
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
    report.save(update_fields=["content", "status", "error", "updated_at"])
    return report


def _pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


KEY_METRICS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "var_95",
    "cvar_95",
)


def _summary_rows(doc: dict) -> list[tuple[str, str]]:
    rows = [
        ("Period", f"{doc.get('start')} to {doc.get('end')}"),
        ("Time-weighted return", _pct(doc.get("twr"))),
        ("Money-weighted return (annual)", _pct(doc.get("mwr"))),
    ]
    rows += [
        (
            k.replace("_", " ").capitalize(),
            (f"{doc['metrics'][k]:.3f}" if k in ("sharpe", "sortino", "calmar") else _pct(doc["metrics"][k]))
            if doc.get("metrics", {}).get(k) is not None
            else "n/a",
        )
        for k in KEY_METRICS
    ]
    rows += [
        ("End value", f"{doc.get('end_value', 0):,.2f} {doc.get('base_currency', '')}"),
        ("Net flows", f"{doc.get('net_flows', 0):,.2f}"),
        ("Gain", f"{doc.get('gain', 0):,.2f}"),
    ]
    return rows


def _svg_line(values: list[float], width: int = 720, height: int = 200) -> str:
    if len(values) < 2:
        return ""
    arr = np.asarray(values, dtype="float64")
    step = max(1, arr.size // width)
    arr = arr[::step]
    lo, hi = float(arr.min()), float(arr.max()) or 1.0
    span = (hi - lo) or 1.0
    xs = np.linspace(0, width, arr.size)
    ys = height - (arr - lo) / span * (height - 10) - 5
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
    return f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="portfolio value"><polyline fill="none" stroke="#2a6fdb" stroke-width="1.5" points="{points}"/></svg>'


def _render_html(portfolio, doc, risk) -> bytes:
    return render_to_string(
        "analytics/report.html",
        {
            "portfolio": portfolio,
            "doc": doc,
            "summary": _summary_rows(doc),
            "holdings": doc.get("holdings", []),
            "monthly": risk.get("monthly_returns", []),
            "chart": _svg_line(doc.get("series", {}).get("value", [])),
            "generated": timezone.now(),
        },
    ).encode()


def _render_csv(portfolio, doc, risk) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["section", "key", "value"])
    for k, val in _summary_rows(doc):
        w.writerow(["summary", k, val])
    w.writerow([])
    w.writerow(["symbol", "value", "twr", "twr_local", "currency_effect", "pnl", "contribution", "dividends"])
    for h in doc.get("holdings", []):
        w.writerow(
            [
                h["symbol"],
                h["value"],
                h["twr"],
                h["twr_local"],
                h["currency_effect"],
                h["pnl"],
                h["contribution"],
                h["dividends"],
            ]
        )
    w.writerow([])
    series = doc.get("series", {})
    w.writerow(["date", "value", "invested", "cash", "twr_index"])
    for row in zip(
        series.get("dates", []),
        series.get("value", []),
        series.get("invested", []),
        series.get("cash", []),
        series.get("twr_index", []),
        strict=False,
    ):
        w.writerow(row)
    return buf.getvalue().encode()


def _render_pdf(portfolio, doc, risk) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    buf = io.BytesIO()
    styles = getSampleStyleSheet()
    story = [
        Paragraph(f"Performance report: {portfolio.name}", styles["Title"]),
        Paragraph(
            f"Base currency {portfolio.base_currency}; generated {timezone.now():%Y-%m-%d %H:%M} UTC", styles["Normal"]
        ),
        Spacer(1, 12),
    ]
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
        ]
    )
    story += [Table([["Measure", "Value"], *_summary_rows(doc)], style=grid), Spacer(1, 12)]
    holdings = [["Symbol", "Value", "TWR", "Currency effect", "P&L", "Contribution"]] + [
        [
            h["symbol"],
            f"{h['value'] or 0:,.2f}",
            _pct(h["twr"]),
            _pct(h["currency_effect"]),
            f"{h['pnl'] or 0:,.2f}",
            _pct(h["contribution"]),
        ]
        for h in doc.get("holdings", [])
    ]
    story += [Paragraph("Holdings", styles["Heading2"]), Table(holdings, style=grid), Spacer(1, 12)]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Year"]
    monthly = [["Year", *months]] + [
        [str(r["year"]), *[_pct(r.get(mo)) if r.get(mo) is not None else "" for mo in months]]
        for r in risk.get("monthly_returns", [])
    ]
    story += [Paragraph("Monthly returns", styles["Heading2"]), Table(monthly, style=grid)]
    SimpleDocTemplate(buf, pagesize=A4, title=f"Performance {portfolio.name}").build(story)
    return buf.getvalue()
