import datetime as dt
import io
import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.portfolios.documents import portfolio_holdings
from personal_finance.portfolios.importers import transactions_import
from personal_finance.portfolios.models import Transaction
from personal_finance.portfolios.services import AssetResolver

from .factories import FxRateFactory, PortfolioFactory

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent / "data"
HEADER = "date,type,symbol,quantity,price,fees,amount,currency,external_id,note\n"
GOOD = (
    HEADER
    + "2024-01-02,deposit,,,,,10000,USD,d1,first deposit\n"
    + "2024-01-03,buy,AAPL,10,185.50,1,,USD,b1,\n"
    + "2024-01-04,buy,msft,5,370,1,,USD,b2,\n"
    + "2024-02-15,dividend,AAPL,,,,2.40,USD,v1,\n"
    + "2024-03-01,sell,AAPL,4,180,1,,USD,s1,\n"
)


@pytest.fixture
def portfolio(user):
    return PortfolioFactory(owner=user, name="Imports")


def run(portfolio, text, **kwargs):
    raw = text.encode() if isinstance(text, str) else text
    return transactions_import(portfolio=portfolio, raw=raw, **kwargs)


def test_native_import_writes_everything(portfolio):
    result = run(portfolio, GOOD)
    assert result["created"] == 5
    assert result["new_assets"] == ["AAPL", "MSFT"]
    assert Transaction.objects.filter(portfolio=portfolio).count() == 5
    buy = Transaction.objects.get(external_id="b1")
    assert buy.amount == D("1856.00")
    holdings = {h["symbol"]: h for h in portfolio_holdings(portfolio=portfolio, as_of=dt.date(2024, 3, 2))["holdings"]}
    assert holdings["AAPL"]["quantity"] == "6"


def test_reimport_skips_duplicates_by_external_id(portfolio):
    run(portfolio, GOOD)
    again = run(portfolio, GOOD + "2024-03-05,deposit,,,,,5,USD,d2,\n")
    assert again["created"] == 1
    assert again["skipped_duplicates"] == 5
    assert Transaction.objects.filter(portfolio=portfolio).count() == 6


def test_dry_run_previews_and_writes_nothing(portfolio):
    result = run(portfolio, GOOD, dry_run=True)
    assert result["dry_run"] is True
    assert result["would_create"] == 5
    assert result["created"] == 0
    assert result["preview"][1] == {
        "row": 2,
        "date": "2024-01-03",
        "type": "buy",
        "symbol": "AAPL",
        "quantity": "10",
        "price": "185.50",
        "fees": "1",
        "amount": "1856.00",
        "currency": "USD",
        "fx_rate": "1",
        "external_id": "b1",
    }
    assert Transaction.objects.count() == 0
    from personal_finance.assets.models import Asset

    assert not Asset.objects.filter(symbol="AAPL").exists()


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        ("date,symbol,quantity,price\n2024-01-02,AAPL,1,1\n", "header", "missing column 'type'"),
        (HEADER + "2024-01-02,deposit,,,,,100,USD,,\n2024-02-30,deposit,,,,,1,USD,,\n", "row 2", "column date"),
        (HEADER + "2024-01-02,deposit,,,,,100,USD,,\n2024-01-03,buy,AAPL,-3,10,,,USD,,\n", "row 2", "column quantity"),
        (HEADER + "2024-01-02,borrow,,,,,100,USD,,\n", "row 1", "column type: unknown type 'borrow'"),
        (HEADER + "2024-01-02,buy,AAPL,1,abc,,,USD,,\n", "row 1", "column price: not a number"),
        (HEADER + "2024-01-02,buy,AA PL!,1,1,,,USD,,\n", "row 1", "column symbol: not a symbol"),
        (
            HEADER + "2024-01-02,buy,AAPL,2,10,,,USD,,\n2024-01-03,sell,AAPL,3,10,,,USD,,\n",
            "row 2",
            "column quantity: cannot sell 3 shares: only 2 held",
        ),
        # Numbers that do not fit their column were stored and broke every later read (500s).
        (HEADER + "2024-01-02,buy,AAPL,1e30,1,,,USD,,\n", "row 1", "column quantity: quantity is too large"),
        (HEADER + "2024-01-02,deposit,,,,,1e400,USD,,\n", "row 1", "column amount: amount is too large"),
        (HEADER + "2024-01-02,buy,AAPL,1e9,1e9,,,USD,,\n", "row 1", "column amount: quantity x price is too large"),
    ],
)
def test_bad_rows_name_row_and_column_and_change_nothing(portfolio, text, where, fragment):
    with pytest.raises(ApplicationError) as info:
        run(portfolio, text)
    errors = info.value.errors
    assert where in errors, errors
    assert any(fragment in m for m in errors[where]), errors
    assert info.value.message.startswith("Nothing was imported.") or where == "header"
    assert Transaction.objects.count() == 0


