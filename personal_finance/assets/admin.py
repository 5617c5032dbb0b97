from django.contrib import admin
from django.db.models import Count, Max, Min

from .models import Asset, CorporateAction, FxRate, PriceBar


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("symbol", "name", "asset_class", "currency", "exchange", "sector", "country", "bars", "last_bar")
    list_filter = ("asset_class", "currency", "exchange", "sector", "country")
    search_fields = ("symbol", "name", "isin")
    readonly_fields = ("bars", "first_bar", "last_bar", "created_at", "updated_at")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_bars=Count("prices"), _first=Min("prices__date"), _last=Max("prices__date"))
        )

    @admin.display(description="price bars", ordering="_bars")
    def bars(self, obj):
        return obj._bars

    @admin.display(description="first bar", ordering="_first")
    def first_bar(self, obj):
        return obj._first

    @admin.display(description="last bar", ordering="_last")
    def last_bar(self, obj):
        return obj._last


@admin.register(PriceBar)
class PriceBarAdmin(admin.ModelAdmin):
    list_display = ("asset", "date", "open", "high", "low", "close", "adj_close", "volume", "source")
    list_filter = ("source", ("date", admin.DateFieldListFilter))
    search_fields = ("asset__symbol",)
    date_hierarchy = "date"
    list_select_related = ("asset",)
    raw_id_fields = ("asset",)
    show_full_result_count = False


@admin.register(FxRate)
class FxRateAdmin(admin.ModelAdmin):
    list_display = ("base", "quote", "date", "rate", "source")
    list_filter = ("base", "quote", "source")
    search_fields = ("base", "quote")
    date_hierarchy = "date"


@admin.register(CorporateAction)
class CorporateActionAdmin(admin.ModelAdmin):
    list_display = ("asset", "date", "kind", "ratio", "amount")
    list_filter = ("kind",)
    search_fields = ("asset__symbol",)
    list_select_related = ("asset",)
    raw_id_fields = ("asset",)
