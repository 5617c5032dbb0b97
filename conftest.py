"""Fixtures shared by every app's tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from personal_finance.users.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def other_client(other_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(other_user)
    return client


def _redis_url() -> str:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        pytest.skip("needs REDIS_URL (full mode); `make test` runs it in CI against Redis")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return _redis_url()


@pytest.fixture(scope="session")
def celery_worker_process(redis_url, tmp_path_factory, django_db_setup, django_db_blocker):
    """A real Celery worker consuming the three queues, started for the test session.

    It uses the test database (PostgreSQL in full mode) so tasks see what the tests wrote.
    """
    from django.db import connection

    from config.celery_app import app

    log = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.local", "PYTHONUNBUFFERED": "1"}
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = (
            f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    name = f"pytest-{os.getpid()}@%h"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config.celery_app",
                "worker",
                "-Q",
                "high,default,low",
                "-n",
                name,
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"celery worker exited: {log.read_text()[-3000:]}")
            replies = app.control.inspect(timeout=1).active_queues() or {}
            if any(w.startswith(f"pytest-{os.getpid()}@") for w in replies):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"celery worker did not come up: {log.read_text()[-3000:]}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def celery_not_eager(celery_worker_process):
    """Send tasks to the broker (the real worker) instead of running them in-process."""
    from config.celery_app import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache (ids repeat across rolled-back tests). On Redis only
    our prefixed keys go: the same server is the Celery broker and the channel layer."""
    from django.conf import settings
    from django.core.cache import cache

    try:
        if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
            client = cache._cache.get_client(write=True)
            prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
            keys = list(client.scan_iter(f"{prefix}:*", count=1000))
            if keys:
                client.delete(*keys)
        else:
            cache.clear()
    except Exception:  # noqa: BLE001 - tests pointing the cache at a dead Redis on purpose
        return
