from django.apps import AppConfig


class DataSourcesConfig(AppConfig):
    name = "personal_finance.data_sources"
    verbose_name = "Market data sources"
