from django.apps import AppConfig


class BacktestingConfig(AppConfig):
    name = "personal_finance.backtesting"
    verbose_name = "Backtests"

    def ready(self):
        # Register the Celery tasks in every process, not only in workers: the services enqueue them
        # by name. tasks.py imports the services and the models, so not before the registry is ready.
        from . import tasks  # noqa: F401
