from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "personal_finance.realtime"
    verbose_name = "Live prices"

    def ready(self):
        from personal_finance.contrib.signals import price_quoted

        from .services import on_price_quoted

        price_quoted.connect(on_price_quoted, dispatch_uid="realtime.publish_quoted_price")
