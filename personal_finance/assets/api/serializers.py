from rest_framework import serializers

from personal_finance.assets.models import Asset, PriceBar


class AssetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Asset
        fields = ["id", "symbol", "name", "asset_class", "currency", "exchange", "sector", "country", "isin"]


class PriceBarSerializer(serializers.ModelSerializer):
    class Meta:
        model = PriceBar
        fields = ["date", "open", "high", "low", "close", "adj_close", "volume", "source"]
