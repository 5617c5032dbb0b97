"""/api/assets/: shared reference data every signed-in user reads and only staff edit."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from personal_finance.assets.models import Asset, PriceBar, PriceSeries
from personal_finance.assets.services import price_bars_upsert
from personal_finance.users.tests.factories import UserFactory

from .factories import AssetFactory, PriceBarFactory

pytestmark = pytest.mark.django_db

FIELDS = {"id", "symbol", "name", "asset_class", "currency", "exchange", "sector", "country", "isin"}
FORBIDDEN = {"detail": "You do not have permission to perform this action.", "errors": {}}


def day(n: int) -> dt.date:
    return dt.date(2024, 1, 1) + dt.timedelta(days=n)


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(UserFactory(is_staff=True))
    return client


@pytest.fixture
def brk():
    asset = AssetFactory(symbol="BRK-B", name="Berkshire Hathaway", exchange="XNYS", sector="Financials")
    price_bars_upsert(
        asset=asset,
        bars=[
            {"date": day(1), "close": D("350")},
            {"date": day(2), "close": D("352"), "adj_close": D("351.5"), "volume": 1200},
            {"date": day(3), "close": D("349.25")},
        ],
    )
    return asset


def symbols(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["symbol"] for row in response.json()["results"]]


# --- reading -----------------------------------------------------------------------------------


def test_list(auth_client):
    AssetFactory(symbol="MSFT", name="Microsoft")
    aapl = AssetFactory(symbol="AAPL", name="Apple", isin="US0378331005", country="US")
    body = auth_client.get("/api/assets/").json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    assert [r["symbol"] for r in body["results"]] == ["AAPL", "MSFT"]
    assert body["results"][0] == {
        "id": aapl.pk,
        "symbol": "AAPL",
        "name": "Apple",
        "asset_class": "equity",
        "currency": "USD",
        "exchange": "",
        "sector": "",
        "country": "US",
        "isin": "US0378331005",
    }


def test_search_matches_symbol_or_name_in_any_case(auth_client, brk):
    AssetFactory(symbol="BRK-A", name="Berkshire Hathaway A")
    AssetFactory(symbol="AAPL", name="Apple")
    assert symbols(auth_client.get("/api/assets/", {"search": "berk"})) == ["BRK-A", "BRK-B"]
    assert symbols(auth_client.get("/api/assets/", {"search": "brk-b"})) == ["BRK-B"]
    assert symbols(auth_client.get("/api/assets/", {"search": "PPL"})) == ["AAPL"]
    assert symbols(auth_client.get("/api/assets/", {"search": "nothing"})) == []


def test_filters(auth_client, brk):
    AssetFactory(symbol="BRK-A", exchange="XNYS")
    AssetFactory(symbol="VTI", asset_class="etf", exchange="ARCX")
    AssetFactory(symbol="SAP.DE", currency="EUR", exchange="XETR", country="DE")
    get = auth_client.get
    assert symbols(get("/api/assets/", {"symbol": "brk-b"})) == ["BRK-B"]  # exact, any case
    assert symbols(get("/api/assets/", {"asset_class": "etf"})) == ["VTI"]
    assert symbols(get("/api/assets/", {"currency": "eur"})) == ["SAP.DE"]
    assert symbols(get("/api/assets/", {"exchange": "XNYS"})) == ["BRK-A", "BRK-B"]
    assert symbols(get("/api/assets/", {"country": "DE"})) == ["SAP.DE"]
    assert symbols(get("/api/assets/", {"sector": "Financials", "exchange": "XNYS"})) == ["BRK-B"]


def test_unknown_asset_class_is_a_field_error(auth_client):
    response = auth_client.get("/api/assets/", {"asset_class": "stock"})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert list(body["errors"]) == ["asset_class"]


@pytest.mark.parametrize("path", ["BRK-B", "brk-b", "Brk-b"])
def test_detail_by_symbol_in_any_case(auth_client, brk, path):
    response = auth_client.get(f"/api/assets/{path}/")
    assert response.status_code == 200
    assert set(response.json()) == FIELDS
    assert (response.json()["id"], response.json()["symbol"]) == (brk.pk, "BRK-B")


def test_detail_of_provider_spellings(auth_client):
    AssetFactory(symbol="^GSPC")
    AssetFactory(symbol="EURUSD=X")
    AssetFactory(symbol="SAP.DE")
    assert auth_client.get("/api/assets/%5Egspc/").json()["symbol"] == "^GSPC"
    assert auth_client.get("/api/assets/eurusd=x/").json()["symbol"] == "EURUSD=X"
    assert auth_client.get("/api/assets/sap.de/").json()["symbol"] == "SAP.DE"


def test_unknown_symbol_is_404(auth_client, brk):
    response = auth_client.get("/api/assets/BRK-C/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "errors": {}}
    assert auth_client.get("/api/assets/BRK-C/prices/").status_code == 404


def test_prices(auth_client, brk):
    PriceBarFactory(asset=AssetFactory(symbol="OTHER"), date=day(2), close=D("1"))
    body = auth_client.get("/api/assets/brk-b/prices/").json()
    assert body["count"] == 3
    assert body["results"][1] == {
        "date": "2024-01-03",
        "open": None,
        "high": None,
        "low": None,
        "close": "352.00000000",
        "adj_close": "351.50000000",
        "volume": 1200,
        "source": "",
    }
    assert [r["close"] for r in body["results"]] == ["350.00000000", "352.00000000", "349.25000000"]


@pytest.mark.parametrize(
    ("params", "dates"),
    [
        ({"start": "2024-01-03"}, ["2024-01-03", "2024-01-04"]),
        ({"end": "2024-01-03"}, ["2024-01-02", "2024-01-03"]),
        ({"start": "2024-01-03", "end": "2024-01-03"}, ["2024-01-03"]),
        ({"start": "2024-02-01"}, []),
    ],
)
def test_prices_between_dates(auth_client, brk, params, dates):
    body = auth_client.get("/api/assets/BRK-B/prices/", params).json()
    assert [r["date"] for r in body["results"]] == dates
    assert body["count"] == len(dates)


def test_prices_with_bad_dates_are_field_errors(auth_client, brk):
    response = auth_client.get("/api/assets/BRK-B/prices/", {"end": "never"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid input.", "errors": {"end": ["Enter a valid date."]}}
    both = auth_client.get("/api/assets/BRK-B/prices/", {"start": "2024-13-01", "end": "2024-01-32"})
    assert both.status_code == 400
    assert set(both.json()["errors"]) == {"start", "end"}


def test_list_pagination(auth_client):
    Asset.objects.bulk_create([Asset(symbol=f"A{i:02}") for i in range(53)])
    first = auth_client.get("/api/assets/").json()
    assert (first["count"], len(first["results"])) == (53, 50)  # PAGE_SIZE
    assert first["next"].endswith("/api/assets/?page=2")
    second = auth_client.get("/api/assets/", {"page": 2}).json()
    assert [r["symbol"] for r in second["results"]] == ["A50", "A51", "A52"]
    assert second["next"] is None
    assert second["previous"].endswith("/api/assets/")
    small = auth_client.get("/api/assets/", {"page_size": 5, "page": 3}).json()
    assert [r["symbol"] for r in small["results"]] == ["A10", "A11", "A12", "A13", "A14"]
    assert auth_client.get("/api/assets/", {"page": 3}).status_code == 404


def test_prices_pagination_is_capped_at_500(auth_client):
    asset = AssetFactory(symbol="LONG")
    PriceBar.objects.bulk_create([PriceBar(asset=asset, date=day(n), close=D(1 + n)) for n in range(502)])
    body = auth_client.get("/api/assets/LONG/prices/", {"page_size": 1000}).json()
    assert (body["count"], len(body["results"])) == (502, 500)
    assert body["results"][0]["date"] == "2024-01-01"
    last = auth_client.get("/api/assets/LONG/prices/", {"page_size": 1000, "page": 2}).json()
    assert [r["date"] for r in last["results"]] == [str(day(500)), str(day(501))]


def _fill(n: int) -> None:
    for i in range(n):
        asset = AssetFactory(symbol=f"N{n}X{i}")
        PriceBar.objects.bulk_create([PriceBar(asset=asset, date=day(d), close=D(10 + d)) for d in range(n)])


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries)


@pytest.mark.parametrize(("url", "expected"), [("/api/assets/", 2), ("/api/assets/n{n}x0/prices/", 3)])
def test_queries_do_not_grow_with_rows(auth_client, url, expected):
    # A count and a page (the prices also read the asset), for 2 rows as for 30.
    counts = []
    for n in (2, 30):
        _fill(n)
        counts.append(_queries(auth_client, url.format(n=n)))
    assert counts == [expected, expected]


# --- who may write -----------------------------------------------------------------------------


def test_anonymous_is_refused_with_401(api_client, brk):
    for response in (
        api_client.get("/api/assets/"),
        api_client.get("/api/assets/BRK-B/"),
        api_client.get("/api/assets/BRK-B/prices/"),
        api_client.post("/api/assets/", {"symbol": "NEW"}, format="json"),
        api_client.delete("/api/assets/BRK-B/"),
    ):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json() == {"detail": "Authentication credentials were not provided.", "errors": {}}
    assert Asset.objects.filter(symbol="BRK-B").exists()
    assert not Asset.objects.filter(symbol="NEW").exists()


def test_non_staff_cannot_write(auth_client, brk):
    create = auth_client.post("/api/assets/", {"symbol": "X"}, format="json")
    patch = auth_client.patch("/api/assets/BRK-B/", {"name": "Changed"}, format="json")
    put = auth_client.put("/api/assets/BRK-B/", {"symbol": "BRK-B", "name": "Changed"}, format="json")
    delete = auth_client.delete("/api/assets/BRK-B/")
    for response in (create, patch, put, delete):
        assert response.status_code == 403
        assert response.json() == FORBIDDEN
    assert list(Asset.objects.values_list("symbol", "name")) == [("BRK-B", "Berkshire Hathaway")]
    assert PriceBar.objects.filter(asset=brk).count() == 3


def test_staff_create_upper_cases(staff_client):
    response = staff_client.post(
        "/api/assets/",
        {"symbol": "^gspc", "name": "S&P 500", "asset_class": "other", "currency": "usd"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    asset = Asset.objects.get()
    assert response.json() == {
        "id": asset.pk,
        "symbol": "^GSPC",
        "name": "S&P 500",
        "asset_class": "other",
        "currency": "USD",
        "exchange": "",
        "sector": "",
        "country": "",
        "isin": "",
    }
    assert (asset.symbol, asset.currency) == ("^GSPC", "USD")
    created = staff_client.post("/api/assets/", {"symbol": "aapl", "isin": "us0378331005"}, format="json")
    assert created.status_code == 201, created.json()
    assert Asset.objects.get(symbol="AAPL").isin == "US0378331005"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "symbol"),
        ({"symbol": "BAD SYMBOL"}, "symbol"),
        ({"symbol": "X", "currency": "dollars"}, "currency"),
        ({"symbol": "X", "currency": "U5D"}, "currency"),
        ({"symbol": "X", "asset_class": "stock"}, "asset_class"),
        ({"symbol": "X", "isin": "US123"}, "isin"),
    ],
)
def test_staff_create_validates(staff_client, data, field):
    response = staff_client.post("/api/assets/", data, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid input."
    assert list(response.json()["errors"]) == [field]
    assert not Asset.objects.exists()


def test_staff_create_of_an_existing_symbol_in_another_case_is_refused(staff_client, brk):
    response = staff_client.post("/api/assets/", {"symbol": "brk-b"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": {"symbol": ["asset with this symbol already exists."]},
    }
    assert Asset.objects.count() == 1


def test_staff_patch(staff_client, brk):
    response = staff_client.patch("/api/assets/brk-b/", {"name": "Berkshire B", "currency": "eur"}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["name"], response.json()["currency"]) == ("Berkshire B", "EUR")
    brk.refresh_from_db()
    assert (brk.name, brk.currency) == ("Berkshire B", "EUR")
    renamed = staff_client.patch("/api/assets/BRK-B/", {"symbol": "brk.b"}, format="json")
    assert renamed.json()["symbol"] == "BRK.B"
    assert staff_client.get("/api/assets/BRK.B/").status_code == 200
    bad = staff_client.patch("/api/assets/BRK.B/", {"symbol": "brk b"}, format="json")
    assert bad.status_code == 400
    assert list(bad.json()["errors"]) == ["symbol"]


def test_staff_delete_of_an_unused_asset(staff_client, brk):
    assert PriceSeries.objects.filter(asset=brk).exists()
    response = staff_client.delete("/api/assets/brk-b/")
    assert response.status_code == 204
    assert not Asset.objects.exists()
    assert not PriceBar.objects.exists()
    assert not PriceSeries.objects.exists()
    assert staff_client.get("/api/assets/BRK-B/").status_code == 404


def test_staff_delete_of_an_asset_used_by_a_transaction_is_409__needs_the_portfolios_api(staff_client, brk):
    """The transaction that holds the asset is created through the portfolios REST API (a higher
    layer) rather than by importing its models or factories into the assets tests."""
    portfolio = staff_client.post("/api/portfolios/", {"name": "Main"}, format="json")
    assert portfolio.status_code == 201, portfolio.json()
    bought = staff_client.post(
        f"/api/portfolios/{portfolio.json()['id']}/transactions/",
        {"date": "2024-01-03", "type": "buy", "symbol": "brk-b", "quantity": "1", "price": "352"},
        format="json",
    )
    assert bought.status_code == 201, bought.json()

    refused = staff_client.delete("/api/assets/BRK-B/")

    assert refused.status_code == 409
    assert refused.json() == {
        "detail": "BRK-B is used by transactions; it cannot be deleted.",
        "errors": {"symbol": ["referenced by transactions"]},
    }
    assert Asset.objects.filter(pk=brk.pk).exists()
    assert PriceBar.objects.filter(asset=brk).count() == 3
    assert PriceSeries.objects.get(asset=brk).bars == 3


def test_staff_writes_of_a_taken_symbol_or_isin_are_400(staff_client, brk):
    AssetFactory(symbol="AAPL", isin="US0378331005")
    taken_symbol = staff_client.patch("/api/assets/BRK-B/", {"symbol": "aapl"}, format="json")
    assert taken_symbol.status_code == 400
    assert list(taken_symbol.json()["errors"]) == ["symbol"]
    taken_isin = staff_client.patch("/api/assets/BRK-B/", {"isin": "us0378331005"}, format="json")
    assert taken_isin.status_code == 400, taken_isin.content
    assert taken_isin.json()["errors"] == {"isin": ["asset with this isin already exists."]}
    created = staff_client.post("/api/assets/", {"symbol": "AAPL.MX", "isin": "US0378331005"}, format="json")
    assert created.status_code == 400
    assert list(created.json()["errors"]) == ["isin"]
    brk.refresh_from_db()
    assert (brk.symbol, brk.isin) == ("BRK-B", "")
    # A blank ISIN is not unique: any number of assets have none.
    AssetFactory(symbol="VTI", isin="")
    assert staff_client.patch("/api/assets/BRK-B/", {"isin": "", "name": "B"}, format="json").status_code == 200
