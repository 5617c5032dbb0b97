"""Model validation raised as an ApplicationError (contrib.services.clean_or_raise), on assets."""

import pytest

from personal_finance.assets.models import Asset
from personal_finance.assets.services import asset_create
from personal_finance.contrib.exceptions import ApplicationError
from personal_finance.contrib.services import clean_or_raise

pytestmark = pytest.mark.django_db


def test_field_errors_under_their_fields():
    with pytest.raises(ApplicationError) as exc:
        clean_or_raise(Asset(symbol="OK", currency="dollars"))
    assert exc.value.message == "Invalid input."
    assert set(exc.value.errors) == {"currency"}


def test_one_field_naming_the_object():
    with pytest.raises(ApplicationError) as exc:
        clean_or_raise(Asset(symbol="OK", currency="X"), message="Invalid symbol 'OK'.", field="symbol")
    assert exc.value.message == "Invalid symbol 'OK'."
    assert list(exc.value.errors) == ["symbol"]
    assert all(m.startswith("OK: ") for m in exc.value.errors["symbol"])


def test_a_valid_object_passes_and_kwargs_reach_full_clean():
    Asset.objects.create(symbol="TAKEN")
    clean_or_raise(Asset(symbol="TAKEN"), validate_unique=False, validate_constraints=False)
    with pytest.raises(ApplicationError) as exc:
        clean_or_raise(Asset(symbol="TAKEN"))
    assert "symbol" in exc.value.errors


def test_asset_create_keeps_its_message():
    with pytest.raises(ApplicationError) as exc:
        asset_create(symbol="OK", currency="dollars")
    assert (exc.value.message, list(exc.value.errors)) == ("Invalid asset.", ["currency"])
