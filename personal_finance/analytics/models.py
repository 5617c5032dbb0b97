from django.conf import settings
from django.db import models

from personal_finance.contrib.models import TimeStampedModel


class PortfolioSnapshot(models.Model):
    """End-of-day state of a portfolio, stored by ``update_risk_metrics`` (one row per day)."""

    portfolio = models.ForeignKey("portfolios.Portfolio", on_delete=models.CASCADE, related_name="snapshots")
    date = models.DateField()
    value = models.DecimalField(max_digits=24, decimal_places=2)
    cash = models.DecimalField(max_digits=24, decimal_places=2)
    invested = models.DecimalField(max_digits=24, decimal_places=2, help_text="cumulative external flows")
    flows = models.DecimalField(max_digits=24, decimal_places=2, help_text="external flows of the day")
    daily_return = models.FloatField(help_text="time-weighted return of the day")

    class Meta:
        ordering = ["portfolio", "date"]
        constraints = [models.UniqueConstraint(fields=["portfolio", "date"], name="snapshot_portfolio_date_unique")]

    def __str__(self) -> str:
        return f"{self.portfolio_id} {self.date} {self.value}"


class PortfolioMetrics(models.Model):
    """The latest metrics of a portfolio (``calculate_portfolio_metrics``), for lists and alerts."""

    portfolio = models.OneToOneField(
        "portfolios.Portfolio", on_delete=models.CASCADE, related_name="metrics", primary_key=True
    )
    computed_at = models.DateTimeField(auto_now=True)
    as_of = models.DateField()
    twr = models.FloatField(null=True)
    mwr = models.FloatField(null=True)
    metrics = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"{self.portfolio_id} metrics as of {self.as_of}"


class PerformanceReport(TimeStampedModel):
    class Format(models.TextChoices):
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="performance_reports")
    portfolio = models.ForeignKey("portfolios.Portfolio", on_delete=models.CASCADE, related_name="reports")
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.HTML)
    period = models.CharField(max_length=8, default="max")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    content = models.BinaryField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.format}, {self.status})"
