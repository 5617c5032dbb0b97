from django.apps import AppConfig


class TaxConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "personal_finance.tax"
    verbose_name = "Tax"

    def ready(self):
        from personal_finance.contrib.maintenance import register_expiring
        from personal_finance.portfolios.services import register_sale_check

        from .services import sale_lots_check

        register_expiring("tax_reports", lambda: self.get_model("TaxReport"))
        # A sale that names its lots is replayed under the specific method before it is stored.
        register_sale_check(sale_lots_check)
