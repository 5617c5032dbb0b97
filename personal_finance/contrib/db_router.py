"""Read replica for analytics (docs/contracts.md §2): with ``DATABASE_REPLICA_URL`` set, the heavy analytics
reads (valuation series, risk, reports) go to the ``replica`` database; everything else, and every
write, stays on ``default``. Code opts in with ``with analytics_reads():``.

A replica may lag the primary by a moment: a document computed right after a write may not see
it yet. The analytics cache is keyed by version, so the next request after the lag recomputes.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

_analytics = contextvars.ContextVar("analytics_reads", default=False)


def read_alias() -> str:
    """The database alias analytics reads should use right now."""
    return "replica" if _analytics.get() and "replica" in settings.DATABASES else "default"


@contextmanager
def analytics_reads() -> Iterator[str]:
    token = _analytics.set(True)
    try:
        yield read_alias()
    finally:
        _analytics.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
