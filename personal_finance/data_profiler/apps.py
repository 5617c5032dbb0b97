from django.apps import AppConfig


class DataProfilerConfig(AppConfig):
    name = "personal_finance.data_profiler"
    verbose_name = "Data quality"
