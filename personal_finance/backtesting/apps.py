from django.apps import AppConfig


class BacktestingConfig(AppConfig):
    name = "personal_finance.backtesting"
    verbose_name = "Backtests"
