"""Maintenance services behind the `low` queue's tasks: clean old derived data, back up the
database. Both are idempotent.

What counts as old derived data is registered by the apps that own it, from their
``AppConfig.ready()`` (``register_expiring``): contrib never imports the apps above it.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, models
from django.utils import timezone

logger = logging.getLogger("personal_finance.maintenance")


@dataclass(frozen=True)
class Expiring:
    """Rows of ``model`` that can be generated again, deleted once ``field`` is older than the
    retention period."""

    model: Callable[[], type[models.Model]]
    field: str = "created_at"


# name in the cleanup report -> rule; filled by the owning apps' AppConfig.ready().
EXPIRING: dict[str, Expiring] = {}


def register_expiring(name: str, model: Callable[[], type[models.Model]], *, field: str = "created_at") -> None:
    """Let ``cleanup_old_data`` delete generated rows of ``model()`` older than the retention
    period (``model`` is a callable so an app can register before its models are imported)."""
    EXPIRING[name] = Expiring(model, field)


def cleanup_old_data(*, days: int | None = None) -> dict:
    """Delete generated rows older than ``REPORT_RETENTION_DAYS`` (reports: they can be generated
    again; see ``EXPIRING``) and expired sessions. User data (ledger, runs, prices) is never touched."""
    days = settings.REPORT_RETENTION_DAYS if days is None else days
    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted = {
        name: rule.model()._default_manager.filter(**{f"{rule.field}__lt": cutoff}).delete()[0]
        for name, rule in sorted(EXPIRING.items())
    }
    deleted["sessions"] = Session.objects.filter(expire_date__lt=timezone.now()).delete()[0]
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
