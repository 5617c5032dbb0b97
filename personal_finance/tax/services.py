"""Writes of the tax app (docs/contracts.md §12): the check of the lots a sale names, the stored lots and
realised gains, stored reports (rendered on a worker) and the user's tax rates. The ledger is read
by ``selectors``; the documents served live are built in ``documents``."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction

from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.queue import enqueue_on_commit
from personal_finance.contrib.services import clean_or_raise
from personal_finance.portfolios.models import Portfolio, Transaction

from . import engine
from .documents import tax_report_document, tax_report_render
from .engine.report import cents
from .engine.types import TaxInputError
from .models import RealizedGain, TaxLot, TaxRate, TaxReport
from .selectors import asset_ledger_rows, engine_transaction, ledger_report, portfolio_scope

logger = logging.getLogger("personal_finance.tax")


# --------------------------------------------------------------------------------------------
# Specific lots named by a sale (called by portfolios.services when a sale has `lots`)
# --------------------------------------------------------------------------------------------
def sale_lots_check(*, portfolio: Portfolio, sale: Transaction, exclude_id=None) -> None:
    """Replay the portfolio's history of the sale's asset under the `specific` method with the
    sale inserted (after the stored rows of its day); raise a 400 naming `lots` when a named lot
    is unknown, not held at the sale date or holds fewer shares, or when a later sale's lots no
    longer fit."""
    asset = sale.asset
    if asset is None:  # not a share transaction: no lots to check
        return
    rows = asset_ledger_rows(portfolio=portfolio, asset_id=asset.pk, exclude_id=exclude_id)
    new = (
        sale.pk or "new",
        portfolio.pk,
        sale.type,
        sale.trade_date,
        sale.asset_id,
        asset.symbol,
        sale.quantity,
        sale.price,
        sale.fees,
        sale.fx_rate,
        sale.tax_lots,
    )
    at = sum(1 for r in rows if r[3] <= sale.trade_date)
    rows.insert(at, new)
    txs = [engine_transaction(r) for r in rows]
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
    report, feed, scope, methods = ledger_report(user=user, portfolio=portfolio, method=method)
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
    report, feed, scope, methods = ledger_report(user=user, portfolio=portfolio, method=method)
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
    portfolio_scope(user=owner, portfolio=portfolio)
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
@transaction.atomic
def tax_rate_create(*, owner, year: int, short_term_rate: Decimal, long_term_rate: Decimal) -> TaxRate:
    if TaxRate.objects.filter(owner=owner, year=year).exists():
        raise ApplicationError("Invalid input.", errors={"year": [f"You already have rates for {year}."]})
    rate = TaxRate(owner=owner, year=year, short_term_rate=short_term_rate, long_term_rate=long_term_rate)
    clean_or_raise(rate, validate_constraints=False)
    rate.save()
    return rate


@transaction.atomic
def tax_rate_update(*, rate: TaxRate, **fields) -> TaxRate:
    year = fields.get("year", rate.year)
    if year != rate.year and TaxRate.objects.filter(owner=rate.owner, year=year).exclude(pk=rate.pk).exists():
        raise ApplicationError("Invalid input.", errors={"year": [f"You already have rates for {year}."]})
    for key, value in fields.items():
        setattr(rate, key, value)
    clean_or_raise(rate, validate_constraints=False)
    rate.save()
    return rate
