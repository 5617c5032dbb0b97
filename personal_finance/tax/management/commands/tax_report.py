"""`tax_report --transactions FILE.csv [--method ...] [--year YYYY] [--json]` (docs/contracts.md §9 and §12).

Reads a transactions CSV, runs the pure tax engine and prints a one-line summary, or exactly one
JSON document with `--json`. Touches no database. Bad input exits with status 2 and a message on
stderr naming the file, the data row and the column.
"""

from __future__ import annotations

from personal_finance.contrib.commands import ContractCommand
from personal_finance.tax.engine import METHODS, TaxInputError, build_report, read_transactions
from personal_finance.tax.engine.csv_io import decode


class Command(ContractCommand):
    help = "Realised gains, wash sales, open lots, Form 8949 and Schedule D from a transactions CSV."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--transactions", required=True, metavar="FILE.csv", help="transactions CSV")
        parser.add_argument("--method", choices=METHODS, default="fifo", help="lot method (default fifo)")
        parser.add_argument("--year", type=int, default=None, metavar="YYYY", help="only sales of this tax year")
        super().add_arguments(parser)

    def handle(self, *args, **options) -> None:
        path = options["transactions"]
        method = options["method"]
        year = options["year"]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            self.fail(f"{path}: cannot read the file: {exc.strerror or exc}")
        try:
            transactions = read_transactions(decode(data))
            report = build_report(transactions, method=method, year=year)
        except TaxInputError as exc:
            self.fail(f"{path}: {exc}")

        def summary() -> str:
            s = report.summary()
            scope = f"tax year {year}" if year is not None else "all years"
            return (
                f"{path}: {report.transactions} transactions, {s['sales']} sales ({method}, {scope}): "
                f"short-term {s['short_term']}, long-term {s['long_term']}, net {s['net']}, "
                f"wash-sale disallowed {s['disallowed']}, {s['open_lots']} open lots"
            )

        self.emit(options, summary, report.to_dict)
