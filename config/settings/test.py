"""Test settings: the README's `make test`. Full mode when DATABASE_URL/REDIS_URL are set."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env("DJANGO_SECRET_KEY", default="test-only-secret-key-not-for-production-use-0123456789")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Logic tests run tasks eagerly; tests about queues start a real worker and switch this off.
CELERY_TASK_ALWAYS_EAGER = True
TEMPLATES[0]["OPTIONS"]["debug"] = True  # noqa: F405
MEDIA_ROOT = str(BASE_DIR / ".pytest_cache" / "media")  # noqa: F405
# Never touch the network: Yahoo appears in tests only through recorded cassettes.
MARKET_DATA = {**MARKET_DATA, "PROVIDERS": ["csv", "sample"], "RETRIES": 1, "BACKOFF_BASE": 0.0}  # noqa: F405
