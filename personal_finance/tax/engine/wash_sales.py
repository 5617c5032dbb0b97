"""Wash-sale matching (IRC 1091; Treas. Reg. 1.1091-1 and 1.1091-2; IRS Publication 550).

A loss on a sale is disallowed when substantially identical shares (here: the same symbol, in any
account) are acquired within 30 days before or after the sale. Rules applied (docs/contracts.md §12):

* losses are matched in the order of the sales, earliest first (Reg. 1.1091-1(b)); within one
  sale, its loss shares in the order they were originally acquired;
* each loss is matched to the earliest replacement shares in the window, in purchase order
  (Reg. 1.1091-1(c)-(e); Pub. 550 "More or less stock bought than sold");
* one replacement share absorbs one loss share, once (a piece that absorbed a loss is marked used);
  with fewer replacement shares than loss shares only that part of the loss is disallowed;
* shares of the lot being sold are not its replacements; shares bought before the sale count only
  while still held after it (they must be there to receive the basis);
* the disallowed loss is added to the replacement shares' basis and the sold shares' holding period
  is tacked on (IRC 1091(d), 1223(3); Reg. 1.1091-2), so a later loss on those shares carries it
  forward (chained washes);
* gains are never washed.

`ReplacementIndex` keeps, per symbol, the buys in processing order with their trade dates, found
with `bisect`; a union-find "next live buy" pointer skips buys that have no replacement shares
left, so the matching stays near-linear over the whole history.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from decimal import Decimal

from .lots import Lot

WINDOW_DAYS = 30


class SymbolIndex:
    __slots__ = ("dates", "lots", "nxt", "splits")

    def __init__(self) -> None:
        self.lots: list[Lot] = []
        self.dates: list[int] = []
        self.nxt: list[int] = []
        self.splits: list[tuple[int, Decimal]] = []  # (processing seq, ratio)

    def add(self, lot: Lot) -> None:
        lot.index = len(self.lots)
        self.lots.append(lot)
        self.dates.append(lot.date_ord)
        self.nxt.append(lot.index)

    def find(self, i: int) -> int:
        """The first index >= i whose lot may still have replacement shares."""
        nxt = self.nxt
        n = len(nxt)
        root = i
        while root < n and nxt[root] != root:
            root = nxt[root]
        while i < n and nxt[i] != i:  # path compression
            nxt[i], i = root, nxt[i]
        return root

    def kill(self, i: int) -> None:
        self.nxt[i] = i + 1

    def window(self, sale_ord: int) -> tuple[int, int]:
        return bisect_left(self.dates, sale_ord - WINDOW_DAYS), bisect_right(self.dates, sale_ord + WINDOW_DAYS)

    def split_factor(self, after_seq: int, upto_seq: int) -> Decimal | None:
        """Product of split ratios processed strictly between two sequence numbers (None: no split)."""
        factor = None
        for seq, ratio in self.splits:
            if after_seq < seq < upto_seq:
                factor = ratio if factor is None else factor * ratio
        return factor


class ReplacementIndex:
    def __init__(self) -> None:
        self.symbols: dict[str, SymbolIndex] = {}

    def add(self, lot: Lot) -> None:
        index = self.symbols.get(lot.symbol)
        if index is None:
            index = self.symbols[lot.symbol] = SymbolIndex()
        index.add(lot)

    def add_split(self, symbol: str, seq: int, ratio: Decimal) -> None:
        index = self.symbols.get(symbol)
        if index is None:
            index = self.symbols[symbol] = SymbolIndex()
        index.splits.append((seq, ratio))

    def get(self, symbol: str) -> SymbolIndex | None:
        return self.symbols.get(symbol)
