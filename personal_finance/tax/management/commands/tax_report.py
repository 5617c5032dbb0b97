"""`tax_report --transactions FILE.csv [--method ...] [--year YYYY] [--json]` (DESIGN 9 and 12).

Reads a transactions CSV, runs the pure tax engine and prints a one-line summary, or exactly one
JSON document with `--json`. Touches no database. Bad input exits with status 2 and a message on
stderr naming the file, the data row and the column.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from personal_finance.tax.engine import METHODS, TaxInputError, build_report, read_transactions
from personal_finance.tax.engine.csv_io import decode


class Command(BaseCommand):
    help = "Realised gains, wash sales, open lots, Form 8949 and Schedule D from a transactions CSV."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--transactions", required=True, metavar="FILE.csv", help="transactions CSV")
        parser.add_argument("--method", choices=METHODS, default="fifo", help="lot method (default fifo)")
        parser.add_argument("--year", type=int, default=None, metavar="YYYY", help="only sales of this tax year")
        parser.add_argument("--json", action="store_true", help="print one JSON document")

    def handle(self, *args, **options) -> None:
        path = options["transactions"]
        method = options["method"]
        year = options["year"]
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read the file: {exc.strerror or exc}", returncode=2) from None
        try:
            transactions = read_transactions(decode(data))
            report = build_report(transactions, method=method, year=year)
        except TaxInputError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None

        if options["json"]:
            self.stdout.write(json.dumps(report.to_dict()))
            return
        s = report.summary()
        scope = f"tax year {year}" if year is not None else "all years"
        self.stdout.write(
            f"{path}: {report.transactions} transactions, {s['sales']} sales ({method}, {scope}): "
            f"short-term {s['short_term']}, long-term {s['long_term']}, net {s['net']}, "
            f"wash-sale disallowed {s['disallowed']}, {s['open_lots']} open lots"
        )
