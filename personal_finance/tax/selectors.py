"""The ledger as the tax engine's input, read with a bounded number of queries (docs/contracts.md §12).

Every read starts from all of the user's portfolios in one query, so wash sales are matched across
them (the engine tags each transaction with its portfolio id as the account). Amounts are in each
portfolio's base currency: a transaction's price and fees are multiplied by its `fx_rate`.

Ledger types fed to the engine: buy and transfer_in open a lot (a transfer in at its carried cost
per share, acquired on the transfer date); sell realises; transfer_out removes shares in lot-method
order without a realised row; split scales every open lot of the symbol (the same split recorded
in several portfolios counts once). Cash-only types and dividends are not fed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from personal_finance.assets.selectors import Mark, assets_with_last_price, mark_to_market
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.models import Portfolio, Transaction, TransactionType

from . import engine
from .engine.types import BUY, SELL, SPLIT, TRANSFER_OUT, ZERO, TaxInputError
from .models import TaxRate

FED_TYPES = (
    TransactionType.BUY,
    TransactionType.SELL,
    TransactionType.SPLIT,
    TransactionType.TRANSFER_IN,
    TransactionType.TRANSFER_OUT,
)
FIELDS = (
    "id",
    "portfolio_id",
    "type",
    "trade_date",
    "asset_id",
    "asset__symbol",
    "quantity",
    "price",
    "fees",
    "fx_rate",
    "tax_lots",
)


@dataclass
class LedgerFeed:
    portfolios: dict[int, Portfolio]
    transactions: list[engine.Transaction]
    assets: dict[str, int]  # symbol -> asset id
    buys: list[tuple]  # (portfolio id, transaction id, asset id, symbol, date, quantity) of every buy


def engine_transaction(row: tuple) -> engine.Transaction:
    """One row of ``FIELDS`` as the engine's transaction, amounts in the portfolio's base currency."""
    pk, portfolio_id, type_, day, _asset_id, symbol, qty, price, fees, fx, lots = row
    common = {"id": str(pk), "date": day, "symbol": symbol, "account": str(portfolio_id), "row": pk}
    if type_ == TransactionType.SPLIT:
        return engine.Transaction(action=SPLIT, ratio=qty, **common)
    price = (price or ZERO) * fx
    fees = (fees or ZERO) * fx
    if type_ in (TransactionType.BUY, TransactionType.TRANSFER_IN):
        return engine.Transaction(action=BUY, quantity=qty, price=price, fees=fees, **common)
    if type_ == TransactionType.SELL:
        named = tuple((str(k), Decimal(str(v))) for k, v in (lots or {}).items())
        return engine.Transaction(action=SELL, quantity=qty, price=price, fees=fees, lots=named, **common)
    return engine.Transaction(action=TRANSFER_OUT, quantity=qty, **common)


def ledger_feed(*, user, asset_id: int | None = None, portfolio_ids=None) -> LedgerFeed:
    """Every share transaction of the user's portfolios, in ledger order (two queries)."""
    portfolios = {p.pk: p for p in Portfolio.objects.filter(owner=user).order_by("pk")}
    qs = Transaction.objects.filter(portfolio__owner=user, type__in=FED_TYPES, asset__isnull=False)
    if asset_id is not None:
        qs = qs.filter(asset_id=asset_id)
    if portfolio_ids is not None:
        qs = qs.filter(portfolio_id__in=list(portfolio_ids))
    txs: list[engine.Transaction] = []
    assets: dict[str, int] = {}
    buys: list[tuple] = []
    splits_seen: set[tuple] = set()
    for row in qs.order_by("trade_date", "id").values_list(*FIELDS).iterator(chunk_size=5000):
        pk, portfolio_id, type_, day, a_id, symbol, qty = row[:7]
        assets[symbol] = a_id
        if type_ == TransactionType.SPLIT:
            key = (symbol, day, qty)
            if key in splits_seen:
                continue
            splits_seen.add(key)
        elif type_ == TransactionType.BUY:
            buys.append((portfolio_id, pk, a_id, symbol, day, qty))
        txs.append(engine_transaction(row))
    return LedgerFeed(portfolios=portfolios, transactions=txs, assets=assets, buys=buys)


