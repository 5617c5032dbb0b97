"""Daily valuation of a portfolio from its ledger, prices and FX rates (pure numpy, no Django).

Everything is vectorised over a (days x assets) grid: quantities are the cumulative sum of dated
deltas, prices are forward-filled closes, FX is forward-filled per currency. One Python pass over
the transactions (not over days) turns splits into quantity deltas and collects the flows.

Conventions (docs/analytics.md):
- The grid is every day with a price of a held asset, or a transaction, from the first transaction
  to ``end``. Values are end-of-day; external flows happen at the start of their day.
- Portfolio value = market value of the holdings + cash, in the base currency at the day's FX
  rate. External flows: deposits, withdrawals and transfers of shares (at the day's market value).
  Dividends and interest stay inside (they are return), fees reduce value (they cost return).
- A ledger with no deposits at all (trades only, cash not tracked) is valued without cash and its
  buys and sales are the external flows ("trades as flows"), so repeated buys never show as gains.
- Per holding: value = its market value; flows = buys (in), sales and dividends (out), share
  transfers at market value; so the holding's return includes its dividends and its fees.
- Money in arrives at the start of its day (a buy earns that day's move from its price); money out
  leaves at the end of its day (a sale's proceeds are the day's value): the daily return is
  ``(V_t + out_t) / (V_{t-1} + in_t) - 1``. Selling everything is then a plain 0% day at the sale
  price, never a -100% artefact, and a position bought back later chains on without a gap effect.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .returns import twr_daily_returns

KINDS = {
    "buy": 0,
    "sell": 1,
    "dividend": 2,
    "interest": 3,
    "fee": 4,
    "deposit": 5,
    "withdrawal": 6,
    "split": 7,
    "transfer_in": 8,
    "transfer_out": 9,
}
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


@dataclass
class LedgerArrays:
    """Transactions in ledger order. ``asset`` indexes ``PriceArrays``; -1 for none."""

    day: NDArray[np.int64]  # day numbers since 1970-01-01
    kind: NDArray[np.int8]  # KINDS
    asset: NDArray[np.int64]
    quantity: NDArray[np.float64]  # split: ratio
    price: NDArray[np.float64]  # transaction currency
    amount: NDArray[np.float64]  # transaction currency
    fx: NDArray[np.float64]  # transaction currency -> base


@dataclass
class PriceArrays:
    """Per asset: ascending day numbers and closes (asset currency), and a currency index."""

    days: list[NDArray[np.int64]]
    closes: list[NDArray[np.float64]]
    currency: NDArray[np.int64]  # index into FxArrays


@dataclass
class FxArrays:
    """Per currency: ascending day numbers and base units per currency unit (base itself: empty)."""

    days: list[NDArray[np.int64]]
    rates: list[NDArray[np.float64]]


@dataclass
class Valuation:
    days: NDArray[np.int64]  # the grid
    value: NDArray[np.float64]  # portfolio value, base currency, end of day
    cash: NDArray[np.float64]
    market_value: NDArray[np.float64]
    flows: NDArray[np.float64]  # external flows, start of day (investor -> portfolio positive)
    invested: NDArray[np.float64]  # cumulative external flows (net contributions)
    returns: NDArray[np.float64]  # daily time-weighted returns
    holding_value: NDArray[np.float64]  # (days x assets), base currency
    holding_flows: NDArray[np.float64]  # (days x assets), base currency
    holding_value_local: NDArray[np.float64]  # (days x assets), asset currency
    holding_flows_local: NDArray[np.float64]
    dividends: NDArray[np.float64]  # per asset, base currency, over the whole grid (daily in holding_income)
    holding_income: NDArray[np.float64]  # (days x assets) dividends, base currency
    holding_pre: NDArray[np.float64]  # (days x assets) value before the day's first trade, NaN without trade
    trades_as_flows: bool = False
    notes: list[str] = field(default_factory=list)


def _ffill_on(grid: NDArray[np.int64], days: NDArray[np.int64], values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Values carried forward onto ``grid`` (NaN before the first one)."""
    if days.size == 0:
        return np.full(grid.size, np.nan)
    pos = np.searchsorted(days, grid, side="right") - 1
    out = values[np.clip(pos, 0, None)].astype("float64")
    out[pos < 0] = np.nan
    return out


