import json

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from .models import AssetProfile
from .services import profile_asset


@admin.register(AssetProfile)
class AssetProfileAdmin(admin.ModelAdmin):
    list_display = ("asset", "checked_at", "errors", "warnings", "calendar", "rows")
    list_filter = ("calendar", ("checked_at", admin.DateFieldListFilter))
    search_fields = ("asset__symbol", "asset__name")
    list_select_related = ("asset",)
    ordering = ("-errors", "-warnings", "asset__symbol")
    fields = ("asset", "checked_at", "calendar", "errors", "warnings", "findings", "pretty_report")
    readonly_fields = fields
    actions = ["rerun"]

    def has_add_permission(self, request):
        return False  # profiles are computed, never typed in

    @admin.display(description="rows")
    def rows(self, obj):
        return obj.report.get("rows")

    @admin.display(description="findings")
    def findings(self, obj):
        items = obj.report.get("findings", [])
        if not items:
            return "none"
        rows = format_html_join(
            "", "<li><b>{}</b> ({}): {}</li>", ((f["check"], f["severity"], f["detail"]) for f in items)
        )
        return format_html("<ul>{}</ul>", rows)

    @admin.display(description="report")
    def pretty_report(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.report, indent=2))

    @admin.action(description="Re-run the profile of the selected assets")
    def rerun(self, request, queryset):
        for profile in queryset.select_related("asset"):
            profile_asset(profile.asset)
        self.message_user(request, f"Re-profiled {queryset.count()} asset(s).")
