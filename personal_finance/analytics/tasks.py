"""Celery tasks (docs/contracts.md §3, queue default): thin wrappers around the analytics services."""

from __future__ import annotations

import logging

from celery import shared_task

from personal_finance.portfolios.models import Portfolio

from .models import PerformanceReport
from .services import performance_report_render, portfolio_metrics_calculate, portfolio_snapshots_update

logger = logging.getLogger("personal_finance.analytics")


def _portfolios(portfolio_id):
    qs = Portfolio.objects.all()
    return qs.filter(pk=portfolio_id) if portfolio_id else qs


@shared_task(
    bind=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=10, retry_jitter=True, max_retries=3
)
def calculate_portfolio_metrics(self, portfolio_id: int | None = None) -> dict:
    """Compute and store the latest metrics (and warm the cache) of one or every portfolio."""
    done = {}
    for portfolio in _portfolios(portfolio_id):
        obj = portfolio_metrics_calculate(portfolio=portfolio)
        done[portfolio.pk] = {"twr": obj.twr, "mwr": obj.mwr, "as_of": obj.as_of.isoformat()}
    logger.info("calculate_portfolio_metrics: %d portfolios", len(done))
    return done


@shared_task(
    bind=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=10, retry_jitter=True, max_retries=3
)
def update_risk_metrics(self, portfolio_id: int | None = None) -> dict:
    """Store the daily snapshots (value, cash, invested, flows, return) of one or every portfolio."""
    done = {p.pk: portfolio_snapshots_update(portfolio=p) for p in _portfolios(portfolio_id)}
    logger.info("update_risk_metrics: %s", done)
    return done


@shared_task(
    bind=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=10, retry_jitter=True, max_retries=3
)
def generate_performance_reports(self, report_id: int) -> dict:
    report = PerformanceReport.objects.select_related("portfolio").get(pk=report_id)
    report = performance_report_render(report=report)
    return {"id": report.pk, "status": report.status, "error": report.error}
