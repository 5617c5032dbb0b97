"""Writes of stored backtests: create (validate fully, then queue), execute, cancel; the same for
parameter sweeps. The engine (``engine.py``, ``sweep.py``) does the computing; this module feeds it
from the price store and records status, progress and results (docs/contracts.md §3 and §13).

Status moves ``queued -> running -> done | failed``; ``queued | running -> cancelled`` by the user.
``done``, ``failed`` and ``cancelled`` are final: executing a run in a final state again does nothing,
so a redelivered task is harmless.
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
from celery import chord, current_app, group, signature
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from personal_finance.backtesting.data import MarketData, prepare_prices
from personal_finance.backtesting.engine import resolve_strategy, run_backtest, series_pairs
from personal_finance.backtesting.errors import BacktestInputError
from personal_finance.backtesting.execution import (
    AMOUNT,
    AMOUNT_DECIMALS,
    AMOUNT_MAX_DIGITS,
    NAMES,
    SETTINGS,
    Execution,
)
from personal_finance.backtesting.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    BacktestRun,
    BacktestTrade,
    RunStatus,
    Sweep,
    SweepChunk,
    SweepResult,
)
from personal_finance.backtesting.selectors import load_prices
from personal_finance.backtesting.strategies import Strategy, get_strategy
from personal_finance.backtesting.sweep import (
    LOWER_IS_BETTER,
    evaluate_chunk,
    expand_grid,
    known_metrics,
    rank_results,
)
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.services import clean_or_raise

logger = logging.getLogger("personal_finance.backtesting")

#: Registered names of the Celery tasks of ``tasks.py``. Services enqueue by name (``tasks.py``
#: imports this module, not the reverse); the routes in ``CELERY_TASK_ROUTES`` match these names.
RUN_BACKTEST_TASK = "personal_finance.backtesting.tasks.run_backtest_task"
SWEEP_CHUNK_TASK = "personal_finance.backtesting.tasks.sweep_chunk_task"
SWEEP_GATHER_TASK = "personal_finance.backtesting.tasks.sweep_gather_task"

#: Errors worth a retry (the database went away for a moment); everything else is final.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)
MAX_SYMBOLS = 50
MAX_SWEEP_COMBINATIONS = 20_000
#: A sweep without ``chunk_size`` is split into about this many chunks (one task each).
DEFAULT_SWEEP_CHUNKS = 8
#: Request fields of a run or a sweep; an engine error naming anything else names a strategy parameter.
_TOP_LEVEL_FIELDS = frozenset(
    {"strategy", "symbols", "start", "end", "prices", "metric", "grid", "chunk_size", "params", *NAMES}
)


# ------------------------------------------------------------------------------------------------
# Validation: every check of the engine runs on the stored prices before anything is queued
# ------------------------------------------------------------------------------------------------
def _input_error(exc: BacktestInputError, *, params_key: str = "params") -> ApplicationError:
    """The engine's error as a 400: ``{"detail": message, "errors": {field: [message]}}``; a strategy
    parameter's error is nested under ``params`` (``grid`` for a sweep)."""
    field = exc.field or "non_field_errors"
    if field == "symbol":
        errors: dict = {"symbols": [exc.message]}
    elif field in _TOP_LEVEL_FIELDS or field == "non_field_errors":
        errors = {field: [exc.message]}
    else:
        errors = {params_key: {field: [exc.message]}}
    return ApplicationError(exc.message, errors=errors)


def _fail_input(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, errors={field: [message]})


