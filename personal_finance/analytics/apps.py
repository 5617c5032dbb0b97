from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "personal_finance.analytics"
    verbose_name = "Analytics"

    def ready(self):
        from personal_finance.contrib.maintenance import register_expiring

        register_expiring("performance_reports", lambda: self.get_model("PerformanceReport"))
