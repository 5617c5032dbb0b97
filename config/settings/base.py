"""Settings shared by every mode.

The runtime mode is chosen only by the environment (docs/contracts.md §2):
- embedded (default): no ``DATABASE_URL`` / ``REDIS_URL``; SQLite file, local-memory cache,
  in-memory channel layer, Celery tasks run eagerly in-process.
- full: ``DATABASE_URL`` points at PostgreSQL and ``REDIS_URL`` at Redis; Redis is cache,
  channel layer and Celery broker, workers consume the ``high``/``default``/``low`` queues.
"""

from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APPS_DIR = BASE_DIR / "personal_finance"

env = environ.Env()
# OS variables win over the optional .env file.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=True) and (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"), overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="embedded-mode-insecure-key-change-me-in-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True

# ---------------------------------------------------------------------------------------------
# Runtime mode
# ---------------------------------------------------------------------------------------------
DATABASE_URL = env("DATABASE_URL", default="")
REDIS_URL = env("REDIS_URL", default="")
EMBEDDED_MODE = not (DATABASE_URL and REDIS_URL)

if DATABASE_URL:
    DATABASES = {"default": env.db("DATABASE_URL")}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})
        # Fail fast (health endpoints answer within 2 s when PostgreSQL is down).
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 2)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3")),
            # IMMEDIATE: a transaction takes the write lock when it begins, so concurrent writers wait
            # up to the timeout instead of failing at once with "database is locked" (a deferred
            # transaction that read first cannot upgrade its lock while another writer holds it).
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if env("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["personal_finance.contrib.db_router.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "pfp",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000),
                "expiry": 10,
                "group_expiry": 86400,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env.int("CHANNEL_LAYER_CAPACITY", default=1000)},
        }
    }

# ---------------------------------------------------------------------------------------------
# Applications
# ---------------------------------------------------------------------------------------------
DJANGO_APPS = [
    "daphne",  # runserver serves HTTP and WebSocket through Channels
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django.forms",
]
THIRD_PARTY_APPS = [
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
]
LOCAL_APPS = [
    "personal_finance.contrib",
    "personal_finance.users",
    "personal_finance.assets",
    "personal_finance.portfolios",
    "personal_finance.data_sources",
    "personal_finance.data_profiler",
    "personal_finance.analytics",
    "personal_finance.backtesting",
    "personal_finance.tax",
    "personal_finance.realtime",
    "personal_finance.visualization",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [str(APPS_DIR / "templates")],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

STATIC_URL = "/static/"
STATIC_ROOT = str(BASE_DIR / "staticfiles")
STATICFILES_DIRS = [str(APPS_DIR / "static")]
MEDIA_URL = "/media/"
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"

# Uploads (CSV imports) are capped; larger requests get a clear 400/413, never a hang.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=20 * 1024 * 1024)

# ---------------------------------------------------------------------------------------------
# REST framework and OpenAPI
# ---------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": (
        # Token first: an unauthenticated request then gets 401 with `WWW-Authenticate: Token`.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ),
    "DEFAULT_PERMISSION_CLASSES": ("rest_framework.permissions.IsAuthenticated",),
    "DEFAULT_PAGINATION_CLASS": "personal_finance.contrib.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ("django_filters.rest_framework.DjangoFilterBackend",),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "personal_finance.contrib.api.exception_handler.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": (
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Personal Finance Platform API",
    "DESCRIPTION": "Portfolios, transactions, market data, analytics, backtests and taxes.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
}

