from rest_framework import serializers


class UpperCaseCharField(serializers.CharField):
    """Upper-cases before the model's validators run (symbols, currency codes)."""

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()
