import datetime as dt
from decimal import Decimal as D

import pytest

from personal_finance.portfolios.models import Transaction

from .factories import AssetFactory, FxRateFactory, PortfolioFactory, PriceBarFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(user):
    return PortfolioFactory(owner=user, name="Main")


def post_tx(client, portfolio, **data):
    return client.post(f"/api/portfolios/{portfolio.pk}/transactions/", data, format="json")


def test_portfolio_crud_and_unique_name(auth_client, user):
    created = auth_client.post("/api/portfolios/", {"name": "Growth", "base_currency": "eur"}, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["base_currency"] == "EUR"
    assert created.json()["transaction_count"] == 0  # required by the schema (found by schemathesis)
    dup = auth_client.post("/api/portfolios/", {"name": "Growth"}, format="json")
    assert dup.status_code == 400
    assert "name" in dup.json()["errors"]
    assert auth_client.patch(f"/api/portfolios/{pk}/", {"description": "x"}, format="json").status_code == 200
    listing = auth_client.get("/api/portfolios/").json()
    assert listing["count"] == 1
    assert set(listing) >= {"count", "next", "previous", "results"}
    assert auth_client.delete(f"/api/portfolios/{pk}/").status_code == 204


def test_bad_currency_is_a_field_error(auth_client):
    response = auth_client.post("/api/portfolios/", {"name": "X", "base_currency": "dollars"}, format="json")
    assert response.status_code == 400
    assert "base_currency" in response.json()["errors"]


def test_record_buy_and_refuse_selling_more_than_held(auth_client, portfolio):
    assert post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="5000").status_code == 201
    buy = post_tx(
        auth_client, portfolio, date="2024-01-03", type="buy", symbol="aapl", quantity="10", price="150", fees="1"
    )
    assert buy.status_code == 201, buy.json()
    body = buy.json()
    assert body["symbol"] == "AAPL"
    assert D(body["amount"]) == D("1501")
    assert body["currency"] == "USD"
    before = Transaction.objects.count()
    sell = post_tx(auth_client, portfolio, date="2024-01-04", type="sell", symbol="AAPL", quantity="11", price="150")
    assert sell.status_code == 400
    assert "only 10 held" in sell.json()["errors"]["quantity"][0]
    assert Transaction.objects.count() == before
    # A sale dated before the purchase is short at that date, too.
    early = post_tx(auth_client, portfolio, date="2024-01-01", type="sell", symbol="AAPL", quantity="1", price="150")
    assert early.status_code == 400


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"date": "2024-13-01", "type": "deposit", "amount": "1"}, "date"),
        ({"date": "2024-01-02", "type": "teleport", "amount": "1"}, "type"),
        ({"date": "2024-01-02", "type": "buy", "symbol": "AAPL", "quantity": "-1", "price": "1"}, "quantity"),
        ({"date": "2024-01-02", "type": "buy", "symbol": "AAPL", "quantity": "1"}, "price"),
        ({"date": "2024-01-02", "type": "buy", "quantity": "1", "price": "1"}, "symbol"),
        ({"date": "2024-01-02", "type": "deposit"}, "amount"),
        ({"date": "2024-01-02", "type": "deposit", "amount": "1", "fees": "-2"}, "fees"),
        ({"date": "2024-01-02", "type": "interest", "amount": "1", "symbol": "AAPL"}, "symbol"),
        ({"date": "2024-01-02", "type": "deposit", "amount": "abc"}, "amount"),
    ],
)
def test_bad_transactions_are_400_with_field_errors(auth_client, portfolio, data, field):
    response = post_tx(auth_client, portfolio, **data)
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"], response.json()
    assert Transaction.objects.count() == 0


def test_foreign_currency_needs_a_rate(auth_client, portfolio):
    AssetFactory(symbol="SAP.DE", currency="EUR")
    missing = post_tx(
        auth_client, portfolio, date="2024-01-05", type="buy", symbol="SAP.DE", quantity="1", price="100"
    )
    assert missing.status_code == 400
    assert "fx_rate" in missing.json()["errors"]
    FxRateFactory(base="EUR", quote="USD", date=dt.date(2024, 1, 2), rate=D("1.1"))
    ok = post_tx(auth_client, portfolio, date="2024-01-05", type="buy", symbol="SAP.DE", quantity="1", price="100")
    assert ok.status_code == 201, ok.json()
    assert D(ok.json()["fx_rate"]) == D("1.1")
    assert ok.json()["currency"] == "EUR"


