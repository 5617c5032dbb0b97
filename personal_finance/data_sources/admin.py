from django.contrib import admin

from .models import ProviderState


@admin.register(ProviderState)
class ProviderStateAdmin(admin.ModelAdmin):
    """Circuit-breaker state of each market-data provider (last success, last error)."""

    list_display = (
        "name",
        "state",
        "consecutive_failures",
        "open_until",
        "last_success_at",
        "last_error_at",
        "calls",
        "failures",
    )
    list_filter = ("state",)
    search_fields = ("name", "last_error")
    readonly_fields = ("calls", "failures", "last_success_at", "last_error", "last_error_at")
    actions = ["close_circuit"]

    @admin.action(description="Close the circuit (use the provider again now)")
    def close_circuit(self, request, queryset):
        queryset.update(state=ProviderState.State.CLOSED, consecutive_failures=0, open_until=None)
