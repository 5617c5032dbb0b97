"""Simple moving average crossover, the classic SmaCross of backtesting.py."""

from __future__ import annotations

import numpy as np

from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.strategies.base import Param, Strategy


def cross_events(fast: np.ndarray, slow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bars where ``fast`` crosses ``slow``, and the direction (+1 up, -1 down).

    backtesting.py's ``crossover`` rule: an up-cross on bar ``i`` needs ``fast < slow`` strictly on
    bar ``i - 1`` and ``fast > slow`` strictly on bar ``i``; the same with the signs swapped for a
    down-cross. A tie (``fast == slow``) is neither above nor below: a bar that ties never crosses and
    never counts as the "before" of a cross, so ``below, tie, above`` is no cross at all. NaN
    (warm-up) compares false. Vectorised: ``sign(fast - slow)`` is exact (the difference of two
    distinct floats is never 0), and a cross is a product of consecutive signs equal to -1.
    """
    sign = np.sign(fast - slow)
    flips = np.flatnonzero(sign[:-1] * sign[1:] == -1.0) + 1
    return flips.astype(np.int64), sign[flips].astype(np.int8)


class SmaCross(Strategy):
    name = "sma_cross"
    kind = "signal"
    description = (
        "Go long when the fast SMA of the close crosses above the slow SMA; on the opposite cross close "
        "(and go short when shorting is allowed). Every cross closes the open trade and opens a new one."
    )
    params = {
        "fast": Param("int", 10, "fast moving average window, in bars", min=1),
        "slow": Param("int", 20, "slow moving average window, in bars", min=2),
    }

    @classmethod
    def check_params(cls, values):
        if values["fast"] >= values["slow"]:
            raise BacktestInputError(
                f"fast ({values['fast']}) must be smaller than slow ({values['slow']})", field="fast"
            )

    def min_bars(self) -> int:
        return self.p["slow"] + 1

    def signals(self, data, k):
        return cross_events(data.sma(k, self.p["fast"]), data.sma(k, self.p["slow"]))
