import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[3]
CLOSED = "127.0.0.1:9"  # discard port: nothing listens there on our machines


@pytest.mark.django_db
def test_health_all_ok(client):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "celery", "providers"}
    for check in body["checks"].values():
        assert check["status"] in ("ok", "eager")
        assert isinstance(check["ms"], float)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["database", "cache", "celery", "providers"])
def test_single_health_endpoints(client, name):
    response = client.get(f"/health/{name}/")
    assert response.status_code == 200
    assert list(response.json()["checks"]) == [name]


@pytest.mark.django_db
def test_celery_check_reports_eager_in_embedded_mode(client):
    body = client.get("/health/celery/").json()
    assert body == {"status": "ok", "checks": {"celery": {"status": "eager", "ms": body["checks"]["celery"]["ms"]}}}


@pytest.mark.django_db
def test_cache_down_answers_503_quickly(client):
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{CLOSED}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=caches):
        started = time.monotonic()
        response = client.get("/health/cache/")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["cache"]["status"] == "error"
    assert "Connection" in body["checks"]["cache"]["error"]
    assert elapsed < 2


def test_health_check_deadline_bounds_a_hanging_dependency(settings, monkeypatch):
    from personal_finance.contrib import health

    settings.HEALTH_CHECK_TIMEOUT = 0.3
    monkeypatch.setitem(health.CHECKS, "cache", lambda: time.sleep(3) or {"status": "ok"})
    started = time.monotonic()
    report = health.run_checks(["cache"])
    assert time.monotonic() - started < 1
    assert report["status"] == "error"
    assert "no answer within 0.3 s" in report["checks"]["cache"]["error"]


def _health_in_subprocess(env_overrides: dict) -> dict:
    """Start Django with the given environment and GET every health endpoint in that process."""
    script = textwrap.dedent(
        """
        import json, time, django
        django.setup()
        from django.test import Client
        client = Client()
        out = {}
        for path in ("/health/", "/health/database/", "/health/cache/", "/health/celery/"):
            started = time.monotonic()
            response = client.get(path)
            out[path] = {"code": response.status_code, "body": response.json(),
                         "seconds": time.monotonic() - started}
        print(json.dumps(out))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings.local", "DJANGO_ALLOWED_HOSTS": "testserver"})
    env.update(env_overrides)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_url_at_closed_port_gives_503_for_cache_and_celery(tmp_path):
    out = _health_in_subprocess(
        {"REDIS_URL": f"redis://{CLOSED}/0", "SQLITE_PATH": str(tmp_path / "h.sqlite3")},
    )
    assert out["/health/database/"]["code"] == 200
    for path in ("/health/", "/health/cache/", "/health/celery/"):
        assert out[path]["code"] == 503, out[path]
        assert out[path]["body"]["status"] == "error"
        assert out[path]["seconds"] < 2, out[path]
    assert out["/health/"]["body"]["checks"]["database"]["status"] == "ok"
    assert out["/health/"]["body"]["checks"]["cache"]["status"] == "error"
    assert out["/health/"]["body"]["checks"]["celery"]["status"] == "error"


def test_database_url_at_closed_port_gives_503(tmp_path):
    out = _health_in_subprocess({"DATABASE_URL": f"postgres://nobody@{CLOSED}/nothing"})
    assert out["/health/database/"]["code"] == 503
    assert out["/health/database/"]["seconds"] < 2
    assert out["/health/database/"]["body"]["checks"]["database"]["status"] == "error"
    assert out["/health/cache/"]["code"] == 200  # local memory cache: still fine


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_celery_health_ok_with_real_worker(client, celery_not_eager):
    response = client.get("/health/celery/")
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["celery"]["queues"] == {"high": 1, "default": 1, "low": 1} or all(
        n >= 1 for n in body["checks"]["celery"]["queues"].values()
    )
