import datetime as dt

from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.services import fetch_prices


class Command(ContractCommand):
    help = "Fetch daily prices for symbols from the configured provider chain and store them."

    def add_arguments(self, parser):
        parser.add_argument("symbols", nargs="+", metavar="SYMBOL")
        parser.add_argument("--start", help="first date, YYYY-MM-DD (default MARKET_DATA_HISTORY_START)")
        parser.add_argument("--end", help="last date, YYYY-MM-DD (default today)")
        parser.add_argument("--partial", action="store_true", help="store the good rows when some rows have errors")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        dates: dict[str, dt.date | None] = {"start": None, "end": None}
        for key in ("start", "end"):
            if options[key]:
                try:
                    dates[key] = dt.date.fromisoformat(options[key])
                except ValueError:
                    self.fail(f"--{key}: not a date (YYYY-MM-DD): {options[key]!r}")
        report = fetch_prices(
            symbols=options["symbols"], start=dates["start"], end=dates["end"], partial=options["partial"]
        )
        parts = []
        for symbol, r in report["symbols"].items():
            if "error" in r:
                parts.append(f"{symbol}: failed ({r['error']})")
            else:
                label = " SAMPLE DATA" if r["sample"] else ""
                parts.append(f"{symbol}: {r['rows_written']} bars from {r['source']}{label}")
        self.emit(options, "; ".join(parts), report)
        if report["failed"] and not report["ok"]:
            self.fail("no symbol could be fetched")
