"""Simple moving average crossover, the classic SmaCross of backtesting.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.strategies.base import Param, Strategy

if TYPE_CHECKING:
    from personal_finance.backtesting.data import MarketData


def cross_events(fast: NDArray[np.float64], slow: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
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
    def check_params(cls, values: dict[str, Any]) -> None:
        if values["fast"] >= values["slow"]:
            raise BacktestInputError(
                f"fast ({values['fast']}) must be smaller than slow ({values['slow']})", field="fast"
            )

    def min_bars(self) -> int:
        slow: int = self.p["slow"]  # an "int" parameter, validated
        return slow + 1

    def signals(self, data: MarketData, k: int) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
        return cross_events(data.sma(k, self.p["fast"]), data.sma(k, self.p["slow"]))