# ---------------------------------------------------------------------------------------------
# Celery (docs/contracts.md §3)
# ---------------------------------------------------------------------------------------------
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_RESULT_EXPIRES = 24 * 3600
CELERY_RESULT_EXTENDED = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Longer than the longest task's hard time limit, so a late-acked task is not redelivered early.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 3600}
CELERY_TASK_QUEUES = (Queue("high"), Queue("default"), Queue("low"))
CELERY_TASK_DEFAULT_QUEUE = "default"
# Route by task name (glob on the last segment of the dotted name); docs/contracts.md §3.
CELERY_TASK_ROUTES = {
    "*.update_asset_prices": {"queue": "high"},
    "*.run_backtest_task": {"queue": "high"},
    "*.user_report_task": {"queue": "high"},
    "*.fetch_market_data": {"queue": "default"},
    "*.import_transactions": {"queue": "default"},
    "*.calculate_portfolio_metrics": {"queue": "default"},
    "*.generate_performance_reports": {"queue": "default"},
    "*.update_risk_metrics": {"queue": "default"},
    "*.calculate_capital_gains": {"queue": "default"},
    "*.identify_tax_lots": {"queue": "default"},
    "*.generate_tax_reports": {"queue": "default"},
    "*.sweep_*": {"queue": "default"},
    "*.cleanup_old_data": {"queue": "low"},
    "*.backup_database": {"queue": "low"},
    "*.system_health_checks": {"queue": "low"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "system-health-checks": {
        "task": "personal_finance.contrib.tasks.system_health_checks",
        "schedule": crontab(minute="*/5"),
    },
    "cleanup-old-data": {
        "task": "personal_finance.contrib.tasks.cleanup_old_data",
        "schedule": crontab(hour=3, minute=0),
    },
    "backup-database": {
        "task": "personal_finance.contrib.tasks.backup_database",
        "schedule": crontab(hour=2, minute=30),
    },
    # Stored tax lots and realised gains of every portfolio, after the daily prices.
    "identify-tax-lots": {
        "task": "personal_finance.tax.tasks.identify_tax_lots",
        "schedule": crontab(hour=23, minute=45, day_of_week="mon-fri"),
    },
    "calculate-capital-gains": {
        "task": "personal_finance.tax.tasks.calculate_capital_gains",
        "schedule": crontab(hour=23, minute=50, day_of_week="mon-fri"),
    },
    # Daily history after the US close, on weekdays.
    "fetch-market-data": {
        "task": "personal_finance.data_sources.tasks.fetch_market_data",
        "schedule": crontab(hour=22, minute=30, day_of_week="mon-fri"),
    },
    # Analytics after the daily prices: metrics (and a warm cache), then the daily snapshots.
    "calculate-portfolio-metrics": {
        "task": "personal_finance.analytics.tasks.calculate_portfolio_metrics",
        "schedule": crontab(hour=23, minute=15, day_of_week="mon-fri"),
    },
    "update-risk-metrics": {
        "task": "personal_finance.analytics.tasks.update_risk_metrics",
        "schedule": crontab(hour=23, minute=30, day_of_week="mon-fri"),
    },
    # Latest quotes of every held symbol.
    "update-asset-prices": {
        "task": "personal_finance.data_sources.tasks.update_asset_prices",
        "schedule": crontab(minute="*/5", hour="13-21", day_of_week="mon-fri"),
    },
}

# ---------------------------------------------------------------------------------------------
# Logging (docs/contracts.md §5)
# ---------------------------------------------------------------------------------------------
LOG_LEVEL = env("DJANGO_LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "verbose": {"format": "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "verbose"},
    },
    "root": {"level": "WARNING", "handlers": ["console"]},
    "loggers": {
        "personal_finance": {"level": LOG_LEVEL, "handlers": ["console"], "propagate": False},
        "personal_finance.auth": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "django.security": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "django.db.backends": {
            "level": env("DB_LOG_LEVEL", default="WARNING"),
            "handlers": ["console"],
            "propagate": False,
        },
        "celery.worker": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "channels.consumer": {"level": "INFO", "handlers": ["console"], "propagate": False},
    },
}

# ---------------------------------------------------------------------------------------------
# Health (docs/contracts.md §4)
# ---------------------------------------------------------------------------------------------
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=1.8)

# Maintenance (queue low)
REPORT_RETENTION_DAYS = env.int("REPORT_RETENTION_DAYS", default=90)
BACKUP_DIR = env("BACKUP_DIR", default=str(BASE_DIR / "backups"))
BACKUP_KEEP = env.int("BACKUP_KEEP", default=7)
ADMIN_URL = env("DJANGO_ADMIN_URL", default="admin/")

# ---------------------------------------------------------------------------------------------
# Market data (docs/contracts.md §2 and §10)
# ---------------------------------------------------------------------------------------------
MARKET_DATA = {
    # Tried in order; the sample set (generated, labelled "sample") is the offline fallback.
    "PROVIDERS": env.list("MARKET_DATA_PROVIDERS", default=["yahoo", "csv", "sample"]),
    "CSV_DIR": env("PRICE_CSV_DIR", default=str(BASE_DIR / "data" / "prices")),
    "YAHOO_CASSETTE": env("YAHOO_CASSETTE", default=""),  # replay recorded responses instead
    "RETRIES": env.int("MARKET_DATA_RETRIES", default=2),
    "BACKOFF_BASE": env.float("MARKET_DATA_BACKOFF_BASE", default=0.5),
    "BREAKER_THRESHOLD": env.int("MARKET_DATA_BREAKER_THRESHOLD", default=3),
    "BREAKER_COOLDOWN": env.int("MARKET_DATA_BREAKER_COOLDOWN", default=300),
    "RATE_PER_SECOND": env.float("MARKET_DATA_RATE_PER_SECOND", default=2.0),
    "HISTORY_START": env("MARKET_DATA_HISTORY_START", default="2021-01-01"),
}

