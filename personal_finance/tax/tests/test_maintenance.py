import datetime as dt

import pytest
from django.utils import timezone

from personal_finance.contrib.tasks import cleanup_old_data
from personal_finance.tax.models import TaxReport


@pytest.mark.django_db
def test_cleanup_deletes_only_old_tax_reports(user):
    old = TaxReport.objects.create(owner=user, year=2024)
    TaxReport.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=200))
    fresh = TaxReport.objects.create(owner=user, year=2025)
    assert cleanup_old_data.delay(90).get()["tax_reports"] == 1
    assert list(TaxReport.objects.values_list("pk", flat=True)) == [fresh.pk]
