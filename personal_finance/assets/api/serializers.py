from rest_framework import serializers

from personal_finance.assets.models import Asset, PriceBar
from personal_finance.contrib.api.fields import UpperCaseCharField


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = ["id", "symbol", "name", "asset_class", "currency", "exchange", "sector", "country", "isin"]

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        if field_name in ("symbol", "currency", "isin"):
            field_class = UpperCaseCharField
        return field_class, kwargs


class PriceBarSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceBar
        fields = ["date", "open", "high", "low", "close", "adj_close", "volume", "source"]
