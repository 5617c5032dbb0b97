from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "personal_finance.portfolios"
    verbose_name = "Portfolios and transactions"

    def ready(self):
        from personal_finance.data_sources.services import register_symbol_source

        from . import (
            broker_formats,  # noqa: F401 - registers the broker CSV presets
            cache,  # noqa: F401 - connects the document-cache invalidation receivers
        )
        from .selectors import ledger_symbols

        # The prices worth fetching and streaming are those of the assets in any ledger.
        register_symbol_source(ledger_symbols)
