"""HTML, CSV and PDF renderings of a performance report from its performance and risk documents
(``documents.performance_report_content``)."""

from __future__ import annotations

import csv
import io

import numpy as np
from django.template.loader import render_to_string
from django.utils import timezone

from .metrics import METRIC_KEYS


def _pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.2f}%"


# The report's summary: the contract's metrics that are fractions (not durations, not parametric).
KEY_METRICS = tuple(k for k in METRIC_KEYS if k != "max_drawdown_duration_days" and not k.endswith("_parametric"))


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


def report_html(portfolio, doc, risk) -> bytes:
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


def report_csv(portfolio, doc, risk) -> bytes:
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


def report_pdf(portfolio, doc, risk) -> bytes:
    # reportlab takes 0.4 s to import: loaded on the first PDF, not by every process.
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.lib.styles import getSampleStyleSheet  # noqa: PLC0415
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle  # noqa: PLC0415

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
