import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import json, django
    django.setup()
    from django.conf import settings
    print(json.dumps({
        "db": settings.DATABASES["default"]["ENGINE"],
        "cache": settings.CACHES["default"]["BACKEND"],
        "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
        "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        "broker": settings.CELERY_BROKER_URL,
        "embedded": settings.EMBEDDED_MODE,
        "debug": settings.DEBUG,
    }))
    """
)


def _probe(settings_module: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY")}
    env["DJANGO_SETTINGS_MODULE"] = settings_module
    env["DJANGO_READ_DOT_ENV_FILE"] = "False"
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_embedded_mode_without_service_urls():
    result = _probe("config.settings.local")
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf == {
        "db": "django.db.backends.sqlite3",
        "cache": "django.core.cache.backends.locmem.LocMemCache",
        "layer": "channels.layers.InMemoryChannelLayer",
        "eager": True,
        "broker": "memory://",
        "embedded": True,
        "debug": True,
    }


def test_full_mode_with_service_urls():
    result = _probe(
        "config.settings.local",
        DATABASE_URL="postgres://u:p@db.example:5432/pf",
        REDIS_URL="redis://cache.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    conf = json.loads(result.stdout)
    assert conf["db"] == "django.db.backends.postgresql"
    assert conf["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert conf["layer"] == "channels_redis.core.RedisChannelLayer"
    assert conf["eager"] is False
    assert conf["broker"] == "redis://cache.example:6379/0"
    assert conf["embedded"] is False


def test_production_refuses_to_start_without_secret_key():
    result = _probe("config.settings.production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_loads_with_secret_key():
    result = _probe(
        "config.settings.production",
        DJANGO_SECRET_KEY="x" * 64,
        DATABASE_URL="postgres://u:p@db.example:5432/pf",
        REDIS_URL="redis://cache.example:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["debug"] is False


def test_production_passes_check_deploy_without_warnings():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "k9$Vq2!pLr7#Tz4@Wm8^Xn1&Yb6*Hc3(Jd5)Fg0_Ks2+Ae7=Ru9%Ow4",
            "DJANGO_READ_DOT_ENV_FILE": "False",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_openapi_schema_validates(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/auth/token/" in text


@pytest.mark.django_db
def test_swagger_ui_is_served_from_our_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    assert b"cdn" not in response.content.lower()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
