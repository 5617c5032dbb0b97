from django.apps import AppConfig


class AssetsConfig(AppConfig):
    name = "personal_finance.assets"
    verbose_name = "Assets and prices"

    def ready(self):
        from . import signals  # noqa: F401