def _plain(value: Any) -> Any:
    """JSON-ready scalar: numpy scalars unboxed, NaN and infinities as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean_common(*, symbols, start, end, settings: Mapping[str, Any]) -> tuple[list[str], Execution]:
    """The symbols, cleaned, and the execution settings, checked (amounts also against their column)."""
    if isinstance(symbols, str):
        symbols = [symbols]
    cleaned = list(dict.fromkeys(str(s).strip().upper() for s in symbols or [] if str(s).strip()))
    if not cleaned:
        raise _fail_input("symbols", "give at least one symbol whose prices are stored")
    if len(cleaned) > MAX_SYMBOLS:
        raise _fail_input("symbols", f"at most {MAX_SYMBOLS} symbols, got {len(cleaned)}")
    if start and end and start > end:
        raise _fail_input("end", f"end ({end}) is before start ({start})")
    try:
        execution = Execution(**settings)
    except BacktestInputError as exc:
        raise _input_error(exc) from None
    whole_digits = AMOUNT_MAX_DIGITS - AMOUNT_DECIMALS
    for setting in SETTINGS:
        if setting.kind != AMOUNT:
            continue
        name = setting.name
        try:
            amount = Decimal(str(settings.get(name, setting.default)))
        except InvalidOperation:
            raise _fail_input(name, f"{name} must be a number") from None
        exponent = amount.as_tuple().exponent  # an int: the amount passed Execution's finite-number check
        if not isinstance(exponent, int) or exponent < -AMOUNT_DECIMALS or abs(amount) >= Decimal(10) ** whole_digits:
            raise _fail_input(
                name,
                f"{name} must have at most {AMOUNT_DECIMALS} decimal places and {whole_digits} digits, got {amount}",
            )
    return cleaned, execution


def _load_data(symbols: list[str], start, end) -> MarketData:
    prices, symbol = load_prices(symbols, start=start, end=end)
    return prepare_prices(prices, symbol)


def _check_strategy_on(strat: Strategy, data: MarketData, cash: float) -> None:
    """The data-dependent checks: enough bars, ``top_n`` vs assets, weights naming known symbols."""
    strat.check_data(data)
    if strat.kind == "allocation":
        strat.plan(data, cash)  # cheap (no simulation); raises for weights naming unknown symbols


def _task_id() -> str:
    return uuid.uuid4().hex


# ------------------------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------------------------
def backtest_create(
    *,
    owner,
    strategy: str,
    symbols: list[str],
    params: Mapping[str, Any] | None = None,
    start=None,
    end=None,
    **settings: Any,
) -> BacktestRun:
    """Validate everything the engine would (strategy, parameters, the execution ``settings`` of
    :class:`~personal_finance.backtesting.execution.Execution`, the stored prices of ``symbols``
    between ``start`` and ``end``), store a ``queued`` run and queue it on commit.

    Raises :class:`ApplicationError` (400) naming the field. In embedded mode (eager Celery) the run
    has executed when this returns (refresh it to see).
    """
    symbols, execution = _clean_common(symbols=symbols, start=start, end=end, settings=settings)
    if params is not None and not isinstance(params, Mapping):
        raise _fail_input("params", "params must be an object of parameter name to value")
    try:
        strat = resolve_strategy(strategy, dict(params or {}))
        data = _load_data(symbols, start, end)
        _check_strategy_on(strat, data, execution.cash)
    except BacktestInputError as exc:
        raise _input_error(exc) from None

    run = BacktestRun(
        owner=owner,
        strategy=strat.name,
        params={k: _plain(v) for k, v in strat.p.items()},
        symbols=symbols,
        start=start,
        end=end,
        **BacktestRun.execution_columns(settings),
        n_bars=data.n_bars,
        task_id=_task_id(),
    )
    clean_or_raise(run)
    with transaction.atomic():
        run.save()
        transaction.on_commit(lambda: _enqueue_run(run.pk, run.task_id))
    logger.info("backtest %s queued: %s on %s", run.pk, run.strategy, ",".join(symbols))
    return run


def _enqueue_run(run_id: int, task_id: str) -> None:
    task = signature(RUN_BACKTEST_TASK, args=[run_id])
    try:
        task.apply_async(task_id=task_id)
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # the broker is down: say so on the run instead of a 500
        if task.app.conf.task_always_eager:
            raise
        logger.exception("could not queue backtest %s", run_id)
        _finish(
            BacktestRun, run_id, RunStatus.FAILED, error=f"could not queue the run ({type(exc).__name__}); try again"
        )


def _finish(model, pk: int, status: str, *, error: str = "") -> None:
    model.objects.filter(pk=pk, status__in=ACTIVE_STATUSES).update(
        status=status, error=error[:2000], finished_at=timezone.now(), updated_at=timezone.now()
    )


def _set_progress(run_id: int, progress: int) -> bool:
    """Record progress; False when the run is no longer running (cancelled meanwhile)."""
    return bool(
        BacktestRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            progress=progress, updated_at=timezone.now()
        )
    )


def _trade_rows(run: BacktestRun, trades: pd.DataFrame) -> list[BacktestTrade]:
    default_symbol = run.symbols[0] if len(run.symbols) == 1 else ""
    rows = []
    for t in trades.to_dict("records"):
        exit_date = t["exit_date"]
        rows.append(
            BacktestTrade(
                run=run,
                symbol=t.get("symbol", default_symbol),
                entry_date=t["entry_date"].date(),
                exit_date=None if pd.isna(exit_date) else exit_date.date(),
                entry_price=_plain(t["entry_price"]),
                exit_price=_plain(t["exit_price"]),
                size=float(t["size"]),
                pnl=_plain(t["pnl"]),
                return_pct=_plain(t["return_pct"]),
                commission=float(t["commission"]),
                is_open=bool(t["is_open"]),
            )
        )
    return rows


def backtest_execute(*, run_id: int, queue: str = "", worker: str = "") -> BacktestRun | None:
    """Execute a stored run (the body of ``run_backtest_task``). Idempotent: a run in a final state
    (done, failed, cancelled) is returned as it is; a run left ``running`` by a lost worker starts
    over. Bad input found now (the prices changed since it was queued) fails the run with the
    engine's message; transient database errors propagate so the task retries."""
    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("backtest %s: no such run", run_id)
            return None
        if run.status in FINAL_STATUSES:
            return run
        run.status, run.progress, run.error = RunStatus.RUNNING, 5, ""
        run.started_at = timezone.now()
        run.queue, run.worker = queue[:40], worker[:255]
        run.save(update_fields=["status", "progress", "error", "started_at", "queue", "worker", "updated_at"])
        run.trades.all().delete()  # a redelivered run starts over

    try:
        prices, symbol = load_prices(run.symbols, start=run.start, end=run.end)
        if not _set_progress(run_id, 30):  # cancelled between stages: stop here
            return BacktestRun.objects.get(pk=run_id)
        result = run_backtest(prices, run.strategy, run.params, symbol=symbol, **run.execution.as_dict())
    except TRANSIENT_ERRORS:
        raise
    except BacktestInputError as exc:
        _finish(BacktestRun, run_id, RunStatus.FAILED, error=exc.message)
        return BacktestRun.objects.get(pk=run_id)
    except Exception as exc:
        logger.exception("backtest %s failed", run_id)
        _finish(BacktestRun, run_id, RunStatus.FAILED, error=f"internal error ({type(exc).__name__}); see the logs")
        return BacktestRun.objects.get(pk=run_id)

    with transaction.atomic():
        run = BacktestRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING:  # cancelled while computing: keep nothing
            return run
        run.stats = {k: _plain(v) for k, v in result.stats.items()}
        run.equity = series_pairs(result.equity)
        run.buy_hold = series_pairs(result.buy_hold)
        run.n_bars = len(result.equity)
        run.status, run.progress, run.finished_at = RunStatus.DONE, 100, timezone.now()
        run.save()
        BacktestTrade.objects.bulk_create(_trade_rows(run, result.trades), batch_size=1000)
    logger.info("backtest %s done: equity_final=%.2f", run_id, result.stats["equity_final"])
    return run


