"""`seed_demo`: the demo user (demo / demo), a portfolio with a few years of transactions and
prices for its assets. Idempotent: a second run adds nothing (docs/contracts.md §9).

Prices come from the provider chain: real ones when a provider answers, else the bundled sample
set (labelled ``sample``), so the demo works offline.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from personal_finance.assets.models import PriceBar
from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.sample import START
from personal_finance.data_sources.services import fetch_fx, fetch_prices
from personal_finance.portfolios import demo
from personal_finance.portfolios.importers import transactions_import
from personal_finance.portfolios.models import Portfolio
from personal_finance.users.models import User


class Command(ContractCommand):
    help = "Create the demo user (demo / demo), a demo portfolio and prices for its assets. Safe to run again."

    def handle(self, *args, **options):
        today = timezone.now().date()
        with transaction.atomic():
            user, created = User.objects.get_or_create(username="demo", defaults={"name": "Demo Investor"})
            if created or not user.check_password("demo"):
                user.set_password("demo")
                user.save(update_fields=["password"])

        symbols = [*demo.DEMO_SYMBOLS, "^GSPC"]
        have = {
            s: PriceBar.objects.filter(asset__symbol=s).order_by("-date").values_list("date", flat=True).first()
            for s in symbols
        }
        starts = [d for d in have.values() if d is not None]
        start = min(starts) if starts and len(starts) == len(symbols) else START
        prices = fetch_prices(symbols=symbols, start=start, end=today)
        fx = fetch_fx(base="EUR", quote="USD", start=START, end=today)

        closes = {}
        for symbol in demo.DEMO_SYMBOLS:
            rows = PriceBar.objects.filter(asset__symbol=symbol).values_list("date", "close")
            closes[symbol] = {d: Decimal(c) for d, c in rows}
        missing = [s for s in demo.DEMO_SYMBOLS if not closes[s]]
        if missing:
            self.fail(f"no prices for {', '.join(missing)}: {prices['symbols']}")
        with transaction.atomic():
            portfolio, _ = Portfolio.objects.get_or_create(
                owner=user,
                name="Demo portfolio",
                defaults={"base_currency": "USD", "description": "Demo data."},
            )
            csv_text = demo.demo_transactions_csv(today, closes)
            result = transactions_import(portfolio=portfolio, raw=csv_text.encode(), max_bytes=50 * 1024 * 1024)
        sources = sorted({r.get("source", "?") for r in prices["symbols"].values() if "error" not in r})
        summary = {
            "user": user.username,
            "user_created": created,
            "portfolio": portfolio.pk,
            "price_sources": sources,
            "sample_prices": any(r.get("sample") for r in prices["symbols"].values()),
            "price_bars_written": sum(r.get("rows_written", 0) for r in prices["symbols"].values()),
            "fx": fx,
            "transactions_created": result["created"],
            "transactions_skipped": result["skipped_duplicates"],
        }
        label = " (SAMPLE prices: no provider reachable)" if summary["sample_prices"] else ""
        self.emit(
            options,
            f"demo ready: user demo / demo, portfolio {portfolio.pk}, {result['created']} new transactions, "
            f"prices from {', '.join(sources)}{label}",
            summary,
        )
