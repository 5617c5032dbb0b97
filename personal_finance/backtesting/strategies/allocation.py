"""Allocation strategies: buy-and-hold, momentum rotation, periodic/drift rebalancing, DCA."""

from __future__ import annotations

import numpy as np

from personal_finance.backtesting.data import MarketData, schedule_bars
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.strategies.base import Decision, Param, Plan, Strategy

PERIOD_HELP = "D, W, M, Q, Y (trade as each period starts) or a number of bars"


class BuyHold(Strategy):
    name = "buy_hold"
    kind = "allocation"
    description = "Invest the cash on the first bar (equal weights by default) and hold to the end."
    params = {"weights": Param("weights", None, "target weights SYMBOL:W,...; equal weights when omitted")}

    def plan(self, data: MarketData, cash: float) -> Plan:
        return Plan([Decision(0, self.weights_vector(data, self.p["weights"]))])


class Momentum(Strategy):
    name = "momentum"
    kind = "allocation"
    description = (
        "Every period, hold the top_n assets by trailing return over lookback bars, equally weighted "
        "(ties go to the asset listed first). With absolute=true an asset is held only while its trailing "
        "return is positive; its share stays in cash otherwise."
    )
    params = {
        "lookback": Param("int", 126, "trailing return window, in bars", min=1),
        "top_n": Param("int", 1, "how many assets to hold", min=1),
        "period": Param("period", "M", PERIOD_HELP),
        "absolute": Param("bool", False, "hold only assets whose trailing return is positive"),
    }

    def min_bars(self) -> int:
        lookback: int = self.p["lookback"]  # an "int" parameter, validated
        return lookback + 2

    def check_data(self, data: MarketData) -> None:
        super().check_data(data)
        if self.p["top_n"] > data.n_assets:
            raise BacktestInputError(
                f"top_n ({self.p['top_n']}) is larger than the number of assets ({data.n_assets})", field="top_n"
            )

    def plan(self, data: MarketData, cash: float) -> Plan:
        lookback, top_n = self.p["lookback"], self.p["top_n"]
        bars = schedule_bars(data.index, self.p["period"])
        bars = np.unique(np.r_[lookback, bars[bars > lookback]])
        bars = bars[bars < data.n_bars - 1]
        close = data.close
        trailing = close[bars] / close[bars - lookback] - 1.0
        decisions = []
        for bar, ret in zip(bars.tolist(), trailing, strict=True):
            order = np.argsort(-ret, kind="stable")[:top_n]
            if self.p["absolute"]:
                order = order[ret[order] > 0]
            weights = np.zeros(data.n_assets)
            weights[order] = 1.0 / top_n
            decisions.append(Decision(bar, weights))
        return Plan(decisions)


class Rebalance(Strategy):
    name = "rebalance"
    kind = "allocation"
    description = (
        "Hold target weights; trade back to them as each calendar period starts, or, with threshold > 0, "
        "whenever an asset's weight drifts more than threshold (absolute, 0.05 = 5 points) from its target."
    )
    params = {
        "weights": Param("weights", None, "target weights SYMBOL:W,... summing to 1; equal weights when omitted"),
        "period": Param("period", "M", PERIOD_HELP),
        "threshold": Param("float", 0.0, "drift threshold; 0 = calendar rebalancing", min=0.0, max=1.0),
    }

    def plan(self, data: MarketData, cash: float) -> Plan:
        weights = self.weights_vector(data, self.p["weights"])
        if self.p["threshold"] > 0:
            return Plan([Decision(0, weights)], drift_threshold=self.p["threshold"], drift_weights=weights)
        bars = schedule_bars(data.index, self.p["period"])
        return Plan([Decision(int(b), weights) for b in bars])


class Dca(Strategy):
    name = "dca"
    kind = "allocation"
    description = (
        "Dollar-cost averaging: invest a fixed amount of the cash into target weights every period, never "
        "selling. The default amount spreads the cash evenly over the periods of the data."
    )
    params = {
        "amount": Param("float", None, "cash invested each period; default cash / number of periods", min=0.01),
        "period": Param("period", "M", PERIOD_HELP),
        "weights": Param("weights", None, "target weights SYMBOL:W,...; equal weights when omitted"),
    }

    def plan(self, data: MarketData, cash: float) -> Plan:
        weights = self.weights_vector(data, self.p["weights"])
        bars = schedule_bars(data.index, self.p["period"])
        amount = self.p["amount"] or cash / max(len(bars), 1)
        return Plan([Decision(int(b), weights, amount=amount) for b in bars])
