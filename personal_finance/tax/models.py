"""Stored results of the tax engine (fed from the ledger by `services`) and the user's tax rates.

`TaxLot` and `RealizedGain` are snapshots written by `identify_tax_lots` and
`calculate_capital_gains` (each run replaces the previous rows of its portfolio and method);
`TaxReport` is a rendered report (JSON, Form 8949 CSV or PDF) kept for download; `TaxRate` holds a
user's short- and long-term rates for one tax year. Amounts are in the portfolio's base currency.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from personal_finance.contrib.models import TimeStampedModel
from personal_finance.portfolios.models import MONEY, QUANTITY

from .engine.types import METHODS

METHOD_CHOICES = [(m, m) for m in METHODS]
RATE: dict[str, Any] = {"max_digits": 6, "decimal_places": 5}
TERM_CHOICES = [("short", "short-term"), ("long", "long-term")]


class TaxLot(models.Model):
    """An open lot (or the part of a lot that carries one wash-sale adjustment) after the last
    transaction. `lot` is the opening buy; `basis` its cost incl. fees, `adjusted_basis` adds the
    disallowed losses it carries; `date_acquired` is moved back by the tacked holding period."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tax_lots")
    portfolio = models.ForeignKey("portfolios.Portfolio", on_delete=models.CASCADE, related_name="tax_lots")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="tax_lots")
    lot = models.ForeignKey("portfolios.Transaction", on_delete=models.CASCADE, related_name="open_tax_lots")
    method = models.CharField(max_length=8, choices=METHOD_CHOICES)
    piece = models.PositiveIntegerField(default=0, help_text="0 for the lot's own shares, then one per wash sale")
    quantity = models.DecimalField(**QUANTITY)
    basis = models.DecimalField(**MONEY)
    adjusted_basis = models.DecimalField(**MONEY)
    date_acquired = models.DateField(help_text="adjusted for tacked wash-sale holding periods")
    original_date = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "original_date", "lot_id", "piece"]
        indexes = [models.Index(fields=["owner", "portfolio", "method"], name="taxlot_owner_portfolio_idx")]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "method", "lot", "piece"], name="taxlot_unique_piece"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="taxlot_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"lot {self.lot_id}.{self.piece} {self.quantity} ({self.method})"

    @property
    def wash_adjustment(self) -> Decimal:
        return self.adjusted_basis - self.basis


class RealizedGain(models.Model):
    """One sale x lot match: proceeds, basis, gain or loss, the wash-sale disallowed loss, term."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="realized_gains")
    portfolio = models.ForeignKey("portfolios.Portfolio", on_delete=models.CASCADE, related_name="realized_gains")
    asset = models.ForeignKey("assets.Asset", on_delete=models.CASCADE, related_name="realized_gains")
    sale = models.ForeignKey("portfolios.Transaction", on_delete=models.CASCADE, related_name="realized_gains")
    lot = models.ForeignKey("portfolios.Transaction", on_delete=models.CASCADE, related_name="lot_realized_gains")
    method = models.CharField(max_length=8, choices=METHOD_CHOICES)
    row = models.PositiveIntegerField(default=0, help_text="order of the row within its sale")
    quantity = models.DecimalField(**QUANTITY)
    proceeds = models.DecimalField(**MONEY)
    basis = models.DecimalField(**MONEY)
    disallowed_loss = models.DecimalField(**MONEY, default=0)
    term = models.CharField(max_length=5, choices=TERM_CHOICES)
    date_acquired = models.DateField()
    date_sold = models.DateField()
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["portfolio", "date_sold", "sale_id", "row"]
        indexes = [
            models.Index(fields=["owner", "portfolio", "method", "date_sold"], name="realized_owner_date_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["portfolio", "method", "sale", "row"], name="realized_unique_row"),
            models.CheckConstraint(condition=Q(disallowed_loss__gte=0), name="realized_disallowed_non_negative"),
        ]

    def __str__(self) -> str:
        return f"sale {self.sale_id} lot {self.lot_id}: {self.gain_loss}"

    @property
    def gain_loss(self) -> Decimal:
        return self.proceeds - self.basis

    @property
    def reportable_gain_loss(self) -> Decimal:
        return self.proceeds - self.basis + self.disallowed_loss


class TaxReport(TimeStampedModel):
    """A rendered tax report kept for download (`generate_tax_reports`)."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        CSV = "csv", "Form 8949 CSV"
        PDF = "pdf", "PDF"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tax_reports")
    portfolio = models.ForeignKey(
        "portfolios.Portfolio",
        on_delete=models.CASCADE,
        related_name="tax_reports",
        null=True,
        blank=True,
        help_text="empty: all of the owner's portfolios",
    )
    year = models.PositiveIntegerField(validators=[MinValueValidator(1900), MaxValueValidator(2200)])
    method = models.CharField(
        max_length=8, choices=METHOD_CHOICES, blank=True, help_text="empty: each portfolio's own"
    )
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.JSON)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    summary = models.JSONField(default=dict, blank=True, help_text="Schedule D totals")
    content = models.BinaryField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"tax report {self.pk} {self.year} ({self.format}, {self.status})"


class TaxRate(TimeStampedModel):
    """A user's marginal rates for one tax year, as fractions (0.24 is 24%)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tax_rates")
    year = models.PositiveIntegerField(validators=[MinValueValidator(1900), MaxValueValidator(2200)])
    short_term_rate = models.DecimalField(
        **RATE, validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]
    )
    long_term_rate = models.DecimalField(
        **RATE, validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))]
    )

    class Meta:
        ordering = ["owner", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "year"], name="taxrate_owner_year_unique"),
            models.CheckConstraint(
                condition=Q(
                    short_term_rate__gte=0, short_term_rate__lte=1, long_term_rate__gte=0, long_term_rate__lte=1
                ),
                name="taxrate_rates_between_0_and_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner_id} {self.year}: {self.short_term_rate}/{self.long_term_rate}"
