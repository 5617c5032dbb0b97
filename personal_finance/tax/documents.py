"""Documents of the tax routes and stored reports (docs/contracts.md §12): the capital-gains report and its
CSV/PDF renderings, the open lots, and the tax-loss harvesting candidates. The ledger is read and
reported by ``selectors.ledger_report``; here it is shaped into JSON-ready documents."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from django.utils import timezone

from personal_finance.portfolios.models import Portfolio

from .engine.holding import is_long_term
from .engine.report import lot_dict, money, quantity
from .engine.types import ZERO
from .engine.wash_sales import WINDOW_DAYS
from .render import form_8949_csv, report_pdf
from .selectors import ledger_report, lot_marks, tax_rates_of


# --------------------------------------------------------------------------------------------
# Reports and lots (live)
# --------------------------------------------------------------------------------------------
def _method_label(scope: list[Portfolio], methods: dict[str, str]) -> str:
    used = {methods[str(p.pk)] for p in scope}
    return used.pop() if len(used) == 1 else "per-portfolio"


def tax_report_document(
    *, user, portfolio: Portfolio | None = None, year: int | None = None, method: str | None = None
):
    """The report of docs/contracts.md §12 (`realized`, `lots`, `form_8949`, `schedule_d`) for one portfolio
    (or all of the user's), with wash sales matched across every portfolio of the user."""
    report, _feed, scope, methods = ledger_report(user=user, portfolio=portfolio, method=method, year=year)
    doc = report.to_dict()
    for row, src in zip(doc["realized"], report.realized, strict=True):
        row["portfolio"] = int(src.account)
        row["symbol"] = src.symbol
    for row, lot in zip(doc["lots"], report.lots, strict=True):
        row["portfolio"] = int(lot.account)
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
    return json.dumps(doc).encode(), "application/json"


def open_lots_document(*, user, portfolio: Portfolio | None = None, method: str | None = None, today=None) -> dict:
    """Open lots with basis, wash-sale adjusted basis and date, and the term if sold `today`."""
    today = today or timezone.now().date()
    report, _feed, scope, methods = ledger_report(user=user, portfolio=portfolio, method=method)
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
# Tax-loss harvesting
# --------------------------------------------------------------------------------------------
def harvest_document(*, user, portfolio: Portfolio | None = None, today: dt.date | None = None) -> dict:
    """Open lots with an unrealised loss at the latest stored price, the tax each loss would save
    at the user's rates of this year (short- or long-term by the lot's adjusted date), and the
    wash-sale risk of selling now: buys of the symbol in the last 30 days in any of the user's
    portfolios (other than the lot itself). Buying again within 30 days after the sale would also
    wash it."""
    today = today or timezone.now().date()
    report, feed, _scope, _methods = ledger_report(user=user, portfolio=portfolio, method=None)
    rates = tax_rates_of(user=user, year=today.year)
    marks = lot_marks(report.lots, feed, today)
    window_start = today - dt.timedelta(days=WINDOW_DAYS)
    recent: dict[str, list[tuple]] = {}
    for b in feed.buys:
        if window_start <= b[4] <= today:
            recent.setdefault(b[3], []).append(b)

    candidates = []
    unpriced: set[str] = set()
    totals = {"short": ZERO, "long": ZERO}
    savings = {"short": ZERO, "long": ZERO}
    for lot, mark in zip(report.lots, marks, strict=True):
        value, price = mark.market_value, mark.price
        if value is None or price is None:
            unpriced.add(lot.symbol)
            continue
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
                "last_price": format(price.normalize(), "f"),
                "last_price_date": mark.price_date.isoformat() if mark.price_date else None,
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
