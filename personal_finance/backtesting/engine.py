"""The backtesting entry point (docs/contracts.md §13): pure Python, numpy and pandas, no Django, no database.

    >>> from personal_finance.backtesting.engine import run_backtest
    >>> result = run_backtest(prices, "sma_cross", {"fast": 10, "slow": 20}, commission=0.002)
    >>> result.stats["sharpe"], result.trades, result.equity, result.buy_hold

Execution rules are in :mod:`personal_finance.backtesting.broker`; strategies in
:mod:`personal_finance.backtesting.strategies`; the metrics come from
:func:`personal_finance.analytics.metrics.compute_metrics` (one definition of Sharpe everywhere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from personal_finance.analytics.metrics import compute_metrics, json_safe
from personal_finance.backtesting.broker import (
    Settings,
    Simulation,
    TradeArrays,
    exposure_bars,
    simulate_plan,
    simulate_signals,
)
from personal_finance.backtesting.data import MarketData, prepare_prices
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.execution import FILLS, Execution
from personal_finance.backtesting.strategies import Decision, Plan, Strategy, get_strategy

#: Daily-return extras of compute_metrics left out of backtest stats: the trade-based
#: ``win_rate_pct`` and ``profit_factor`` (docs/contracts.md §13) would be confused with them.
_DROPPED_METRICS = ("win_rate", "profit_factor")

#: What names a strategy: a registry name such as ``"sma_cross"``, a Strategy class or a Strategy instance.
StrategyRef = str | type[Strategy] | Strategy

__all__ = ["FILLS", "BacktestInputError", "BacktestResult", "Execution", "resolve_strategy", "run_backtest"]


@dataclass
class BacktestResult:
    """What :func:`run_backtest` returns.

    ``stats``: the metrics of docs/contracts.md §11 on the equity curve's daily returns plus trade statistics
    (keys ending in ``_pct`` are percentages, 5.0 = 5%; the others are fractions or amounts).
    ``trades``: one row per trade (``entry_date``, ``exit_date``, ``entry_price``, ``exit_price``,
    ``size`` (negative when short), ``pnl``, ``return_pct``, ``commission``, ``is_open``, ``entry_bar``,
    ``exit_bar``, and ``symbol`` with several assets). ``equity``: account value at each bar's close.
    ``buy_hold``: the same cash bought and held (equal weights over several assets), for comparison.
    ``settings``: the :class:`Execution` settings the run used.
    """

    strategy: str
    params: dict[str, Any]
    settings: Execution
    stats: dict[str, Any]
    trades: pd.DataFrame
    equity: pd.Series
    buy_hold: pd.Series
    symbols: list[str] = field(default_factory=list)

    @property
    def benchmark(self) -> pd.Series:
        return self.buy_hold

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document: ``stats``, ``trades``, ``equity`` ([date, value] pairs), plus
        ``strategy``, ``params``, ``settings`` and ``buy_hold``. NaN and infinities become None."""
        return {
            "strategy": self.strategy,
            "params": self.params,
            "settings": self.settings.as_dict(),
            "stats": json_safe(self.stats),
            "trades": trades_records(self.trades),
            "equity": series_pairs(self.equity),
            "buy_hold": series_pairs(self.buy_hold),
        }


def _iso_dates(index: pd.DatetimeIndex) -> list[str]:
    if len(index) and (index == index.normalize()).all():
        return list(index.strftime("%Y-%m-%d"))
    return [ts.isoformat() for ts in index]


def series_pairs(series: pd.Series) -> list[list[str | float | None]]:
    values = series.to_numpy(dtype=float)
    return [
        [d, float(v) if math.isfinite(v) else None]
        for d, v in zip(_iso_dates(pd.DatetimeIndex(series.index)), values.tolist(), strict=True)
    ]


