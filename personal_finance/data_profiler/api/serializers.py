from rest_framework import serializers

from personal_finance.data_profiler.checks import CHECKS, ERROR, WARNING


class FindingSerializer(serializers.Serializer):
    check = serializers.ChoiceField(choices=CHECKS)
    severity = serializers.ChoiceField(choices=(ERROR, WARNING))
    dates = serializers.ListField(
        child=serializers.CharField(),
        help_text="ISO dates (YYYY-MM-DD) the finding applies to; for unparseable_dates, the cells as written. "
        "Warnings list at most 50 dates, errors every date.",
    )
    detail = serializers.CharField()


class DataQualitySerializer(serializers.Serializer):
    symbol = serializers.CharField()
    checked_at = serializers.DateTimeField()
    rows = serializers.IntegerField(min_value=0)
    start = serializers.DateField(allow_null=True, help_text="first date of the series; null when it is empty")
    end = serializers.DateField(allow_null=True, help_text="last date of the series; null when it is empty")
    findings = FindingSerializer(many=True)


class DataQualityQuerySerializer(serializers.Serializer):
    refresh = serializers.BooleanField(required=False, default=False)
