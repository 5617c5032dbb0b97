"""Re-record the Yahoo cassettes the tests replay. Needs network access to Yahoo Finance.

    python manage.py record_yahoo_cassettes            # rewrites cassettes/yahoo_basic.json

The fault cassette (HTTP 429, malformed payloads, an outage in the middle of a batch) cannot be
provoked on demand, so ``cassettes/yahoo_faults.json`` is written by hand in the same format.
"""

import datetime as dt
from pathlib import Path

from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.cassette import RecordingClient
from personal_finance.data_sources.yahoo import YahooClient

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"

# The calls tests make: (method, args).
BASIC_CALLS = [
    ("download", (["AAPL", "MSFT"], dt.date(2024, 1, 2), dt.date(2024, 1, 10))),
    ("download", (["AAPL"], dt.date(2024, 1, 6), dt.date(2024, 1, 7))),  # a weekend: no bars
    ("download", (["NOSUCHSYMBOLX"], dt.date(2024, 1, 2), dt.date(2024, 1, 10))),
    ("download", (["NVDA"], dt.date(2024, 6, 5), dt.date(2024, 6, 12))),  # the 10:1 split
    ("download", (["EURUSD=X"], dt.date(2024, 1, 2), dt.date(2024, 1, 5))),
    ("quote", ("AAPL",)),
    ("quote", ("NOSUCHSYMBOLX",)),
    ("info", ("AAPL",)),
    ("info", ("MSFT",)),
    ("info", ("NVDA",)),
]


class Command(ContractCommand):
    help = "Record Yahoo Finance responses into the cassettes the tests replay (needs network)."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(CASSETTES / "yahoo_basic.json"))
        super().add_arguments(parser)

    def handle(self, *args, **options):
        recorder = RecordingClient(YahooClient())
        for method, call_args in BASIC_CALLS:
            getattr(recorder, method)(*call_args)
        recorder.save(options["out"])
        self.emit(
            options,
            f"recorded {len(recorder.calls)} calls into {options['out']}",
            {"calls": len(recorder.calls), "out": options["out"]},
        )
