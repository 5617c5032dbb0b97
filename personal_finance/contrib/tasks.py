from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

from . import maintenance
from .health import run_checks

logger = logging.getLogger("personal_finance.health")

LAST_RESULT_KEY = "health:system_health_checks:last"


@shared_task(bind=True, ignore_result=False)
def system_health_checks(self) -> dict:
    """Run the database and cache checks from a worker, log the outcome, keep the last result.

    The celery check is left out: this task running on a worker already proves the broker and a
    worker of its queue are alive.
    """
    report = run_checks(["database", "cache"])
    delivery = self.request.delivery_info or {}
    report["queue"] = delivery.get("routing_key") or ("eager" if self.request.is_eager else None)
    report["hostname"] = self.request.hostname
    report["checked_at"] = timezone.now().isoformat()
    if report["status"] == "ok":
        logger.info("system health ok: %s", report["checks"])
    else:
        logger.error("system health failed: %s", report["checks"])
    try:
        cache.set(LAST_RESULT_KEY, report, timeout=24 * 3600)
    except Exception:
        logger.exception("could not store the health report in the cache")
    return report


@shared_task(
    bind=True, acks_late=True, autoretry_for=(ConnectionError,), retry_backoff=60, retry_jitter=True, max_retries=3
)
def cleanup_old_data(self, days: int | None = None) -> dict:
    return maintenance.cleanup_old_data(days=days)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(ConnectionError, RuntimeError),
    retry_backoff=300,
    retry_jitter=True,
    max_retries=3,
)
def backup_database(self) -> dict:
    return maintenance.backup_database()
