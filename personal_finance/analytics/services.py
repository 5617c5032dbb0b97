"""Analytics services: stored snapshots and metrics, and performance reports rendered on a worker."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from personal_finance.contrib.queue import enqueue_on_commit
from personal_finance.portfolios.models import Portfolio

from . import selectors
from .documents import performance_document, performance_report_content
from .models import PerformanceReport, PortfolioMetrics, PortfolioSnapshot

logger = logging.getLogger("personal_finance.analytics")


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
        report.content = performance_report_content(
            portfolio=report.portfolio, period=report.period, fmt=report.format
        )
        report.status = PerformanceReport.Status.DONE
    except Exception as exc:
        logger.exception("report %s failed", report.pk)
        report.status = PerformanceReport.Status.FAILED
        report.error = f"{type(exc).__name__}: {exc}"[:2000]
    report.save(update_fields=["content", "status", "error", "updated_at"])
    return report
