"""Pure tax-lot engine (no Django): lots, lot methods, wash sales, splits, Form 8949, Schedule D.

Entry point: `build_report(transactions, method="fifo", year=None)`; transactions from
`csv_io.read_transactions` or built directly as `Transaction` values. See docs/tax.md.
"""

from .compute import compute
from .csv_io import read_transactions, read_transactions_file
from .holding import anniversary, is_long_term, tacked_acquisition
from .report import TaxReport, build_report
from .types import METHODS, OpenLot, RealizedRow, TaxInputError, Transaction

__all__ = [
    "METHODS",
    "OpenLot",
    "RealizedRow",
    "TaxInputError",
    "TaxReport",
    "Transaction",
    "anniversary",
    "build_report",
    "compute",
    "is_long_term",
    "read_transactions",
    "read_transactions_file",
    "tacked_acquisition",
]