def test_holdings_in_base_currency_with_fx_and_split(auth_client, portfolio):
    AssetFactory(symbol="SAP.DE", currency="EUR")
    FxRateFactory(base="EUR", quote="USD", date=dt.date(2024, 1, 2), rate=D("1.10"))
    FxRateFactory(base="USD", quote="EUR", date=dt.date(2024, 3, 1), rate=D("0.8"))  # inverse pair, later
    post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="10000")
    post_tx(auth_client, portfolio, date="2024-01-03", type="buy", symbol="SAP.DE", quantity="10", price="100")
    post_tx(auth_client, portfolio, date="2024-01-03", type="buy", symbol="NVDA", quantity="2", price="500")
    post_tx(auth_client, portfolio, date="2024-02-01", type="split", symbol="NVDA", quantity="10")
    PriceBarFactory(asset=AssetFactory(symbol="SAP.DE"), date=dt.date(2024, 3, 1), close=D("120"))
    PriceBarFactory(asset=AssetFactory(symbol="NVDA"), date=dt.date(2024, 3, 1), close=D("60"))
    data = auth_client.get(f"/api/portfolios/{portfolio.pk}/holdings/?as_of=2024-03-04").json()
    by_symbol = {h["symbol"]: h for h in data["holdings"]}
    sap, nvda = by_symbol["SAP.DE"], by_symbol["NVDA"]
    assert sap["cost_basis"] == "1100.00"  # 1000 EUR at 1.10 on the trade date
    assert sap["market_value"] == "1500.00"  # 1200 EUR at 1/0.8 = 1.25 on the valuation date
    assert sap["unrealized_gain"] == "400.00"
    assert nvda["quantity"] == "20"
    assert nvda["average_cost"] == "50.000000"
    assert nvda["market_value"] == "1200.00"
    assert data["cash"] == "7900.00"
    assert data["total_value"] == "10600.00"
    assert D(sap["weight"]) + D(nvda["weight"]) + D(data["cash_weight"]) == D(1)
    bad = auth_client.get(f"/api/portfolios/{portfolio.pk}/holdings/?as_of=soon")
    assert bad.status_code == 400
    assert "as_of" in bad.json()["errors"]


def test_filters_by_date_range_type_and_symbol(auth_client, portfolio):
    post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="10000")
    post_tx(auth_client, portfolio, date="2024-02-01", type="buy", symbol="AAPL", quantity="1", price="100")
    post_tx(auth_client, portfolio, date="2024-03-01", type="buy", symbol="MSFT", quantity="1", price="100")
    post_tx(auth_client, portfolio, date="2024-04-01", type="sell", symbol="AAPL", quantity="1", price="110")
    url = f"/api/portfolios/{portfolio.pk}/transactions/"
    assert auth_client.get(url).json()["count"] == 4
    assert auth_client.get(url, {"start": "2024-02-01", "end": "2024-03-31"}).json()["count"] == 2
    assert auth_client.get(url, {"type": "buy"}).json()["count"] == 2
    assert auth_client.get(url, {"type": ["buy", "sell"]}).json()["count"] == 3
    assert auth_client.get(url, {"symbol": "aapl"}).json()["count"] == 2
    bad = auth_client.get(url, {"start": "yesterday"})
    assert bad.status_code == 400
    assert "start" in bad.json()["errors"]


def test_update_and_delete_keep_the_ledger_consistent(auth_client, portfolio):
    url = f"/api/portfolios/{portfolio.pk}/transactions/"
    buy = post_tx(
        auth_client, portfolio, date="2024-01-02", type="buy", symbol="AAPL", quantity="10", price="10"
    ).json()
    post_tx(auth_client, portfolio, date="2024-01-05", type="sell", symbol="AAPL", quantity="8", price="12")
    shrink = auth_client.patch(f"{url}{buy['id']}/", {"quantity": "5"}, format="json")
    assert shrink.status_code == 400
    grow = auth_client.patch(f"{url}{buy['id']}/", {"quantity": "12"}, format="json")
    assert grow.status_code == 200, grow.json()
    assert D(grow.json()["quantity"]) == 12
    refused = auth_client.delete(f"{url}{buy['id']}/")
    assert refused.status_code == 400
    assert Transaction.objects.filter(pk=buy["id"]).exists()


@pytest.mark.parametrize("body", [[None, None], "text", 1])
def test_patch_transaction_with_a_non_object_body_is_400(auth_client, portfolio, body):
    # Found by fuzzing: PATCH .../transactions/{id}/ with the JSON body [null, null] answered 500.
    tx = post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="100").json()
    url = f"/api/portfolios/{portfolio.pk}/transactions/{tx['id']}/"
    for method in (auth_client.patch, auth_client.put):
        response = method(url, body, format="json")
        assert response.status_code == 400, response.content
        assert set(response.json()) == {"detail", "errors"}
        assert response.json()["errors"]
    assert D(Transaction.objects.get(pk=tx["id"]).amount) == 100


def test_amount_too_large_for_its_column_is_400_and_the_portfolio_stays_readable(auth_client, portfolio):
    # Found by fuzzing: quantity x price outgrew the amount column; the row was stored, the
    # response and every later read of the portfolio (holdings, tax lots, ledger checks) were 500s.
    huge = post_tx(
        auth_client,
        portfolio,
        date="2024-01-02",
        type="buy",
        symbol="AAPL",
        quantity="999999999999999999",
        price="9999999999999999",
    )
    assert huge.status_code == 400, huge.content
    assert "quantity x price is too large" in huge.json()["errors"]["amount"][0]
    assert not Transaction.objects.filter(portfolio=portfolio).exists()
    assert auth_client.get(f"/api/portfolios/{portfolio.pk}/holdings/").status_code == 200


def test_duplicate_external_id_is_refused_in_api(auth_client, portfolio):
    assert (
        post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="1", external_id="x1").status_code
        == 201
    )
    again = post_tx(auth_client, portfolio, date="2024-01-02", type="deposit", amount="1", external_id="x1")
    assert again.status_code == 400
    assert "external_id" in again.json()["errors"]
