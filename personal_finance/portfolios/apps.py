from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "personal_finance.portfolios"
    verbose_name = "Portfolios and transactions"

    def ready(self):
        from . import broker_formats  # noqa: F401 - registers the broker CSV presets
