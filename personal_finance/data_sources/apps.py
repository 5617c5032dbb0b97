from django.apps import AppConfig


class DataSourcesConfig(AppConfig):
    name = "personal_finance.data_sources"
    verbose_name = "Market data sources"

    def ready(self):
        from personal_finance.contrib.health import register_check

        from .health import check_providers

        register_check("providers", check_providers)