def _revoke(task_ids: list[str]) -> None:
    if current_app.conf.task_always_eager or not task_ids:
        return
    try:
        current_app.control.revoke(task_ids)
    except Exception:  # revocation is best effort: the status check stops the work anyway
        logger.warning("could not revoke %s", task_ids, exc_info=True)


def _cancel(model, pk: int, noun: str, task_ids):
    """Status ``cancelled`` now (409 unless queued or running), the given tasks revoked after
    commit; a task already computing checks the status and stores nothing."""
    with transaction.atomic():
        locked = model.objects.select_for_update().get(pk=pk)
        if locked.status not in ACTIVE_STATUSES:
            raise ApplicationError(
                f"Only queued or running {noun}s can be cancelled; this one is {locked.status}.",
                errors={"status": [f"the {noun} is {locked.status}"]},
                status_code=409,
            )
        locked.status, locked.finished_at = RunStatus.CANCELLED, timezone.now()
        locked.save(update_fields=["status", "finished_at", "updated_at"])
        ids = task_ids(locked)
        transaction.on_commit(lambda: _revoke(ids))
    logger.info("%s %s cancelled", noun, pk)
    return locked


def backtest_cancel(*, run: BacktestRun) -> BacktestRun:
    """Cancel a queued or running run (its task revoked). 409 for a finished run."""
    return _cancel(BacktestRun, run.pk, "run", lambda r: [r.task_id])


def backtest_delete(*, run: BacktestRun) -> None:
    if run.status in ACTIVE_STATUSES:
        backtest_cancel(run=run)
    run.delete()


