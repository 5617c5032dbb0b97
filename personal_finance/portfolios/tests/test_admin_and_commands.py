import json

import pytest
from django.core.management import call_command

from personal_finance.assets.models import PriceBar
from personal_finance.portfolios.documents import portfolio_holdings
from personal_finance.portfolios.models import Portfolio, Transaction
from personal_finance.users.tests.factories import UserFactory

from .factories import AssetFactory, PortfolioFactory, PriceBarFactory, TransactionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


def test_every_admin_page_renders(client, superuser):
    # The assets app's admin pages are tested in personal_finance/assets/tests/test_admin.py.
    asset = AssetFactory(symbol="AAPL")
    PriceBarFactory(asset=asset)
    portfolio = PortfolioFactory(owner=superuser)
    TransactionFactory(portfolio=portfolio)
    client.force_login(superuser)
    for model in ("portfolio", "transaction"):
        assert client.get(f"/admin/portfolios/{model}/").status_code == 200, model
    page = client.get(f"/admin/portfolios/portfolio/{portfolio.pk}/change/")
    assert page.status_code == 200
    assert b"Total value" in page.content


def test_staff_see_only_their_own_portfolios_in_admin(client):
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_portfolio", "view_transaction"]))
    mine = PortfolioFactory(owner=staff, name="Mine")
    theirs = PortfolioFactory(name="Theirs")
    TransactionFactory(portfolio=theirs, note="their secret")
    client.force_login(staff)
    listing = client.get("/admin/portfolios/portfolio/")
    assert b"Mine" in listing.content
    assert b"Theirs" not in listing.content
    assert client.get(f"/admin/portfolios/portfolio/{theirs.pk}/change/").status_code == 302  # not found -> index
    assert b"their secret" not in client.get("/admin/portfolios/transaction/").content
    assert mine.pk


def test_seed_demo_builds_a_realistic_portfolio_idempotently(capsys):
    call_command("seed_demo", "--json")
    first = json.loads(capsys.readouterr().out)
    portfolio = Portfolio.objects.get(owner__username="demo")
    count = Transaction.objects.filter(portfolio=portfolio).count()
    assert first["transactions_created"] == count > 100
    types = set(Transaction.objects.filter(portfolio=portfolio).values_list("type", flat=True))
    assert types >= {"deposit", "buy", "sell", "dividend", "interest", "fee", "split"}
    assert PriceBar.objects.filter(source="sample").count() > 1000
    assert first["price_sources"] == ["sample"]
    bars = PriceBar.objects.count()
    call_command("seed_demo", "--json")
    second = json.loads(capsys.readouterr().out)
    assert second["transactions_created"] == 0
    assert second["sample_prices"] is True
    assert PriceBar.objects.count() == bars
    assert Transaction.objects.filter(portfolio=portfolio).count() == count
    holdings = portfolio_holdings(portfolio=portfolio)
    assert holdings["complete"] is True
    assert {h["symbol"] for h in holdings["holdings"]} >= {"AAPL", "VTI", "SAP.DE", "NVDA"}


def test_staff_cannot_give_a_portfolio_to_another_user_in_admin(client):
    # Non-superuser staff with portfolio permissions: the owner raw-id field accepted any user id
    # (a portfolio created in, or moved into, another user's account) and showed its username.
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename__endswith="_portfolio"))
    other = UserFactory(username="someone-else")
    client.force_login(staff)
    assert b"someone-else" not in client.get(f"/admin/portfolios/portfolio/add/?owner={other.pk}").content
    body = {"name": "Pf", "base_currency": "USD", "description": "", "tax_lot_method": "fifo"}
    refused = client.post("/admin/portfolios/portfolio/add/", {**body, "owner": other.pk})
    assert refused.status_code == 200
    assert "owner" in refused.context["adminform"].form.errors
    assert not Portfolio.objects.filter(owner=other).exists()
    assert client.post("/admin/portfolios/portfolio/add/", {**body, "owner": staff.pk}).status_code == 302
    mine = Portfolio.objects.get(owner=staff)
    moved = client.post(f"/admin/portfolios/portfolio/{mine.pk}/change/", {**body, "owner": other.pk})
    assert moved.status_code == 200
    assert Portfolio.objects.get(pk=mine.pk).owner == staff
