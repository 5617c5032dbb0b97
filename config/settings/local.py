"""Developer settings: `make run` uses these (embedded mode unless DATABASE_URL/REDIS_URL)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "0.0.0.0"])  # noqa: S104
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
