import datetime as dt

import pytest
from django.utils import timezone

from personal_finance.analytics.models import PerformanceReport
from personal_finance.contrib.tasks import cleanup_old_data
from personal_finance.portfolios.tests.factories import PortfolioFactory


@pytest.mark.django_db
def test_cleanup_deletes_only_old_performance_reports(user):
    portfolio = PortfolioFactory(owner=user)
    old = PerformanceReport.objects.create(owner=user, portfolio=portfolio)
    PerformanceReport.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=200))
    fresh = PerformanceReport.objects.create(owner=user, portfolio=portfolio)
    result = cleanup_old_data.delay(90).get()
    assert result["performance_reports"] == 1
    assert list(PerformanceReport.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert cleanup_old_data.delay(90).get()["performance_reports"] == 0  # idempotent
    assert portfolio.pk  # the ledger is untouched
