import datetime as dt

import pytest
from django.utils import timezone

from personal_finance.contrib.tasks import backup_database, cleanup_old_data


@pytest.mark.django_db
def test_cleanup_deletes_only_rows_older_than_the_retention_of_registered_rules(monkeypatch):
    from django.contrib.sessions.models import Session

    from personal_finance.contrib import maintenance

    now = timezone.now()
    for key, age in (("old", 200), ("recent", 10)):
        Session.objects.create(session_key=key, session_data="", expire_date=now + dt.timedelta(days=400 - age))
    # A rule registered the way apps do it: rows whose date is older than `days` go.
    monkeypatch.setattr(maintenance, "EXPIRING", {})
    maintenance.register_expiring("far_sessions", lambda: Session, field="expire_date")
    result = cleanup_old_data.delay(-250).get()  # cutoff 250 days from now: only "old" expires before it
    assert result == {"far_sessions": 1, "sessions": 0}
    assert list(Session.objects.values_list("session_key", flat=True)) == ["recent"]
    assert cleanup_old_data.delay(-250).get()["far_sessions"] == 0  # idempotent


def test_apps_register_their_generated_reports():
    from personal_finance.contrib.maintenance import EXPIRING

    assert {"performance_reports", "tax_reports"} <= set(EXPIRING)


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
