"""Reference data shared by every user: assets, daily price bars, FX rates, corporate actions."""

from __future__ import annotations

import re
from typing import Any

from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.db.models import Q

from personal_finance.contrib.models import TimeStampedModel

# One definition of a symbol: upper case as the provider spells it (AAPL, BRK-B, ^GSPC, EURUSD=X).
SYMBOL_PATTERN = r"^[A-Z0-9^][A-Z0-9.\-=^]{0,31}$"
SYMBOL_RE = re.compile(SYMBOL_PATTERN)
SYMBOL_VALIDATOR = RegexValidator(
    SYMBOL_PATTERN,
    "Symbols are upper-case as the provider spells them (AAPL, BRK-B, ^GSPC, EURUSD=X).",
)
CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code such as USD.")

PRICE: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}


class AssetClass(models.TextChoices):
    EQUITY = "equity", "Equity"
    ETF = "etf", "ETF"
    FUND = "fund", "Fund"
    BOND = "bond", "Bond"
    CRYPTO = "crypto", "Crypto"
    CASH = "cash", "Cash"
    FX = "fx", "FX"
    OTHER = "other", "Other"


class Asset(TimeStampedModel):
    symbol = models.CharField(max_length=32, unique=True, validators=[SYMBOL_VALIDATOR])
    name = models.CharField(max_length=200, blank=True)
    asset_class = models.CharField(max_length=10, choices=AssetClass.choices, default=AssetClass.EQUITY)
    currency = models.CharField(max_length=3, default="USD", validators=[CURRENCY_VALIDATOR, MinLengthValidator(3)])
    exchange = models.CharField(max_length=32, blank=True, help_text="MIC or provider code, e.g. XNYS, NMS")
    sector = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=64, blank=True)
    isin = models.CharField(
        max_length=12,
        blank=True,
        validators=[RegexValidator(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$", "An ISIN has 12 characters, e.g. US0378331005.")],
    )

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(fields=["isin"], condition=~Q(isin=""), name="asset_isin_unique"),
            models.CheckConstraint(condition=Q(symbol__regex=r"^[^a-z]+$"), name="asset_symbol_upper"),
        ]

    def __str__(self) -> str:
        return self.symbol


class PriceBar(models.Model):
    """One daily bar. ``close`` is as traded; ``adj_close`` adjusts for splits and dividends."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="prices")
    date = models.DateField()
    open = models.DecimalField(**PRICE, null=True, blank=True)
    high = models.DecimalField(**PRICE, null=True, blank=True)
    low = models.DecimalField(**PRICE, null=True, blank=True)
    close = models.DecimalField(**PRICE)
    adj_close = models.DecimalField(**PRICE, null=True, blank=True)
    volume = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["asset", "date"]
        constraints = [
            # The unique index on (asset, date) also serves range reads of one asset's series.
            models.UniqueConstraint(fields=["asset", "date"], name="pricebar_asset_date_unique"),
            models.CheckConstraint(condition=Q(close__gt=0), name="pricebar_close_positive"),
        ]
        indexes = [models.Index(fields=["date"], name="pricebar_date_idx")]

    def __str__(self) -> str:
        return f"{self.asset_id} {self.date} {self.close}"


class FxRate(models.Model):
    """Daily rate: one unit of ``base`` costs ``rate`` units of ``quote`` (EUR/USD 1.08)."""

    base = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    quote = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    date = models.DateField()
    rate = models.DecimalField(max_digits=24, decimal_places=10)
    source = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["base", "quote", "date"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "date"], name="fxrate_pair_date_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fxrate_rate_positive"),
            models.CheckConstraint(condition=~Q(base=models.F("quote")), name="fxrate_distinct_currencies"),
        ]

    def __str__(self) -> str:
        return f"{self.base}{self.quote} {self.date} {self.rate}"


class CorporateAction(models.Model):
    class Kind(models.TextChoices):
        SPLIT = "split", "Split"
        DIVIDEND = "dividend", "Dividend"

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="corporate_actions")
    date = models.DateField(help_text="Ex-date")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    ratio = models.DecimalField(
        max_digits=20, decimal_places=10, null=True, blank=True, help_text="Split: new shares per old share (2 = 2:1)"
    )
    amount = models.DecimalField(
        max_digits=20, decimal_places=8, null=True, blank=True, help_text="Dividend per share, asset currency"
    )

    class Meta:
        ordering = ["asset", "date"]
        constraints = [
            models.UniqueConstraint(fields=["asset", "date", "kind"], name="corporateaction_unique"),
            # ``isnull=False`` is needed: ``NULL > 0`` is unknown, and a CHECK passes on unknown.
            models.CheckConstraint(
                condition=(
                    Q(kind="split", ratio__isnull=False, ratio__gt=0)
                    | Q(kind="dividend", amount__isnull=False, amount__gt=0)
                ),
                name="corporateaction_value_present",
            ),
        ]

    def __str__(self) -> str:
        value = self.ratio if self.kind == self.Kind.SPLIT else self.amount
        return f"{self.asset_id} {self.kind} {self.date} {value}"


class PriceSeries(models.Model):
    """Every stored daily bar of one asset as packed arrays, for fast vectorised reads.

    Derived from ``PriceBar`` and rewritten by ``assets.services.price_series_refresh`` whenever an
    asset's bars change (every write path calls it; single saves through a signal). Analytics reads
    500 assets x 20 years in one query of 500 rows instead of 2.5 million.
    """

    asset = models.OneToOneField(Asset, on_delete=models.CASCADE, related_name="series", primary_key=True)
    days = models.BinaryField(help_text="int32 days since 1970-01-01, ascending")
    closes = models.BinaryField(help_text="float64 close of each day")
    adj_closes = models.BinaryField(help_text="float64 adjusted close (close where none is stored)")
    bars = models.PositiveIntegerField(default=0)
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "price series"

    def __str__(self) -> str:
        return f"{self.asset_id}: {self.bars} bars"
