from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "personal_finance.analytics"
    verbose_name = "Analytics"

    def ready(self):
        from . import cache  # noqa: F401 - connects the invalidation receivers
