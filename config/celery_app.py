"""The Celery application. Settings come from Django settings with the CELERY_ prefix."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("personal_finance")
# The default in every thread: apps below `config` reach it as `celery.current_app` (health checks
# run in worker threads, where the thread-local current app would otherwise be a bare default).
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
