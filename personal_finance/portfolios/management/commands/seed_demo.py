"""`seed_demo`: the demo user (demo / demo), a portfolio with a few years of transactions and
prices for its assets. Idempotent: a second run changes nothing (DESIGN section 9)."""

from django.db import transaction
from django.utils import timezone

from personal_finance.assets.models import Asset
from personal_finance.assets.services import asset_get_or_create, fx_rate_upsert, price_bars_upsert
from personal_finance.contrib.commands import ContractCommand
from personal_finance.portfolios import demo
from personal_finance.portfolios.importers import transactions_import
from personal_finance.portfolios.models import Portfolio
from personal_finance.users.models import User


class Command(ContractCommand):
    help = "Create the demo user (demo / demo), a demo portfolio and sample prices. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        today = timezone.now().date()
        user, created = User.objects.get_or_create(username="demo", defaults={"name": "Demo Investor"})
        if created or not user.check_password("demo"):
            user.set_password("demo")
            user.save(update_fields=["password"])

        closes = {}
        bars_written = 0
        for symbol, (name, cls, ccy, sector, country, *_rest) in demo.DEMO_ASSETS.items():
            asset, _ = asset_get_or_create(
                symbol=symbol, currency=ccy, name=name, asset_class=cls, sector=sector, country=country
            )
            bars = demo.sample_bars(symbol, today)
            stored = set(asset.prices.values_list("date", flat=True))
            missing = [b for b in bars if b["date"] not in stored]
            if missing:
                bars_written += price_bars_upsert(asset=asset, bars=missing)
            closes[symbol] = {b["date"]: b["close"] for b in bars}
        fx = dict(demo.sample_fx(today))
        from personal_finance.assets.models import FxRate

        stored_fx = set(FxRate.objects.filter(base="EUR", quote="USD").values_list("date", flat=True))
        for day, rate in fx.items():
            if day not in stored_fx:
                fx_rate_upsert(base="EUR", quote="USD", date=day, rate=rate, source=demo.SAMPLE_SOURCE)

        portfolio, _ = Portfolio.objects.get_or_create(
            owner=user,
            name="Demo portfolio",
            defaults={"base_currency": "USD", "description": "Sample data: prices are generated, not real quotes."},
        )
        csv_text = demo.demo_transactions_csv(today, closes, fx)
        result = transactions_import(portfolio=portfolio, raw=csv_text.encode(), max_bytes=50 * 1024 * 1024)
        summary = {
            "user": user.username,
            "user_created": created,
            "portfolio": portfolio.pk,
            "assets": Asset.objects.filter(symbol__in=list(demo.DEMO_ASSETS)).count(),
            "price_bars_written": bars_written,
            "transactions_created": result["created"],
            "transactions_skipped": result["skipped_duplicates"],
            "price_source": demo.SAMPLE_SOURCE,
        }
        self.emit(
            options,
            f"demo ready: user demo / demo, portfolio {portfolio.pk} "
            f"({result['created']} new transactions, {bars_written} new sample price bars)",
            summary,
        )
