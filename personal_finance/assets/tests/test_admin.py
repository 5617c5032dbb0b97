"""The admin of the shared reference data: every page renders, assets show their bar counts."""

import datetime as dt
import re
from decimal import Decimal as D

import pytest

from personal_finance.users.tests.factories import UserFactory

from .factories import AssetFactory, CorporateActionFactory, FxRateFactory, PriceBarFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def aapl():
    asset = AssetFactory(symbol="AAPL", name="Apple", isin="US0378331005")
    PriceBarFactory(asset=asset, date=dt.date(2024, 1, 2), close=D("185"))
    PriceBarFactory(asset=asset, date=dt.date(2024, 1, 3), close=D("184"))
    PriceBarFactory(asset=asset, date=dt.date(2024, 1, 4), close=D("182"))
    FxRateFactory()
    CorporateActionFactory(asset=asset, date=dt.date(2024, 1, 2), kind="split", ratio=D(2))
    return asset


@pytest.mark.parametrize("model", ["asset", "pricebar", "fxrate", "corporateaction"])
def test_every_assets_admin_page_renders(admin_client, aapl, model):
    assert admin_client.get(f"/admin/assets/{model}/").status_code == 200
    assert admin_client.get(f"/admin/assets/{model}/?q=AAPL").status_code == 200
    assert admin_client.get(f"/admin/assets/{model}/add/").status_code == 200


def test_asset_admin_shows_bar_counts_and_dates(admin_client, aapl):
    AssetFactory(symbol="BARE")
    page = admin_client.get("/admin/assets/asset/").content.decode()
    assert '<td class="field-bars">3</td>' in page
    assert '<td class="field-bars">0</td>' in page
    assert "Jan. 4, 2024" in page  # last bar
    change = admin_client.get(f"/admin/assets/asset/{aapl.pk}/change/")
    assert change.status_code == 200
    readonly = dict(
        re.findall(r'<label>([^<]*):</label>\s*<div class="readonly">([^<]*)</div>', change.content.decode())
    )
    assert (readonly["Price bars"], readonly["First bar"], readonly["Last bar"]) == ("3", "2024-01-02", "2024-01-04")


def test_asset_admin_searches_isin(admin_client, aapl):
    AssetFactory(symbol="MSFT")
    page = admin_client.get("/admin/assets/asset/", {"q": "US0378"}).content.decode()
    assert "1 result" in page
    assert f"/admin/assets/asset/{aapl.pk}/change/" in page