def daily_returns(
    value: NDArray[np.float64], flows: NDArray[np.float64], pre: NDArray[np.float64] | None = None
) -> NDArray[np.float64]:
    """Daily time-weighted returns along axis 0, chain-linked across each day's flows.

    ``pre`` is the value just before the day's trades, at the trade price (NaN when the day has no
    trade: then money in counts from the start of the day, at the previous value). Money out
    leaves at the end of the day. So a day with flows is two sub-periods:
    ``r = (pre / V_{t-1}) * (V_t + out) / (pre + in) - 1``. Without ``pre`` this is exactly
    ``returns.twr_daily_returns`` for inflows (start of day) with outflows moved to the day's end;
    with it, buying or selling at a price other than the close is measured exactly, so repeated buys
    and sales never show as gains or losses of their own.
    """
    prev = np.zeros_like(value)
    prev[1:] = value[:-1]
    if pre is None:
        out = np.minimum(flows, 0.0)
        moved = np.zeros_like(out)
        moved[1:] = out[:-1]
        twr: NDArray[np.float64] = twr_daily_returns(value - out, np.maximum(flows, 0.0) + moved, strict=False)
        return twr  # arrays in, an array out
    pre = np.where(np.isnan(pre), prev, pre)
    inflow = np.maximum(flows, 0.0)
    outflow = np.maximum(-flows, 0.0)
    tol = np.abs(prev)
    tol += np.abs(flows)
    tol *= 1e-9
    first = np.ones_like(value)
    held = prev > tol
    np.divide(pre, prev, out=first, where=held)
    base = pre + inflow
    invested = base > tol
    r = value + outflow
    np.divide(r, base, out=r, where=invested)
    r *= first
    r -= 1.0
    # Nothing invested at the end of the day: the first sub-period alone (a sale of everything at
    # the open is impossible here, so this is 0 unless the previous value moved to the trade price).
    idle = ~invested
    r[idle] = np.where(held[idle], first[idle] - 1.0, 0.0)
    return r


