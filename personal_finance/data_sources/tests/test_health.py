"""The market-data providers' health check, registered with /health/ by DataSourcesConfig.ready()."""

import pytest
from django.utils import timezone

from personal_finance.contrib.health import CHECKS
from personal_finance.data_sources.health import check_providers
from personal_finance.data_sources.models import ProviderState


def test_providers_check_is_registered():
    assert CHECKS["providers"] is check_providers


@pytest.mark.django_db(transaction=True)  # the check reads from its own thread's connection
def test_providers_check_shows_circuit_state(client):
    ProviderState.objects.create(name="csv", state="open", open_until=timezone.now(), last_error="boom")
    body = client.get("/health/providers/").json()
    assert body["status"] == "ok"  # the sample provider is still usable
    assert body["checks"]["providers"]["providers"]["csv"]["last_error"] == "boom"
    ProviderState.objects.create(name="sample", state="open", open_until=timezone.now())
    response = client.get("/health/providers/")
    assert response.status_code == 503
    assert "circuit open" in response.json()["checks"]["providers"]["error"]
