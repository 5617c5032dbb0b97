"""Tax REST API (docs/contracts.md §7): `tax/lots/`, `tax/report/` (JSON, Form 8949 CSV, PDF), `tax/harvest/`,
the user's tax rates (`tax/rates/{year}/`) and stored reports (`tax/reports/`).

Everything is scoped to the requesting user: another user's portfolio id answers 404.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from personal_finance.contrib.services import OwnerScopedService
from personal_finance.portfolios.selectors import PortfolioService
from personal_finance.tax import documents, services
from personal_finance.tax.models import TaxRate, TaxReport

from .serializers import (
    HarvestDocumentSerializer,
    HarvestQuerySerializer,
    LotsQuerySerializer,
    OpenLotsDocumentSerializer,
    ReportQuerySerializer,
    StoredTaxReportSerializer,
    TaxRateSerializer,
    TaxReportDocumentSerializer,
)

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class _FormatIsOurs(DefaultContentNegotiation):
    """`?format=` is the report's own parameter (json, csv, pdf), not DRF's renderer override."""

    class settings:  # noqa: N801 - DRF reads `self.settings.URL_FORMAT_OVERRIDE`
        URL_FORMAT_OVERRIDE = None


def _query(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _portfolio(request, values: dict):
    pk = values.pop("portfolio", None)
    return None if pk is None else PortfolioService(request.user).get(pk)


class TaxLotsViewSet(viewsets.ViewSet):
    """Open tax lots with wash-sale adjusted basis and acquisition date."""

    @extend_schema(parameters=[LotsQuerySerializer], responses=OpenLotsDocumentSerializer)
    def list(self, request):
        values = _query(LotsQuerySerializer, request)
        portfolio = _portfolio(request, values)
        return Response(documents.open_lots_document(user=request.user, portfolio=portfolio, **values))


class TaxReportViewSet(viewsets.ViewSet):
    """Realised gains per sale and lot, Form 8949 and Schedule D; `format=csv` gives the Form 8949
    CSV and `format=pdf` a PDF. Wash sales are matched across all of the user's portfolios."""

    content_negotiation_class = _FormatIsOurs

    @extend_schema(
        parameters=[ReportQuerySerializer],
        responses={
            (200, "application/json"): TaxReportDocumentSerializer,
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="Form 8949 rows"),
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="Form 8949 and Schedule D"),
        },
    )
    def list(self, request):
        values = _query(ReportQuerySerializer, request)
        fmt = values.pop("format", "json")
        portfolio = _portfolio(request, values)
        doc = documents.tax_report_document(user=request.user, portfolio=portfolio, **values)
        if fmt == "json":
            return Response(doc)
        content, content_type = documents.tax_report_render(doc, fmt)
        response = HttpResponse(content, content_type=content_type)
        name = f"tax-report-{doc['portfolio'] or 'all'}-{doc['year'] or 'all'}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class TaxHarvestViewSet(viewsets.ViewSet):
    """Tax-loss harvesting: open lots with unrealised losses, estimated saving at your rates, and
    the wash-sale risk of selling now."""

    @extend_schema(parameters=[HarvestQuerySerializer], responses=HarvestDocumentSerializer)
    def list(self, request):
        values = _query(HarvestQuerySerializer, request)
        portfolio = _portfolio(request, values)
        return Response(documents.harvest_document(user=request.user, portfolio=portfolio, today=values.get("as_of")))


class TaxRateService(OwnerScopedService[TaxRate]):
    model = TaxRate
    owner_field = "owner"


class TaxRateViewSet(viewsets.ModelViewSet):
    """Your short- and long-term tax rates per tax year (fractions), used by `tax/harvest/`."""

    serializer_class = TaxRateSerializer
    lookup_field = "year"
    lookup_value_regex = r"\d{4}"

    def get_queryset(self):
        return TaxRateService(self.request.user).get_queryset().order_by("-year")

    def perform_create(self, serializer):
        serializer.instance = services.tax_rate_create(owner=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tax_rate_update(rate=serializer.instance, **serializer.validated_data)


class TaxReportService(OwnerScopedService[TaxReport]):
    model = TaxReport
    owner_field = "owner"


class StoredTaxReportViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Stored tax reports: POST queues one (rendered by the `generate_tax_reports` task), GET lists
    them, `download/` returns the file."""

    serializer_class = StoredTaxReportSerializer

    def get_queryset(self):
        return TaxReportService(self.request.user).get_queryset().defer("content").order_by("-created_at", "-id")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        pk = data.get("portfolio_id")
        portfolio = None if pk is None else PortfolioService(request.user).get(pk)
        report = services.tax_report_request(
            owner=request.user,
            portfolio=portfolio,
            year=data["year"],
            method=data.get("method") or "",
            fmt=data.get("format", TaxReport.Format.JSON),
        )
        report.refresh_from_db()
        return Response(
            StoredTaxReportSerializer(report).data,
            status=status.HTTP_202_ACCEPTED if report.status == TaxReport.Status.QUEUED else status.HTTP_201_CREATED,
        )

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        report = TaxReport.objects.get(pk=self.get_object().pk)
        if report.status != TaxReport.Status.DONE:
            return Response(
                {"detail": f"The report is {report.status}.", "errors": {}}, status=status.HTTP_409_CONFLICT
            )
        response = HttpResponse(bytes(report.content or b""), content_type=CONTENT_TYPES[report.format])
        response["Content-Disposition"] = (
            f'attachment; filename="tax-report-{report.pk}-{report.year}.{report.format}"'
        )
        return response
