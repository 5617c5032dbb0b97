"""``profile_prices FILE.csv [--json] [--calendar XNYS]``: the data_profiler report of a price file.

Reads the file as text, so bad dates and cells are findings, not failures: the command exits 0
whatever it finds (findings are the output, not errors of the command). It exits with status 2,
naming the file (and the column where one applies), only when the file cannot be profiled at all:
unreadable, not UTF-8, empty, no data rows, no date column or a missing price column; or when
``--calendar`` names no known calendar. It writes nothing to the database.
"""

from __future__ import annotations

from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_profiler.checks import (
    DEFAULT_CALENDAR,
    OUTLIER_SIGMAS,
    STALE_DAYS,
    ProfileInputError,
    UnknownCalendarError,
    count_by_severity,
    profile_csv,
)


def summary_line(path: str, report: dict) -> str:
    counts = count_by_severity(report)
    span = f"{report['start']} to {report['end']}" if report["start"] else "no dates"
    errors, warnings = counts["error"], counts["warning"]
    line = (
        f"{path}: {report['rows']} rows, {span}, {errors} error{'' if errors == 1 else 's'}, "
        f"{warnings} warning{'' if warnings == 1 else 's'}"
    )
    if report["findings"]:
        names = ", ".join(f"{f['check']} ({f['severity']})" for f in report["findings"])
        line += f": {names}"
    return line


class Command(ContractCommand):
    help = "Data-quality profile (docs/contracts.md §10) of a price CSV: dates, missing values, OHLC, gaps, stale runs, outliers, splits."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE.csv", help="price CSV (docs/contracts.md §9 format)")
        parser.add_argument(
            "--calendar",
            default=DEFAULT_CALENDAR,
            help=f"exchange calendar for the gap check (exchange_calendars name such as XNYS, XLON, XETR, 24/7; "
            f"'none' to skip it; default {DEFAULT_CALENDAR})",
        )
        parser.add_argument(
            "--stale-days", type=int, default=STALE_DAYS, help=f"identical closes in a row (default {STALE_DAYS})"
        )
        parser.add_argument(
            "--outlier-sigmas",
            type=float,
            default=OUTLIER_SIGMAS,
            help=f"robust sigmas for a return outlier (default {OUTLIER_SIGMAS:g})",
        )
        super().add_arguments(parser)

    def handle(self, *args, **options):
        path = options["file"]
        if options["stale_days"] < 2:
            self.fail(f"--stale-days must be at least 2, got {options['stale_days']}")
        if not options["outlier_sigmas"] > 0:
            self.fail(f"--outlier-sigmas must be positive, got {options['outlier_sigmas']}")
        try:
            report = profile_csv(
                path,
                calendar=options["calendar"],
                stale_days=options["stale_days"],
                outlier_sigmas=options["outlier_sigmas"],
            )
        except ProfileInputError as exc:
            self.fail(str(exc))
        except UnknownCalendarError as exc:
            self.fail(f"--calendar: {exc}")
        self.emit(options, summary_line(path, report), report)
