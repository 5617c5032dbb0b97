from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from personal_finance.backtesting.execution import (
    AMOUNT,
    AMOUNT_DECIMALS,
    AMOUNT_MAX_DIGITS,
    CHOICE,
    FLAG,
    SETTINGS,
    Setting,
)
from personal_finance.backtesting.models import BacktestRun, BacktestTrade, RunStatus, Sweep, SweepChunk
from personal_finance.backtesting.strategies import REGISTRY

#: The few stats a list shows per run.
SUMMARY_KEYS = ("equity_final", "return_pct", "sharpe", "max_drawdown", "trades")


# ------------------------------------------------------------------------------------------------
# Execution settings: one field per setting of execution.SETTINGS
# ------------------------------------------------------------------------------------------------
def _setting_field(setting: Setting, *, output: bool) -> serializers.Field:
    """An execution setting's field: as posted (default, description) or as served."""
    extra: dict[str, Any] = {}
    if not output:
        extra["default"] = setting.default
        if setting.api_help:
            extra["help_text"] = setting.api_help
    if setting.kind == AMOUNT:
        return serializers.DecimalField(max_digits=AMOUNT_MAX_DIGITS, decimal_places=AMOUNT_DECIMALS, **extra)
    if setting.kind == CHOICE:
        # served as a plain string: an enum named like another serializer's would collide in the schema
        return serializers.CharField(**extra) if output else serializers.ChoiceField(choices=setting.choices, **extra)
    if setting.kind == FLAG:
        return serializers.BooleanField(**extra)
    return serializers.FloatField(**extra)


def _with_execution_fields(*, output: bool):
    """Class decorator: append one field per execution setting to a serializer's declared fields
    (before any subclass is made, so subclasses inherit them in this order)."""

    def decorate(cls):
        for setting in SETTINGS:
            cls._declared_fields[setting.name] = _setting_field(setting, output=output)
        return cls

    return decorate


# ------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------
@_with_execution_fields(output=False)
class _SettingsInput(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=32),
        min_length=1,
        max_length=50,
        help_text="symbols whose stored daily bars are the prices (one, or several for allocation strategies)",
    )
    start = serializers.DateField(required=False, allow_null=True, default=None, help_text="first date (inclusive)")
    end = serializers.DateField(required=False, allow_null=True, default=None, help_text="last date (inclusive)")


class BacktestCreateSerializer(_SettingsInput):
    strategy = serializers.CharField(max_length=40, help_text=f"one of: {', '.join(sorted(REGISTRY))}")
    params = serializers.DictField(
        child=serializers.JSONField(), required=False, default=dict, help_text="strategy parameters, e.g. fast, slow"
    )


class SweepCreateSerializer(_SettingsInput):
    strategy = serializers.CharField(max_length=40, help_text=f"one of: {', '.join(sorted(REGISTRY))}")
    grid = serializers.DictField(
        child=serializers.JSONField(),
        help_text='{parameter: [values]}, e.g. {"fast": [5, 10], "slow": [20, 50]}; invalid combinations are skipped',
    )
    metric = serializers.CharField(
        max_length=40, default="sharpe", help_text="ranking metric, e.g. sharpe, return_pct"
    )
    ascending = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text="smaller first (default: by metric)"
    )
    chunk_size = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=5000, help_text="combinations per task"
    )


class StatusField(serializers.CharField):
    """A plain string in the schema: another app's ``status`` enum has other values, and two enums
    named ``status`` would collide in the OpenAPI components."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", f"one of: {', '.join(RunStatus.values)}")
        super().__init__(read_only=True, **kwargs)


class CreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = StatusField()


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------
@_with_execution_fields(output=True)
class SettingsSerializer(serializers.Serializer):
    pass  # a run's or a sweep's execution settings as stored (no docstring: it would show in the schema)


class _SettingsOutput(serializers.ModelSerializer):
    status = StatusField()
    settings = serializers.SerializerMethodField()

    @extend_schema_field(SettingsSerializer)
    def get_settings(self, obj) -> dict:
        return SettingsSerializer(obj).data


class BacktestRunListSerializer(_SettingsOutput):
    summary = serializers.SerializerMethodField(help_text="a few stats of a finished run")

    class Meta:
        model = BacktestRun
        fields = [
            "id",
            "status",
            "progress",
            "strategy",
            "params",
            "symbols",
            "start",
            "end",
            "settings",
            "summary",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_summary(self, obj) -> dict | None:
        return None if obj.stats is None else {k: obj.stats.get(k) for k in SUMMARY_KEYS}


class BacktestTradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = BacktestTrade
        fields = [
            "symbol",
            "entry_date",
            "exit_date",
            "entry_price",
            "exit_price",
            "size",
            "pnl",
            "return_pct",
            "commission",
            "is_open",
        ]


@extend_schema_field({"type": "array", "items": {"type": "array", "items": {}}, "nullable": True})
class PairsField(serializers.JSONField):
    """``[[date, value], ...]``."""


class BacktestRunDetailSerializer(BacktestRunListSerializer):
    stats = serializers.JSONField(read_only=True, help_text="docs/contracts.md §13 stats; NaN and infinities are null")
    trades = BacktestTradeSerializer(many=True, read_only=True)
    equity = PairsField(read_only=True, required=False, help_text="[date, value] pairs (omitted with ?equity=0)")
    buy_hold = PairsField(read_only=True, required=False, help_text="[date, value] pairs (omitted with ?equity=0)")

    class Meta(BacktestRunListSerializer.Meta):
        fields = [
            *BacktestRunListSerializer.Meta.fields,
            "n_bars",
            "queue",
            "worker",
            "stats",
            "trades",
            "equity",
            "buy_hold",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("with_equity", True):
            data.pop("equity", None)
            data.pop("buy_hold", None)
        return data


class SweepListSerializer(_SettingsOutput):
    chunks_done = serializers.IntegerField(read_only=True)

    class Meta:
        model = Sweep
        fields = [
            "id",
            "status",
            "progress",
            "strategy",
            "metric",
            "symbols",
            "start",
            "end",
            "settings",
            "n_combinations",
            "chunks_total",
            "chunks_done",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]


class SweepChunkSerializer(serializers.ModelSerializer):
    class Meta:
        model = SweepChunk
        fields = ["index", "queue", "worker", "seconds", "finished_at"]


class SweepDetailSerializer(SweepListSerializer):
    table = serializers.SerializerMethodField(
        help_text="the ranked table, best first: rank, the parameters, the metric, other figures (top ?limit=)"
    )
    chunks = SweepChunkSerializer(many=True, read_only=True)

    class Meta(SweepListSerializer.Meta):
        fields = [
            *SweepListSerializer.Meta.fields,
            "grid",
            "ascending",
            "chunk_size",
            "skipped",
            "gather_queue",
            "chunks",
            "table",
        ]

    @extend_schema_field({"type": "array", "items": {"type": "object", "additionalProperties": True}})
    def get_table(self, obj) -> list:
        return self.context.get("table", [])