def portfolio_scope(*, user, portfolio: Portfolio | None) -> list[Portfolio]:
    """``[portfolio]`` (404 when it is not the user's), or all of the user's portfolios."""
    if portfolio is not None and portfolio.owner_id != user.pk:
        raise ApplicationError("Portfolio not found.", status_code=404)
    return [portfolio] if portfolio is not None else list(Portfolio.objects.filter(owner=user))


def _account_methods(feed: LedgerFeed, scope: list[Portfolio], method: str | None) -> dict[str, str]:
    methods = {str(pk): p.tax_lot_method for pk, p in feed.portfolios.items()}
    if method:
        for p in scope:
            methods[str(p.pk)] = method
    return methods


def _input_error(exc: TaxInputError, field: str = "transactions") -> ApplicationError:
    where = f"transaction {exc.row}: " if exc.row is not None else ""
    message = f"The ledger cannot be reported: {where}{exc.message}"
    return ApplicationError(message, errors={field: [f"{where}{exc.message}"]})


class LedgerReport(NamedTuple):
    report: engine.TaxReport
    feed: LedgerFeed
    scope: list[Portfolio]  # the portfolios reported on
    methods: dict[str, str]  # portfolio id (the engine's account) -> lot method


def ledger_report(*, user, portfolio: Portfolio | None, method: str | None, year: int | None = None) -> LedgerReport:
    """The engine's report of the user's whole ledger (wash sales matched across every portfolio),
    its realised rows and open lots kept to ``portfolio`` (or all of the user's). ``method``
    overrides the lot method of the portfolios in scope. Raises a 400 on a ledger the engine
    cannot report."""
    scope = portfolio_scope(user=user, portfolio=portfolio)
    feed = ledger_feed(user=user)
    methods = _account_methods(feed, scope, method)
    try:
        report = engine.build_report(feed.transactions, method="fifo", year=year, account_methods=methods)
    except TaxInputError as exc:
        raise _input_error(exc) from None
    accounts = {str(p.pk) for p in scope}
    report.realized = [r for r in report.realized if r.account in accounts]
    report.lots = [lot for lot in report.lots if lot.account in accounts]
    return LedgerReport(report, feed, scope, methods)


def asset_ledger_rows(*, portfolio: Portfolio, asset_id: int, exclude_id=None) -> list[tuple]:
    """The portfolio's fed transactions of one asset as ``FIELDS`` rows, in ledger order."""
    return list(
        Transaction.objects.filter(portfolio=portfolio, asset_id=asset_id, type__in=FED_TYPES)
        .exclude(pk=exclude_id)
        .order_by("trade_date", "id")
        .values_list(*FIELDS)
    )


def lot_marks(lots: list[engine.OpenLot], feed: LedgerFeed, as_of: dt.date) -> list[Mark]:
    """Each open lot marked to market in its portfolio's base currency, in the order of ``lots``:
    its shares at the last close on or before ``as_of``, FX at the rate of ``as_of``. Queries: one
    for the prices, then one or two per distinct (base, foreign currency) pair."""
    assets = assets_with_last_price({feed.assets[lot.symbol] for lot in lots}, as_of=as_of)
    by_base: dict[str, list[int]] = {}
    for i, lot in enumerate(lots):
        by_base.setdefault(feed.portfolios[int(lot.account)].base_currency, []).append(i)
    marks: dict[int, Mark] = {}
    for base, indexes in by_base.items():
        quantities = [(feed.assets[lots[i].symbol], lots[i].quantity) for i in indexes]
        valued = mark_to_market(quantities, base_currency=base, as_of=as_of, assets=assets)
        marks.update(zip(indexes, valued, strict=True))
    return [marks[i] for i in range(len(lots))]


def tax_rates_of(*, user, year: int) -> TaxRate | None:
    return TaxRate.objects.filter(owner=user, year=year).first()
