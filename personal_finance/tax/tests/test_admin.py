"""Admin of the stored tax results: pages render, staff who are not superusers see only their own."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from personal_finance.portfolios.tests.factories import PortfolioFactory
from personal_finance.tax import services
from personal_finance.tax.models import TaxRate, TaxReport
from personal_finance.users.tests.factories import UserFactory

from .ledger import trade

pytestmark = pytest.mark.django_db

MODELS = ("taxlot", "realizedgain", "taxreport", "taxrate")


def _data(user, name):
    portfolio = PortfolioFactory(owner=user, name=name)
    trade(portfolio, "buy", "2024-01-02", 10, 10, symbol="ADM")
    trade(portfolio, "sell", "2024-02-01", 4, 8, symbol="ADM")
    services.tax_lots_identify(user=user)
    services.capital_gains_calculate(user=user)
    TaxRate.objects.create(owner=user, year=2024, short_term_rate=D("0.3"), long_term_rate=D("0.15"))
    TaxReport.objects.create(owner=user, portfolio=portfolio, year=2024, status="done", content=b"x")


def test_admin_pages_render_with_computed_columns(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    _data(admin, "Mine")
    client.force_login(admin)
    for model in MODELS:
        page = client.get(f"/admin/tax/{model}/")
        assert page.status_code == 200, model
        assert client.get(f"/admin/tax/{model}/?q=ADM").status_code == 200, model
    assert b"wash-sale adjustment" in client.get("/admin/tax/taxlot/").content.lower()
    assert b"reportable gain or loss" in client.get("/admin/tax/realizedgain/").content.lower()
    assert client.get("/admin/tax/realizedgain/?term__exact=short").status_code == 200


def test_staff_see_only_their_own(client):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="tax", codename__startswith="view_"))
    other = UserFactory()
    _data(staff, "Staff portfolio")
    _data(other, "Other portfolio")
    client.force_login(staff)
    for model in MODELS:
        page = client.get(f"/admin/tax/{model}/")
        assert page.status_code == 200, model
        assert page.context["cl"].result_count == 1, model
        assert b"Other portfolio" not in page.content, model


def test_staff_cannot_file_a_tax_rate_under_another_user(client):
    # Non-superuser staff with add/change/view on tax rates: the owner raw-id field took any user
    # id (a rate written into another user's account) and its label showed that user's username.
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="tax", codename__endswith="_taxrate"))
    other = UserFactory(username="someone-else")
    client.force_login(staff)
    peek = client.get(f"/admin/tax/taxrate/add/?owner={other.pk}")
    assert peek.status_code == 200
    assert b"someone-else" not in peek.content
    body = {"year": 2030, "short_term_rate": "0.3", "long_term_rate": "0.1"}
    refused = client.post("/admin/tax/taxrate/add/", {**body, "owner": other.pk})
    assert refused.status_code == 200  # the form again, with an error on owner
    assert "owner" in refused.context["adminform"].form.errors
    assert not TaxRate.objects.filter(owner=other).exists()
    mine = client.post("/admin/tax/taxrate/add/", {**body, "owner": staff.pk})
    assert mine.status_code == 302
    rate = TaxRate.objects.get(owner=staff, year=2030)
    moved = client.post(f"/admin/tax/taxrate/{rate.pk}/change/", {**body, "owner": other.pk})
    assert moved.status_code == 200
    assert TaxRate.objects.get(pk=rate.pk).owner == staff
