"""Embedded mode (SQLite): two requests that each read then write inside a transaction must not
fail with "database is locked" (found by fuzzing: concurrent PATCH /api/portfolios/{id}/ answered
500). The configured transaction mode makes the second writer wait for the first.
"""

import copy
import threading
import time

import pytest
from django.conf import settings
from django.db.backends.sqlite3.base import DatabaseWrapper

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3", reason="SQLite (embedded mode) only"
)
def test_concurrent_read_then_write_transactions_wait_instead_of_failing(tmp_path):
    db_settings = copy.deepcopy(settings.DATABASES["default"])
    db_settings.update(NAME=str(tmp_path / "locking.sqlite3"), TEST={})
    setup = DatabaseWrapper(db_settings, alias="locking-setup")
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (n integer)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    setup.close()

    errors = []

    def request_like():
        conn = DatabaseWrapper(db_settings, alias="locking")
        try:
            conn.ensure_connection()
            conn._start_transaction_under_autocommit()  # what transaction.atomic does on SQLite
            with conn.cursor() as cursor:
                cursor.execute("SELECT n FROM counter")  # e.g. the uniqueness check before a save
                time.sleep(0.3)  # the other request reads meanwhile
                cursor.execute("UPDATE counter SET n = n + 1")
            conn.commit()
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=request_like) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    check = DatabaseWrapper(db_settings, alias="locking-check")
    with check.cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone()[0] == 2
    check.close()
