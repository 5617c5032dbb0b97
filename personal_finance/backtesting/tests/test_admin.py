from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from personal_finance.backtesting.models import BacktestRun, BacktestTrade, Sweep
from personal_finance.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _run(owner, symbol):
    run = BacktestRun.objects.create(
        owner=owner, strategy="sma_cross", symbols=[symbol], params={}, status="done", stats={"return_pct": 12.5}
    )
    BacktestTrade.objects.create(run=run, entry_date="2024-01-02", entry_price=10, size=3)
    return run


def test_superuser_sees_every_run_and_sweep(user, other_user):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    mine, theirs = _run(user, "MINE"), _run(other_user, "THEIRS")
    Sweep.objects.create(owner=user, strategy="sma_cross", symbols=["MINE"], grid={"fast": [5]})
    page = client.get("/admin/backtesting/backtestrun/").content.decode()
    assert "MINE" in page
    assert "THEIRS" in page
    assert "+12.50" in page
    assert client.get(f"/admin/backtesting/backtestrun/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/backtesting/backtestrun/{theirs.pk}/change/").status_code == 200
    assert client.get("/admin/backtesting/sweep/").status_code == 200
    assert client.get("/admin/backtesting/backtestrun/add/").status_code == 403


def test_staff_see_only_their_own_runs(user, other_user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_backtestrun", "view_sweep"]))
    client = Client()
    client.force_login(user)
    mine, theirs = _run(user, "MINE"), _run(other_user, "THEIRS")
    page = client.get("/admin/backtesting/backtestrun/").content.decode()
    assert "MINE" in page
    assert "THEIRS" not in page
    assert client.get(f"/admin/backtesting/backtestrun/{mine.pk}/change/").status_code == 200
    assert client.get(f"/admin/backtesting/backtestrun/{theirs.pk}/change/").status_code in (302, 404)
