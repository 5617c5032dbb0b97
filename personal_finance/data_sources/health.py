"""The market-data providers' health check (``/health/providers/``), registered with
``contrib.health`` by ``DataSourcesConfig.ready()``."""

from __future__ import annotations

from django.conf import settings
from django.db import connections

from .models import ProviderState


def check_providers() -> dict:
    """Circuit state, last success and last error of each configured provider. Healthy while at
    least one of them is usable (the sample set keeps the demo alive offline)."""
    try:
        names = list(settings.MARKET_DATA["PROVIDERS"])
        stored = {p.name: p for p in ProviderState.objects.filter(name__in=names)}
        providers = {n: stored[n].as_dict() if n in stored else {"state": "closed", "calls": 0} for n in names}
    finally:
        connections["default"].close()  # checks run in worker threads: leave no connection behind
    usable = [n for n, p in providers.items() if p["state"] != "open"]
    result = {"status": "ok" if usable else "error", "providers": providers}
    if not usable:
        result["error"] = "every market-data provider is skipped (circuit open)"
    return result
