from django.db import models


class ProviderState(models.Model):
    """Circuit-breaker state of one market-data provider, shared by every process."""

    class State(models.TextChoices):
        CLOSED = "closed", "Closed (in use)"
        OPEN = "open", "Open (skipped)"
        HALF_OPEN = "half_open", "Half open (one trial call)"

    name = models.CharField(max_length=32, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.CLOSED)
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    calls = models.PositiveBigIntegerField(default=0)
    failures = models.PositiveBigIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "consecutive_failures": self.consecutive_failures,
            "open_until": self.open_until.isoformat() if self.open_until else None,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_error": self.last_error[:300],
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
        }
