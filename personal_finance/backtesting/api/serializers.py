from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from personal_finance.backtesting.engine import FILLS
from personal_finance.backtesting.models import BacktestRun, BacktestTrade, RunStatus, Sweep, SweepChunk
from personal_finance.backtesting.strategies import REGISTRY

#: The few stats a list shows per run.
SUMMARY_KEYS = ("equity_final", "return_pct", "sharpe", "max_drawdown", "trades")


# ------------------------------------------------------------------------------------------------
# Input
# ------------------------------------------------------------------------------------------------
class _SettingsInput(serializers.Serializer):
    symbols = serializers.ListField(
        child=serializers.CharField(max_length=32),
        min_length=1,
        max_length=50,
        help_text="symbols whose stored daily bars are the prices (one, or several for allocation strategies)",
    )
    start = serializers.DateField(required=False, allow_null=True, default=None, help_text="first date (inclusive)")
    end = serializers.DateField(required=False, allow_null=True, default=None, help_text="last date (inclusive)")
    cash = serializers.DecimalField(max_digits=18, decimal_places=2, default=10000)
    commission = serializers.FloatField(default=0.0, help_text="fraction of traded value, 0.002 = 0.2%")
    fill = serializers.ChoiceField(choices=FILLS, default="next_open")
    allow_short = serializers.BooleanField(default=False)
    fixed_fee = serializers.DecimalField(max_digits=18, decimal_places=2, default=0, help_text="cash per fill")
    slippage_bps = serializers.FloatField(default=0.0, help_text="basis points against every fill")


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
class SettingsSerializer(serializers.Serializer):
    cash = serializers.DecimalField(max_digits=18, decimal_places=2)
    commission = serializers.FloatField()
    fill = serializers.CharField()
    allow_short = serializers.BooleanField()
    fixed_fee = serializers.DecimalField(max_digits=18, decimal_places=2)
    slippage_bps = serializers.FloatField()


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
    stats = serializers.JSONField(read_only=True, help_text="DESIGN 13 stats; NaN and infinities are null")
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
