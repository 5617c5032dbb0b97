from collections.abc import Mapping

import django_filters
from django.conf import settings
from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from personal_finance.portfolios import services
from personal_finance.portfolios.documents import holdings_document
from personal_finance.portfolios.importers import transactions_import
from personal_finance.portfolios.models import Transaction, TransactionType
from personal_finance.portfolios.selectors import PortfolioService

from .serializers import (
    HoldingsSerializer,
    ImportRequestSerializer,
    ImportResultSerializer,
    PortfolioSerializer,
    TransactionInputSerializer,
    TransactionSerializer,
)


class PortfolioViewSet(viewsets.ModelViewSet):
    serializer_class = PortfolioSerializer

    def get_queryset(self):
        return (
            PortfolioService(self.request.user)
            .get_queryset()
            .annotate(transaction_count=Count("transactions"))
            .order_by("name")
        )

    def perform_create(self, serializer):
        serializer.instance = services.portfolio_create(owner=self.request.user, **serializer.validated_data)
        serializer.instance.transaction_count = 0  # as the list and detail show it (the schema requires it)

    def perform_update(self, serializer):
        serializer.instance = services.portfolio_update(portfolio=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.portfolio_delete(portfolio=instance)

    @extend_schema(
        parameters=[OpenApiParameter("as_of", str, description="valuation date, YYYY-MM-DD (default today)")],
        responses=HoldingsSerializer,
    )
    @action(detail=True, methods=["get"])
    def holdings(self, request, pk=None):
        portfolio = self.get_object()
        as_of = None
        if request.query_params.get("as_of"):
            field = HoldingsSerializer().fields["as_of"]
            try:
                as_of = field.to_internal_value(request.query_params["as_of"])
            except ValidationError as exc:
                raise ValidationError({"as_of": exc.detail}) from None
        doc, hit = holdings_document(portfolio=portfolio, as_of=as_of)
        response = Response(doc)
        response["X-Cache"] = "hit" if hit else "miss"
        return response


class TransactionFilter(django_filters.FilterSet):
    start = django_filters.DateFilter(field_name="trade_date", lookup_expr="gte", label="from date (inclusive)")
    end = django_filters.DateFilter(field_name="trade_date", lookup_expr="lte", label="to date (inclusive)")
    type = django_filters.MultipleChoiceFilter(choices=TransactionType.choices)
    symbol = django_filters.CharFilter(field_name="asset__symbol", lookup_expr="iexact")

    class Meta:
        model = Transaction
        fields = ["start", "end", "type", "symbol"]


class TransactionViewSet(viewsets.ModelViewSet):
    """Transactions of one of the user's portfolios (`/api/portfolios/{id}/transactions/`)."""

    serializer_class = TransactionSerializer
    filterset_class = TransactionFilter
    parser_classes = [JSONParser, FormParser, MultiPartParser]

    def get_portfolio(self):
        if not hasattr(self, "_portfolio"):
            self._portfolio = PortfolioService(self.request.user).get(self.kwargs["portfolio_pk"])
        return self._portfolio

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return (
            Transaction.objects.filter(portfolio=self.get_portfolio())
            .select_related("asset")
            .order_by("-trade_date", "-id")
        )

    def _input(self, partial_from=None):
        data = self.request.data
        if partial_from is not None and isinstance(data, Mapping):  # anything else: the serializer's 400
            current = TransactionSerializer(partial_from).data
            data = {**{k: v for k, v in current.items() if v is not None}, **data}
        serializer = TransactionInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        values["trade_date"] = values.pop("date")
        return services.TransactionInput(**values)

    @extend_schema(request=TransactionInputSerializer, responses={201: TransactionSerializer})
    def create(self, request, *args, **kwargs):
        tx = services.transaction_record(portfolio=self.get_portfolio(), data=self._input())
        return Response(TransactionSerializer(tx).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=TransactionInputSerializer, responses=TransactionSerializer)
    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        partial = kwargs.get("partial", False)
        data = self._input(partial_from=instance if partial else None)
        tx = services.transaction_update(transaction_obj=instance, data=data)
        return Response(TransactionSerializer(Transaction.objects.select_related("asset").get(pk=tx.pk)).data)

    def perform_destroy(self, instance):
        services.transaction_delete(transaction_obj=instance)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={200: ImportResultSerializer, 201: ImportResultSerializer},
        description=(
            "Import a CSV file (all rows or none). `format`: native, schwab or trading212; or a "
            "`mapping` JSON object for any other layout. `dry_run=true` previews without writing."
        ),
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_csv(self, request, portfolio_pk=None):
        portfolio = self.get_portfolio()
        serializer = ImportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = transactions_import(
            portfolio=portfolio,
            raw=data["file"],  # the upload: refused by its size before it is read (413)
            format_name=data["format"],
            mapping=data["mapping"],
            dry_run=data["dry_run"],
            max_bytes=settings.IMPORT_MAX_BYTES,
        )
        return Response(result, status=status.HTTP_200_OK if data["dry_run"] else status.HTTP_201_CREATED)
