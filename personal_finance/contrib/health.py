"""Health checks (docs/contracts.md#health).

``/health/`` runs every registered check, ``/health/<name>/`` one of them. Each check runs in its
own thread under one deadline (``HEALTH_CHECK_TIMEOUT``, 1.8 s by default), so a dead PostgreSQL,
Redis or broker answers 503 quickly instead of hanging the request.

This module owns the infrastructure checks (database, cache, celery). An app that has something of
its own to report registers a check from its ``AppConfig.ready()`` with ``register_check`` (the
market-data providers: ``data_sources/health.py``), so contrib never imports the apps above it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger("personal_finance.health")

REQUIRED_QUEUES = ("high", "default", "low")


def check_database() -> dict:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"status": "ok", "vendor": connection.vendor}
    finally:
        # Health checks run in worker threads: never leave a connection behind.
        connection.close()


def check_cache() -> dict:
    key = f"health:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=10)
    value = cache.get(key)
    cache.delete(key)
    if value != "1":
        return {"status": "error", "error": "cache did not return the value just written"}
    return {"status": "ok", "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_celery() -> dict:
    app = current_app  # the project's app (config/celery_app.py), without importing the top layer
    if app.conf.task_always_eager:
        return {"status": "eager"}
    # inspect() waits its whole timeout for replies, plus ~0.6 s of broadcast overhead.
    timeout = max(0.2, settings.HEALTH_CHECK_TIMEOUT / 3.5)
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1, timeout=timeout)
        replies = app.control.inspect(timeout=timeout, connection=conn).active_queues() or {}
    consumed: dict[str, list[str]] = {}
    for worker, queues in replies.items():
        for queue in queues or []:
            consumed.setdefault(queue["name"], []).append(worker)
    missing = [q for q in REQUIRED_QUEUES if q not in consumed]
    result = {"workers": sorted(replies), "queues": {q: len(consumed.get(q, [])) for q in REQUIRED_QUEUES}}
    if missing:
        return {"status": "error", "error": f"no worker consuming queue(s): {', '.join(missing)}", **result}
    return {"status": "ok", **result}


CHECKS: dict[str, Callable[[], dict]] = {
    "database": check_database,
    "cache": check_cache,
    "celery": check_celery,
}


def register_check(name: str, check: Callable[[], dict]) -> None:
    """Add a check to ``/health/`` (and ``/health/<name>/`` once a URL names it). A check returns
    ``{"status": "ok"|"eager"|"error", ...}``; raising counts as an error with the exception text."""
    CHECKS[name] = check


def _timed(check: Callable[[], dict]) -> dict:
    started = time.perf_counter()
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is a health finding
        result = {"status": "error", "error": f"{exc.__class__.__name__}: {exc}"[:500]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def run_checks(names: list[str] | None = None) -> dict:
    """Run the named checks concurrently under one deadline; return the health document."""
    names = names or list(CHECKS)
    deadline = time.monotonic() + settings.HEALTH_CHECK_TIMEOUT
    pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="health")
    futures = {name: pool.submit(_timed, CHECKS[name]) for name in names}
    checks: dict[str, dict] = {}
    for name, future in futures.items():
        try:
            checks[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            checks[name] = {
                "status": "error",
                "error": f"no answer within {settings.HEALTH_CHECK_TIMEOUT:g} s",
                "ms": round(settings.HEALTH_CHECK_TIMEOUT * 1000, 1),
            }
    pool.shutdown(wait=False, cancel_futures=True)
    healthy = all(c["status"] in ("ok", "eager") for c in checks.values())
    return {"status": "ok" if healthy else "error", "checks": checks}


@never_cache
@require_GET
def health_view(request: HttpRequest, only: str | None = None) -> JsonResponse:
    report = run_checks([only] if only else None)
    if report["status"] != "ok":
        logger.warning("health check failed: %s", report)
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
