"""The tax engine fed from the ledger: reports, open lots, harvesting, stored results (DESIGN 12).

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
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from personal_finance.assets.selectors import assets_with_last_price, fx_rates_to
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.queue import enqueue_on_commit
from personal_finance.portfolios.models import Portfolio, Transaction, TransactionType

from . import engine
from .engine.holding import is_long_term
from .engine.report import cents, lot_dict, money, quantity
from .engine.types import BUY, SELL, SPLIT, TRANSFER_OUT, ZERO, TaxInputError
from .engine.wash_sales import WINDOW_DAYS
from .models import RealizedGain, TaxLot, TaxRate, TaxReport
from .render import form_8949_csv, report_pdf

logger = logging.getLogger("personal_finance.tax")

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


# --------------------------------------------------------------------------------------------
# The ledger as engine input
# --------------------------------------------------------------------------------------------
@dataclass
class LedgerFeed:
    portfolios: dict[int, Portfolio]
    transactions: list[engine.Transaction]
    assets: dict[str, int]  # symbol -> asset id
    buys: list[tuple]  # (portfolio id, transaction id, asset id, symbol, date, quantity) of every buy


def _engine_tx(row: tuple) -> engine.Transaction | None:
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
        txs.append(_engine_tx(row))
    return LedgerFeed(portfolios=portfolios, transactions=txs, assets=assets, buys=buys)


def _scope(*, user, portfolio: Portfolio | None) -> list[Portfolio]:
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


def _run(*, user, portfolio: Portfolio | None, method: str | None, year: int | None = None):
    scope = _scope(user=user, portfolio=portfolio)
    feed = ledger_feed(user=user)
    methods = _account_methods(feed, scope, method)
    try:
        report = engine.build_report(feed.transactions, method="fifo", year=year, account_methods=methods)
    except TaxInputError as exc:
        raise _input_error(exc) from None
    accounts = {str(p.pk) for p in scope}
    report.realized = [r for r in report.realized if r.account in accounts]
    report.lots = [lot for lot in report.lots if lot.account in accounts]
    return report, feed, scope, methods


# --------------------------------------------------------------------------------------------
# Reports and lots (live)
# --------------------------------------------------------------------------------------------
def _method_label(scope: list[Portfolio], methods: dict[str, str]) -> str:
    used = {methods[str(p.pk)] for p in scope}
    return used.pop() if len(used) == 1 else "per-portfolio"


def tax_report_document(
    *, user, portfolio: Portfolio | None = None, year: int | None = None, method: str | None = None
):
    """The report of DESIGN 12 (`realized`, `lots`, `form_8949`, `schedule_d`) for one portfolio
    (or all of the user's), with wash sales matched across every portfolio of the user."""
    report, _feed, scope, methods = _run(user=user, portfolio=portfolio, method=method, year=year)
    doc = report.to_dict()
    for row, src in zip(doc["realized"], report.realized, strict=True):
        row["portfolio"] = int(src.account)
        row["symbol"] = src.symbol
    for row, src in zip(doc["lots"], report.lots, strict=True):
        row["portfolio"] = int(src.account)
    return {
        "portfolio": portfolio.pk if portfolio is not None else None,
        "year": year,
        "method": _method_label(scope, methods),
        "currency": _currency(scope),
        **doc,
    }


def _currency(scope: list[Portfolio]) -> str | None:
    currencies = {p.base_currency for p in scope}
    return currencies.pop() if len(currencies) == 1 else None


def tax_report_render(doc: dict, fmt: str) -> tuple[bytes, str]:
    """(content, content type) of a report document in `json`, `csv` (Form 8949) or `pdf`."""
    if fmt == "csv":
        return form_8949_csv(doc), "text/csv; charset=utf-8"
    if fmt == "pdf":
        scope = f"portfolio {doc['portfolio']}" if doc["portfolio"] else "all portfolios"
        year = f"tax year {doc['year']}" if doc["year"] else "all years"
        subtitle = (
            f"{scope}, {year}, lot method {doc['method']}, amounts in {doc['currency'] or 'each base currency'}; "
            f"generated {timezone.now():%Y-%m-%d %H:%M} UTC"
        )
        return report_pdf(doc, title="Capital gains: Form 8949 and Schedule D", subtitle=subtitle), "application/pdf"
    import json

    return json.dumps(doc).encode(), "application/json"


def open_lots_document(*, user, portfolio: Portfolio | None = None, method: str | None = None, today=None) -> dict:
    """Open lots with basis, wash-sale adjusted basis and date, and the term if sold `today`."""
    today = today or timezone.now().date()
    report, _feed, scope, methods = _run(user=user, portfolio=portfolio, method=method)
    lots = []
    for lot in report.lots:
        row = lot_dict(lot)
        row.update(
            {
                "portfolio": int(lot.account),
                "original_date": lot.original_date.isoformat(),
                "wash_adjustment": money(lot.adjusted_basis - lot.basis),
                "term_if_sold_today": "long" if is_long_term(lot.date_acquired, today) else "short",
            }
        )
        lots.append(row)
    return {
        "portfolio": portfolio.pk if portfolio is not None else None,
        "method": _method_label(scope, methods),
        "as_of": today.isoformat(),
        "lots": lots,
    }


# --------------------------------------------------------------------------------------------
# Specific lots named by a sale (called by portfolios.services when a sale has `lots`)
# --------------------------------------------------------------------------------------------
def sale_lots_check(*, portfolio: Portfolio, sale: Transaction, exclude_id=None) -> None:
    """Replay the portfolio's history of the sale's asset under the `specific` method with the
    sale inserted (after the stored rows of its day); raise a 400 naming `lots` when a named lot
    is unknown, not held at the sale date or holds fewer shares, or when a later sale's lots no
    longer fit."""
    rows = list(
        Transaction.objects.filter(portfolio=portfolio, asset_id=sale.asset_id, type__in=FED_TYPES)
        .exclude(pk=exclude_id)
        .order_by("trade_date", "id")
        .values_list(*FIELDS)
    )
    new = (
        sale.pk or "new",
        portfolio.pk,
        sale.type,
        sale.trade_date,
        sale.asset_id,
        sale.asset.symbol,
        sale.quantity,
        sale.price,
        sale.fees,
        sale.fx_rate,
        sale.tax_lots,
    )
    at = sum(1 for r in rows if r[3] <= sale.trade_date)
    rows.insert(at, new)
    txs = [_engine_tx(r) for r in rows]
    try:
        engine.compute(txs, "specific")
    except TaxInputError as exc:
        which = "" if exc.row in (sale.pk, "new") else f" (the later sale {exc.row})"
        raise ApplicationError(
            f"Invalid lots{which}: {exc.message}", errors={"lots": [f"{exc.message}{which}"]}
        ) from None


# --------------------------------------------------------------------------------------------
# Stored results (Celery tasks call these)
# --------------------------------------------------------------------------------------------
@transaction.atomic
def tax_lots_identify(*, user, portfolio: Portfolio | None = None, method: str | None = None) -> int:
    """Store the open lots of one portfolio (or all of the user's), replacing the previous rows of
    the same method. Idempotent."""
    report, feed, scope, methods = _run(user=user, portfolio=portfolio, method=method)
    rows = []
    pieces: dict[str, int] = {}
    for lot in report.lots:
        piece = pieces[lot.lot] = pieces.get(lot.lot, -1) + 1
        rows.append(
            TaxLot(
                owner=user,
                portfolio_id=int(lot.account),
                asset_id=feed.assets[lot.symbol],
                lot_id=int(lot.lot),
                method=methods[lot.account],
                piece=piece,
                quantity=lot.quantity,
                basis=cents(lot.basis),
                adjusted_basis=cents(lot.adjusted_basis),
                date_acquired=lot.date_acquired,
                original_date=lot.original_date,
            )
        )
    for p in scope:
        TaxLot.objects.filter(portfolio=p, method=methods[str(p.pk)]).delete()
    TaxLot.objects.bulk_create(rows, batch_size=2000)
    logger.info("tax lots identified user=%s portfolios=%s lots=%d", user.pk, [p.pk for p in scope], len(rows))
    return len(rows)


@transaction.atomic
def capital_gains_calculate(*, user, portfolio: Portfolio | None = None, method: str | None = None) -> int:
    """Store the realised rows (every year) of one portfolio or all of the user's. Idempotent."""
    report, feed, scope, methods = _run(user=user, portfolio=portfolio, method=method)
    rows = []
    order: dict[str, int] = {}
    for r in report.realized:
        k = order[r.sell] = order.get(r.sell, -1) + 1
        rows.append(
            RealizedGain(
                owner=user,
                portfolio_id=int(r.account),
                asset_id=feed.assets[r.symbol],
                sale_id=int(r.sell),
                lot_id=int(r.lot),
                method=methods[r.account],
                row=k,
                quantity=r.quantity,
                proceeds=cents(r.proceeds),
                basis=cents(r.basis),
                disallowed_loss=cents(r.disallowed_loss),
                term=r.term,
                date_acquired=r.date_acquired,
                date_sold=r.date_sold,
            )
        )
    for p in scope:
        RealizedGain.objects.filter(portfolio=p, method=methods[str(p.pk)]).delete()
    RealizedGain.objects.bulk_create(rows, batch_size=2000)
    logger.info("capital gains calculated user=%s rows=%d", user.pk, len(rows))
    return len(rows)


def tax_report_request(
    *, owner, portfolio: Portfolio | None, year: int, method: str = "", fmt: str = "json"
) -> TaxReport:
    """Create a stored report and render it on a worker (`generate_tax_reports`) after commit."""
    _scope(user=owner, portfolio=portfolio)
    report = TaxReport.objects.create(owner=owner, portfolio=portfolio, year=year, method=method or "", format=fmt)
    enqueue_on_commit("personal_finance.tax.tasks.generate_tax_reports", report.pk)
    return report


def tax_report_generate(*, report: TaxReport) -> TaxReport:
    """Render a stored report (idempotent: a finished report is left as it is)."""
    if report.status == TaxReport.Status.DONE:
        return report
    try:
        doc = tax_report_document(
            user=report.owner, portfolio=report.portfolio, year=report.year, method=report.method or None
        )
        report.content, _ = tax_report_render(doc, report.format)
        report.summary = doc["schedule_d"]
        report.status = TaxReport.Status.DONE
        report.error = ""
    except ApplicationError as exc:
        report.status = TaxReport.Status.FAILED
        report.error = exc.message[:2000]
    report.save(update_fields=["content", "summary", "status", "error", "updated_at"])
    return report


# --------------------------------------------------------------------------------------------
# Tax rates
# --------------------------------------------------------------------------------------------
def _rate_clean(rate: TaxRate) -> None:
    from django.core.exceptions import ValidationError

    try:
        rate.full_clean(validate_constraints=False)
    except ValidationError as exc:
        raise ApplicationError("Invalid input.", errors=exc.message_dict) from None


@transaction.atomic
def tax_rate_create(*, owner, year: int, short_term_rate: Decimal, long_term_rate: Decimal) -> TaxRate:
    if TaxRate.objects.filter(owner=owner, year=year).exists():
        raise ApplicationError("Invalid input.", errors={"year": [f"You already have rates for {year}."]})
    rate = TaxRate(owner=owner, year=year, short_term_rate=short_term_rate, long_term_rate=long_term_rate)
    _rate_clean(rate)
    rate.save()
    return rate


@transaction.atomic
def tax_rate_update(*, rate: TaxRate, **fields) -> TaxRate:
    year = fields.get("year", rate.year)
    if year != rate.year and TaxRate.objects.filter(owner=rate.owner, year=year).exclude(pk=rate.pk).exists():
        raise ApplicationError("Invalid input.", errors={"year": [f"You already have rates for {year}."]})
    for key, value in fields.items():
        setattr(rate, key, value)
    _rate_clean(rate)
    rate.save()
    return rate


# --------------------------------------------------------------------------------------------
# Tax-loss harvesting
# --------------------------------------------------------------------------------------------
def harvest_document(*, user, portfolio: Portfolio | None = None, today: dt.date | None = None) -> dict:
    """Open lots with an unrealised loss at the latest stored price, the tax each loss would save
    at the user's rates of this year (short- or long-term by the lot's adjusted date), and the
    wash-sale risk of selling now: buys of the symbol in the last 30 days in any of the user's
    portfolios (other than the lot itself). Buying again within 30 days after the sale would also
    wash it."""
    today = today or timezone.now().date()
    report, feed, scope, _methods = _run(user=user, portfolio=portfolio, method=None)
    rates = TaxRate.objects.filter(owner=user, year=today.year).first()
    assets = assets_with_last_price(set(feed.assets.values()), as_of=today)
    fx: dict[str, dict] = {}
    for base in {p.base_currency for p in scope}:
        fx[base] = fx_rates_to({a.currency for a in assets.values()}, base, today)
    window_start = today - dt.timedelta(days=WINDOW_DAYS)
    recent: dict[str, list[tuple]] = {}
    for b in feed.buys:
        if window_start <= b[4] <= today:
            recent.setdefault(b[3], []).append(b)

    candidates = []
    unpriced: set[str] = set()
    totals = {"short": ZERO, "long": ZERO}
    savings = {"short": ZERO, "long": ZERO}
    for lot in report.lots:
        asset = assets[feed.assets[lot.symbol]]
        base = feed.portfolios[int(lot.account)].base_currency
        rate = fx[base].get(asset.currency)
        if asset.last_close is None or rate is None:
            unpriced.add(lot.symbol)
            continue
        value = lot.quantity * asset.last_close * rate
        loss = lot.adjusted_basis - value
        if loss <= 0:
            continue
        term = "long" if is_long_term(lot.date_acquired, today) else "short"
        tax_rate = None if rates is None else (rates.long_term_rate if term == "long" else rates.short_term_rate)
        saving = None if tax_rate is None else loss * tax_rate
        buys = [b for b in recent.get(lot.symbol, []) if str(b[1]) != lot.lot]
        totals[term] += loss
        if saving is not None:
            savings[term] += saving
        candidates.append(
            {
                **lot_dict(lot),
                "portfolio": int(lot.account),
                "last_price": format(asset.last_close.normalize(), "f"),
                "last_price_date": asset.last_date.isoformat() if asset.last_date else None,
                "market_value": money(value),
                "unrealized_loss": money(loss),
                "term": term,
                "tax_rate": None if tax_rate is None else str(tax_rate),
                "estimated_saving": None if saving is None else money(saving),
                "wash_sale_risk": bool(buys),
                "recent_buys": [
                    {"portfolio": b[0], "transaction": b[1], "date": b[4].isoformat(), "quantity": quantity(b[5])}
                    for b in buys
                ],
            }
        )
    candidates.sort(key=lambda c: -Decimal(c["unrealized_loss"]))
    return {
        "portfolio": portfolio.pk if portfolio is not None else None,
        "as_of": today.isoformat(),
        "year": today.year,
        "rates": None
        if rates is None
        else {"short_term": str(rates.short_term_rate), "long_term": str(rates.long_term_rate)},
        "candidates": candidates,
        "total_unrealized_loss": {"short_term": money(totals["short"]), "long_term": money(totals["long"])},
        "estimated_saving": None
        if rates is None
        else {
            "short_term": money(savings["short"]),
            "long_term": money(savings["long"]),
            "total": money(savings["short"] + savings["long"]),
        },
        "unpriced_symbols": sorted(unpriced),
    }