# ------------------------------------------------------------------------------------------------
# Sweeps: a grid fans out as a Celery group of chunk tasks, gathered by a chord callback
# ------------------------------------------------------------------------------------------------
def sweep_create(
    *,
    owner,
    strategy: str,
    grid: Mapping[str, list],
    symbols: list[str],
    metric: str = "sharpe",
    ascending: bool | None = None,
    chunk_size: int | None = None,
    start=None,
    end=None,
    **settings: Any,
) -> Sweep:
    """Validate the grid (unknown parameters, no valid combination), the metric, the execution
    ``settings`` (as :func:`backtest_create`) and every valid combination against the stored prices,
    store a ``queued`` sweep and launch it on commit. Invalid combinations (``fast >= slow``) are
    skipped and listed, as ``run_sweep`` does."""
    symbols, execution = _clean_common(symbols=symbols, start=start, end=end, settings=settings)
    if not isinstance(grid, Mapping):
        raise _fail_input("grid", "grid must be an object of parameter name to a list of values")
    if metric not in known_metrics():
        raise _fail_input("metric", f"unknown metric {metric!r} (known: {', '.join(known_metrics())})")
    try:
        cls = get_strategy(strategy)
        valid, skipped = expand_grid(cls, grid)
    except BacktestInputError as exc:
        raise _input_error(exc, params_key="grid") from None
    if not valid:
        reason = skipped[0][1] if skipped else "no values"
        raise _fail_input("grid", f"no valid parameter combination in the grid (e.g. {reason})")
    if len(valid) > MAX_SWEEP_COMBINATIONS:
        raise _fail_input("grid", f"{len(valid)} combinations; at most {MAX_SWEEP_COMBINATIONS} per sweep")
    if chunk_size is not None and chunk_size < 1:
        raise _fail_input("chunk_size", "chunk_size must be at least 1")
    try:
        data = _load_data(symbols, start, end)
        for combo in valid:
            _check_strategy_on(cls(**combo), data, execution.cash)
    except BacktestInputError as exc:
        raise _input_error(exc, params_key="grid") from None

    size = chunk_size or max(1, math.ceil(len(valid) / DEFAULT_SWEEP_CHUNKS))
    sweep = Sweep(
        owner=owner,
        strategy=cls.name,
        grid={
            k: [_plain(v) for v in (vals if isinstance(vals, list | tuple) else [vals])] for k, vals in grid.items()
        },
        metric=metric,
        ascending=metric in LOWER_IS_BETTER if ascending is None else bool(ascending),
        combos=[{k: _plain(v) for k, v in combo.items()} for combo in valid],
        n_combinations=len(valid),
        skipped=[{"params": {k: _plain(v) for k, v in p.items()}, "reason": r} for p, r in skipped],
        chunk_size=size,
        chunks_total=math.ceil(len(valid) / size),
        symbols=symbols,
        start=start,
        end=end,
        **Sweep.execution_columns(settings),
        task_id=_task_id(),
    )
    clean_or_raise(sweep)
    with transaction.atomic():
        sweep.save()
        transaction.on_commit(lambda: _launch_sweep(sweep.pk))
    logger.info("sweep %s queued: %d combinations in %d chunks", sweep.pk, len(valid), sweep.chunks_total)
    return sweep


def _chunk_task_ids(sweep: Sweep) -> list[str]:
    return [f"{sweep.task_id}-{i}" for i in range(sweep.chunks_total)]


def _gather_task_id(sweep: Sweep) -> str:
    return f"{sweep.task_id}-gather"


def _launch_sweep(sweep_id: int) -> None:
    """``chord(group(chunk tasks), gather task)``: the chunks run on the ``default`` queue across the
    workers; the gather runs once they are all done. Eagerly (embedded mode) the same chord runs
    in-process, chunk after chunk."""
    sweep = Sweep.objects.only("id", "task_id", "chunks_total").get(pk=sweep_id)
    header = group(
        signature(SWEEP_CHUNK_TASK, args=[sweep_id, i], immutable=True).set(task_id=tid)
        for i, tid in enumerate(_chunk_task_ids(sweep))
    )
    body = signature(SWEEP_GATHER_TASK, args=[sweep_id], immutable=True).set(task_id=_gather_task_id(sweep))
    try:
        chord(header, body).apply_async()
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:
        if body.app.conf.task_always_eager:
            raise
        logger.exception("could not queue sweep %s", sweep_id)
        _finish(
            Sweep, sweep_id, RunStatus.FAILED, error=f"could not queue the sweep ({type(exc).__name__}); try again"
        )


