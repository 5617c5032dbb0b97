"""The engine's single pass: transactions in, realised rows and open lots out (full precision).

Transactions are processed in date order; trades of one day keep their input order, or the order
of their `time` when given. Buys open lots, splits scale open lots (total basis and dates kept),
sales take lots by the chosen method and then go through wash-sale matching against the buys of
the same symbol within 30 days before or after (in any account).
"""

from __future__ import annotations

import decimal
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeAlias

from .holding import ANNIVERSARY_ORDINALS as _ANNIVERSARY
from .holding import anniversary
from .lots import Lot, Piece, Position
from .types import (
    BUY,
    DEFAULT_METHOD,
    LONG,
    METHODS,
    SELL,
    SHORT,
    SPLIT,
    TRANSFER_OUT,
    ZERO,
    OpenLot,
    RealizedRow,
    TaxInputError,
    Transaction,
)
from .wash_sales import ReplacementIndex, SymbolIndex

PRECISION = 34  # significant digits of intermediate Decimal arithmetic (IEEE decimal128)


# A loss of one sale: (lot seq, acquisition ordinal, piece index in the sale, its row, its lot).
_Loss: TypeAlias = tuple[int, int, int, RealizedRow, Lot]


def _loss_order(loss: _Loss) -> tuple[int, int, int]:
    return loss[:3]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: the engine allocates hundreds of thousands of small
    objects (pieces refer to their lot and back) and nothing it makes is garbage until the end,
    so generation scans are pure overhead (about 40% of the run time at 100,000 transactions)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class EngineResult:
    method: str
    realized: list[RealizedRow]
    lots: list[OpenLot]
    transactions: int


def _row(tx: Transaction, index: int) -> int:
    return tx.row if tx.row is not None else index + 1


def order_transactions(transactions: Iterable[Transaction]) -> list[Transaction]:
    """Date order; one day's trades by `time` when given, otherwise in input order (stable)."""
    return sorted(transactions, key=lambda t: (t.date, t.time))


def compute(
    transactions: Iterable[Transaction],
    method: str = DEFAULT_METHOD,
    *,
    account_methods: dict[str, str] | None = None,
) -> EngineResult:
    """Run the engine. `account_methods` gives some accounts their own lot method (a portfolio's
    default); the others use `method`. Wash-sale matching runs across all accounts either way."""
    for m in (method, *(account_methods or {}).values()):
        if m not in METHODS:
            raise TaxInputError(f"unknown lot method {m!r} (expected one of {', '.join(METHODS)})")
    with decimal.localcontext() as ctx, gc_paused():
        ctx.prec = PRECISION
        ctx.rounding = decimal.ROUND_HALF_EVEN
        return _Engine(method, account_methods).run(list(transactions))