# ---------------------------------------------------------------------------------------------
# Realtime: WebSocket streams and the price feed (docs/contracts.md §8, docs/realtime.md)
# ---------------------------------------------------------------------------------------------
REALTIME = {
    # Per connection: symbols subscribed, client messages per second (burst as many), message size.
    "MAX_SYMBOLS": env.int("REALTIME_MAX_SYMBOLS", default=50),
    "MAX_MESSAGES_PER_SECOND": env.float("REALTIME_MAX_MESSAGES_PER_SECOND", default=10.0),
    "MAX_MESSAGE_BYTES": env.int("REALTIME_MAX_MESSAGE_BYTES", default=4096),
    # Unsent messages per connection; prices of one symbol conflate, so this bounds control replies.
    "OUTBOX_SIZE": env.int("REALTIME_OUTBOX_SIZE", default=200),
    # Feed: auto (live with a reachable live provider, else simulated) | live | simulate.
    "FEED": env("REALTIME_FEED", default="auto"),
    "FEED_INTERVAL": env.float("REALTIME_FEED_INTERVAL", default=5.0),
    "SIMULATED_STEP_PCT": env.float("REALTIME_SIMULATED_STEP_PCT", default=0.1),
    "PROBE_INTERVAL": env.float("REALTIME_PROBE_INTERVAL", default=300.0),
    # Embedded mode: runserver runs the feed in-process (DEBUG and the in-memory layer only).
    "EMBEDDED_FEED": env.bool("REALTIME_EMBEDDED_FEED", default=True),
    # Full mode: each server process's status snapshot in Redis, refreshed every HEARTBEAT seconds.
    "HEARTBEAT": env.float("REALTIME_HEARTBEAT", default=2.0),
    "REDIS_PREFIX": env("REALTIME_REDIS_PREFIX", default="pfp:realtime:"),
}
# channels-redis reports members over capacity (messages dropped for slow consumers) at INFO.
LOGGING["loggers"]["channels_redis"] = {"level": "INFO", "handlers": ["console"], "propagate": False}
if REDIS_URL:
    # redis-py 8 defaults differ from what channels-redis 4.3 expects:
    # - socket_timeout 5 s, the same as channels-redis' blocking BZPOPMIN (brpop_timeout 5 s): an
    #   idle server process gets "Timeout reading from Redis" and its consumers die;
    # - a pool of at most 100 connections that raises MaxConnectionsError instead of waiting: a
    #   burst of connects or disconnects (group_add/group_discard) kills consumers.
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
        {
            "address": REDIS_URL,
            "socket_timeout": env.float("CHANNEL_LAYER_SOCKET_TIMEOUT", default=30.0),
            "max_connections": env.int("CHANNEL_LAYER_MAX_CONNECTIONS", default=10000),
        }
    ]
    # Pub/sub fan-out with bounded per-channel buffers (personal_finance/realtime/layers.py).
    BOUNDED_PUBSUB_LAYER = {
        "BACKEND": "personal_finance.realtime.layers.BoundedPubSubChannelLayer",
        "CONFIG": {
            "hosts": CHANNEL_LAYERS["default"]["CONFIG"]["hosts"],
            "capacity": CHANNEL_LAYERS["default"]["CONFIG"]["capacity"],
        },
    }
    # The default layer (portfolio streams, any other use): RedisChannelLayer ("core"), or the
    # bounded pub/sub layer with CHANNEL_LAYER_BACKEND=pubsub.
    if env("CHANNEL_LAYER_BACKEND", default="core") == "pubsub":
        CHANNEL_LAYERS["default"] = BOUNDED_PUBSUB_LAYER
    # Price fan-out ("prices" alias, personal_finance/realtime/hub.py): the bounded pub/sub layer
    # unless REALTIME_PRICE_LAYER=default. A price is published once and each server process's hub
    # receives it once; RedisChannelLayer pops a process's messages one Redis round trip at a time
    # and cannot feed a hub at 1,000 prices/s (docs/benchmarks.md, Realtime).
    elif env("REALTIME_PRICE_LAYER", default="pubsub") == "pubsub":
        CHANNEL_LAYERS["prices"] = BOUNDED_PUBSUB_LAYER