def test_wrong_encoding_empty_file_and_no_rows(portfolio):
    latin = (HEADER + "2024-01-02,deposit,,,,,100,USD,,Café\n").encode("latin-1")
    with pytest.raises(ApplicationError, match="not UTF-8"):
        run(portfolio, latin)
    with pytest.raises(ApplicationError, match="empty"):
        run(portfolio, b"")
    with pytest.raises(ApplicationError, match="no transactions"):
        run(portfolio, HEADER)
    assert Transaction.objects.count() == 0


def test_size_limit_has_a_clear_message(portfolio):
    with pytest.raises(ApplicationError) as info:
        run(portfolio, GOOD, max_bytes=100)
    assert info.value.status_code == 413
    assert "limit is" in info.value.message


def test_file_errors_keep_their_words_and_the_file_key(portfolio):
    bom = b"\xef\xbb\xbf" + (HEADER + "2024-01-02,deposit,,,,,100,USD,,Caf\xe9\n").encode("latin-1")
    with pytest.raises(ApplicationError) as info:
        run(portfolio, bom)
    offset = bom.index(b"\xe9")
    assert info.value.message == ("The file is not UTF-8 text (invalid byte at line 2). Export or save it as UTF-8.")
    assert info.value.errors == {"file": [f"not UTF-8 (line 2, byte {offset})"]}
    with pytest.raises(ApplicationError) as info:
        run(portfolio, b" \r\n")
    assert (info.value.message, info.value.errors) == ("The file is empty.", {"file": ["empty file"]})
    with pytest.raises(ApplicationError) as info:
        run(portfolio, GOOD, max_bytes=100)
    assert info.value.message == "The file is 0.0 MB; the limit is 0.0 MB. Split it into smaller files."
    assert info.value.errors == {"file": ["larger than 100 bytes"]}


def test_an_oversized_file_object_is_refused_before_it_is_read(portfolio):
    class Upload(io.BytesIO):
        size = 30 * 1_048_576

        def read(self, *args):
            raise AssertionError("read() was called")

    with pytest.raises(ApplicationError) as info:
        transactions_import(portfolio=portfolio, raw=Upload(), max_bytes=20 * 1_048_576)
    assert info.value.status_code == 413
    assert info.value.message.startswith("The file is 30.0 MB; the limit is 20.0 MB.")
    result = transactions_import(portfolio=portfolio, raw=io.BytesIO(GOOD.encode()), dry_run=True)
    assert result["would_create"] == 5


def test_an_error_late_in_the_file_rolls_back_new_assets_too(portfolio):
    from personal_finance.assets.models import Asset

    text = GOOD + "2024-03-02,sell,MSFT,50,1,,,USD,s9,\n"
    with pytest.raises(ApplicationError):
        run(portfolio, text)
    assert Transaction.objects.count() == 0
    assert not Asset.objects.filter(symbol__in=["AAPL", "MSFT"]).exists()


def test_column_mapping_reads_any_layout(portfolio):
    text = (
        "Trade Date;Kind;Ticker;Shares;Unit Price;Commission;Total;Ccy;Ref\n"
        "02.01.2024;Einzahlung;;;;;1000;USD;r1\n"
        "03.01.2024;Kauf;AAPL;2;100;1;;USD;r2\n"
    ).replace(";", ",")
    mapping = {
        "columns": {
            "date": "Trade Date",
            "type": "Kind",
            "symbol": "Ticker",
            "quantity": "Shares",
            "price": "Unit Price",
            "fees": "Commission",
            "amount": "Total",
            "currency": "Ccy",
            "external_id": "Ref",
        },
        "types": {"Einzahlung": "deposit", "Kauf": "buy"},
        "date_format": "%d.%m.%Y",
    }
    result = run(portfolio, text, mapping=mapping)
    assert result["created"] == 2
    assert Transaction.objects.get(external_id="r2").trade_date == dt.date(2024, 1, 3)
    with pytest.raises(ApplicationError) as info:
        run(portfolio, text, mapping={"columns": {"when": "Trade Date"}})
    assert "mapping" in info.value.errors


def test_schwab_export(portfolio):
    raw = (DATA / "schwab_transactions.csv").read_bytes()
    result = run(portfolio, raw, format_name="schwab")
    assert result["created"] == 9
    types = list(Transaction.objects.order_by("trade_date", "id").values_list("type", flat=True))
    assert types == ["deposit", "buy", "buy", "sell", "interest", "dividend", "fee", "transfer_in", "withdrawal"]
    gis_buy = Transaction.objects.get(asset__symbol="GIS", type="buy")
    assert gis_buy.amount == D("1762.65")
    assert gis_buy.fees == D("0.65")
    interest = Transaction.objects.get(type="interest")
    assert interest.trade_date == dt.date(2023, 5, 17)
    holdings = {h["symbol"]: h for h in portfolio_holdings(portfolio=portfolio, as_of=dt.date(2023, 6, 1))["holdings"]}
    assert holdings["GIS"]["quantity"] == "40"  # 20 bought + 20 from the 2:1 split
    assert holdings["GIS"]["cost_basis"] == "1762.65"
    assert holdings["BND"]["quantity"] == "34.935"
    again = run(portfolio, raw, format_name="schwab")
    assert again["created"] == 0
    assert again["skipped_duplicates"] == 9


