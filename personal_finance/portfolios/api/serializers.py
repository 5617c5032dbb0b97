from rest_framework import serializers

from personal_finance.contrib.api.fields import UpperCaseCharField
from personal_finance.portfolios.models import Portfolio, Transaction, TransactionType


class PortfolioSerializer(serializers.ModelSerializer):
    transaction_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Portfolio
        fields = [
            "id",
            "name",
            "base_currency",
            "description",
            "tax_lot_method",  # tax (issue 7)
            "transaction_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name == "base_currency":
            field_class = UpperCaseCharField
        return field_class, kwargs


class TransactionSerializer(serializers.ModelSerializer):
    """Output shape of a transaction; input goes through TransactionInputSerializer."""

    date = serializers.DateField(source="trade_date")
    symbol = serializers.CharField(source="asset.symbol", allow_null=True, default=None)
    lots = serializers.DictField(  # tax (issue 7)
        source="tax_lots", child=serializers.CharField(), allow_null=True, read_only=True
    )

    class Meta:
        model = Transaction
        fields = [
            "id",
            "portfolio",
            "date",
            "type",
            "symbol",
            "quantity",
            "price",
            "fees",
            "amount",
            "currency",
            "fx_rate",
            "note",
            "external_id",
            "lots",  # tax (issue 7)
            "created_at",
        ]


class TransactionInputSerializer(serializers.Serializer):
    date = serializers.DateField()
    type = serializers.ChoiceField(choices=TransactionType.choices)
    symbol = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    quantity = serializers.DecimalField(max_digits=28, decimal_places=10, required=False, allow_null=True)
    price = serializers.DecimalField(max_digits=24, decimal_places=8, required=False, allow_null=True)
    fees = serializers.DecimalField(max_digits=24, decimal_places=8, required=False, allow_null=True)
    amount = serializers.DecimalField(max_digits=24, decimal_places=8, required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_blank=True, max_length=3, default="")
    fx_rate = serializers.DecimalField(max_digits=24, decimal_places=10, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    external_id = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    lots = serializers.DictField(  # tax (issue 7)
        child=serializers.DecimalField(max_digits=28, decimal_places=10),
        required=False,
        allow_null=True,
        default=None,
        help_text="sell only: the lots it takes under the specific method, {buy transaction id: quantity}",
    )


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.CharField(required=False, default="native")
    mapping = serializers.JSONField(required=False, allow_null=True, default=None)
    dry_run = serializers.BooleanField(required=False, default=False)


class ImportResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    format = serializers.CharField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    would_create = serializers.IntegerField()
    skipped_duplicates = serializers.IntegerField()
    skipped_rows = serializers.ListField(child=serializers.IntegerField())
    new_assets = serializers.ListField(child=serializers.CharField())
    preview = serializers.ListField(child=serializers.DictField())


class HoldingSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    asset_class = serializers.CharField()
    currency = serializers.CharField()
    quantity = serializers.CharField()
    average_cost = serializers.CharField()
    cost_basis = serializers.CharField()
    last_price = serializers.CharField(allow_null=True)
    last_price_date = serializers.DateField(allow_null=True)
    fx_rate = serializers.CharField(allow_null=True)
    market_value = serializers.CharField(allow_null=True)
    unrealized_gain = serializers.CharField(allow_null=True)
    unrealized_gain_pct = serializers.CharField(allow_null=True)
    realized_gain = serializers.CharField()
    dividends = serializers.CharField()
    weight = serializers.CharField(allow_null=True)


class HoldingsSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField()
    base_currency = serializers.CharField()
    as_of = serializers.DateField()
    holdings = HoldingSerializer(many=True)
    cash = serializers.CharField()
    cash_weight = serializers.CharField(allow_null=True)
    total_market_value = serializers.CharField()
    total_cost_basis = serializers.CharField()
    total_unrealized_gain = serializers.CharField(allow_null=True)
    total_value = serializers.CharField()
    net_contributions = serializers.CharField()
    realized_gain = serializers.CharField()
    dividends = serializers.CharField()
    interest = serializers.CharField()
    complete = serializers.BooleanField()
