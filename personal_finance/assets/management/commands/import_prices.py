import datetime as dt
import math
from decimal import Decimal

from personal_finance.assets.services import asset_get_or_create, normalize_symbol, price_bars_upsert
from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.price_csv import PriceCSVError, read_price_csv
from personal_finance.realtime.services import publish_price


def _dec(value: float) -> Decimal | None:
    # repr of a float is the shortest text that round-trips: "187.23", not 187.229999...
    return None if value is None or math.isnan(value) else Decimal(repr(float(value)))


class Command(ContractCommand):
    help = "Import daily price bars for one symbol from a price CSV (Date,Open,High,Low,Close[,Volume])."

    def add_arguments(self, parser):
        parser.add_argument("file", help="price CSV file")
        parser.add_argument("--symbol", required=True, help="symbol the prices belong to (created if new)")
        parser.add_argument("--currency", default="USD", help="currency of a new asset (default USD)")
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
        frame = frame.rename(columns={"Adj Close": "AdjClose"})
        has_volume = "Volume" in frame.columns
        has_adj = "AdjClose" in frame.columns
        bars = [
            {
                "date": ts.date(),
                "open": _dec(row.Open),
                "high": _dec(row.High),
                "low": _dec(row.Low),
                "close": _dec(row.Close),
                "adj_close": _dec(row.AdjClose) if has_adj else None,
                "volume": int(row.Volume) if has_volume and not math.isnan(row.Volume) else None,
            }
            for ts, row in zip(frame.index, frame.itertuples(index=False), strict=True)
        ]
        written = price_bars_upsert(asset=asset, bars=bars, source="csv")
        if bars:
            # The latest imported bar is the symbol's newest price for the WebSocket subscribers.
            last = max(bars, key=lambda b: b["date"])
            publish_price(
                symbol=symbol,
                price=last["close"],
                ts=dt.datetime.combine(last["date"], dt.time(0, 0), tzinfo=dt.UTC),
            )
        document = {
            "symbol": symbol,
            "asset_created": created,
            "rows": written,
            "start": frame.index.min().date().isoformat(),
            "end": frame.index.max().date().isoformat(),
        }
        self.emit(options, f"{symbol}: {written} bars stored ({document['start']} to {document['end']})", document)