def trades_records(trades: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in trades.to_dict("records"):
        rec: dict[str, Any] = {}
        for key, raw in row.items():
            value = raw
            if raw is pd.NaT or (isinstance(raw, float) and not math.isfinite(raw)):
                value = None
            elif isinstance(raw, pd.Timestamp):
                value = raw.strftime("%Y-%m-%d") if raw == raw.normalize() else raw.isoformat()
            elif isinstance(raw, np.integer | np.bool_):
                value = raw.item()
            rec[key] = value
        out.append(rec)
    return out


def resolve_strategy(strategy: StrategyRef, params: dict[str, Any] | None) -> Strategy:
    """A validated strategy instance from a registry name, a Strategy class or an instance."""
    if isinstance(strategy, Strategy):
        if params:
            raise BacktestInputError("pass params either to the strategy instance or to run_backtest", field="params")
        return strategy
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy(**(params or {}))
    if params is not None and not isinstance(params, dict):
        raise BacktestInputError(f"params must be a mapping of name to value, got {type(params).__name__}")
    return get_strategy(strategy)(**(params or {}))


def simulate(data: MarketData, strat: Strategy, s: Settings) -> Simulation:
    """Run ``strat`` on ``data``: arrays only (no DataFrames), used by the engine and the sweeps.

    A signal strategy on several assets trades each asset in its own sleeve with an equal share
    of the cash; the equity curves add up.
    """
    if strat.kind == "allocation":
        return simulate_plan(data.open, data.close, strat.plan(data, s.cash), s)
    n_assets = data.n_assets
    if n_assets == 1:
        bars, targets = strat.signals(data, 0)
        return simulate_signals(data.open[:, 0], data.close[:, 0], bars, targets, s)
    share = s.cash / n_assets
    equity = np.zeros(data.n_bars)
    parts: list[TradeArrays] = []
    for k in range(n_assets):
        bars, targets = strat.signals(data, k)
        sim = simulate_signals(data.open[:, k], data.close[:, k], bars, targets, s, cash=share)
        equity += sim.equity
        sim.trades["asset"] = np.full(sim.trades["size"].size, k, dtype=np.int64)
        parts.append(sim.trades)
    trades = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    order = np.lexsort((trades["asset"], trades["entry_bar"]))
    return Simulation(equity=equity, trades={name: values[order] for name, values in trades.items()})


def buy_hold_equity(data: MarketData, s: Settings) -> NDArray[np.float64]:
    """Equal-weight buy-and-hold of every asset with the same cash, costs and fill rule."""
    weights = np.full(data.n_assets, 1.0 / data.n_assets)
    return simulate_plan(data.open, data.close, Plan([Decision(0, weights)]), s).equity


def daily_returns(equity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Simple returns of an equity curve; a bar after the account reached 0 counts as a 0 return."""
    prev = equity[:-1]
    out = np.zeros(prev.size)
    np.divide(equity[1:], prev, out=out, where=prev > 0)
    out[prev > 0] -= 1.0
    return out


def trade_stats(trades: TradeArrays, index: pd.DatetimeIndex) -> dict[str, float]:
    """Trade statistics over closed trades (open trades are counted in ``open_trades`` only)."""
    n = len(index)
    closed = trades["exit_bar"] >= 0
    pnl = trades["pnl"][closed]
    ret = trades["return_pct"][closed]
    count = int(closed.sum())
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    if count == 0:
        profit_factor = math.nan
    elif gross_loss == 0:
        profit_factor = math.inf if gross_win > 0 else math.nan
    else:
        profit_factor = gross_win / gross_loss
    if trades["entry_bar"].size:
        exit_bars = np.where(closed, trades["exit_bar"], n - 1)
        days = (index.values[exit_bars] - index.values[trades["entry_bar"]]) / np.timedelta64(1, "D")
        max_days = float(days.max())
    else:
        max_days = math.nan
    return {
        "trades": count,
        "open_trades": int((~closed).sum()),
        "win_rate_pct": float((pnl > 0).sum()) / count * 100.0 if count else math.nan,
        "profit_factor": profit_factor,
        "avg_trade_pct": float(ret.mean()) if count else math.nan,
        "best_trade_pct": float(ret.max()) if count else math.nan,
        "worst_trade_pct": float(ret.min()) if count else math.nan,
        "max_trade_duration_days": max_days,
        "exposure_pct": exposure_bars(trades, n) / n * 100.0,
        "commissions": float(trades["commission"].sum()),
    }


def compute_stats(
    equity: NDArray[np.float64],
    trades: TradeArrays,
    index: pd.DatetimeIndex,
    cash: float,
    buy_hold: NDArray[np.float64] | None = None,
) -> dict[str, Any]:
    """``stats`` of docs/contracts.md §13: metrics of the daily returns, equity figures, trade statistics."""
    returns = pd.Series(daily_returns(equity), index=index[1:])
    metrics = compute_metrics(returns, start=index[0])
    stats: dict[str, Any] = {k: v for k, v in metrics.items() if k not in _DROPPED_METRICS}
    final = float(equity[-1])
    stats["equity_final"] = final
    stats["equity_peak"] = float(equity.max())
    stats["return_pct"] = (final / cash - 1.0) * 100.0
    if buy_hold is not None:
        stats["buy_hold_return_pct"] = (float(buy_hold[-1]) / cash - 1.0) * 100.0
    stats.update(trade_stats(trades, index))
    return stats


def trades_frame(trades: TradeArrays, data: MarketData) -> pd.DataFrame:
    dates = data.index.values
    is_open = trades["exit_bar"] < 0
    exit_dates = dates[trades["exit_bar"]]
    exit_dates[is_open] = np.datetime64("NaT")
    size = trades["size"]
    if size.size and (size == np.round(size)).all():
        size = size.astype(np.int64)
    columns: dict[str, NDArray[Any]] = {}
    if data.multi:
        columns["symbol"] = np.asarray(data.symbols, dtype=object)[trades["asset"]]
    columns |= {
        "entry_date": dates[trades["entry_bar"]],
        "exit_date": exit_dates,
        "entry_price": trades["entry_price"],
        "exit_price": trades["exit_price"],
        "size": size,
        "pnl": trades["pnl"],
        "return_pct": trades["return_pct"],
        "commission": trades["commission"],
        "is_open": is_open,
        "entry_bar": trades["entry_bar"],
        "exit_bar": trades["exit_bar"],
    }
    return pd.DataFrame(columns, copy=False)


def run_backtest(
    prices: pd.DataFrame | dict[str, pd.DataFrame],
    strategy: StrategyRef,
    params: dict[str, Any] | None = None,
    *,
    cash: float = 10000,
    commission: float = 0.0,
    fill: str = "next_open",
    allow_short: bool = False,
    fixed_fee: float = 0.0,
    slippage_bps: float = 0.0,
    symbol: str | None = None,
) -> BacktestResult:
    """Backtest ``strategy`` (a registry name such as ``"sma_cross"``, a Strategy class or instance)
    with ``params`` on ``prices`` (an OHLC DataFrame on a DatetimeIndex, or a dict of them).

    ``fill``: ``"next_open"`` (orders decided on a bar fill at the next bar's open) or ``"close"``
    (at the deciding bar's close). ``commission``: fraction of traded value, on entry and exit.
    ``fixed_fee``: cash per fill. ``slippage_bps``: basis points against the trader on every fill.
    ``allow_short``: let signal strategies go short (negative ``size``). ``symbol`` names a single
    DataFrame's asset. Raises :class:`BacktestInputError` (a ValueError) on bad input.
    """
    execution = Execution(
        cash=cash,
        commission=commission,
        fill=fill,
        allow_short=allow_short,
        fixed_fee=fixed_fee,
        slippage_bps=slippage_bps,
    )
    settings = execution.broker_settings()
    strat = resolve_strategy(strategy, params)
    data = prepare_prices(prices, symbol)
    strat.check_data(data)
    sim = simulate(data, strat, settings)
    bh = buy_hold_equity(data, settings)
    return BacktestResult(
        strategy=strat.name,
        params=dict(strat.p),
        settings=execution,
        stats=compute_stats(sim.equity, sim.trades, data.index, settings.cash, bh),
        trades=trades_frame(sim.trades, data),
        equity=pd.Series(sim.equity, index=data.index, name="equity"),
        buy_hold=pd.Series(bh, index=data.index, name="buy_hold"),
        symbols=list(data.symbols),
    )