def value_portfolio(ledger: LedgerArrays, prices: PriceArrays, fx: FxArrays, *, end_day: int) -> Valuation:
    n_assets = len(prices.days)
    first = int(ledger.day.min()) if ledger.day.size else end_day
    parts = [ledger.day[ledger.day <= end_day]]
    held = np.unique(ledger.asset[ledger.asset >= 0])
    for a in held:
        d = prices.days[a]
        parts.append(d[(d >= first) & (d <= end_day)])
    every = np.concatenate(parts) if parts else np.array([end_day])
    # A presence mask over the day range: linear, where np.unique would sort millions of days.
    if every.size:
        lo = int(every.min())
        mask = np.zeros(int(every.max()) - lo + 1, dtype=bool)
        mask[every - lo] = True
        grid = np.flatnonzero(mask).astype("int64") + lo
    else:
        grid = every
    if grid.size == 0:
        grid = np.array([end_day])
    n = grid.size

    # Forward-filled closes and FX per asset.
    # (days x assets) matrices are column-major: per-asset columns and time cumsums are contiguous.
    close = np.full((n, n_assets), np.nan, order="F")
    rate = np.ones((n, n_assets), order="F")
    fx_cache: dict[int, NDArray[np.float64]] = {}
    for a in held:
        d = prices.days[a]
        if d.size == n and d[0] == grid[0] and d[-1] == grid[-1] and np.array_equal(d, grid):
            close[:, a] = prices.closes[a]  # the asset trades every grid day: no search needed
        else:
            close[:, a] = _ffill_on(grid, d, prices.closes[a])
        c = int(prices.currency[a])
        if c not in fx_cache:
            fx_cache[c] = (
                np.ones(n)
                if fx.days[c].size == 0 and fx.rates[c].size == 0
                else _ffill_on(grid, fx.days[c], fx.rates[c])
            )
        rate[:, a] = fx_cache[c]
    close_filled = np.nan_to_num(close, nan=0.0)
    rate_filled = np.where(np.isnan(rate), 1.0, rate)

    keep = ledger.day <= end_day
    day = ledger.day[keep]
    kind = ledger.kind[keep]
    asset = ledger.asset[keep]
    qty = ledger.quantity[keep]
    price = np.nan_to_num(ledger.price[keep])
    amount = ledger.amount[keep]
    txfx = ledger.fx[keep]
    row = np.searchsorted(grid, day)

    trades_as_flows = not bool(np.isin(kind, (KINDS["deposit"], KINDS["transfer_in"])).any())

    # Vectorised over the transactions. Splits: every quantity delta is expressed in the units
    # after all of its asset's later splits (times the product of the later ratios), so the
    # quantities are a plain cumulative sum divided by the day's remaining split factor.
    buy, sell, div, interest, fee, dep, wd, split, tin, tout = range(10)
    m = day.size
    has_asset = asset >= 0
    a_idx = np.where(has_asset, asset, 0)
    base_amount = amount * txfx
    sign = np.select([kind == buy, kind == sell, kind == tin, kind == tout], [1.0, -1.0, 1.0, -1.0], 0.0)
    qd = sign * qty
    is_split = kind == split
    log_ratio = np.where(is_split & (qty > 0), np.log(np.where(qty > 0, qty, 1.0)), 0.0)
    # Product of the ratios of the asset's splits after each row: a reverse cumulative sum per asset.
    order = np.lexsort((np.arange(m), a_idx))
    groups = a_idx[order]
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1] if m else np.zeros(0, dtype="int64")
    sizes = np.diff(np.r_[starts, m]) if m else np.zeros(0, dtype="int64")

    def exclusive_group_cumsum(values_sorted: NDArray[np.float64]) -> NDArray[np.float64]:
        cs = np.cumsum(values_sorted)
        offset = np.repeat(cs[starts] - values_sorted[starts], sizes) if m else cs
        return cs - values_sorted - offset

    def group_totals(values_sorted: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.repeat(np.add.reduceat(values_sorted, starts), sizes) if m else values_sorted

    lr_sorted = log_ratio[order]
    log_after = np.empty(m)
    log_after[order] = group_totals(lr_sorted) - exclusive_group_cumsum(lr_sorted) - lr_sorted
    factor_after = np.exp(log_after)
    qd_final = qd * factor_after
    # Shares held just before each row, in the units of that moment (for pre-trade values).
    held_before = np.empty(m)
    held_before[order] = exclusive_group_cumsum(qd_final[order])
    held_before /= factor_after

    dq = np.zeros((n, n_assets), order="F")
    np.add.at(dq, (row[has_asset], a_idx[has_asset]), qd_final[has_asset])
    # Remaining split factor at the end of each day: the product of the splits on later days.
    remaining = np.ones((n, n_assets), order="F")
    for i in np.flatnonzero(is_split & (log_ratio != 0)):
        remaining[: row[i], a_idx[i]] *= qty[i]

    cash_sign = np.select(
        [kind == buy, kind == sell, kind == div, kind == interest, kind == fee, kind == dep, kind == wd],
        [-1.0, 1.0, 1.0, 1.0, -1.0, 1.0, -1.0],
        0.0,
    )
    cash_delta: NDArray[np.float64] = np.bincount(row, weights=cash_sign * base_amount, minlength=n)  # type: ignore[assignment]  # numpy's stub says intp; with weights it is float64
    # Share transfers move at the day's market value (the carried price when there is none).
    # (no asset column at all when the ledger holds only cash: a_idx 0 would be out of bounds)
    mv_transfer = qty * close_filled[row, a_idx] * rate_filled[row, a_idx] if n_assets else np.zeros(m)
    mv_transfer = np.where(mv_transfer == 0, qty * price * txfx, mv_transfer)
    holding_sign = np.select(
        [kind == buy, kind == sell, kind == div, kind == fee, kind == tin, kind == tout],
        [1.0, -1.0, -1.0, 1.0, 1.0, -1.0],
        0.0,
    )
    holding_amount = np.where((kind == tin) | (kind == tout), mv_transfer, base_amount) * holding_sign
    hm = has_asset & (holding_sign != 0)
    hflows = np.zeros((n, n_assets), order="F")
    np.add.at(hflows, (row[hm], a_idx[hm]), holding_amount[hm])
    hflows_local = np.zeros((n, n_assets), order="F")
    np.add.at(hflows_local, (row[hm], a_idx[hm]), holding_amount[hm] / rate_filled[row[hm], a_idx[hm]])
    income = np.zeros((n, n_assets), order="F")
    dm = has_asset & (kind == div)
    np.add.at(income, (row[dm], a_idx[dm]), base_amount[dm])

    if trades_as_flows:
        flow_sign = np.select(
            [kind == buy, kind == sell, kind == div, kind == interest, kind == fee, kind == tin, kind == tout],
            [1.0, -1.0, -1.0, -1.0, 1.0, 1.0, -1.0],
            0.0,
        )
    else:
        flow_sign = np.select([kind == dep, kind == wd, kind == tin, kind == tout], [1.0, -1.0, 1.0, -1.0], 0.0)
    flow_amount = np.where((kind == tin) | (kind == tout), mv_transfer, base_amount) * flow_sign
    flows: NDArray[np.float64] = np.bincount(row, weights=flow_amount, minlength=n)  # type: ignore[assignment]  # numpy's stub says intp; with weights it is float64

    # Value of each holding just before its first trade of the day, at that trade's price.
    pre = np.full((n, n_assets), np.nan, order="F")
    trade = has_asset & ((kind == buy) | (kind == sell)) & (price > 0)
    if trade.any():
        t_idx = np.flatnonzero(trade)
        key = row[t_idx] * n_assets + a_idx[t_idx]
        _, first_of_key = np.unique(key, return_index=True)
        sel = t_idx[first_of_key]
        pre[row[sel], a_idx[sel]] = held_before[sel] * price[sel] * txfx[sel]

    quantity = np.cumsum(dq, axis=0)
    quantity /= remaining
    quantity[np.abs(quantity) < 1e-9] = 0.0
    value_local = quantity * close_filled
    holding_value = value_local * rate_filled
    market_value = holding_value.sum(axis=1)
    cash = np.cumsum(cash_delta)
    value = market_value if trades_as_flows else market_value + cash
    holding_prev = np.vstack([np.zeros((1, n_assets)), holding_value[:-1]])
    if trades_as_flows:
        # Before the day's trades the portfolio was worth its holdings at their trade prices.
        adjust = np.nansum(pre - holding_prev, axis=1, where=~np.isnan(pre))
        port_pre = np.concatenate([[0.0], value[:-1]]) + adjust
        port_pre[~(~np.isnan(pre)).any(axis=1)] = np.nan
    else:
        port_pre = None
    notes = []
    if trades_as_flows:
        notes.append("no deposits in the ledger: cash is not tracked, buys and sales are the external flows")
    returns = daily_returns(value, flows, port_pre)
    return Valuation(
        days=grid,
        value=value,
        cash=np.zeros(n) if trades_as_flows else cash,
        market_value=market_value,
        flows=flows,
        invested=np.cumsum(flows),
        returns=returns,
        holding_value=holding_value,
        holding_flows=hflows,
        holding_value_local=value_local,
        holding_flows_local=hflows_local,
        dividends=income.sum(axis=0),
        holding_income=income,
        holding_pre=pre,
        trades_as_flows=trades_as_flows,
        notes=notes,
    )


def period_slice(days: NDArray[np.int64], start_day: int | None, end_day: int | None) -> tuple[int, int]:
    """Grid positions (i0, i1) of a period: the returns of days i0+1..i1 count, the value at i0 is
    the starting base. i0 is the last grid day on or before ``start_day``, or -1 (before the first
    day, value 0) for a start at or before inception."""
    i1 = int(np.searchsorted(days, end_day, side="right") - 1) if end_day is not None else days.size - 1
    i1 = max(i1, 0)
    if start_day is None or start_day < days[0]:
        return -1, i1
    return min(int(np.searchsorted(days, start_day, side="right") - 1), i1), i1


def _ffill_rows(a: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward-fill NaN down each column (the local/base ratio of a day without value)."""
    mask = np.isnan(a)
    idx = np.where(~mask, np.arange(a.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    out = a[idx, np.arange(a.shape[1])]
    return np.where(np.isnan(out), 1.0, out)


def chain(returns: NDArray[np.float64]) -> float:
    return float(np.prod(1.0 + returns) - 1.0) if returns.size else 0.0


def holding_returns(
    v: Valuation, i0: int, i1: int, foreign: NDArray[np.bool_] | None = None
) -> dict[str, NDArray[np.float64]]:
    """Per-holding TWR in base and local currency, P&L and contribution over (i0, i1].

    ``foreign`` marks the holdings quoted in another currency than the base; only those need a
    second, local-currency return series (the others' local return is the base return)."""
    hv, hf = v.holding_value, v.holding_flows
    rb = daily_returns(hv, hf, v.holding_pre)
    rl = rb.copy()
    cols = np.flatnonzero(foreign) if foreign is not None else np.arange(hv.shape[1])
    if cols.size:
        hvf = hv[:, cols]
        with np.errstate(invalid="ignore", divide="ignore"):
            fx_ratio = np.where(hvf != 0, v.holding_value_local[:, cols] / np.where(hvf != 0, hvf, 1.0), np.nan)
        rl[:, cols] = daily_returns(
            v.holding_value_local[:, cols],
            v.holding_flows_local[:, cols],
            v.holding_pre[:, cols] * _ffill_rows(fx_ratio),
        )
    sl = slice(i0 + 1, i1 + 1)
    twr = np.prod(1.0 + rb[sl], axis=0) - 1.0
    twr_local = np.prod(1.0 + rl[sl], axis=0) - 1.0
    prev = np.vstack([np.zeros((1, hv.shape[1])), hv[:-1]])
    pnl_daily = hv - prev - hf  # includes dividends (paid out as flows) and fees (paid in)
    capital = np.concatenate([[0.0], v.value[:-1]]) + v.flows
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib_daily = np.where(capital[:, None] > 0, pnl_daily / capital[:, None], 0.0)
    return {
        "daily": rb[sl],
        "twr": twr,
        "twr_local": twr_local,
        "currency_effect": (1.0 + twr) / np.where(twr_local > -1.0, 1.0 + twr_local, np.nan) - 1.0,
        "pnl": pnl_daily[sl].sum(axis=0),
        "contribution": contrib_daily[sl].sum(axis=0),
        "dividends": v.holding_income[sl].sum(axis=0),
    }


def mwr_flows(v: Valuation, i0: int, i1: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Investor-side dated amounts for XIRR over (i0, i1]: the starting value paid in at i0 (none
    from inception), each external flow (money in negative), the final value taken out at i1."""
    start_days = np.array([v.days[i0]] if i0 >= 0 else [], dtype="int64")
    start_amounts = np.array([-v.value[i0]] if i0 >= 0 else [], dtype="float64")
    idx = np.arange(i0 + 1, i1 + 1)
    idx = idx[v.flows[idx] != 0]
    days = np.concatenate([start_days, v.days[idx], [v.days[i1]]])
    amounts = np.concatenate([start_amounts, -v.flows[idx], [v.value[i1]]])
    return days, amounts
