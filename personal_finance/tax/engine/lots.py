"""Lots, pieces of lots and positions, and the order in which each method sells them.

Every buy opens a `Lot`. A lot is held as one or more `Piece`s: the lot's own shares (`lot.base`)
plus, for each wash sale it absorbed, a piece of replacement shares carrying the disallowed loss
and the tacked acquisition date. A piece is sold or split off pro rata, so totals stay exact.

A `Position` is the open shares of one symbol in one account. It keeps a heap of its pieces in
the order the method sells them (lazy deletion: sold-out pieces are skipped when popped):

* fifo / average: earliest purchase first; lifo: latest purchase first;
* hifo: highest adjusted cost per share first (earliest purchase breaks ties);
* within one lot, the piece with the earliest (adjusted) acquisition date first.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TypeAlias

from .types import ZERO

# A piece's place in its method's selling order (compared as tuples; smallest is sold first).
SortKey: TypeAlias = tuple[int, int, int] | tuple[Decimal, int, int, int]


class Piece:
    __slots__ = ("acq", "acq_ord", "adj", "cost", "lot", "qty", "seq", "used")

    def __init__(self, lot: Lot, qty: Decimal, cost: Decimal, adj: Decimal, acq: date, *, seq: int, used: bool):
        self.lot = lot
        self.qty = qty
        self.cost = cost  # purchase cost incl. fees of these shares
        self.adj = adj  # wash-sale adjustments carried by these shares
        self.acq = acq  # adjusted acquisition date
        self.acq_ord = acq.toordinal()
        self.seq = seq
        self.used = used  # already a wash-sale replacement (absorbs no further loss)

    @property
    def basis(self) -> Decimal:
        return self.cost + self.adj

    def take(self, qty: Decimal) -> tuple[Decimal, Decimal]:
        """Remove `qty` shares; return their (cost, adjustment), pro rata."""
        if qty >= self.qty:
            cost, adj = self.cost, self.adj
            self.qty, self.cost, self.adj = ZERO, ZERO, ZERO
            return cost, adj
        cost = self.cost * qty / self.qty
        adj = self.adj * qty / self.qty if self.adj else ZERO
        self.qty -= qty
        self.cost -= cost
        self.adj -= adj
        return cost, adj


class Lot:
    __slots__ = ("account", "base", "date", "date_ord", "id", "index", "opened", "pieces", "row", "seq", "symbol")

    def __init__(
        self, *, id: str, symbol: str, account: str, date: date, seq: int, qty: Decimal, cost: Decimal, row: int
    ):
        self.id = id
        self.symbol = symbol
        self.account = account
        self.date = date
        self.date_ord = date.toordinal()
        self.seq = seq  # position of the buy in processing order
        self.row = row
        self.opened = False
        self.index = -1  # position in the symbol's replacement index
        self.base = Piece(self, qty, cost, ZERO, date, seq=0, used=False)
        self.pieces = [self.base]

    @property
    def open_qty(self) -> Decimal:
        return sum((p.qty for p in self.pieces), ZERO)


def _key_fifo(p: Piece) -> tuple[int, int, int]:
    return (p.lot.seq, p.acq_ord, p.seq)


def _key_lifo(p: Piece) -> tuple[int, int, int]:
    return (-p.lot.seq, p.acq_ord, p.seq)


def _key_hifo(p: Piece) -> tuple[Decimal, int, int, int]:
    return (-(p.basis / p.qty), p.lot.seq, p.acq_ord, p.seq)


KEYS: dict[str, Callable[[Piece], SortKey]] = {
    "fifo": _key_fifo,
    "average": _key_fifo,
    "specific": _key_fifo,
    "lifo": _key_lifo,
    "hifo": _key_hifo,
}


class Position:
    """Open shares of one symbol in one account."""

    __slots__ = ("_counter", "average", "heap", "key", "method", "pool_basis", "qty")

    def __init__(self, method: str):
        self.method = method
        self.average = method == "average"
        self.key = KEYS[method]
        self.heap: list[tuple[SortKey, int, Piece]] = []
        self.qty = ZERO
        self.pool_basis = ZERO  # used by the average method only
        self._counter = 0

    def push(self, piece: Piece) -> None:
        self._counter += 1
        heapq.heappush(self.heap, (self.key(piece), self._counter, piece))

    def rebuild(self) -> None:
        pieces = [entry[2] for entry in self.heap if entry[2].qty > 0]
        self.heap = []
        for piece in pieces:
            self.push(piece)

    def take_in_order(self, qty: Decimal) -> list[tuple[Piece, Decimal]]:
        """Pop pieces in method order until `qty` shares are covered; returns (piece, shares)."""
        out: list[tuple[Piece, Decimal]] = []
        heap = self.heap
        need = qty
        while need > 0 and heap:
            piece = heap[0][2]
            if piece.qty <= 0:
                heapq.heappop(heap)
                continue
            take = piece.qty if piece.qty <= need else need
            out.append((piece, take))
            need -= take
            if take == piece.qty:
                heapq.heappop(heap)
        return out

    def open_pieces(self) -> list[Piece]:
        return [entry[2] for entry in self.heap if entry[2].qty > 0]
