from django import forms
from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html_join

from .documents import portfolio_holdings
from .models import Portfolio, Transaction


class OwnerScopedAdmin(admin.ModelAdmin):
    """Staff who are not superusers see and change only their own portfolios' data."""

    owner_lookup = "owner"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{self.owner_lookup: request.user})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Their forms offer only themselves as owner and only their own portfolios: a raw-id field
        # took any id (an object written into another user's account) and its label named that row.
        if not request.user.is_superuser and db_field.name in ("owner", "portfolio"):
            lookup = {"pk": request.user.pk} if db_field.name == "owner" else {"owner": request.user}
            kwargs["queryset"] = db_field.remote_field.model._default_manager.filter(**lookup)
            kwargs["widget"] = forms.Select
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Portfolio)
class PortfolioAdmin(OwnerScopedAdmin):
    list_display = ("name", "owner", "base_currency", "transactions_count", "created_at")
    list_filter = ("base_currency",)
    search_fields = ("name", "owner__username")
    readonly_fields = ("holdings_summary", "created_at", "updated_at")
    raw_id_fields = ("owner",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("owner").annotate(_tx=Count("transactions"))

    @admin.display(description="transactions", ordering="_tx")
    def transactions_count(self, obj):
        return obj._tx

    @admin.display(description="holdings (computed from the ledger)")
    def holdings_summary(self, obj):
        if obj.pk is None:
            return "-"
        data = portfolio_holdings(portfolio=obj)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((h["symbol"], h["quantity"], h["market_value"], h["unrealized_gain"]) for h in data["holdings"]),
        )
        return format_html_join(
            "",
            "{}",
            [
                (f"Total value {data['total_value']} {data['base_currency']}, cash {data['cash']}. ",),
                (
                    format_html_join(
                        "",
                        "<table><tr><th>symbol</th><th>qty</th><th>value</th><th>gain</th></tr>{}</table>",
                        [(rows,)],
                    ),
                ),
            ],
        )


@admin.register(Transaction)
class TransactionAdmin(OwnerScopedAdmin):
    owner_lookup = "portfolio__owner"
    list_display = ("trade_date", "portfolio", "type", "asset", "quantity", "price", "fees", "amount", "currency")
    list_filter = ("type", "currency", ("trade_date", admin.DateFieldListFilter))
    search_fields = ("asset__symbol", "external_id", "note", "portfolio__name")
    date_hierarchy = "trade_date"
    list_select_related = ("portfolio", "asset")
    raw_id_fields = ("portfolio", "asset")
    readonly_fields = ("created_at", "updated_at")

    # Entries are written through the API, imports and commands, where the ledger is checked
    # (no selling more than is held); the admin shows them and can delete them.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
