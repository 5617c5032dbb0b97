"""Maintenance services behind the `low` queue's tasks: clean old derived data, back up the
database. Both are idempotent."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

logger = logging.getLogger("personal_finance.maintenance")


def cleanup_old_data(*, days: int | None = None) -> dict:
    """Delete generated reports older than ``REPORT_RETENTION_DAYS`` (they can be generated
    again) and expired sessions. User data (ledger, runs, prices) is never touched."""
    from personal_finance.analytics.models import PerformanceReport
    from personal_finance.tax.models import TaxReport

    days = settings.REPORT_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted = {
        "performance_reports": PerformanceReport.objects.filter(created_at__lt=cutoff).delete()[0],
        "tax_reports": TaxReport.objects.filter(created_at__lt=cutoff).delete()[0],
        "sessions": Session.objects.filter(expire_date__lt=timezone.now()).delete()[0],
    }
    logger.info("cleanup_old_data (older than %s days): %s", days, deleted)
    return deleted


def backup_database(*, directory: str | None = None, keep: int | None = None) -> dict:
    """A consistent copy of the database into ``BACKUP_DIR``: ``pg_dump`` (custom format) on
    PostgreSQL, SQLite's online backup API in embedded mode. Keeps the newest ``BACKUP_KEEP``."""
    target = Path(directory or settings.BACKUP_DIR)
    target.mkdir(parents=True, exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S.%fZ")
    db = connection.settings_dict
    if connection.vendor == "postgresql":
        path = target / f"pfp-{stamp}.dump"
        env = {"PGPASSWORD": str(db.get("PASSWORD") or "")}
        args = [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--file={path}",
            f"--host={db.get('HOST') or 'localhost'}",
            f"--port={db.get('PORT') or 5432}",
            f"--username={db.get('USER') or 'postgres'}",
            db["NAME"],
        ]
        result = subprocess.run(  # noqa: S603 - argv from our own settings, no shell
            args,
            env={**env, "PATH": "/usr/bin:/bin:/usr/local/bin"},
            capture_output=True,
            text=True,
            timeout=3600,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    else:
        path = target / f"pfp-{stamp}.sqlite3"
        connection.ensure_connection()
        dest = sqlite3.connect(path)
        try:
            connection.connection.backup(dest)
        finally:
            dest.close()
    backups = sorted(target.glob("pfp-*"), key=lambda p: p.stat().st_mtime, reverse=True)
    removed = [p.name for p in backups[keep if keep is not None else settings.BACKUP_KEEP :]]
    for name in removed:
        (target / name).unlink(missing_ok=True)
    size = path.stat().st_size
    logger.info("backup_database: %s (%d bytes), removed %s", path, size, removed)
    return {"path": str(path), "bytes": size, "removed": removed}
