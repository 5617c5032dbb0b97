"""Field validators (what full_clean and the API refuse) and the database constraints (what no
write path can get past)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from personal_finance.assets.models import Asset, CorporateAction, FxRate, PriceBar

from .factories import AssetFactory, CorporateActionFactory, FxRateFactory, PriceBarFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2024, 1, 2)


def clean_errors(obj) -> dict:
    with pytest.raises(ValidationError) as exc:
        obj.full_clean()
    return exc.value.message_dict


# --- validators --------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", ["AAPL", "BRK-B", "BRK.B", "^GSPC", "EURUSD=X", "SAP.DE", "7203", "A" * 32])
def test_symbol_validator_accepts_provider_spellings(symbol):
    Asset(symbol=symbol).full_clean()


@pytest.mark.parametrize("symbol", ["aapl", "Brk-B", "BRK B", ".DE", "-X", "AAPL!", "A" * 33])
def test_symbol_validator_refuses_other_spellings(symbol):
    assert "symbol" in clean_errors(Asset(symbol=symbol))


def test_blank_symbol_is_refused():
    assert clean_errors(Asset(symbol=""))["symbol"] == ["This field cannot be blank."]


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "U5D", ""])
def test_currency_must_be_three_upper_case_letters(currency):
    assert "currency" in clean_errors(Asset(symbol="X", currency=currency))


def test_currency_message_names_the_format():
    assert clean_errors(Asset(symbol="X", currency="us1"))["currency"] == [
        "Use a three-letter ISO 4217 code such as USD."
    ]


@pytest.mark.parametrize("isin", ["US0378331005", "DE0007164600", ""])
def test_isin_validator_accepts_valid_or_blank(isin):
    Asset(symbol="X", isin=isin).full_clean()


@pytest.mark.parametrize("isin", ["US037833100", "us0378331005", "US037833100X", "1S0378331005", "US03783310-5"])
def test_isin_validator_refuses_malformed(isin):
    assert clean_errors(Asset(symbol="X", isin=isin))["isin"] == ["An ISIN has 12 characters, e.g. US0378331005."]


def test_fx_currencies_are_validated():
    errors = clean_errors(FxRate(base="eur", quote="US", date=DAY, rate=D("1.1")))
    assert set(errors) == {"base", "quote"}


def test_asset_defaults_and_str():
    asset = Asset.objects.create(symbol="AAPL")
    assert (asset.currency, asset.asset_class, asset.name, asset.isin) == ("USD", "equity", "", "")
    assert str(asset) == "AAPL"


def test_assets_are_ordered_by_symbol():
    for symbol in ("MSFT", "AAPL", "^GSPC", "BND"):
        AssetFactory(symbol=symbol)
    assert list(Asset.objects.values_list("symbol", flat=True)) == ["AAPL", "BND", "MSFT", "^GSPC"]


# --- database constraints ----------------------------------------------------------------------


def integrity_error(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_lower_case_symbol_is_refused_by_the_database():
    # The validator is not run by .create(); the check constraint still refuses the row.
    integrity_error(lambda: Asset.objects.create(symbol="aapl"))
    integrity_error(lambda: Asset.objects.create(symbol="BRK-b"))
    assert not Asset.objects.exists()
    Asset.objects.create(symbol="BRK-B")


def test_symbol_is_unique():
    AssetFactory(symbol="AAPL")
    integrity_error(lambda: Asset.objects.create(symbol="AAPL"))


def test_isin_is_unique_only_when_given():
    Asset.objects.create(symbol="A", isin="")
    Asset.objects.create(symbol="B", isin="")
    Asset.objects.create(symbol="C", isin="US0378331005")
    integrity_error(lambda: Asset.objects.create(symbol="D", isin="US0378331005"))
    assert Asset.objects.count() == 3


def test_isin_uniqueness_is_part_of_full_clean():
    Asset.objects.create(symbol="C", isin="US0378331005")
    assert clean_errors(Asset(symbol="D", isin="US0378331005")) == {
        "__all__": ["Constraint “asset_isin_unique” is violated."]
    }


@pytest.mark.parametrize("close", [D("0"), D("-1")])
def test_close_must_be_positive(close):
    asset = AssetFactory()
    integrity_error(lambda: PriceBar.objects.create(asset=asset, date=DAY, close=close))
    assert not PriceBar.objects.exists()


def test_close_check_is_part_of_full_clean():
    asset = AssetFactory()
    assert clean_errors(PriceBar(asset=asset, date=DAY, close=D("0"))) == {
        "__all__": ["Constraint “pricebar_close_positive” is violated."]
    }


def test_one_bar_per_asset_and_date():
    bar = PriceBarFactory(date=DAY, close=D("10"))
    integrity_error(lambda: PriceBar.objects.create(asset=bar.asset, date=DAY, close=D("11")))
    # Another asset may have a bar that day, and the same asset another day.
    PriceBarFactory(asset=AssetFactory(), date=DAY)
    PriceBarFactory(asset=bar.asset, date=DAY + dt.timedelta(days=1))
    assert PriceBar.objects.count() == 3
    assert PriceBar.objects.get(asset=bar.asset, date=DAY).close == D("10")


def test_fx_currencies_must_differ():
    integrity_error(lambda: FxRate.objects.create(base="USD", quote="USD", date=DAY, rate=D("1")))
    FxRate.objects.create(base="EUR", quote="USD", date=DAY, rate=D("1.08"))


@pytest.mark.parametrize("rate", [D("0"), D("-1.1")])
def test_fx_rate_must_be_positive(rate):
    integrity_error(lambda: FxRate.objects.create(base="EUR", quote="USD", date=DAY, rate=rate))


def test_one_fx_rate_per_pair_and_date():
    FxRateFactory(base="EUR", quote="USD", date=DAY)
    integrity_error(lambda: FxRate.objects.create(base="EUR", quote="USD", date=DAY, rate=D("2")))
    FxRate.objects.create(base="USD", quote="EUR", date=DAY, rate=D("0.9"))  # the inverse pair is another row


@pytest.mark.parametrize(
    ("kind", "ratio", "amount"),
    [
        ("split", None, None),
        ("split", D("0"), None),
        ("split", None, D("2")),  # a split names a ratio, not an amount
        ("dividend", None, None),
        ("dividend", None, D("0")),
        ("dividend", D("2"), None),  # a dividend names an amount, not a ratio
        ("spinoff", D("1"), D("1")),  # no other kind passes the check
    ],
)
def test_corporate_action_needs_its_value(kind, ratio, amount):
    asset = AssetFactory()
    integrity_error(
        lambda: CorporateAction.objects.create(asset=asset, date=DAY, kind=kind, ratio=ratio, amount=amount)
    )
    assert not CorporateAction.objects.exists()


def test_corporate_action_without_its_value_fails_full_clean():
    asset = AssetFactory()
    assert clean_errors(CorporateAction(asset=asset, date=DAY, kind="split")) == {
        "__all__": ["Constraint “corporateaction_value_present” is violated."]
    }


def test_corporate_actions_with_their_value_are_stored():
    asset = AssetFactory(symbol="NVDA")
    split = CorporateActionFactory(asset=asset, kind="split", ratio=D("10"))
    dividend = CorporateActionFactory(asset=asset, kind="dividend", ratio=None, amount=D("0.01"))
    split.refresh_from_db()
    dividend.refresh_from_db()
    assert (split.ratio, split.amount) == (D("10"), None)
    assert (dividend.ratio, dividend.amount) == (None, D("0.01"))
    assert str(split) == f"{asset.pk} split 2024-06-10 {split.ratio}"
    assert str(dividend) == f"{asset.pk} dividend 2024-06-10 {dividend.amount}"
    # One action of a kind per asset and day.
    integrity_error(lambda: CorporateAction.objects.create(asset=asset, date=split.date, kind="split", ratio=D("2")))


def test_bars_and_actions_go_with_their_asset():
    asset = AssetFactory()
    PriceBarFactory(asset=asset)
    CorporateActionFactory(asset=asset)
    asset.delete()
    assert not PriceBar.objects.exists()
    assert not CorporateAction.objects.exists()
