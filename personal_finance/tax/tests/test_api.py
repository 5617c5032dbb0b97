"""The tax REST API: routes, owner scoping, bad parameters, specific lots through the transaction
API, harvesting with rates and the wash-sale risk flag, CSV and PDF output, bounded queries."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from personal_finance.assets.models import PriceBar
from personal_finance.portfolios.tests.factories import AssetFactory, PortfolioFactory
from personal_finance.tax.models import TaxRate, TaxReport

from .ledger import trade

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(user):
    return PortfolioFactory(owner=user, name="Taxable")


def _tx(client, portfolio, **body):
    return client.post(f"/api/portfolios/{portfolio.pk}/transactions/", body, format="json")


# --- report, lots: shapes, formats, errors ---------------------------------------------------
def test_report_json_csv_and_pdf(auth_client, portfolio):
    trade(portfolio, "buy", "2023-01-03", 10, 100, fees=1)
    trade(portfolio, "sell", "2024-02-01", 10, 90)  # long-term loss, no replacement
    trade(portfolio, "buy", "2024-03-05", 5, 80)  # 33 days later: no wash
    trade(portfolio, "sell", "2024-04-01", 5, 85)  # short-term gain
    url = f"/api/tax/report/?portfolio={portfolio.pk}&year=2024"
    doc = auth_client.get(url).json()
    assert doc["schedule_d"]["long_term"]["gain_loss"] == "-101.00"
    assert doc["schedule_d"]["short_term"]["gain_loss"] == "25.00"
    assert doc["schedule_d"]["net_gain_loss"] == "-76.00"
    assert (doc["portfolio"], doc["year"], doc["method"], doc["currency"]) == (portfolio.pk, 2024, "fifo", "USD")

    response = auth_client.get(url + "&format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["part"], r["description"], r["gain_loss"]) for r in rows] == [
        ("I", "5 XYZ", "25.00"),
        ("II", "10 XYZ", "-101.00"),
    ]

    pdf = auth_client.get(url + "&format=pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_lots_route(auth_client, portfolio):
    b = trade(portfolio, "buy", "2024-01-02", 10, 100)
    doc = auth_client.get(f"/api/tax/lots/?portfolio={portfolio.pk}").json()
    (lot,) = doc["lots"]
    assert (lot["lot"], lot["symbol"], lot["quantity"], lot["basis"], lot["portfolio"]) == (
        str(b.pk),
        "XYZ",
        "10",
        "1000.00",
        portfolio.pk,
    )
    assert lot["term_if_sold_today"] in ("short", "long")


@pytest.mark.parametrize(
    ("route", "query", "field"),
    [
        ("report", "year=abc", "year"),
        ("report", "year=1800", "year"),
        ("report", "method=bogus", "method"),
        ("report", "format=xml", "format"),
        ("report", "portfolio=abc", "portfolio"),
        ("lots", "method=xyz", "method"),
        ("lots", "portfolio=-1", "portfolio"),
        ("harvest", "as_of=2024-13-01", "as_of"),
        ("harvest", "as_of=0001-01-01", "as_of"),  # found by fuzzing: 500 (date overflow)
    ],
)
def test_bad_parameters_answer_400_with_field_errors(auth_client, portfolio, route, query, field):
    response = auth_client.get(f"/api/tax/{route}/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert field in body["errors"]


@pytest.mark.parametrize("route", ["report", "lots", "harvest"])
def test_another_users_portfolio_answers_404(auth_client, other_user, route):
    theirs = PortfolioFactory(owner=other_user, name="Theirs")
    trade(theirs, "buy", "2024-01-02", 10, 100)
    response = auth_client.get(f"/api/tax/{route}/?portfolio={theirs.pk}")
    assert response.status_code == 404
    assert set(response.json()) == {"detail", "errors"}
    # without a portfolio, only the user's own portfolios are covered
    body = auth_client.get(f"/api/tax/{route}/").json()
    assert "Theirs" not in str(body)
    assert all(lot["portfolio"] != theirs.pk for lot in body.get("lots", []))


def test_ledger_that_cannot_be_reported_answers_400(auth_client, portfolio):
    a = trade(portfolio, "buy", "2024-01-02", 10, 10, symbol="AAA")
    trade(portfolio, "buy", "2024-01-02", 10, 10, symbol="BBB")
    trade(portfolio, "sell", "2024-02-01", 5, 9, symbol="BBB", lots={str(a.pk): "5"})  # written directly
    response = auth_client.get(f"/api/tax/report/?portfolio={portfolio.pk}&method=specific")
    assert response.status_code == 400
    assert "transactions" in response.json()["errors"]


# --- specific lots through the transaction API -----------------------------------------------
def test_specific_lots_through_the_transaction_api(auth_client, portfolio):
    assert auth_client.patch(f"/api/portfolios/{portfolio.pk}/", {"tax_lot_method": "specific"}).status_code == 200
    assert auth_client.get(f"/api/portfolios/{portfolio.pk}/").json()["tax_lot_method"] == "specific"
    cheap = _tx(auth_client, portfolio, date="2023-01-03", type="buy", symbol="XYZ", quantity="10", price="10").json()
    dear = _tx(auth_client, portfolio, date="2023-06-01", type="buy", symbol="XYZ", quantity="10", price="30").json()
    sale = _tx(
        auth_client,
        portfolio,
        date="2024-07-01",
        type="sell",
        symbol="XYZ",
        quantity="6",
        price="20",
        lots={str(dear["id"]): "4", str(cheap["id"]): "2"},
    )
    assert sale.status_code == 201, sale.json()
    assert sale.json()["lots"] == {str(dear["id"]): "4", str(cheap["id"]): "2"}
    rows = auth_client.get(f"/api/tax/report/?portfolio={portfolio.pk}").json()["realized"]
    assert sorted((r["lot"], r["quantity"], r["gain_loss"]) for r in rows) == sorted(
        [(str(dear["id"]), "4", "-40.00"), (str(cheap["id"]), "2", "20.00")]
    )
    lots = {lot["lot"]: lot["quantity"] for lot in auth_client.get("/api/tax/lots/").json()["lots"]}
    assert lots == {str(cheap["id"]): "8", str(dear["id"]): "6"}
    # the same sale under fifo takes the cheap lot first
    fifo = auth_client.get(f"/api/tax/report/?portfolio={portfolio.pk}&method=fifo").json()["realized"]
    assert [(r["lot"], r["quantity"]) for r in fifo] == [(str(cheap["id"]), "6")]


@pytest.mark.parametrize(
    ("lots", "fragment"),
    [
        ({"999999": "5"}, "unknown lot id"),
        ({"LOT": "5"}, "buy transaction id"),
        ({"{cheap}": "3"}, "the lots name 3 shares but the sale is of 5"),
        ({"{cheap}": "-5"}, "greater than zero"),
        ({"{cheap}": "5"}, "holds 0 shares"),  # already sold by the first sale
        ({"{other}": "5"}, "unknown lot id"),  # a lot of another portfolio is not one of this portfolio's
    ],
)
def test_specific_lots_are_validated_against_open_lots(auth_client, user, portfolio, lots, fragment):
    cheap = trade(portfolio, "buy", "2023-01-03", 5, 10)
    trade(portfolio, "buy", "2023-02-03", 5, 12)
    trade(portfolio, "sell", "2023-03-01", 5, 11, lots={str(cheap.pk): "5"})
    other = trade(PortfolioFactory(owner=user), "buy", "2023-01-03", 5, 10)
    named = {k.format(cheap=cheap.pk, other=other.pk): v for k, v in lots.items()}
    response = _tx(
        auth_client, portfolio, date="2024-01-05", type="sell", symbol="XYZ", quantity="5", price="9", lots=named
    )
    assert response.status_code == 400, response.json()
    assert fragment in " ".join(response.json()["errors"]["lots"])


def test_lots_only_on_sells_and_a_later_sales_lots_must_still_fit(auth_client, portfolio):
    response = _tx(
        auth_client, portfolio, date="2024-01-05", type="buy", symbol="XYZ", quantity="5", price="9", lots={"1": "5"}
    )
    assert response.status_code == 400
    assert response.json()["errors"]["lots"] == ["only a sell names lots"]
    a = trade(portfolio, "buy", "2023-01-03", 5, 10)
    trade(portfolio, "buy", "2023-01-04", 5, 10)
    trade(portfolio, "sell", "2024-03-01", 5, 11, lots={str(a.pk): "5"})
    # an earlier sale taking lot a would leave the later sale's named lot empty
    early = _tx(
        auth_client,
        portfolio,
        date="2024-02-01",
        type="sell",
        symbol="XYZ",
        quantity="5",
        price="9",
        lots={str(a.pk): "5"},
    )
    assert early.status_code == 400
    assert "later sale" in early.json()["errors"]["lots"][0]


# --- harvesting and rates --------------------------------------------------------------------
def test_harvest_estimate_with_rates_and_wash_sale_risk(auth_client, user, portfolio):
    ira = PortfolioFactory(owner=user, name="IRA")
    old = trade(portfolio, "buy", "2023-01-03", 10, 100)  # long-term at 2024-06-28
    new = trade(portfolio, "buy", "2024-06-10", 10, 90)  # short-term, 18 days ago
    trade(portfolio, "buy", "2024-01-02", 10, 10, symbol="WIN")  # a gain: not a candidate
    recent = trade(ira, "buy", "2024-06-20", 1, 70)  # bought 8 days ago in another portfolio
    for symbol, close in (("XYZ", "70"), ("WIN", "20")):
        PriceBar.objects.create(asset=AssetFactory(symbol=symbol), date=dt.date(2024, 6, 27), close=D(close))
    created = auth_client.post("/api/tax/rates/", {"year": 2024, "short_term_rate": "0.32", "long_term_rate": "0.15"})
    assert created.status_code == 201, created.json()

    doc = auth_client.get(f"/api/tax/harvest/?portfolio={portfolio.pk}&as_of=2024-06-28").json()
    assert doc["rates"] == {"short_term": "0.32000", "long_term": "0.15000"}
    by_lot = {c["lot"]: c for c in doc["candidates"]}
    assert set(by_lot) == {str(old.pk), str(new.pk)}
    o, n = by_lot[str(old.pk)], by_lot[str(new.pk)]
    assert (o["unrealized_loss"], o["term"], o["estimated_saving"]) == ("300.00", "long", "45.00")
    assert (n["unrealized_loss"], n["term"], n["estimated_saving"]) == ("200.00", "short", "64.00")
    assert o["wash_sale_risk"] is True
    assert n["wash_sale_risk"] is True
    assert {b["transaction"] for b in o["recent_buys"]} == {new.pk, recent.pk}
    assert {b["transaction"] for b in n["recent_buys"]} == {recent.pk}  # not the lot itself
    assert doc["estimated_saving"] == {"short_term": "64.00", "long_term": "45.00", "total": "109.00"}
    assert doc["total_unrealized_loss"] == {"short_term": "200.00", "long_term": "300.00"}

    # 40 days later, nothing was bought within 30 days: no risk; no rates for 2025 -> no estimate
    later = auth_client.get(f"/api/tax/harvest/?portfolio={portfolio.pk}&as_of=2024-08-07").json()
    assert not any(c["wash_sale_risk"] for c in later["candidates"])
    none = auth_client.get(f"/api/tax/harvest/?portfolio={portfolio.pk}&as_of=2025-01-10").json()
    assert none["rates"] is None
    assert none["estimated_saving"] is None
    assert all(c["estimated_saving"] is None for c in none["candidates"])


def test_tax_rates_crud_and_validation(auth_client, user, other_user):
    assert (
        auth_client.post(
            "/api/tax/rates/", {"year": 2024, "short_term_rate": "0.24", "long_term_rate": "0.15"}
        ).status_code
        == 201
    )
    dup = auth_client.post("/api/tax/rates/", {"year": 2024, "short_term_rate": "0.3", "long_term_rate": "0.2"})
    assert dup.status_code == 400
    assert "year" in dup.json()["errors"]
    bad = auth_client.post("/api/tax/rates/", {"year": 2025, "short_term_rate": "1.5", "long_term_rate": "0.2"})
    assert bad.status_code == 400
    assert "short_term_rate" in bad.json()["errors"]
    assert auth_client.patch("/api/tax/rates/2024/", {"long_term_rate": "0.2"}).json()["long_term_rate"] == "0.20000"
    listed = auth_client.get("/api/tax/rates/").json()
    assert [r["year"] for r in listed["results"]] == [2024]
    TaxRate.objects.create(owner=other_user, year=2023, short_term_rate=D("0.1"), long_term_rate=D("0.1"))
    assert auth_client.get("/api/tax/rates/2023/").status_code == 404
    assert auth_client.delete("/api/tax/rates/2024/").status_code == 204
    assert not TaxRate.objects.filter(owner=user).exists()


# --- stored reports --------------------------------------------------------------------------
def test_stored_reports_are_generated_and_downloadable(auth_client, portfolio, django_capture_on_commit_callbacks):
    trade(portfolio, "buy", "2024-01-02", 10, 10)
    trade(portfolio, "sell", "2024-02-01", 10, 12)
    with django_capture_on_commit_callbacks(execute=True):
        response = auth_client.post("/api/tax/reports/", {"portfolio": portfolio.pk, "year": 2024, "format": "csv"})
    assert response.status_code in (201, 202), response.json()
    report = TaxReport.objects.get(pk=response.json()["id"])
    assert report.status == "done"
    detail = auth_client.get(f"/api/tax/reports/{report.pk}/").json()
    assert detail["download"] == f"/api/tax/reports/{report.pk}/download/"
    assert detail["summary"]["short_term"]["gain_loss"] == "20.00"
    download = auth_client.get(detail["download"])
    assert download["Content-Type"].startswith("text/csv")
    assert download.content.decode().splitlines()[1].startswith("I,10 XYZ,2024-01-02,2024-02-01,120.00,100.00")
    bad = auth_client.post("/api/tax/reports/", {"year": "x", "format": "doc"})
    assert bad.status_code == 400
    assert {"year", "format"} <= set(bad.json()["errors"])


def test_stored_report_for_another_users_portfolio_is_404(auth_client, other_user):
    theirs = PortfolioFactory(owner=other_user)
    response = auth_client.post("/api/tax/reports/", {"portfolio": theirs.pk, "year": 2024})
    assert response.status_code == 404
    assert not TaxReport.objects.exists()


# --- query counts ----------------------------------------------------------------------------
def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_query_counts_do_not_grow_with_rows(auth_client, user, portfolio):
    ira = PortfolioFactory(owner=user, name="IRA")
    urls = [
        f"/api/tax/report/?portfolio={portfolio.pk}",
        f"/api/tax/report/?portfolio={portfolio.pk}&format=csv",
        f"/api/tax/lots/?portfolio={portfolio.pk}",
        f"/api/tax/harvest/?portfolio={portfolio.pk}&as_of=2024-12-31",
        "/api/tax/report/",
    ]

    def add(n, start):
        for i in range(start, start + n):
            symbol = f"S{i % 7}"
            day = (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat()
            trade(portfolio, "buy", day, 10, 10 + i % 5, symbol=symbol)
            trade(ira, "buy", day, 3, 9 + i % 3, symbol=symbol)
            trade(portfolio, "sell", day, 4, 9 + i % 4, symbol=symbol)
            PriceBar.objects.get_or_create(
                asset=AssetFactory(symbol=symbol), date=dt.date(2024, 1, 1), defaults={"close": D(11)}
            )

    add(10, 0)
    small = [_count(auth_client, u) for u in urls]
    add(60, 10)
    large = [_count(auth_client, u) for u in urls]
    assert large == small
    assert max(large) <= 10


def test_openapi_documents_one_object_per_tax_document(auth_client):
    # Found by schemathesis (response schema conformance): lots, report and harvest answer one
    # document but the schema said an array of them.
    schema = auth_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for route, name in (("lots", "OpenLotsDocument"), ("report", "TaxReportDocument"), ("harvest", "HarvestDocument")):
        body = schema["paths"][f"/api/tax/{route}/"]["get"]["responses"]["200"]["content"]["application/json"]
        assert body["schema"] == {"$ref": f"#/components/schemas/{name}"}, route
