"""Admin of the stored tax results and rates. Staff who are not superusers see only their own.

Lots, realised gains and reports are written by the services and tasks, so the admin shows them
read-only (and can delete them); tax rates can be edited.
"""

from django.contrib import admin

from personal_finance.portfolios.admin import OwnerScopedAdmin

from .models import RealizedGain, TaxLot, TaxRate, TaxReport


class ReadOnlyAdmin(OwnerScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TaxLot)
class TaxLotAdmin(ReadOnlyAdmin):
    list_display = (
        "lot",
        "piece",
        "portfolio",
        "asset",
        "method",
        "quantity",
        "basis",
        "adjusted_basis",
        "wash_adjustment",
        "date_acquired",
        "original_date",
    )
    list_filter = ("method", ("original_date", admin.DateFieldListFilter))
    search_fields = ("asset__symbol", "portfolio__name", "owner__username")
    list_select_related = ("portfolio", "asset")
    readonly_fields = ("wash_adjustment", "computed_at")
    raw_id_fields = ("owner", "portfolio", "asset", "lot")

    @admin.display(description="wash-sale adjustment")
    def wash_adjustment(self, obj):
        return obj.wash_adjustment


@admin.register(RealizedGain)
class RealizedGainAdmin(ReadOnlyAdmin):
    list_display = (
        "date_sold",
        "sale",
        "lot",
        "portfolio",
        "asset",
        "method",
        "quantity",
        "proceeds",
        "basis",
        "gain_loss",
        "disallowed_loss",
        "reportable_gain_loss",
        "term",
    )
    list_filter = ("term", "method", ("date_sold", admin.DateFieldListFilter))
    search_fields = ("asset__symbol", "portfolio__name", "owner__username")
    date_hierarchy = "date_sold"
    list_select_related = ("portfolio", "asset")
    readonly_fields = ("gain_loss", "reportable_gain_loss", "computed_at")
    raw_id_fields = ("owner", "portfolio", "asset", "sale", "lot")

    @admin.display(description="gain or loss")
    def gain_loss(self, obj):
        return obj.gain_loss

    @admin.display(description="reportable gain or loss")
    def reportable_gain_loss(self, obj):
        return obj.reportable_gain_loss


@admin.register(TaxReport)
class TaxReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "owner", "portfolio", "year", "method", "format", "status", "size", "created_at")
    list_filter = ("status", "format", "year")
    search_fields = ("owner__username", "portfolio__name", "error")
    list_select_related = ("owner", "portfolio")
    readonly_fields = ("size", "summary", "error", "created_at", "updated_at")
    exclude = ("content",)
    raw_id_fields = ("owner", "portfolio")

    @admin.display(description="bytes")
    def size(self, obj):
        return len(obj.content) if obj.content else 0


@admin.register(TaxRate)
class TaxRateAdmin(OwnerScopedAdmin):
    list_display = ("owner", "year", "short_term_rate", "long_term_rate", "updated_at")
    list_filter = ("year",)
    search_fields = ("owner__username",)
    list_select_related = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    raw_id_fields = ("owner",)

    def get_changeform_initial_data(self, request):
        return {"owner": request.user.pk}
