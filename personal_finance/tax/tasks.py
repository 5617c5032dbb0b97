"""Celery tasks (docs/contracts.md §3, queue `default` by the routes in CELERY_TASK_ROUTES): thin, idempotent
wrappers around the tax services. They take ids, re-fetch, and retry transient failures with
exponential backoff and jitter; each run replaces its previous stored rows, so running twice is safe.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db import OperationalError

from personal_finance.portfolios.models import Portfolio

from . import services
from .models import TaxReport

logger = logging.getLogger("personal_finance.tax")

RETRY = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (ConnectionError, OperationalError),
    "retry_backoff": 10,
    "retry_jitter": True,
    "max_retries": 3,
}


def _targets(user_id: int | None, portfolio_id: int | None):
    """(user, portfolio or None) pairs: one portfolio, one user's portfolios, or every user's."""
    if portfolio_id is not None:
        portfolio = Portfolio.objects.select_related("owner").get(pk=portfolio_id)
        return [(portfolio.owner, portfolio)]
    users = get_user_model().objects.filter(portfolios__isnull=False).distinct().order_by("pk")
    if user_id is not None:
        users = users.filter(pk=user_id)
    return [(user, None) for user in users]


def _run(service, user_id, portfolio_id, method) -> dict:
    done, failed = {}, {}
    for user, portfolio in _targets(user_id, portfolio_id):
        key = f"portfolio:{portfolio.pk}" if portfolio else f"user:{user.pk}"
        try:
            done[key] = service(user=user, portfolio=portfolio, method=method)
        except services.ApplicationError as exc:  # bad ledger data: recorded, not retried
            logger.warning("%s %s failed: %s", service.__name__, key, exc.message)
            failed[key] = exc.message
    return {"done": done, "failed": failed}


@shared_task(**RETRY)
def identify_tax_lots(self, user_id: int | None = None, portfolio_id: int | None = None, method: str | None = None):
    """Store the open tax lots (wash-sale adjusted) of a portfolio, a user, or everyone."""
    return _run(services.tax_lots_identify, user_id, portfolio_id, method)


@shared_task(**RETRY)
def calculate_capital_gains(
    self, user_id: int | None = None, portfolio_id: int | None = None, method: str | None = None
):
    """Store the realised gains (every sale x lot, wash sales applied) of a portfolio, a user, or everyone."""
    return _run(services.capital_gains_calculate, user_id, portfolio_id, method)


@shared_task(**RETRY)
def generate_tax_reports(self, report_id: int) -> dict:
    """Render one stored tax report (JSON, Form 8949 CSV or PDF); a finished report is left as is."""
    report = TaxReport.objects.select_related("owner", "portfolio").get(pk=report_id)
    report = services.tax_report_generate(report=report)
    return {"id": report.pk, "status": report.status, "error": report.error}
