"""``metrics --prices FILE.csv [--benchmark FILE.csv] [--rf 0.0] [--json]`` (docs/contracts.md §9 and §11).

Metrics of the close-to-close returns of a price file, optionally against a benchmark price file
(returns paired on the dates present in both). Reads files only; writes nothing to the database.
Bad input exits with status 2 and a message naming the file, the data row and the column.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from personal_finance.analytics.metrics import compute_metrics, json_safe
from personal_finance.contrib.commands import ContractCommand
from personal_finance.data_sources.price_csv import PriceCSVError, read_price_csv


def _close_returns(path: str) -> tuple[pd.Series, pd.Timestamp]:
    """Close-to-close simple returns of a price file and its first date; PriceCSVError on bad rows."""
    prices = read_price_csv(path)
    dates = prices.index.to_numpy()
    close = prices["Close"].to_numpy(dtype="float64")
    if len(dates) > 1:
        not_increasing = dates[1:] <= dates[:-1]
        if not_increasing.any():
            i = int(np.argmax(not_increasing)) + 1
            what = "duplicate" if dates[i] == dates[i - 1] else "out-of-order"
            msg = f"{what} date {pd.Timestamp(dates[i]).date().isoformat()}: dates must be strictly increasing"
            raise PriceCSVError(msg, source=path, row=i + 1, column="Date")
    bad = ~(close > 0) | ~np.isfinite(close)
    if bad.any():
        i = int(np.argmax(bad))
        raise PriceCSVError(
            f"close must be a positive number, got {close[i]!r}", source=path, row=i + 1, column="Close"
        )
    returns = close[1:] / close[:-1] - 1.0
    return pd.Series(returns, index=prices.index[1:], name="returns"), prices.index[0]


def _pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value * 100:.2f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _days(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.0f} days"


class Command(ContractCommand):
    help = "Risk and return metrics (docs/contracts.md §11) of a price file's close-to-close returns."

    def add_arguments(self, parser):
        parser.add_argument(
            "--prices", required=True, metavar="FILE.csv", help="price CSV (docs/contracts.md §9 format)"
        )
        parser.add_argument("--benchmark", metavar="FILE.csv", help="benchmark price CSV, aligned by date")
        parser.add_argument("--rf", type=float, default=0.0, help="annual risk-free rate as a fraction (0.02 = 2%%)")
        super().add_arguments(parser)

    def handle(self, *args, **options):
        rf = options["rf"]
        if not math.isfinite(rf) or rf <= -1.0:
            self.fail(f"--rf must be a finite annual rate above -1, got {rf}")
        try:
            returns, start = _close_returns(options["prices"])
            benchmark = _close_returns(options["benchmark"])[0] if options["benchmark"] else None
        except PriceCSVError as err:
            self.fail(str(err))

        metrics = json_safe(compute_metrics(returns, benchmark, rf, start=start))
        span = f"{returns.index[0].date()}..{returns.index[-1].date()}" if len(returns) else "no period"
        parts = [
            f"{options['prices']}: {len(returns)} returns ({span})",
            f"total {_pct(metrics['total_return'])}",
            f"CAGR {_pct(metrics['cagr'])}",
            f"vol {_pct(metrics['volatility'])}",
            f"Sharpe {_num(metrics['sharpe'])}",
            f"Sortino {_num(metrics['sortino'])}",
            f"max DD {_pct(metrics['max_drawdown'])} ({_days(metrics['max_drawdown_duration_days'])})",
            f"VaR95 {_pct(metrics['var_95'])}",
        ]
        if benchmark is not None:
            parts.append(f"beta {_num(metrics['beta'])}, alpha {_pct(metrics['alpha'])}")
        self.emit(options, ", ".join(parts), metrics)
