import django_filters
from django.db.models import ProtectedError, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from personal_finance.assets.models import Asset, AssetClass
from personal_finance.assets.selectors import price_bars
from personal_finance.assets.services import asset_create
from personal_finance.contrib.exceptions import ApplicationError

from .serializers import AssetSerializer, PriceBarSerializer


class IsStaffOrReadOnly(permissions.BasePermission):
    """Assets are shared reference data: everyone signed in reads them, staff edit them."""

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or bool(request.user and request.user.is_staff)


class AssetFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(field_name="symbol", lookup_expr="iexact")
    search = django_filters.CharFilter(method="filter_search", label="Symbol or name contains")
    asset_class = django_filters.ChoiceFilter(choices=AssetClass.choices)
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact")

    class Meta:
        model = Asset
        fields = ["symbol", "asset_class", "currency", "exchange", "sector", "country"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(symbol__icontains=value) | Q(name__icontains=value))


class PriceRangeFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte")


class AssetViewSet(viewsets.ModelViewSet):
    serializer_class = AssetSerializer
    permission_classes = [permissions.IsAuthenticated, IsStaffOrReadOnly]
    lookup_field = "symbol"
    lookup_value_regex = r"[A-Za-z0-9.\-=^]+"
    filterset_class = AssetFilter
    queryset = Asset.objects.order_by("symbol")

    def get_object(self):
        self.kwargs[self.lookup_field] = self.kwargs[self.lookup_field].upper()
        return super().get_object()

    def perform_create(self, serializer):
        serializer.instance = asset_create(**serializer.validated_data)

    def perform_destroy(self, instance):
        try:
            instance.delete()
        except ProtectedError:
            raise ApplicationError(
                f"{instance.symbol} is used by transactions; it cannot be deleted.",
                errors={"symbol": ["referenced by transactions"]},
                status_code=409,
            ) from None

    @extend_schema(
        parameters=[
            OpenApiParameter("start", str, description="first date, YYYY-MM-DD"),
            OpenApiParameter("end", str, description="last date, YYYY-MM-DD"),
        ],
        responses=PriceBarSerializer(many=True),
    )
    @action(detail=True, methods=["get"], serializer_class=PriceBarSerializer, filterset_class=None)
    def prices(self, request, symbol=None):
        asset = self.get_object()
        filterset = PriceRangeFilter(request.query_params, queryset=price_bars(asset=asset))
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        page = self.paginate_queryset(filterset.qs)
        return self.get_paginated_response(PriceBarSerializer(page, many=True).data)
