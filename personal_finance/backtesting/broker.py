"""Order execution: turns a strategy's decisions into fills, trades and an equity curve.

Conventions (docs/contracts.md §13; the same as backtesting.py with ``exclusive_orders``/``finalize_trades`` off):

* A decision on bar ``i`` fills at the open of bar ``i + 1`` (``next_open``) or at the close of bar
  ``i`` (``close``). Decisions on the last bar are dropped: there is no bar left to fill them.
* Commission is ``commission * |shares| * price`` on every fill, entry and exit, plus ``fixed_fee``
  per fill. Slippage moves every fill price against the trader by ``slippage`` (a fraction): buys
  pay ``price * (1 + s)``, sells get ``price * (1 - s)``.
* "All cash" buys ``floor((cash - fixed_fee) / (price * (1 + commission)))`` whole shares; a short
  sells the same count. Cash accounting is real: a buy pays shares x price, a short sale receives it;
  equity on a bar is cash + shares x that bar's close.
* Trades still open at the end are reported with ``exit_bar = -1``, valued at the last close, and
  without an exit commission. If equity falls to zero or below, every trade is closed at that bar's
  close and the account stays at 0 (backtesting.py does the same).

All kernels work on float64 numpy arrays and the loops run over decision bars only, never over
every bar. Every arithmetic step is written in the same order in the scalar and the batch kernels
so that a sweep reproduces a single run bit for bit.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from personal_finance.backtesting.strategies.base import Plan

TRADE_FIELDS = ("entry_bar", "exit_bar", "entry_price", "exit_price", "size", "pnl", "return_pct", "commission")

#: A kernel's trades: :data:`TRADE_FIELDS` (+ ``asset``) to one array each, int64 for the bars and
#: ``asset``, float64 for the others.
TradeArrays = dict[str, NDArray[Any]]


@dataclass(frozen=True)
class Settings:
    cash: float = 10_000.0
    commission: float = 0.0
    fixed_fee: float = 0.0
    slippage: float = 0.0
    fill_close: bool = False
    allow_short: bool = False


@dataclass
class Simulation:
    """Arrays out of a kernel. ``trades`` maps :data:`TRADE_FIELDS` (+ ``asset``) to arrays."""

    equity: NDArray[np.float64]
    trades: TradeArrays
    stopped_at: int | None = None  # bar where equity hit zero, if it did
    extra: dict[str, Any] = field(default_factory=dict)


def _empty_trades() -> dict[str, list[float]]:
    return {name: [] for name in (*TRADE_FIELDS, "asset")}


def _trades_to_arrays(rows: dict[str, list[float]]) -> TradeArrays:
    out: TradeArrays = {}
    for name, values in rows.items():
        dtype = np.int64 if name in ("entry_bar", "exit_bar", "asset") else np.float64
        out[name] = np.asarray(values, dtype=dtype)
    return out


def _segment_index(fill_bars: NDArray[np.int64], n_bars: int) -> NDArray[np.int64]:
    """For every bar, the position of the last fill at or before it (-1 before the first fill)."""
    return np.searchsorted(fill_bars, np.arange(n_bars), side="right") - 1


# ------------------------------------------------------------------------------------------------
# Signal kernel: one asset, "close whatever is open, then go all-in in the target direction"
# ------------------------------------------------------------------------------------------------


def simulate_signals(
    open_: NDArray[np.float64],
    close: NDArray[np.float64],
    bars: NDArray[np.int64],
    targets: NDArray[np.int8],
    s: Settings,
    *,
    cash: float | None = None,
    stop_bar: int | None = None,
) -> Simulation:
    """Run target signals (+1 long, -1 short, 0 flat) decided on ``bars`` for one asset.

    Every signal closes the open trade (if any) and opens a new all-cash trade in its direction,
    so two consecutive +1 signals close and re-open the long (backtesting.py's SmaCross behaviour).
    """
    n = close.shape[0]
    start_cash = s.cash if cash is None else cash
    keep = bars < n - 1
    bars, targets = bars[keep], targets[keep]
    fill = bars if s.fill_close else bars + 1
    if stop_bar is not None:
        keep = fill <= stop_bar
        fill, targets = fill[keep], targets[keep]
    px = close if s.fill_close else open_
    c, fee, slip = s.commission, s.fixed_fee, s.slippage
    up, down, one_c = 1.0 + slip, 1.0 - slip, 1.0 + c

    cash_ = float(start_cash)
    size = 0.0
    ep = e_comm = 0.0
    e_bar = -1
    rows = _empty_trades()
    seg_bar, seg_size, seg_cash = [], [], []
    prices = px[fill].tolist()
    for j, target, p in zip(fill.tolist(), targets.tolist(), prices, strict=True):
        t = 0 if target < 0 and not s.allow_short else target
        if size == 0.0 and t == 0:
            continue
        if size != 0.0:
            xp = p * down if size > 0 else p * up
            x_comm = abs(size) * xp * c + fee
            cash_ = cash_ + size * xp - x_comm
            pnl = size * (xp - ep) - e_comm - x_comm
            rows["entry_bar"].append(e_bar)
            rows["exit_bar"].append(j)
            rows["entry_price"].append(ep)
            rows["exit_price"].append(xp)
            rows["size"].append(size)
            rows["pnl"].append(pnl)
            rows["return_pct"].append(pnl / (abs(size) * ep) * 100.0)
            rows["commission"].append(e_comm + x_comm)
            size = 0.0
        if t != 0:
            ep = p * up if t > 0 else p * down
            shares = math.floor((cash_ - fee) / (ep * one_c))
            if shares > 0:
                size = float(shares) if t > 0 else -float(shares)
                e_comm = shares * ep * c + fee
                cash_ = cash_ - size * ep - e_comm
                e_bar = j
        seg_bar.append(j)
        seg_size.append(size)
        seg_cash.append(cash_)

    if seg_bar:
        seg = _segment_index(np.asarray(seg_bar), n)
        sizes = np.r_[np.asarray(seg_size), 0.0]
        cashes = np.r_[np.asarray(seg_cash), start_cash]
        equity = cashes[seg] + sizes[seg] * close
    else:
        equity = np.full(n, float(start_cash))

    stopped = None
    if stop_bar is not None:
        # forced liquidation: close at this bar's close, then the account is empty
        if size != 0.0:
            p = close[stop_bar]
            xp = p * down if size > 0 else p * up
            x_comm = abs(size) * xp * c + fee
            pnl = size * (xp - ep) - e_comm - x_comm
            for name, value in zip(
                TRADE_FIELDS,
                (e_bar, stop_bar, ep, xp, size, pnl, pnl / (abs(size) * ep) * 100.0, e_comm + x_comm),
                strict=True,
            ):
                rows[name].append(value)
            size = 0.0
        equity[stop_bar:] = 0.0
        stopped = stop_bar
    elif seg_bar:
        broke = np.flatnonzero(equity[seg_bar[0] :] <= 0.0)
        if broke.size:
            return simulate_signals(open_, close, bars, targets, s, cash=cash, stop_bar=seg_bar[0] + int(broke[0]))

    if size != 0.0:  # still open at the end: valued at the last close, no exit commission
        last = float(close[-1])
        pnl = size * (last - ep) - e_comm
        for name, value in zip(
            TRADE_FIELDS, (e_bar, -1, ep, last, size, pnl, pnl / (abs(size) * ep) * 100.0, e_comm), strict=True
        ):
            rows[name].append(value)
    rows["asset"] = [0] * len(rows["size"])
    return Simulation(equity=equity, trades=_trades_to_arrays(rows), stopped_at=stopped)


# ------------------------------------------------------------------------------------------------
# Batch signal kernel: many parameter combinations of one asset at once (parameter sweeps)
# ------------------------------------------------------------------------------------------------


def simulate_signals_batch(
    open_: NDArray[np.float64],
    close: NDArray[np.float64],
    events: list[tuple[NDArray[np.int64], NDArray[np.int8]]],
    s: Settings,
) -> dict[str, NDArray[Any]]:
    """The signal kernel for ``C`` signal sets in lockstep: round ``r`` processes every set's ``r``-th
    decision with numpy. Returns ``equity`` as a ``C x T`` matrix (one row per set) and per-set trade
    aggregates (closed trades; see :func:`trade_aggregates`).

    The arithmetic is step for step the same as :func:`simulate_signals`, so each row equals the single
    run exactly. Rows whose equity reaches zero are recomputed with the scalar kernel.
    """
    n = close.shape[0]
    n_sets = len(events)
    px = close if s.fill_close else open_
    c, fee, slip = s.commission, s.fixed_fee, s.slippage
    up, down, one_c = 1.0 + slip, 1.0 - slip, 1.0 + c

    fills, tgts = [], []
    for bars, targets in events:
        keep = bars < n - 1
        b, t = bars[keep], targets[keep].astype(np.int8)
        if not s.allow_short:
            t = np.maximum(t, 0)
        fills.append(b if s.fill_close else b + 1)
        tgts.append(t)
    counts = np.fromiter((f.size for f in fills), dtype=np.int64, count=n_sets)
    order = np.argsort(-counts, kind="stable")  # most events first: round r touches a prefix of rows
    rounds = int(counts.max()) if n_sets else 0
    fill_m = np.full((n_sets, rounds), n, dtype=np.int64)  # padding: "at the end"
    tgt_m = np.zeros((n_sets, rounds), dtype=np.int8)
    for row, k in enumerate(order.tolist()):
        fill_m[row, : counts[k]] = fills[k]
        tgt_m[row, : counts[k]] = tgts[k]
    active_at = np.searchsorted(-counts[order], -np.arange(rounds), side="left")

    cash_ = np.full(n_sets, float(s.cash))
    size = np.zeros(n_sets)
    ep = np.zeros(n_sets)
    e_comm = np.zeros(n_sets)
    e_bar = np.full(n_sets, -1, dtype=np.int64)
    last_exit = np.full(n_sets, -1, dtype=np.int64)
    seg_size = np.zeros((n_sets, rounds + 1))
    seg_cash = np.full((n_sets, rounds + 1), float(s.cash))
    n_closed = np.zeros(n_sets, dtype=np.int64)
    n_wins = np.zeros(n_sets, dtype=np.int64)
    exposed = np.zeros(n_sets, dtype=np.int64)
    gross_win = np.zeros(n_sets)
    gross_loss = np.zeros(n_sets)
    sum_ret = np.zeros(n_sets)
    best = np.full(n_sets, -np.inf)
    worst = np.full(n_sets, np.inf)

    for r in range(rounds):
        m = int(active_at[r])
        j = fill_m[:m, r]
        t = tgt_m[:m, r]
        p = px[j]
        idx = np.flatnonzero(size[:m] != 0.0)
        if idx.size:
            szc, pc, jc, eb = size[idx], p[idx], j[idx], e_bar[idx]
            xp = np.where(szc > 0, pc * down, pc * up)
            x_comm = np.abs(szc) * xp * c + fee
            cash_[idx] = cash_[idx] + szc * xp - x_comm
            pnl = szc * (xp - ep[idx]) - e_comm[idx] - x_comm
            ret = pnl / (np.abs(szc) * ep[idx]) * 100.0
            n_closed[idx] += 1
            n_wins[idx] += pnl > 0
            gross_win[idx] += np.where(pnl > 0, pnl, 0.0)
            gross_loss[idx] -= np.where(pnl < 0, pnl, 0.0)
            sum_ret[idx] += ret
            best[idx] = np.maximum(best[idx], ret)
            worst[idx] = np.minimum(worst[idx], ret)
            exposed[idx] += jc - eb + 1 - (eb == last_exit[idx])
            last_exit[idx] = jc
            size[idx] = 0.0
        idx = np.flatnonzero(t != 0)
        if idx.size:
            tt, po = t[idx], p[idx]
            e = np.where(tt > 0, po * up, po * down)
            shares = np.floor((cash_[idx] - fee) / (e * one_c))
            ok = shares > 0
            idx, e, shares, tt = idx[ok], e[ok], shares[ok], tt[ok]
            new_size = np.where(tt > 0, shares, -shares)
            ec = shares * e * c + fee
            cash_[idx] = cash_[idx] - new_size * e - ec
            size[idx] = new_size
            ep[idx] = e
            e_comm[idx] = ec
            e_bar[idx] = j[idx]
        seg_size[:m, r + 1] = size[:m]  # padding columns of finished sets cover no bar
        seg_cash[:m, r + 1] = cash_[:m]

    held = size != 0.0
    exposed[held] += n - e_bar[held] - (e_bar[held] == last_exit[held])

    # equity rows: each state repeated over its segment of bars (padding segments are empty)
    inv = np.empty_like(order)
    inv[order] = np.arange(n_sets)
    bounds = np.concatenate([np.zeros((n_sets, 1), np.int64), fill_m, np.full((n_sets, 1), n, np.int64)], axis=1)
    lengths = np.diff(bounds[inv], axis=1).ravel()
    equity = np.repeat(seg_cash[inv].ravel(), lengths).reshape(n_sets, n)
    equity += np.repeat(seg_size[inv].ravel(), lengths).reshape(n_sets, n) * close

    open_size = size[inv]
    open_pnl = np.where(open_size != 0.0, open_size * (close[-1] - ep[inv]) - e_comm[inv], 0.0)
    out = {
        "equity": equity,
        "exposure_bars": exposed[inv],
        "trades": n_closed[inv],
        "wins": n_wins[inv],
        "gross_win": gross_win[inv],
        "gross_loss": gross_loss[inv],
        "sum_return_pct": sum_ret[inv],
        "best_trade_pct": best[inv],
        "worst_trade_pct": worst[inv],
        "open_size": open_size,
        "open_pnl": open_pnl,
    }
    broke = np.flatnonzero((equity <= 0.0).any(axis=1))
    for k in broke.tolist():  # rare: recompute with the forced liquidation, row by row
        one = simulate_signals(open_, close, events[k][0], events[k][1], s)
        out["equity"][k] = one.equity
        for key, value in trade_aggregates(one.trades, n).items():
            out[key][k] = value
    return out


def trade_aggregates(trades: TradeArrays, n_bars: int) -> dict[str, float]:
    """The trade statistics a sweep ranks by, from a kernel's trade arrays (closed trades only)."""
    closed = trades["exit_bar"] >= 0
    pnl = trades["pnl"][closed]
    ret = trades["return_pct"][closed]
    open_ = ~closed
    return {
        "exposure_bars": exposure_bars(trades, n_bars),
        "trades": int(closed.sum()),
        "wins": int((pnl > 0).sum()),
        "gross_win": float(pnl[pnl > 0].sum()),
        "gross_loss": float(-pnl[pnl < 0].sum()),
        "sum_return_pct": float(ret.sum()),
        "best_trade_pct": float(ret.max()) if ret.size else -np.inf,
        "worst_trade_pct": float(ret.min()) if ret.size else np.inf,
        "open_size": float(trades["size"][open_].sum()),
        "open_pnl": float(trades["pnl"][open_].sum()),
    }


def exposure_bars(trades: TradeArrays, n_bars: int) -> int:
    """Bars during which some trade was open, entry bar to exit bar inclusive (open trades to the end)."""
    if trades["entry_bar"].size == 0:
        return 0
    delta = np.zeros(n_bars + 1, dtype=np.int64)
    exits = np.where(trades["exit_bar"] < 0, n_bars - 1, trades["exit_bar"])
    np.add.at(delta, trades["entry_bar"], 1)
    np.add.at(delta, exits + 1, -1)
    return int((np.cumsum(delta[:-1]) > 0).sum())


# ------------------------------------------------------------------------------------------------
# Portfolio kernel: target weights or cash amounts over several assets, FIFO lots per asset
# ------------------------------------------------------------------------------------------------


def simulate_plan(open_: NDArray[np.float64], close: NDArray[np.float64], plan: Plan, s: Settings) -> Simulation:
    """Run an allocation :class:`~personal_finance.backtesting.strategies.base.Plan`.

    A rebalance decision values the account at the fill prices, aims for
    ``floor(weight * equity / (price * (1 + commission)))`` shares per asset, sells first (oldest lots
    first) and then buys, each buy capped by the cash left. An ``amount`` decision buys
    ``floor(weight * amount / (price * (1 + commission)))`` shares and sells nothing; what whole shares
    leave of the amount is added to the next amount. With a drift
    threshold the kernel also checks, on every bar after a fill, whether an asset's weight has moved
    more than the threshold from target, and if so decides a rebalance on that bar.
    """
    n, k_assets = close.shape
    px = close if s.fill_close else open_
    c, fee, slip = s.commission, s.fixed_fee, s.slippage
    one_c = 1.0 + c
    cash_ = float(s.cash)
    hold = np.zeros(k_assets)
    lots: list[deque[list[float]]] = [deque() for _ in range(k_assets)]
    rows = _empty_trades()
    seg_bar, seg_hold, seg_cash = [], [], []

    queue = sorted((d for d in plan.decisions if d.bar < n - 1), key=lambda d: d.bar)
    # one decision per bar: the later one wins
    pending = deque({d.bar: d for d in queue}.values())
    drift_weights = plan.drift_weights if plan.drift_threshold > 0 else None  # None: no drift checks
    carry = 0.0

    while pending:
        d = pending.popleft()
        j = d.bar if s.fill_close else d.bar + 1
        p = px[j]
        buy_p = p * (1.0 + slip)
        sell_p = p * (1.0 - slip)
        if d.amount is None:
            equity_now = cash_ + float(hold @ p)
            desired = np.floor(d.weights * equity_now / (buy_p * one_c))
        else:
            budget = min(d.amount + carry, cash_)
            cash_before = cash_
            desired = hold + np.floor(
                d.weights * max(budget - fee * np.count_nonzero(d.weights), 0.0) / (buy_p * one_c)
            )
        delta = desired - hold
        for k in np.flatnonzero(delta < 0).tolist():
            qty = -delta[k]
            price = float(sell_p[k])
            x_comm_total = qty * price * c + fee
            cash_ += qty * price - x_comm_total
            hold[k] -= qty
            left = qty
            while left > 0:
                lot = lots[k][0]
                take = min(left, lot[2])
                e_part = lot[3] * take
                x_part = x_comm_total * take / qty
                pnl = take * (price - lot[1]) - e_part - x_part
                for name, value in zip(
                    TRADE_FIELDS,
                    (lot[0], j, lot[1], price, take, pnl, pnl / (take * lot[1]) * 100.0, e_part + x_part),
                    strict=True,
                ):
                    rows[name].append(value)
                rows["asset"].append(k)
                lot[2] -= take
                left -= take
                if lot[2] <= 0:
                    lots[k].popleft()
        for k in np.flatnonzero(delta > 0).tolist():
            price = float(buy_p[k])
            qty = float(delta[k])
            if qty * price * one_c + fee > cash_:
                qty = float(math.floor((cash_ - fee) / (price * one_c)))
            if qty <= 0:
                continue
            e_comm = qty * price * c + fee
            cash_ -= qty * price + e_comm
            hold[k] += qty
            lots[k].append([j, price, qty, e_comm / qty])
        if d.amount is not None:  # what whole shares left of the budget rolls into the next amount
            carry = max(budget - (cash_before - cash_), 0.0)
        seg_bar.append(j)
        seg_hold.append(hold.copy())
        seg_cash.append(cash_)

        if drift_weights is not None and not pending:
            nxt = _first_drift(close, hold, cash_, drift_weights, plan.drift_threshold, start=j + 1, stop=n - 1)
            if nxt is not None:
                pending.append(type(d)(nxt, drift_weights))

    if seg_bar:
        seg = _segment_index(np.asarray(seg_bar), n)
        holds = np.vstack([*seg_hold, np.zeros(k_assets)])
        cashes = np.r_[np.asarray(seg_cash), s.cash]
        equity = cashes[seg] + np.einsum("tk,tk->t", holds[seg], close)
    else:
        equity = np.full(n, float(s.cash))

    last = close[-1]
    for k in range(k_assets):
        for lot in lots[k]:
            pnl = lot[2] * (last[k] - lot[1]) - lot[3] * lot[2]
            for name, value in zip(
                TRADE_FIELDS,
                (lot[0], -1, lot[1], float(last[k]), lot[2], pnl, pnl / (lot[2] * lot[1]) * 100.0, lot[3] * lot[2]),
                strict=True,
            ):
                rows[name].append(value)
            rows["asset"].append(k)
    return Simulation(equity=equity, trades=_trades_to_arrays(rows))


def _first_drift(
    close: NDArray[np.float64],
    hold: NDArray[np.float64],
    cash_: float,
    target: NDArray[np.float64],
    threshold: float,
    *,
    start: int,
    stop: int,
) -> int | None:
    """First bar in ``[start, stop)`` whose weights drift more than ``threshold`` from ``target``."""
    if start >= stop:
        return None
    values = close[start:stop] * hold
    equity = values.sum(axis=1) + cash_
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = values / equity[:, None]
    off = np.flatnonzero((np.abs(weights - target) > threshold).any(axis=1))
    return start + int(off[0]) if off.size else None
