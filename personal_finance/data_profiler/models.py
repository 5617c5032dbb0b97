"""The stored data-quality profile of an asset's price series (docs/contracts.md §10)."""

from __future__ import annotations

from django.db import models

from personal_finance.assets.models import Asset


class AssetProfile(models.Model):
    """The latest profile of one asset's stored price bars; replaced on every run."""

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="profile")
    report = models.JSONField(help_text='{"rows", "start", "end", "findings"} as built by checks.profile_frame')
    calendar = models.CharField(max_length=32, blank=True, help_text="exchange calendar used; empty: no gap check")
    checked_at = models.DateTimeField(db_index=True)
    errors = models.PositiveIntegerField(default=0, help_text="findings of severity error")
    warnings = models.PositiveIntegerField(default=0, help_text="findings of severity warning")

    class Meta:
        ordering = ["asset__symbol"]

    def __str__(self) -> str:
        return f"{self.asset} profile ({self.errors} errors, {self.warnings} warnings)"
