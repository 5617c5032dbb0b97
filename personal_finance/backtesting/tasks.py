"""Celery tasks (docs/contracts.md §3): thin wrappers around the services, ids in, idempotent, retried on
transient database errors only (with backoff and jitter). Routing is by name in
``CELERY_TASK_ROUTES``: ``*.run_backtest_task`` -> ``high``, ``*.sweep_*`` -> ``default``.

This module imports the services, never the reverse: the services enqueue by the names
registered here (``services.RUN_BACKTEST_TASK``...); ``apps.py`` imports this module at start-up
so the names resolve in every process."""

from __future__ import annotations

from celery import shared_task

from personal_finance.backtesting import services

RETRY = {
    "autoretry_for": services.TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
}


def _where(task) -> tuple[str, str]:
    """The queue this delivery came from and the worker's hostname (``eager`` in-process)."""
    if task.request.is_eager:
        return "eager", "eager"
    delivery = task.request.delivery_info or {}
    return delivery.get("routing_key") or "", task.request.hostname or ""


@shared_task(name=services.RUN_BACKTEST_TASK, bind=True, acks_late=True, **RETRY)
def run_backtest_task(self, run_id: int) -> dict:
    """Execute a stored backtest run (``high`` queue)."""
    queue, worker = _where(self)
    run = services.backtest_execute(run_id=run_id, queue=queue, worker=worker)
    return {"id": run_id, "status": run.status if run else None, "queue": queue, "worker": worker}


@shared_task(name=services.SWEEP_CHUNK_TASK, bind=True, acks_late=True, **RETRY)
def sweep_chunk_task(self, sweep_id: int, index: int) -> dict:
    """Evaluate one chunk of a sweep's grid (``default`` queue)."""
    queue, worker = _where(self)
    rows = services.sweep_chunk_execute(sweep_id=sweep_id, index=index, queue=queue, worker=worker)
    return {"sweep": sweep_id, "chunk": index, "rows": rows, "queue": queue, "worker": worker}


@shared_task(name=services.SWEEP_GATHER_TASK, bind=True, acks_late=True, **RETRY)
def sweep_gather_task(self, sweep_id: int) -> dict:
    """Rank a sweep's results once every chunk is stored (the chord callback, ``default`` queue)."""
    queue, _ = _where(self)
    sweep = services.sweep_gather_execute(sweep_id=sweep_id, queue=queue)
    return {"sweep": sweep_id, "status": sweep.status if sweep else None, "queue": queue}
