"""``import_prices FILE.csv --symbol SYMBOL``: daily bars from a price CSV, through the same
validated ingestion as every provider (the data profiler refuses rows with errors)."""

import datetime as dt
from decimal import Decimal

from personal_finance.assets.services import Quote, asset_get_or_create, normalize_symbol, quote_announce
from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.base import History, normalise_bars
from personal_finance.data_sources.ingest import IngestRefused, ingest_history
from personal_finance.data_sources.price_csv import PriceCSVError, read_price_csv


def _dec(value: float) -> Decimal:
    # repr of a float is the shortest text that round-trips: "187.23", not 187.229999...
    return Decimal(repr(float(value)))


class Command(ContractCommand):
    help = "Import daily price bars for one symbol from a price CSV (Date,Open,High,Low,Close[,Volume])."

    def add_arguments(self, parser):
        parser.add_argument("file", help="price CSV file")
        parser.add_argument("--symbol", required=True, help="symbol the prices belong to (created if new)")
        parser.add_argument("--currency", default="USD", help="currency of a new asset (default USD)")
        parser.add_argument("--partial", action="store_true", help="store the good rows when some rows have errors")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        path = options["file"]
        symbol = normalize_symbol(options["symbol"])
        try:
            frame = read_price_csv(path)
        except PriceCSVError as exc:
            self.fail(str(exc))
        for column in ("Open", "High", "Low", "Close"):
            bad = frame[column] <= 0
            if bad.any():
                row = int(bad.to_numpy().argmax()) + 1
                self.fail(f"{path}: row {row}, column {column!r}: price must be greater than zero")
        if frame.index.has_duplicates:
            dup = frame.index.duplicated().argmax() + 1
            self.fail(f"{path}: row {dup}, column 'Date': duplicate date {frame.index[dup - 1].date()}")
        asset, created = asset_get_or_create(symbol=symbol, currency=options["currency"].upper())
        # The same gate as every price source: the data profiler refuses rows with errors.
        try:
            result = ingest_history(
                asset=asset, history=History(symbol, normalise_bars(frame), "csv"), partial=options["partial"]
            )
        except IngestRefused as exc:
            if created:
                asset.delete()
            self.fail(f"{path}: {exc.message}")
        written = result.rows_written
        last_day = frame.index.max().date()
        if last_day >= dt.date.today() - dt.timedelta(days=7):  # noqa: DTZ011 - a calendar date
            # A recent last bar is the symbol's newest price for the WebSocket subscribers.
            ts = dt.datetime.combine(last_day, dt.time(0, 0), tzinfo=dt.UTC)
            price = _dec(frame["Close"].iloc[frame.index.argmax()])
            quote_announce(Quote(asset=asset, price=price, ts=ts, day=last_day))
        document = {
            "symbol": symbol,
            "asset_created": created,
            "rows": written,
            "refused": result.refused,
            "start": frame.index.min().date().isoformat(),
            "end": frame.index.max().date().isoformat(),
        }
        self.emit(options, f"{symbol}: {written} bars stored ({document['start']} to {document['end']})", document)
