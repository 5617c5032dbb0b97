"""``publish_price SYMBOL PRICE``: store a price as the symbol's bar of the day, then publish it to
the WebSocket subscribers (docs/contracts.md#command-line), through the same write path as the
live quotes of the ingestion task (``assets.services.quote_record``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from personal_finance.assets.models import Asset
from personal_finance.assets.services import asset_get_or_create, quote_record
from personal_finance.contrib.commands import ContractCommand
from personal_finance.realtime.groups import InvalidSymbol, normalize_symbol
from personal_finance.realtime.messages import PriceUpdate, price_message
from personal_finance.realtime.services import previous_closes


class Command(ContractCommand):
    help = "Store PRICE as SYMBOL's bar of the day and publish it to the WebSocket subscribers."

    def add_arguments(self, parser):
        parser.add_argument("symbol", help="an existing asset's symbol, e.g. AAPL")
        parser.add_argument("price", help="a positive decimal, e.g. 187.23")
        parser.add_argument("--ts", help="ISO timestamp of the price (default: now, UTC)")
        parser.add_argument("--create", action="store_true", help="create the asset when it does not exist")
        parser.add_argument("--currency", default="USD", help="currency of a created asset (default USD)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        try:
            symbol = normalize_symbol(options["symbol"])
        except InvalidSymbol as exc:
            self.fail(f"argument SYMBOL: {exc}")
        try:
            price = Decimal(options["price"].strip())
        except InvalidOperation:
            self.fail(f"argument PRICE: {options['price']!r} is not a decimal number")
        if not price.is_finite() or price <= 0:
            self.fail(f"argument PRICE: {options['price']!r} must be a positive number")
        exponent = price.as_tuple().exponent  # an int: the price is finite
        if (isinstance(exponent, int) and exponent < -8) or price.adjusted() >= 16:
            self.fail(f"argument PRICE: {options['price']!r} has more than 8 decimal places or 16 digits")
        ts = timezone.now()
        if options["ts"]:
            try:
                ts = dt.datetime.fromisoformat(options["ts"].replace("Z", "+00:00"))
            except ValueError:
                self.fail(f"argument --ts: {options['ts']!r} is not an ISO timestamp")
            if timezone.is_naive(ts):
                ts = timezone.make_aware(ts, dt.UTC)
        day = ts.astimezone(dt.UTC).date()
        asset = Asset.objects.filter(symbol=symbol).first()
        if asset is None and not options["create"]:
            self.fail(f"argument SYMBOL: unknown symbol {symbol} (fetch or import its prices first, or pass --create)")
        with transaction.atomic():
            if asset is None:
                asset = asset_get_or_create(symbol=symbol, currency=options["currency"].upper())[0]
            update = PriceUpdate(symbol=symbol, price=price, ts=ts)
            previous_close = previous_closes([update]).get((symbol, day))
            # Published even when the day's bar already holds this price: the user asked for it.
            quote = quote_record(
                asset=asset,
                price=price,
                ts=ts,
                source="publish_price",
                previous_close=previous_close,
                announce_unchanged=True,
            )
        message = price_message(PriceUpdate(symbol=symbol, price=price, ts=ts, previous_close=previous_close))
        document = {
            "stored": {"symbol": symbol, "date": day.isoformat(), "created": quote.created},
            "published": message,
        }
        change = "" if message["change_pct"] is None else f" ({message['change_pct']}%)"
        self.emit(options, f"{symbol} {message['price']}{change}: stored as the {day} bar and published", document)
