import datetime as dt

import pytest
from django.utils import timezone

from personal_finance.contrib.tasks import backup_database, cleanup_old_data


@pytest.mark.django_db
def test_cleanup_deletes_only_old_generated_reports(user):
    from personal_finance.analytics.models import PerformanceReport
    from personal_finance.portfolios.tests.factories import PortfolioFactory

    portfolio = PortfolioFactory(owner=user)
    old = PerformanceReport.objects.create(owner=user, portfolio=portfolio)
    PerformanceReport.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=200))
    fresh = PerformanceReport.objects.create(owner=user, portfolio=portfolio)
    result = cleanup_old_data.delay(90).get()
    assert result["performance_reports"] == 1
    assert list(PerformanceReport.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert cleanup_old_data.delay(90).get()["performance_reports"] == 0  # idempotent
    assert portfolio.pk  # the ledger is untouched


@pytest.mark.django_db(transaction=True)
def test_backup_database_writes_a_restorable_copy_and_rotates(tmp_path, settings, user):
    settings.BACKUP_DIR = str(tmp_path)
    settings.BACKUP_KEEP = 2
    first = backup_database.delay().get()
    assert first["bytes"] > 0
    if first["path"].endswith(".sqlite3"):
        import sqlite3

        with sqlite3.connect(first["path"]) as copy:
            assert copy.execute("SELECT count(*) FROM users_user").fetchone()[0] >= 1
    else:
        import subprocess

        listing = subprocess.run(["pg_restore", "--list", first["path"]], capture_output=True, text=True, check=True)
        assert "users_user" in listing.stdout
    for _ in range(2):
        backup_database.delay().get()
    assert len(list(tmp_path.glob("pfp-*"))) <= 2