class _Engine:
    def __init__(self, method: str, account_methods: dict[str, str] | None = None) -> None:
        self.method = method
        self.account_methods = account_methods or {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.index = ReplacementIndex()
        self.lots_by_id: dict[str, Lot] = {}
        self.realized: list[RealizedRow] = []

    # -- setup -------------------------------------------------------------------------------
    def _position(self, account: str, symbol: str) -> Position:
        key = (account, symbol)
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = Position(self.account_methods.get(account, self.method))
        return pos

    def run(self, raw: list[Transaction]) -> EngineResult:
        rows = {id(tx): _row(tx, i) for i, tx in enumerate(raw)}
        txs = order_transactions(raw)
        self.rows = [rows[id(tx)] for tx in txs]
        self.lot_at: list[Lot | None] = [None] * len(txs)
        seen_ids: set[str] = set()
        for seq, tx in enumerate(txs):
            row = self.rows[seq]
            self._validate(tx, row)
            if tx.id in seen_ids:
                raise TaxInputError(f"duplicate id {tx.id!r}", row=row, column="id")
            seen_ids.add(tx.id)
            if tx.action == BUY:
                lot = Lot(
                    id=tx.id,
                    symbol=tx.symbol,
                    account=tx.account,
                    date=tx.date,
                    seq=seq,
                    qty=tx.quantity,
                    cost=tx.quantity * tx.price + tx.fees,
                    row=row,
                )
                self.lot_at[seq] = lot
                self.lots_by_id[tx.id] = lot
                self.index.add(lot)
            elif tx.action == SPLIT:
                assert tx.ratio is not None  # _validate refused a split without one
                self.index.add_split(tx.symbol, seq, tx.ratio)

        for seq, tx in enumerate(txs):
            if tx.action == BUY:
                lot_at = self.lot_at[seq]
                assert lot_at is not None  # every buy opened its lot above
                self._open(lot_at)
            elif tx.action == SELL:
                self._sell(tx, seq)
            elif tx.action == TRANSFER_OUT:
                self._transfer_out(tx, seq)
            else:
                self._split(tx)
        return EngineResult(self.method, self.realized, self._open_lots(), len(txs))

    @staticmethod
    def _validate(tx: Transaction, row: int) -> None:
        if tx.action not in (BUY, SELL, SPLIT, TRANSFER_OUT):
            raise TaxInputError(
                f"unknown action {tx.action!r} (expected buy, sell or split)", row=row, column="action"
            )
        if not tx.symbol:
            raise TaxInputError("missing symbol", row=row, column="symbol")
        if tx.action == SPLIT:
            if tx.ratio is None or tx.ratio <= 0:
                raise TaxInputError("a split needs a positive ratio such as 2:1", row=row, column="ratio")
            return
        if tx.quantity <= 0:
            raise TaxInputError(f"quantity must be positive, got {tx.quantity}", row=row, column="quantity")
        if tx.price < 0:
            raise TaxInputError(f"price must not be negative, got {tx.price}", row=row, column="price")
        if tx.fees < 0:
            raise TaxInputError(f"fees must not be negative, got {tx.fees}", row=row, column="fees")

    # -- buys and splits -----------------------------------------------------------------------
    def _open(self, lot: Lot) -> None:
        lot.opened = True
        pos = self._position(lot.account, lot.symbol)
        for piece in lot.pieces:
            if piece.qty > 0:
                pos.push(piece)
                pos.qty += piece.qty
                if pos.average:
                    pos.pool_basis += piece.basis

    def _split(self, tx: Transaction) -> None:
        ratio = tx.ratio
        assert ratio is not None  # _validate refused a split without one
        index = self.index.get(tx.symbol)
        if index is not None:
            for lot in index.lots:
                if not lot.opened:
                    break  # lots are indexed in processing order: the rest are later buys
                for piece in lot.pieces:
                    if piece.qty > 0:
                        piece.qty *= ratio
        for (_account, symbol), pos in self.positions.items():
            if symbol == tx.symbol:
                pos.qty *= ratio
                pos.rebuild()

    # -- sales -----------------------------------------------------------------------------------
    def _sell(self, tx: Transaction, seq: int) -> None:
        row = self.rows[seq]
        pos = self.positions.get((tx.account, tx.symbol))
        held = pos.qty if pos is not None else ZERO
        if pos is None or tx.quantity > held:  # no position: nothing held (the quantity is positive)
            where = f" in account {tx.account!r}" if tx.account else ""
            raise TaxInputError(
                f"sell {tx.id!r} of {_fmt(tx.quantity)} {tx.symbol} on {tx.date.isoformat()} exceeds the "
                f"{_fmt(held)} shares held{where}",
                row=row,
                column="quantity",
            )
        if pos.method == "specific" and tx.lots:
            takes = self._specific(tx, row)
        else:
            takes = pos.take_in_order(tx.quantity)
        sold_qty = tx.quantity
        proceeds_total = sold_qty * tx.price - tx.fees
        date_sold = tx.date
        sold_ord = date_sold.toordinal()
        tx_id, symbol, account = tx.id, tx.symbol, tx.account
        average = pos.average
        realized_out = self.realized
        losses: list[_Loss] = []
        pool_qty, pool_basis = pos.qty, pos.pool_basis
        allotted_qty = allotted_proceeds = allotted_basis = ZERO
        last = len(takes) - 1
        for k, (piece, qty) in enumerate(takes):
            acq = piece.acq
            acq_ord = piece.acq_ord
            lot = piece.lot
            cost, adj = piece.take(qty)
            if k == last:
                proceeds = proceeds_total - allotted_proceeds
            else:
                proceeds = proceeds_total * qty / sold_qty
                allotted_proceeds += proceeds
            if average:
                allotted_qty += qty
                if k == last and allotted_qty == pool_qty:
                    basis = pool_basis - allotted_basis
                else:
                    basis = pool_basis * qty / pool_qty
                allotted_basis += basis
            else:
                basis = cost + adj
            ann = _ANNIVERSARY.get(acq_ord)
            if ann is None:
                ann = _ANNIVERSARY[acq_ord] = anniversary(acq).toordinal()
            realized = RealizedRow(
                tx_id, lot.id, symbol, account, qty, proceeds, basis, acq, date_sold, LONG if sold_ord > ann else SHORT
            )
            realized_out.append(realized)
            if proceeds < basis:
                losses.append((lot.seq, acq_ord, k, realized, lot))
        pos.qty -= sold_qty
        if average:
            pos.pool_basis -= allotted_basis
            if pos.qty == 0:
                pos.pool_basis = ZERO

        if losses:
            index = self.index.get(symbol)
            if index is not None:
                if len(losses) > 1:
                    losses.sort(key=_loss_order)  # in the order the sold shares were acquired
                for loss in losses:
                    self._wash(loss[3], loss[4], index, seq, sold_ord)

    def _transfer_out(self, tx: Transaction, seq: int) -> None:
        """Shares leave the account (a ledger transfer out): taken in method order, not realised."""
        pos = self.positions.get((tx.account, tx.symbol))
        held = pos.qty if pos is not None else ZERO
        if pos is None or tx.quantity > held:  # no position: nothing held (the quantity is positive)
            raise TaxInputError(
                f"transfer {tx.id!r} of {_fmt(tx.quantity)} {tx.symbol} on {tx.date.isoformat()} exceeds the "
                f"{_fmt(held)} shares held",
                row=self.rows[seq],
                column="quantity",
            )
        takes = pos.take_in_order(tx.quantity)
        removed = ZERO
        for piece, qty in takes:
            piece.take(qty)
        if pos.average:
            removed = pos.pool_basis * tx.quantity / pos.qty
        pos.qty -= tx.quantity
        pos.pool_basis = ZERO if pos.qty == 0 else pos.pool_basis - removed

    def _specific(self, tx: Transaction, row: int) -> list[tuple[Piece, Decimal]]:
        total = sum((q for _lot_id, q in tx.lots), ZERO)
        if total != tx.quantity:
            raise TaxInputError(
                f"lots name {_fmt(total)} shares but the sale is of {_fmt(tx.quantity)}", row=row, column="lots"
            )
        takes: list[tuple[Piece, Decimal]] = []
        for lot_id, qty in tx.lots:
            lot = self.lots_by_id.get(lot_id)
            if lot is None or not lot.opened or lot.symbol != tx.symbol or lot.account != tx.account:
                why = "unknown lot id" if lot is None else "lot not held for this symbol/account at the sale date"
                raise TaxInputError(f"{why}: {lot_id!r}", row=row, column="lots")
            pieces = sorted((p for p in lot.pieces if p.qty > 0), key=lambda p: (p.acq_ord, p.seq))
            available = sum((p.qty for p in pieces), ZERO)
            # shares already promised to this same sale from the same lot
            promised = sum((q for p, q in takes if p.lot is lot), ZERO)
            if qty > available - promised:
                raise TaxInputError(
                    f"lot {lot_id!r} holds {_fmt(available - promised)} shares, the sale names {_fmt(qty)}",
                    row=row,
                    column="lots",
                )
            need = qty
            for piece in pieces:
                already = sum((q for p, q in takes if p is piece), ZERO)
                free = piece.qty - already
                if free <= 0:
                    continue
                take = free if free <= need else need
                takes.append((piece, take))
                need -= take
                if need == 0:
                    break
        return takes

    # -- wash sales ------------------------------------------------------------------------------
    def _wash(self, realized: RealizedRow, sold_lot: Lot, index: SymbolIndex, sale_seq: int, sale_ord: int) -> None:
        loss = realized.basis - realized.proceeds
        loss_qty = realized.quantity
        lo, hi = index.window(sale_ord)
        matched = ZERO
        disallowed = ZERO
        k = index.find(lo)
        while k < hi and matched < loss_qty:
            lot = index.lots[k]
            base = lot.base
            if lot is sold_lot or base.qty <= 0:
                if base.qty <= 0:
                    index.kill(k)
                k = index.find(k + 1)
                continue
            factor = index.split_factor(sale_seq, lot.seq) if lot.seq > sale_seq and index.splits else None
            avail = base.qty if factor is None else base.qty / factor  # in shares of the sale
            m = loss_qty - matched
            m = min(m, avail)
            matched += m
            part_total = loss if matched == loss_qty else loss * matched / loss_qty
            part = part_total - disallowed
            disallowed = part_total
            shares = m if factor is None else m * factor
            shares = min(shares, base.qty)
            self._replace(lot, shares, part, realized, sale_ord)
            if base.qty <= 0:
                index.kill(k)
            k = index.find(k + 1)
        realized.disallowed_loss = disallowed

    def _replace(self, lot: Lot, shares: Decimal, part: Decimal, realized: RealizedRow, sale_ord: int) -> None:
        """Split `shares` off the lot's own shares as replacement shares carrying `part`; the sold
        shares' holding period is tacked on (see holding.tacked_acquisition)."""
        base = lot.base
        cost, adj = base.take(shares)
        held_days = sale_ord - realized.date_acquired.toordinal()
        acq = date.fromordinal(lot.date_ord - held_days) if held_days > 0 else lot.date
        piece = Piece(lot, shares, cost, adj + part, acq, seq=len(lot.pieces), used=True)
        lot.pieces.append(piece)
        if lot.opened:
            pos = self.positions[(lot.account, lot.symbol)]
            pos.push(piece)
            if pos.average:
                pos.pool_basis += part

    # -- result ------------------------------------------------------------------------------------
    def _open_lots(self) -> list[OpenLot]:
        out: list[OpenLot] = []
        pieces: list[Piece] = []
        for pos in self.positions.values():
            pieces.extend(pos.open_pieces())
        pieces.sort(key=lambda p: (p.lot.seq, p.acq_ord, p.seq))
        for piece in pieces:
            lot = piece.lot
            pos = self.positions[(lot.account, lot.symbol)]
            if pos.average:
                adjusted = pos.pool_basis * piece.qty / pos.qty
            else:
                adjusted = piece.basis
            out.append(
                OpenLot(
                    lot=lot.id,
                    symbol=lot.symbol,
                    account=lot.account,
                    quantity=piece.qty,
                    basis=piece.cost,
                    adjusted_basis=adjusted,
                    date_acquired=piece.acq,
                    original_date=lot.date,
                )
            )
        return out


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")
