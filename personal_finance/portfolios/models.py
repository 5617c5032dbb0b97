"""The ledger: portfolios and their transactions. Holdings are derived (see selectors)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from personal_finance.assets.models import CURRENCY_VALIDATOR, Asset
from personal_finance.contrib.models import TimeStampedModel

# Field options of every stored amount and quantity (the tax app's stored results use them too).
MONEY: dict[str, Any] = {"max_digits": 24, "decimal_places": 8}
QUANTITY: dict[str, Any] = {"max_digits": 28, "decimal_places": 10}


class Portfolio(TimeStampedModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portfolios")
    name = models.CharField(max_length=100)
    base_currency = models.CharField(max_length=3, default="USD", validators=[CURRENCY_VALIDATOR])
    description = models.TextField(blank=True)
    # --- tax (issue 7): the lot method the tax reports use by default for this portfolio ---
    tax_lot_method = models.CharField(
        max_length=8,
        default="fifo",
        choices=[
            ("fifo", "FIFO"),
            ("lifo", "LIFO"),
            ("hifo", "HIFO"),
            ("specific", "Specific"),
            ("average", "Average"),
        ],
        help_text="default lot method of the tax reports (docs/contracts.md §12)",
    )
    # --- end tax ---

    class Meta:
        ordering = ["owner", "name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="portfolio_owner_name_unique")]

    def __str__(self) -> str:
        return self.name


class TransactionType(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    DIVIDEND = "dividend", "Dividend"
    INTEREST = "interest", "Interest"
    FEE = "fee", "Fee"
    DEPOSIT = "deposit", "Deposit"
    WITHDRAWAL = "withdrawal", "Withdrawal"
    SPLIT = "split", "Split"
    TRANSFER_IN = "transfer_in", "Transfer in"
    TRANSFER_OUT = "transfer_out", "Transfer out"


TRADE_TYPES = (TransactionType.BUY, TransactionType.SELL)
SHARE_TYPES = (TransactionType.BUY, TransactionType.SELL, TransactionType.TRANSFER_IN, TransactionType.TRANSFER_OUT)
CASH_ONLY_TYPES = (TransactionType.INTEREST, TransactionType.DEPOSIT, TransactionType.WITHDRAWAL)
AMOUNT_TYPES = (
    TransactionType.DIVIDEND,
    TransactionType.INTEREST,
    TransactionType.FEE,
    TransactionType.DEPOSIT,
    TransactionType.WITHDRAWAL,
)


class Transaction(TimeStampedModel):
    """One ledger entry. Amounts are positive magnitudes; the type gives the direction.

    - buy/sell: ``quantity`` shares at ``price`` (per share, transaction currency) plus ``fees``;
      ``amount`` is the cash moved (``quantity * price + fees`` for a buy, minus fees for a sell).
    - dividend/interest/fee/deposit/withdrawal: ``amount`` of cash (dividend names its asset).
    - split: ``quantity`` is the ratio, new shares per old share (2 for 2:1, 0.1 for 1:10).
    - transfer_in/out: shares moving without cash; ``price`` is the cost per share carried in.
    ``fx_rate`` converts the transaction currency into the portfolio's base currency.
    """

    portfolio = models.ForeignKey(Portfolio, on_delete=models.CASCADE, related_name="transactions")
    type = models.CharField(max_length=12, choices=TransactionType.choices)
    trade_date = models.DateField()
    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions")
    quantity = models.DecimalField(**QUANTITY, null=True, blank=True)
    price = models.DecimalField(**MONEY, null=True, blank=True)
    fees = models.DecimalField(**MONEY, default=0)
    amount = models.DecimalField(**MONEY, default=0)
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    fx_rate = models.DecimalField(max_digits=24, decimal_places=10, default=1)
    note = models.CharField(max_length=500, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    # --- tax (issue 7): specific lots a sale takes, {buy transaction id: quantity string} ---
    tax_lots = models.JSONField(
        null=True, blank=True, default=None, help_text="sell only: {lot id: quantity} for the specific lot method"
    )
    # --- end tax ---

    class Meta:
        ordering = ["portfolio", "trade_date", "id"]
        indexes = [
            models.Index(fields=["portfolio", "trade_date", "id"], name="tx_portfolio_date_idx"),
            models.Index(fields=["portfolio", "asset"], name="tx_portfolio_asset_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["portfolio", "external_id"], condition=~Q(external_id=""), name="tx_external_id_unique"
            ),
            models.CheckConstraint(condition=Q(fees__gte=0), name="tx_fees_non_negative"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="tx_amount_non_negative"),
            models.CheckConstraint(condition=Q(fx_rate__gt=0), name="tx_fx_rate_positive"),
            models.CheckConstraint(
                condition=~Q(type__in=SHARE_TYPES)
                | Q(asset__isnull=False, quantity__gt=0, price__isnull=False, price__gte=0),
                name="tx_shares_need_asset_quantity_price",
            ),
            models.CheckConstraint(
                condition=~Q(type="split") | Q(asset__isnull=False, quantity__gt=0),
                name="tx_split_needs_asset_ratio",
            ),
            models.CheckConstraint(
                condition=~Q(type__in=AMOUNT_TYPES) | Q(amount__gt=0), name="tx_cash_types_need_amount"
            ),
            models.CheckConstraint(
                condition=~Q(type="dividend") | Q(asset__isnull=False), name="tx_dividend_needs_asset"
            ),
            models.CheckConstraint(
                condition=~Q(type__in=CASH_ONLY_TYPES) | Q(asset__isnull=True, quantity__isnull=True),
                name="tx_cash_only_types_have_no_asset",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trade_date} {self.type} {self.asset_id or ''} {self.quantity or self.amount}"
