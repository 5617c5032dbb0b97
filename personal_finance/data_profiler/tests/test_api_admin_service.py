import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from personal_finance.assets.models import Asset, CorporateAction, PriceBar
from personal_finance.assets.tests.factories import AssetFactory
from personal_finance.data_profiler.models import AssetProfile
from personal_finance.data_profiler.selectors import asset_price_frame
from personal_finance.data_profiler.services import profile_asset
from personal_finance.users.tests.factories import UserFactory

from .conftest import clean_frame

pytestmark = pytest.mark.django_db


def store(asset, frame):
    def dec(x):
        return Decimal(f"{x:.6f}")

    PriceBar.objects.bulk_create(
        PriceBar(
            asset=asset,
            date=ts.date(),
            open=dec(row.Open),
            high=dec(row.High),
            low=dec(row.Low),
            close=dec(row.Close),
            volume=int(row.Volume),
        )
        for ts, row in zip(frame.index, frame.itertuples(index=False), strict=True)
    )


@pytest.fixture
def aapl():
    asset = AssetFactory(symbol="AAPL", exchange="NMS")
    frame = clean_frame()
    store(asset, frame.drop(frame.index[[30, 31]]))
    return asset


# -- service -------------------------------------------------------------------------------------


def test_profile_asset_stores_one_profile_per_asset(aapl):
    profile = profile_asset(aapl)
    assert profile.calendar == "XNAS"
    assert (profile.errors, profile.warnings) == (0, 1)
    assert profile.report["rows"] == 248
    assert [f["check"] for f in profile.report["findings"]] == ["calendar_gaps"]
    assert profile.report["findings"][0]["dates"] == ["2023-02-15", "2023-02-16"]
    again = profile_asset(aapl)
    assert again.pk == profile.pk
    assert AssetProfile.objects.count() == 1


def test_profile_asset_query_count(aapl, django_assert_num_queries):
    with django_assert_num_queries(3):  # bars, splits, one upsert
        profile_asset(aapl)


def test_calendar_from_symbol_suffix_and_crypto_has_no_gap_check():
    frame = clean_frame()
    sap = AssetFactory(symbol="SAP.DE", currency="EUR")
    store(sap, frame)
    profile = profile_asset(sap)
    assert profile.calendar == "XETR"
    assert any(f["check"] == "calendar_gaps" for f in profile.report["findings"])  # NYSE dates on XETR
    btc = AssetFactory(symbol="BTC-USD", asset_class="crypto")
    store(btc, frame.drop(frame.index[[5, 6, 7]]))
    profile = profile_asset(btc)
    assert (profile.calendar, profile.report["findings"]) == ("", [])


def test_recorded_split_is_expected_in_as_traded_closes():
    frame = clean_frame()
    frame.iloc[100:, :4] *= 0.5
    asset = AssetFactory(symbol="NVDA")
    store(asset, frame)
    assert [f["check"] for f in profile_asset(asset).report["findings"]] == ["possible_split"]
    CorporateAction.objects.create(asset=asset, date=frame.index[100].date(), kind="split", ratio=Decimal(2))
    assert profile_asset(asset).report["findings"] == []


def test_price_frame_of_an_asset_without_bars():
    asset = AssetFactory(symbol="EMPTY")
    assert len(asset_price_frame(asset=asset)) == 0
    profile = profile_asset(asset)
    assert profile.report == {"rows": 0, "start": None, "end": None, "findings": []}


def test_price_frame_keeps_missing_open_high_low(aapl):
    PriceBar.objects.filter(asset=aapl, date=dt.date(2023, 3, 1)).update(open=None)
    finding = profile_asset(aapl).report["findings"][0]
    assert (finding["check"], finding["severity"], finding["dates"]) == ("missing_values", "warning", ["2023-03-01"])


# -- REST ----------------------------------------------------------------------------------------

URL = "/api/data-quality/{}/"


def test_requires_authentication(api_client, aapl):
    assert api_client.get(URL.format("AAPL")).status_code == 401


def test_unknown_symbol_is_404(auth_client):
    response = auth_client.get(URL.format("NOPE"))
    assert response.status_code == 404
    assert response.json() == {"detail": "Asset not found.", "errors": {}}


def test_first_read_computes_and_stores_then_serves_the_stored_profile(auth_client, aapl, django_assert_num_queries):
    response = auth_client.get(URL.format("aapl"))
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["symbol", "checked_at", "rows", "start", "end", "findings"]
    assert (body["symbol"], body["rows"], body["start"], body["end"]) == ("AAPL", 248, "2023-01-03", "2023-12-29")
    assert body["findings"] == AssetProfile.objects.get(asset=aapl).report["findings"]
    assert set(body["findings"][0]) == {"check", "severity", "dates", "detail"}
    # Stored: one query (the asset joined with its profile), nothing recomputed.
    PriceBar.objects.filter(asset=aapl, date=dt.date(2023, 6, 1)).delete()
    with django_assert_num_queries(1):
        again = auth_client.get(URL.format("AAPL")).json()
    assert again == body


def test_refresh_recomputes(auth_client, aapl, django_assert_max_num_queries):
    old = profile_asset(aapl)
    AssetProfile.objects.filter(pk=old.pk).update(checked_at=timezone.now() - dt.timedelta(days=1))
    PriceBar.objects.filter(asset=aapl, date=dt.date(2023, 6, 1)).delete()
    with django_assert_max_num_queries(4):  # asset+profile, bars, splits, upsert
        body = auth_client.get(URL.format("AAPL"), {"refresh": "1"}).json()
    assert "2023-06-01" in body["findings"][0]["dates"]
    assert body["rows"] == 247
    assert AssetProfile.objects.get().checked_at > timezone.now() - dt.timedelta(minutes=1)


def test_refresh_must_be_a_boolean(auth_client, aapl):
    response = auth_client.get(URL.format("AAPL"), {"refresh": "maybe"})
    assert response.status_code == 400
    assert "refresh" in response.json()["errors"]


def test_every_signed_in_user_reads_it_and_nobody_writes(other_client, aapl):
    assert other_client.get(URL.format("AAPL")).status_code == 200
    for method in ("post", "put", "patch", "delete"):
        assert getattr(other_client, method)(URL.format("AAPL"), {}, format="json").status_code == 405
    assert Asset.objects.filter(symbol="AAPL").exists()


# -- admin ---------------------------------------------------------------------------------------


def test_admin_pages_render_and_rerun(client, aapl):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    profile = profile_asset(aapl)
    listing = client.get("/admin/data_profiler/assetprofile/")
    assert listing.status_code == 200
    assert b"AAPL" in listing.content
    assert client.get("/admin/data_profiler/assetprofile/?q=AAPL").status_code == 200
    page = client.get(f"/admin/data_profiler/assetprofile/{profile.pk}/change/")
    assert page.status_code == 200
    assert b"calendar_gaps" in page.content
    assert client.get("/admin/data_profiler/assetprofile/add/").status_code == 403
    PriceBar.objects.filter(asset=aapl, date=dt.date(2023, 6, 1)).delete()
    response = client.post(
        "/admin/data_profiler/assetprofile/", {"action": "rerun", "_selected_action": [profile.pk]}, follow=True
    )
    assert response.status_code == 200
    assert AssetProfile.objects.get().report["rows"] == 247
