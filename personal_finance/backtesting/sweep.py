"""Parameter sweeps: evaluate a grid of strategy parameters and rank the results (no Django).

    >>> table = run_sweep(prices, "sma_cross", {"fast": range(5, 50), "slow": range(6, 51)}, metric="sharpe")

Three steps, so a task queue can fan the middle one out (one chunk of combinations per task) and
gather the pieces:

1. :func:`expand_grid` - every combination, the invalid ones (``fast >= slow``...) filtered out;
2. :func:`evaluate_chunk` - one row of figures per combination, any subset of the grid;
3. :func:`rank_results` - concatenate the chunks and sort by the chosen metric.

Signal strategies on one asset (``sma_cross``) run all combinations of a chunk in lockstep with
numpy (:func:`~personal_finance.backtesting.broker.simulate_signals_batch`), sharing the moving
averages between combinations; the others run one :func:`~personal_finance.backtesting.engine.simulate`
per combination. Every figure equals what :func:`run_backtest` reports for the same parameters.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from personal_finance.analytics import metrics as m
from personal_finance.backtesting.broker import Settings, simulate_signals_batch, trade_aggregates
from personal_finance.backtesting.data import MarketData, prepare_prices
from personal_finance.backtesting.engine import daily_returns, simulate
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.execution import Execution
from personal_finance.backtesting.strategies import Strategy, get_strategy

#: Metrics computed from the returns with the analytics module's single-metric functions.
_RETURN_METRICS = {
    "sharpe": m.sharpe_ratio,
    "sortino": m.sortino_ratio,
    "total_return": m.total_return,
    "cagr": m.annualized_return,
    "volatility": m.annual_volatility,
    "max_drawdown": m.max_drawdown,
    "var_95": m.value_at_risk,
    "cvar_95": m.conditional_value_at_risk,
}
#: Metrics from the equity curve and the trades.
TRADE_METRICS = (
    "equity_final",
    "return_pct",
    "trades",
    "win_rate_pct",
    "profit_factor",
    "exposure_pct",
    "avg_trade_pct",
    "best_trade_pct",
    "worst_trade_pct",
)
#: Columns every sweep table has (besides the parameters and the ranking metric).
DEFAULT_COLUMNS = ("sharpe", "max_drawdown", *TRADE_METRICS)
#: A grid: parameter name to its candidate values (one value alone stands for a list of one).
Grid = Mapping[str, Iterable[Any] | int | float]
#: Where a smaller value ranks first.
LOWER_IS_BETTER = frozenset({"volatility", "max_drawdown_duration_days"})


def known_metrics() -> list[str]:
    return sorted({*_RETURN_METRICS, *m.METRIC_KEYS, *TRADE_METRICS})


def _check_metric(metric: str) -> None:
    if metric not in known_metrics():
        raise BacktestInputError(f"unknown metric {metric!r} (known: {', '.join(known_metrics())})", field="metric")


def _strategy_class(strategy: str | type[Strategy]) -> type[Strategy]:
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        return strategy
    return get_strategy(strategy)


def expand_grid(
    strategy: str | type[Strategy], grid: Grid
) -> tuple[list[dict[str, Any]], list[tuple[dict[str, Any], str]]]:
    """All combinations of ``grid`` (a mapping of parameter name to candidate values), validated.

    Returns ``(valid, skipped)``: the coerced parameter dicts, and the invalid combinations with the
    reason (e.g. ``fast >= slow``). Unknown parameter names raise :class:`BacktestInputError`.
    """
    cls = _strategy_class(strategy)
    if not grid:
        raise BacktestInputError("the grid is empty: give at least one parameter and its values", field="grid")
    names = list(grid)
    unknown = [n for n in names if n not in cls.params]
    if unknown:
        raise BacktestInputError(
            f"unknown parameter {unknown[0]!r} for strategy {cls.name!r} (known: {', '.join(cls.params)})",
            field=unknown[0],
        )
    values: list[list[Any]] = []
    for name in names:
        given = grid[name]
        candidates = [given] if isinstance(given, str | int | float) else list(given)
        if not candidates:
            raise BacktestInputError(f"grid parameter {name!r} has no values", field=name)
        values.append(candidates)
    valid: list[dict[str, Any]] = []
    skipped: list[tuple[dict[str, Any], str]] = []
    for combo in itertools.product(*values):
        params = dict(zip(names, combo, strict=True))
        try:
            valid.append(cls.validate_params(params))
        except BacktestInputError as exc:
            skipped.append((params, exc.message))
    return valid, skipped


def _returns_rows(equity: NDArray[np.float64]) -> NDArray[np.float64]:
    """Daily returns of each row of a ``C x T`` equity matrix (same rule as ``engine.daily_returns``)."""
    prev = equity[:, :-1]
    out = np.zeros(prev.shape)
    np.divide(equity[:, 1:], prev, out=out, where=prev > 0)
    out -= prev > 0
    return out


def _row_figures(
    returns: NDArray[np.float64],
    index: pd.DatetimeIndex,
    agg: Mapping[str, float],
    final: float,
    s: Settings,
    n_bars: int,
    wanted: Iterable[str],
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    full: dict[str, float] | None = None
    for name in wanted:
        if name in _RETURN_METRICS:
            row[name] = _RETURN_METRICS[name](returns)
        elif name in TRADE_METRICS:
            continue
        else:  # any other metric of docs/contracts.md §11: the full computation
            if full is None:
                full = m.compute_metrics(pd.Series(returns, index=index[1:]), start=index[0])
            row[name] = full[name]
    count = int(agg["trades"])
    gross_win, gross_loss = float(agg["gross_win"]), float(agg["gross_loss"])
    if count == 0:
        pf = math.nan
    elif gross_loss == 0:
        pf = math.inf if gross_win > 0 else math.nan
    else:
        pf = gross_win / gross_loss
    row |= {
        "equity_final": final,
        "return_pct": (final / s.cash - 1.0) * 100.0,
        "trades": count,
        "win_rate_pct": int(agg["wins"]) / count * 100.0 if count else math.nan,
        "profit_factor": pf,
        "exposure_pct": int(agg["exposure_bars"]) / n_bars * 100.0,
        "avg_trade_pct": float(agg["sum_return_pct"]) / count if count else math.nan,
        "best_trade_pct": float(agg["best_trade_pct"]) if count else math.nan,
        "worst_trade_pct": float(agg["worst_trade_pct"]) if count else math.nan,
    }
    return row


def evaluate_chunk(
    prices: MarketData | pd.DataFrame | dict[str, pd.DataFrame],
    strategy: str | type[Strategy],
    combos: list[dict[str, Any]],
    *,
    metric: str = "sharpe",
    columns: Iterable[str] = DEFAULT_COLUMNS,
    **settings: Any,
) -> pd.DataFrame:
    """One row per parameter combination in ``combos`` (unranked): the parameters, then figures.

    ``prices`` may be a DataFrame, a dict of them, or a prepared :class:`MarketData` (reuse one
    across chunks in the same process to share its moving-average cache). ``settings`` are the
    :class:`~personal_finance.backtesting.execution.Execution` settings, as :func:`run_backtest` takes them.
    """
    _check_metric(metric)
    s = Execution(**settings).broker_settings()
    data = prices if isinstance(prices, MarketData) else prepare_prices(prices)
    cls = _strategy_class(strategy)
    wanted = list(dict.fromkeys([metric, *columns]))
    for name in wanted:
        _check_metric(name)
    strategies = [cls(**combo) for combo in combos]
    if not strategies:
        return pd.DataFrame(columns=[*cls.params, *wanted])
    for strat in strategies:
        strat.check_data(data)
    n = data.n_bars
    rows: list[dict[str, Any]] = []
    if cls.kind == "signal" and data.n_assets == 1:
        events = [strat.signals(data, 0) for strat in strategies]
        batch = simulate_signals_batch(data.open[:, 0], data.close[:, 0], events, s)
        returns = _returns_rows(batch["equity"])
        finals = batch["equity"][:, -1]
        for c, strat in enumerate(strategies):
            agg = {key: batch[key][c] for key in batch if key != "equity"}
            rows.append(strat.p | _row_figures(returns[c], data.index, agg, float(finals[c]), s, n, wanted))
    else:
        for strat in strategies:
            sim = simulate(data, strat, s)
            agg = trade_aggregates(sim.trades, n)
            returns = daily_returns(sim.equity)
            rows.append(strat.p | _row_figures(returns, data.index, agg, float(sim.equity[-1]), s, n, wanted))
    frame = pd.DataFrame(rows)
    return frame[[*cls.params, *wanted]]


def rank_results(
    chunks: pd.DataFrame | Iterable[pd.DataFrame],
    metric: str = "sharpe",
    *,
    ascending: bool | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Concatenate evaluated chunks and rank by ``metric`` (best first, NaN last), adding ``rank``."""
    _check_metric(metric)
    frames = [chunks] if isinstance(chunks, pd.DataFrame) else list(chunks)
    table = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)
    if ascending is None:
        ascending = metric in LOWER_IS_BETTER
    table = table.sort_values(metric, ascending=ascending, na_position="last", kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.head(top) if top else table


def chunked(combos: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Split combinations into chunks of ``size`` (the unit of work of a distributed sweep)."""
    if size < 1:
        raise BacktestInputError("chunk size must be at least 1", field="chunk_size")
    return [combos[i : i + size] for i in range(0, len(combos), size)]


def run_sweep(
    prices: pd.DataFrame | dict[str, pd.DataFrame],
    strategy: str | type[Strategy],
    grid: Grid,
    *,
    metric: str = "sharpe",
    ascending: bool | None = None,
    top: int | None = None,
    columns: Iterable[str] = DEFAULT_COLUMNS,
    chunk_size: int | None = None,
    **settings: Any,
) -> pd.DataFrame:
    """Evaluate every valid combination of ``grid`` and return the ranked table (in-process).

    ``settings`` are those of :func:`run_backtest` (the fields of
    :class:`~personal_finance.backtesting.execution.Execution`). The table's ``attrs["skipped"]``
    lists the invalid combinations and why. Raises :class:`BacktestInputError` when no combination
    is valid.
    """
    _check_metric(metric)
    valid, skipped = expand_grid(strategy, grid)
    if not valid:
        reason = skipped[0][1] if skipped else "no values"
        raise BacktestInputError(f"no valid parameter combination in the grid (e.g. {reason})", field="grid")
    data = prepare_prices(prices)
    chunks = chunked(valid, chunk_size) if chunk_size else [valid]
    results = [evaluate_chunk(data, strategy, chunk, metric=metric, columns=columns, **settings) for chunk in chunks]
    table = rank_results(results, metric, ascending=ascending, top=top)
    table.attrs["skipped"] = [{"params": p, "reason": r} for p, r in skipped]
    return table
