"""Admin for stored backtests and sweeps: results are read-only (they come from the engine)."""

from django.contrib import admin
from django.db.models import Count

from personal_finance.portfolios.admin import OwnerScopedAdmin

from .execution import NAMES as EXECUTION_FIELDS
from .models import BacktestRun, BacktestTrade, Sweep, SweepChunk

RUN_RESULT_FIELDS = (
    "owner",
    "strategy",
    "params",
    "symbols",
    "start",
    "end",
    *EXECUTION_FIELDS,
    "status",
    "progress",
    "error",
    "task_id",
    "queue",
    "worker",
    "n_bars",
    "stats",
    "created_at",
    "started_at",
    "finished_at",
)


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class BacktestTradeInline(_ReadOnlyInline):
    model = BacktestTrade
    fields = ("symbol", "entry_date", "exit_date", "entry_price", "exit_price", "size", "pnl", "return_pct", "is_open")
    readonly_fields = fields


@admin.register(BacktestRun)
class BacktestRunAdmin(OwnerScopedAdmin):
    """Runs are created through the API (validated, queued); the admin shows them, can delete them."""

    list_display = ("id", "owner", "strategy", "symbols", "status", "progress", "return_pct", "created_at")
    list_filter = ("status", "strategy", "fill", ("created_at", admin.DateFieldListFilter))
    search_fields = ("owner__username", "strategy", "symbols", "task_id")
    list_select_related = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = RUN_RESULT_FIELDS
    fields = RUN_RESULT_FIELDS
    inlines = [BacktestTradeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("equity", "buy_hold")

    def has_add_permission(self, request):
        return False

    @admin.display(description="return %")
    def return_pct(self, obj):
        value = (obj.stats or {}).get("return_pct")
        return "-" if value is None else f"{value:+.2f}"


class SweepChunkInline(_ReadOnlyInline):
    model = SweepChunk
    fields = ("index", "queue", "worker", "seconds", "finished_at")
    readonly_fields = fields


SWEEP_FIELDS = (
    "owner",
    "strategy",
    "grid",
    "metric",
    "ascending",
    "symbols",
    "start",
    "end",
    *EXECUTION_FIELDS,
    "status",
    "progress",
    "error",
    "n_combinations",
    "chunk_size",
    "chunks_total",
    "skipped",
    "task_id",
    "gather_queue",
    "created_at",
    "started_at",
    "finished_at",
)


@admin.register(Sweep)
class SweepAdmin(OwnerScopedAdmin):
    list_display = (
        "id",
        "owner",
        "strategy",
        "metric",
        "status",
        "progress",
        "n_combinations",
        "chunks",
        "created_at",
    )
    list_filter = ("status", "strategy", "metric")
    search_fields = ("owner__username", "strategy", "metric", "task_id")
    list_select_related = ("owner",)
    readonly_fields = SWEEP_FIELDS
    fields = SWEEP_FIELDS
    inlines = [SweepChunkInline]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("combos").annotate(_chunks=Count("chunks"))

    def has_add_permission(self, request):
        return False

    @admin.display(description="chunks done", ordering="_chunks")
    def chunks(self, obj):
        return f"{obj._chunks}/{obj.chunks_total}"