def sweep_chunk_execute(*, sweep_id: int, index: int, queue: str = "", worker: str = "") -> int:
    """Evaluate chunk ``index`` of a sweep and store one ``SweepResult`` per combination. Idempotent:
    a chunk already stored, or a sweep in a final state, is left alone. Returns the rows stored."""
    sweep = Sweep.objects.filter(pk=sweep_id).first()
    if sweep is None or sweep.status in FINAL_STATUSES or sweep.chunks.filter(index=index).exists():
        return 0
    if sweep.status == RunStatus.QUEUED:
        Sweep.objects.filter(pk=sweep_id, status=RunStatus.QUEUED).update(
            status=RunStatus.RUNNING, started_at=timezone.now(), updated_at=timezone.now()
        )
    combos = sweep.chunk_combos(index)
    began = time.perf_counter()
    try:
        data = _load_data(sweep.symbols, sweep.start, sweep.end)
        frame = evaluate_chunk(data, sweep.strategy, combos, metric=sweep.metric, **sweep.execution.as_dict())
    except TRANSIENT_ERRORS:
        raise
    except BacktestInputError as exc:
        _finish(Sweep, sweep_id, RunStatus.FAILED, error=exc.message)
        return 0
    except Exception as exc:
        logger.exception("sweep %s chunk %s failed", sweep_id, index)
        _finish(Sweep, sweep_id, RunStatus.FAILED, error=f"internal error ({type(exc).__name__}); see the logs")
        return 0
    param_names = [c for c in frame.columns if c in combos[0]]
    figure_names = [c for c in frame.columns if c not in param_names]
    first = index * sweep.chunk_size
    rows = [
        SweepResult(
            sweep_id=sweep_id,
            position=first + i,
            params=combos[i],
            value=None if pd.isna(record[sweep.metric]) else float(record[sweep.metric]),
            figures={name: _plain(record[name]) for name in figure_names},
        )
        for i, record in enumerate(frame.to_dict("records"))
    ]
    with transaction.atomic():
        locked = Sweep.objects.select_for_update().get(pk=sweep_id)  # chunks commit one at a time
        if locked.status != RunStatus.RUNNING or locked.chunks.filter(index=index).exists():
            return 0
        SweepChunk.objects.create(
            sweep=locked, index=index, queue=queue[:40], worker=worker[:255], seconds=time.perf_counter() - began
        )
        SweepResult.objects.bulk_create(rows, batch_size=1000)
        done = locked.chunks.count()
        locked.progress = min(100, done * 100 // max(locked.chunks_total, 1))
        locked.save(update_fields=["progress", "updated_at"])
    return len(rows)


def sweep_gather_execute(*, sweep_id: int, queue: str = "") -> Sweep | None:
    """Rank every stored combination by the sweep's metric (``rank_results``, as ``run_sweep`` does)
    and mark the sweep done. Idempotent: only a running sweep with every chunk stored is gathered."""
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().filter(pk=sweep_id).first()
        if sweep is None or sweep.status != RunStatus.RUNNING:
            return sweep
        done = sweep.chunks.count()
        if done < sweep.chunks_total:
            sweep.status, sweep.finished_at = RunStatus.FAILED, timezone.now()
            sweep.error = f"only {done} of {sweep.chunks_total} chunks finished"
            sweep.save(update_fields=["status", "finished_at", "error", "updated_at"])
            return sweep
        rows = list(sweep.results.order_by("position").values_list("id", "value"))
        frame = pd.DataFrame(
            {"_id": [r[0] for r in rows], sweep.metric: [math.nan if r[1] is None else r[1] for r in rows]}
        )
        ranked = rank_results([frame], sweep.metric, ascending=sweep.ascending)
        results = [
            SweepResult(id=int(pk), rank=int(rank)) for pk, rank in zip(ranked["_id"], ranked["rank"], strict=True)
        ]
        SweepResult.objects.bulk_update(results, ["rank"], batch_size=1000)
        sweep.status, sweep.progress, sweep.finished_at = RunStatus.DONE, 100, timezone.now()
        sweep.gather_queue = queue[:40]
        sweep.save(update_fields=["status", "progress", "finished_at", "gather_queue", "updated_at"])
    logger.info("sweep %s done: %d combinations ranked by %s", sweep_id, len(rows), sweep.metric)
    return sweep


def sweep_cancel(*, sweep: Sweep) -> Sweep:
    """Cancel a queued or running sweep: chunks not started yet are revoked, chunks already running
    store nothing (each checks the status), the gather does nothing. 409 for a finished sweep."""
    return _cancel(Sweep, sweep.pk, "sweep", lambda s: [*_chunk_task_ids(s), _gather_task_id(s)])


def sweep_delete(*, sweep: Sweep) -> None:
    if sweep.status in ACTIVE_STATUSES:
        sweep_cancel(sweep=sweep)
    sweep.delete()
