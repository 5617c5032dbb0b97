"""Queueing a Celery task from a service.

Services write and enqueue; tasks are thin wrappers that call services. So that the two modules of
an app do not import each other, a service names the task (its registered name, the module path by
default) instead of importing it. The signature resolves the registered task, so eager mode
(embedded, tests) still runs it in-process and routes (``CELERY_TASK_ROUTES``) still apply.
"""

from __future__ import annotations

from celery import signature
from celery.result import AsyncResult
from django.db import transaction


def enqueue(task: str, *args, **kwargs) -> AsyncResult:
    """Queue ``task`` (a registered name) now."""
    return signature(task, args=args, kwargs=kwargs).delay()


def enqueue_on_commit(task: str, *args, **kwargs) -> None:
    """Queue ``task`` once the current transaction commits (at once outside one), so the worker
    reads what the caller wrote."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
