"""Cached documents of a portfolio (holdings here; performance, risk and allocation in analytics),
invalidated by version: a change to the portfolio's transactions or to the prices of any asset it
holds bumps the portfolio's version, so stale entries are never read (they expire on their own).

The receivers are connected by ``PortfoliosConfig.ready()``.
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.core.cache import cache
from django.db import transaction
from django.dispatch import receiver

from personal_finance.contrib.signals import ledger_changed, prices_changed

from .models import Transaction

logger = logging.getLogger("personal_finance.portfolios")
TIMEOUT = 24 * 3600


def _version_key(portfolio_id: int) -> str:
    return f"documents:v:{portfolio_id}"


def version(portfolio_id: int) -> int:
    return int(cache.get_or_set(_version_key(portfolio_id), 1, timeout=None) or 1)


def bump(portfolio_ids) -> None:
    """Bump now (reads inside this transaction see the change) and again after commit, so a
    document another request computed from the old data in between is never read."""
    ids = set(portfolio_ids)
    _bump(ids)
    transaction.on_commit(lambda: _bump(ids))


def _bump(portfolio_ids) -> None:
    for pid in portfolio_ids:
        try:
            cache.incr(_version_key(pid))
        except ValueError:
            cache.set(_version_key(pid), 2, timeout=None)


def key(kind: str, portfolio_id: int, params: dict) -> str:
    digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()[
        :16
    ]
    return f"documents:{kind}:{portfolio_id}:{version(portfolio_id)}:{digest}"


def cached(kind: str, portfolio_id: int, params: dict, compute):
    """(document, hit) from the cache, computing and storing it on a miss."""
    k = key(kind, portfolio_id, params)
    doc = cache.get(k)
    if doc is not None:
        return doc, True
    doc = compute()
    cache.set(k, doc, timeout=TIMEOUT)
    return doc, False


@receiver(ledger_changed)
def _on_ledger_changed(sender, portfolio_ids, **kwargs):
    bump(portfolio_ids)


@receiver(prices_changed)
def _on_prices_changed(sender, asset_ids, **kwargs):
    pids = Transaction.objects.filter(asset_id__in=list(asset_ids)).values_list("portfolio_id", flat=True).distinct()
    bump(list(pids))