def test_trading212_export(user):
    portfolio = PortfolioFactory(owner=user, base_currency="EUR")
    FxRateFactory(base="EUR", quote="USD", date=dt.date(2023, 12, 1), rate=D("1.09"))
    raw = (DATA / "trading212_export.csv").read_bytes()
    result = run(portfolio, raw, format_name="trading212")
    assert result["created"] == 7
    buy = Transaction.objects.get(external_id="EOF7504196256")
    assert buy.type == "buy"
    assert buy.currency == "EUR"
    assert buy.amount == D("91.59")
    assert buy.fees == D("0.18")
    assert abs(buy.price - D("49.96") / D("1.09303")) < D("0.0000001")
    assert Transaction.objects.get(type="withdrawal").amount == D("200.00")
    dividend = Transaction.objects.get(type="dividend")
    assert dividend.asset.symbol == "AAPL"
    assert dividend.amount == D("0.31")
    holdings = {h["symbol"]: h for h in portfolio_holdings(portfolio=portfolio, as_of=dt.date(2024, 1, 6))["holdings"]}
    assert holdings["CSCO"]["quantity"] == "1.5"


def test_unknown_format_is_a_field_error(portfolio):
    with pytest.raises(ApplicationError) as info:
        run(portfolio, GOOD, format_name="robinhood")
    assert "format" in info.value.errors


# --- REST route ------------------------------------------------------------------------------------
def _upload(text: str, name="tx.csv"):
    f = io.BytesIO(text.encode() if isinstance(text, str) else text)
    f.name = name
    return f


def test_import_route_dry_run_then_import(auth_client, portfolio):
    url = f"/api/portfolios/{portfolio.pk}/transactions/import/"
    preview = auth_client.post(url, {"file": _upload(GOOD), "dry_run": "true"}, format="multipart")
    assert preview.status_code == 200, preview.json()
    assert preview.json()["would_create"] == 5
    assert Transaction.objects.count() == 0
    done = auth_client.post(url, {"file": _upload(GOOD)}, format="multipart")
    assert done.status_code == 201
    assert done.json()["created"] == 5


def test_import_route_errors_are_400_with_rows(auth_client, portfolio):
    url = f"/api/portfolios/{portfolio.pk}/transactions/import/"
    bad = auth_client.post(url, {"file": _upload(HEADER + "2024-01-02,buy,AAPL,1,x,,,USD,,\n")}, format="multipart")
    assert bad.status_code == 400
    body = bad.json()
    assert body["errors"]["row 1"] == ["column price: not a number: 'x'"]
    missing = auth_client.post(url, {}, format="multipart")
    assert missing.status_code == 400
    assert "file" in missing.json()["errors"]
    mapping = auth_client.post(url, {"file": _upload(GOOD), "mapping": "{not json"}, format="multipart")
    assert mapping.status_code == 400
    assert "mapping" in mapping.json()["errors"]


def test_import_route_size_limit(auth_client, portfolio, settings):
    settings.IMPORT_MAX_BYTES = 50
    url = f"/api/portfolios/{portfolio.pk}/transactions/import/"
    response = auth_client.post(url, {"file": _upload(GOOD)}, format="multipart")
    assert response.status_code == 413
    assert "limit is" in response.json()["detail"]


# --- command ---------------------------------------------------------------------------------------
def test_import_transactions_command(tmp_path, portfolio, capsys):
    path = tmp_path / "tx.csv"
    path.write_text(GOOD)
    call_command("import_transactions", str(path), "--portfolio", str(portfolio.pk), "--dry-run", "--json")
    doc = json.loads(capsys.readouterr().out)
    assert doc["would_create"] == 5
    assert Transaction.objects.count() == 0
    call_command("import_transactions", str(path), "--portfolio", str(portfolio.pk))
    assert "imported 5 transactions" in capsys.readouterr().out


def test_import_transactions_command_bad_input_exit_2(tmp_path, portfolio):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "2024-01-02,deposit,,,,,100,USD,,\n2024-01-03,buy,AAPL,1,,,,USD,,\n")
    with pytest.raises(CommandError) as info:
        call_command("import_transactions", str(path), "--portfolio", str(portfolio.pk))
    assert info.value.returncode == 2
    assert f"{path}: row 2, column price: required for buy" in str(info.value)
    assert Transaction.objects.count() == 0
    with pytest.raises(CommandError) as info:
        call_command("import_transactions", str(path), "--portfolio", "999999")
    assert info.value.returncode == 2


def test_new_assets_of_a_batch_are_validated_naming_the_symbol(db):
    resolver = AssetResolver()
    resolver.currency_of("NEWCO", "EURO")  # not a three-letter code
    with pytest.raises(ApplicationError) as exc:
        resolver.create_new()
    assert exc.value.message == "Invalid symbol 'NEWCO'."
    assert list(exc.value.errors) == ["symbol"]
    assert exc.value.errors["symbol"][0].startswith("NEWCO: ")
