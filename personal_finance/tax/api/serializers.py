"""Input (query) and output serializers of the tax API. Amounts are decimal strings."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from personal_finance.tax.engine.types import METHODS
from personal_finance.tax.models import TaxRate, TaxReport

FORMATS = ("json", "csv", "pdf")


# --- query parameters --------------------------------------------------------------------------
class PortfolioQuerySerializer(serializers.Serializer):
    portfolio = serializers.IntegerField(
        required=False, min_value=1, help_text="one of your portfolios (default: all of them)"
    )


class LotsQuerySerializer(PortfolioQuerySerializer):
    method = serializers.ChoiceField(
        choices=METHODS, required=False, help_text="lot method (default: each portfolio's tax_lot_method)"
    )


class ReportQuerySerializer(LotsQuerySerializer):
    year = serializers.IntegerField(
        required=False, min_value=1900, max_value=2200, help_text="only sales of this tax year"
    )
    format = serializers.ChoiceField(
        choices=FORMATS, required=False, default="json", help_text="json, csv (Form 8949) or pdf"
    )


class HarvestQuerySerializer(PortfolioQuerySerializer):
    as_of = serializers.DateField(required=False, help_text="valuation date, YYYY-MM-DD (default today)")

    def validate_as_of(self, value):
        # The tax years the report accepts; dates near 0001-01-01 overflowed the wash-sale window (500).
        if not dt.date(1900, 1, 1) <= value <= dt.date(2200, 12, 31):
            raise serializers.ValidationError("must be between 1900-01-01 and 2200-12-31")
        return value


# --- documents ---------------------------------------------------------------------------------
class RealizedRowSerializer(serializers.Serializer):
    sell = serializers.CharField(help_text="the sale's transaction id")
    lot = serializers.CharField(help_text="the buy (lot) transaction id")
    portfolio = serializers.IntegerField()
    symbol = serializers.CharField()
    quantity = serializers.CharField()
    proceeds = serializers.CharField()
    basis = serializers.CharField()
    gain_loss = serializers.CharField()
    disallowed_loss = serializers.CharField()
    reportable_gain_loss = serializers.CharField()
    term = serializers.CharField(help_text="short or long")
    date_acquired = serializers.DateField()
    date_sold = serializers.DateField()


class LotSerializer(serializers.Serializer):
    lot = serializers.CharField(help_text="the buy (lot) transaction id")
    portfolio = serializers.IntegerField()
    symbol = serializers.CharField()
    quantity = serializers.CharField()
    basis = serializers.CharField()
    adjusted_basis = serializers.CharField()
    date_acquired = serializers.DateField()


class OpenLotSerializer(LotSerializer):
    original_date = serializers.DateField()
    wash_adjustment = serializers.CharField()
    term_if_sold_today = serializers.CharField(help_text="short or long")


class Form8949RowSerializer(serializers.Serializer):
    description = serializers.CharField()
    date_acquired = serializers.DateField()
    date_sold = serializers.DateField()
    proceeds = serializers.CharField()
    basis = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    adjustment = serializers.CharField()
    gain_loss = serializers.CharField()


class Form8949Serializer(serializers.Serializer):
    part_i = Form8949RowSerializer(many=True, help_text="short-term")
    part_ii = Form8949RowSerializer(many=True, help_text="long-term")


class ScheduleDTotalsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    proceeds = serializers.CharField()
    basis = serializers.CharField()
    adjustment = serializers.CharField()
    gain_loss = serializers.CharField()


class ScheduleDSerializer(serializers.Serializer):
    short_term = ScheduleDTotalsSerializer()
    long_term = ScheduleDTotalsSerializer()
    net_gain_loss = serializers.CharField()


@extend_schema_serializer(many=False)  # one document, though the route is a list action
class TaxReportDocumentSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField(allow_null=True)
    year = serializers.IntegerField(allow_null=True)
    method = serializers.CharField()
    currency = serializers.CharField(allow_null=True)
    realized = RealizedRowSerializer(many=True)
    lots = LotSerializer(many=True)
    form_8949 = Form8949Serializer()
    schedule_d = ScheduleDSerializer()


@extend_schema_serializer(many=False)  # one document, though the route is a list action
class OpenLotsDocumentSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField(allow_null=True)
    method = serializers.CharField()
    as_of = serializers.DateField()
    lots = OpenLotSerializer(many=True)


class RecentBuySerializer(serializers.Serializer):
    portfolio = serializers.IntegerField()
    transaction = serializers.IntegerField()
    date = serializers.DateField()
    quantity = serializers.CharField()


class HarvestCandidateSerializer(LotSerializer):
    last_price = serializers.CharField()
    last_price_date = serializers.DateField(allow_null=True)
    market_value = serializers.CharField()
    unrealized_loss = serializers.CharField()
    term = serializers.CharField(help_text="short or long")
    tax_rate = serializers.CharField(allow_null=True)
    estimated_saving = serializers.CharField(allow_null=True)
    wash_sale_risk = serializers.BooleanField()
    recent_buys = RecentBuySerializer(many=True)


class TermAmountsSerializer(serializers.Serializer):
    short_term = serializers.CharField()
    long_term = serializers.CharField()


class SavingSerializer(TermAmountsSerializer):
    total = serializers.CharField()


@extend_schema_serializer(many=False)  # one document, though the route is a list action
class HarvestDocumentSerializer(serializers.Serializer):
    portfolio = serializers.IntegerField(allow_null=True)
    as_of = serializers.DateField()
    year = serializers.IntegerField()
    rates = TermAmountsSerializer(allow_null=True)
    candidates = HarvestCandidateSerializer(many=True)
    total_unrealized_loss = TermAmountsSerializer()
    estimated_saving = SavingSerializer(allow_null=True)
    unpriced_symbols = serializers.ListField(child=serializers.CharField())


# --- models ------------------------------------------------------------------------------------
class TaxRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = TaxRate
        fields = ["year", "short_term_rate", "long_term_rate", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {
            "short_term_rate": {"help_text": "fraction: 0.24 is 24%"},
            "long_term_rate": {"help_text": "fraction: 0.15 is 15%"},
        }
        validators: list = []  # the owner-year uniqueness is checked by the service (400 on year)


class StoredTaxReportSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()
    portfolio = serializers.IntegerField(source="portfolio_id", required=False, allow_null=True, min_value=1)
    method = serializers.ChoiceField(choices=METHODS, required=False, allow_blank=True)

    class Meta:
        model = TaxReport
        fields = [
            "id",
            "portfolio",
            "year",
            "method",
            "format",
            "status",
            "summary",
            "error",
            "created_at",
            "download",
        ]
        read_only_fields = ["id", "status", "summary", "error", "created_at", "download"]

    def get_download(self, obj) -> str | None:
        if obj.status != TaxReport.Status.DONE:
            return None
        return f"/api/tax/reports/{obj.pk}/download/"
