"""The engine fed from the ledger: wash sales across a user's portfolios, base-currency amounts,
transfers and splits, per-portfolio lot methods, stored results and the Celery tasks (eager)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from personal_finance.portfolios.tests.factories import AssetFactory, FxRateFactory, PortfolioFactory, PriceBarFactory
from personal_finance.tax import documents, services
from personal_finance.tax.models import RealizedGain, TaxLot, TaxReport
from personal_finance.tax.tasks import calculate_capital_gains, generate_tax_reports, identify_tax_lots

from .ledger import split, trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def taxable(user):
    return PortfolioFactory(owner=user, name="Taxable")


@pytest.fixture
def ira(user):
    return PortfolioFactory(owner=user, name="IRA")


def _rows(doc, sale):
    return [r for r in doc["realized"] if r["sell"] == str(sale.pk)]


def test_wash_sale_across_the_users_portfolios_carries_loss_and_holding_period(user, taxable, ira):
    b1 = trade(taxable, "buy", "2024-01-02", 100, 10)
    s1 = trade(taxable, "sell", "2024-03-01", 100, 8)  # loss 200
    r = trade(ira, "buy", "2024-03-15", 100, 7)  # replacement in another portfolio
    doc = documents.tax_report_document(user=user, portfolio=taxable, year=2024)
    (row,) = _rows(doc, s1)
    assert (row["lot"], row["gain_loss"], row["disallowed_loss"], row["reportable_gain_loss"]) == (
        str(b1.pk),
        "-200.00",
        "200.00",
        "0.00",
    )
    assert row["portfolio"] == taxable.pk
    assert doc["form_8949"]["part_i"][0]["code"] == "W"
    assert doc["lots"] == []  # the taxable portfolio holds nothing; the replacement is in the IRA
    lots = documents.open_lots_document(user=user, portfolio=ira)["lots"]
    (lot,) = lots
    assert (lot["lot"], lot["basis"], lot["adjusted_basis"], lot["wash_adjustment"]) == (
        str(r.pk),
        "700.00",
        "900.00",
        "200.00",
    )
    # 59 days held (2024-01-02 -> 2024-03-01) are tacked on: 2024-03-15 - 59 days
    assert (lot["date_acquired"], lot["original_date"]) == ("2024-01-16", "2024-03-15")


def test_partial_and_chained_washes_through_the_ledger(user, taxable, ira):
    trade(taxable, "buy", "2024-01-02", 100, 10)
    s1 = trade(taxable, "sell", "2024-02-01", 100, 8)  # loss 200, only 50 replacement shares
    trade(ira, "buy", "2024-02-10", 50, 7)
    s2 = trade(ira, "sell", "2024-02-20", 50, 6)  # basis 350 + 100 = 450, loss 150 -> washed again
    trade(taxable, "buy", "2024-03-10", 50, 5)  # 38 days after s1, 19 after s2
    doc = documents.tax_report_document(user=user, year=2024)
    (first,) = _rows(doc, s1)
    assert (first["disallowed_loss"], first["reportable_gain_loss"]) == ("100.00", "-100.00")
    (second,) = _rows(doc, s2)
    assert (second["basis"], second["gain_loss"], second["disallowed_loss"]) == ("450.00", "-150.00", "150.00")
    (lot,) = doc["lots"]
    assert (lot["adjusted_basis"], lot["portfolio"]) == ("400.00", taxable.pk)


def test_amounts_in_base_currency_via_each_transactions_fx_rate(user):
    eur = PortfolioFactory(owner=user, base_currency="EUR")
    trade(eur, "buy", "2024-01-02", 10, 100, fees=2, fx="0.9")  # (1000 + 2) * 0.9 = 901.80
    s = trade(eur, "sell", "2024-06-03", 10, 120, fees=1, fx="0.95")  # (1200 - 1) * 0.95 = 1139.05
    doc = documents.tax_report_document(user=user, portfolio=eur)
    (row,) = _rows(doc, s)
    assert (row["proceeds"], row["basis"], row["gain_loss"]) == ("1139.05", "901.80", "237.25")
    assert doc["currency"] == "EUR"


def test_harvest_values_each_lot_in_its_portfolios_base_currency(user, taxable):
    eur = PortfolioFactory(owner=user, base_currency="EUR")
    usd_lot = trade(taxable, "buy", "2024-01-02", 10, 100)  # basis 1000 USD
    eur_lot = trade(eur, "buy", "2024-01-02", 10, 100, fx="0.9")  # basis 900 EUR
    trade(eur, "buy", "2024-01-02", 1, 5, symbol="NOPX")  # no price stored
    PriceBarFactory(asset=AssetFactory(symbol="XYZ"), date=dt.date(2024, 6, 27), close=D(70))
    FxRateFactory(base="EUR", quote="USD", date=dt.date(2024, 6, 27), rate=D("1.25"))
    doc = documents.harvest_document(user=user, today=dt.date(2024, 6, 28))
    by_lot = {c["lot"]: c for c in doc["candidates"]}
    assert (by_lot[str(usd_lot.pk)]["market_value"], by_lot[str(usd_lot.pk)]["unrealized_loss"]) == (
        "700.00",
        "300.00",
    )
    assert (by_lot[str(eur_lot.pk)]["market_value"], by_lot[str(eur_lot.pk)]["unrealized_loss"]) == (
        "560.00",
        "340.00",
    )
    assert [c["lot"] for c in doc["candidates"]] == [str(eur_lot.pk), str(usd_lot.pk)]  # largest loss first
    assert by_lot[str(eur_lot.pk)]["last_price"] == "70"
    assert by_lot[str(eur_lot.pk)]["last_price_date"] == "2024-06-27"
    assert doc["unpriced_symbols"] == ["NOPX"]


def test_transfers_and_splits(user, taxable, ira):
    trade(taxable, "buy", "2024-01-02", 100, 10)
    trade(taxable, "transfer_out", "2024-02-01", 40, 10)
    trade(ira, "transfer_in", "2024-02-01", 40, 10)
    split(taxable, "2024-03-01", 2)
    split(ira, "2024-03-01", 2)  # the same split recorded in both portfolios counts once
    doc = documents.open_lots_document(user=user)
    assert sorted((lot["portfolio"], lot["quantity"], lot["basis"]) for lot in doc["lots"]) == sorted(
        [(taxable.pk, "120", "600.00"), (ira.pk, "80", "400.00")]
    )
    assert documents.tax_report_document(user=user)["realized"] == []  # a transfer realises nothing


def test_each_portfolio_uses_its_own_lot_method_unless_overridden(user, taxable):
    taxable.tax_lot_method = "lifo"
    taxable.save()
    trade(taxable, "buy", "2023-01-03", 10, 10)
    b2 = trade(taxable, "buy", "2023-02-01", 10, 20)
    s = trade(taxable, "sell", "2024-06-03", 10, 30)
    assert _rows(documents.tax_report_document(user=user, portfolio=taxable), s)[0]["lot"] == str(b2.pk)
    doc = documents.tax_report_document(user=user, portfolio=taxable, method="fifo")
    assert _rows(doc, s)[0]["lot"] != str(b2.pk)
    assert doc["method"] == "fifo"


def test_another_users_portfolio_is_not_found(user, other_user):
    from personal_finance.contrib.exceptions import ApplicationError

    theirs = PortfolioFactory(owner=other_user)
    with pytest.raises(ApplicationError) as exc:
        documents.tax_report_document(user=user, portfolio=theirs)
    assert exc.value.status_code == 404


def test_tasks_store_lots_and_gains_idempotently(user, taxable, ira):
    trade(taxable, "buy", "2024-01-02", 100, 10)
    trade(taxable, "sell", "2024-03-01", 60, 8)
    trade(ira, "buy", "2024-03-15", 30, 7)
    for _ in range(2):  # running twice replaces, never duplicates
        lots = identify_tax_lots.delay(user_id=user.pk).get()
        gains = calculate_capital_gains.delay(portfolio_id=taxable.pk).get()
    assert lots["done"] == {f"user:{user.pk}": 2}
    assert lots["failed"] == {}
    assert gains["done"] == {f"portfolio:{taxable.pk}": 1}
    assert TaxLot.objects.filter(owner=user).count() == 2
    ira_lot = TaxLot.objects.get(portfolio=ira)
    assert (ira_lot.adjusted_basis, ira_lot.wash_adjustment) == (D("270.00"), D("60.00"))
    (gain,) = RealizedGain.objects.filter(owner=user)
    assert (gain.gain_loss, gain.disallowed_loss, gain.reportable_gain_loss, gain.term) == (
        D("-120.00"),
        D("60.00"),
        D("-60.00"),
        "short",
    )


def test_a_bad_ledger_is_recorded_not_raised_by_tasks(user, taxable):
    # a sale naming a lot of another symbol (only possible by writing the row directly)
    b = trade(taxable, "buy", "2024-01-02", 10, 10, symbol="AAA")
    trade(taxable, "buy", "2024-01-02", 10, 10, symbol="BBB")
    trade(taxable, "sell", "2024-02-01", 5, 9, symbol="BBB", lots={str(b.pk): "5"})
    taxable.tax_lot_method = "specific"
    taxable.save()
    result = identify_tax_lots.delay(user_id=user.pk).get()
    assert result["done"] == {}
    assert "lot not held" in result["failed"][f"user:{user.pk}"]


def test_generate_tax_reports_renders_and_is_idempotent(user, taxable, django_capture_on_commit_callbacks):
    trade(taxable, "buy", "2024-01-02", 10, 10)
    trade(taxable, "sell", "2024-02-01", 10, 12)
    with django_capture_on_commit_callbacks(execute=True):
        report = services.tax_report_request(owner=user, portfolio=taxable, year=2024, fmt="pdf")
    report.refresh_from_db()
    assert report.status == TaxReport.Status.DONE
    assert bytes(report.content).startswith(b"%PDF")
    assert report.summary["short_term"]["gain_loss"] == "20.00"
    first = bytes(report.content)
    assert generate_tax_reports.delay(report.pk).get()["status"] == "done"
    report.refresh_from_db()
    assert bytes(report.content) == first
