from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from personal_finance.analytics import documents, services
from personal_finance.analytics.documents import ALLOCATION_KEYS
from personal_finance.analytics.models import PerformanceReport
from personal_finance.analytics.selectors import PERIODS
from personal_finance.portfolios.selectors import PortfolioService


class PeriodSerializer(serializers.Serializer):
    period = serializers.ChoiceField(choices=PERIODS, required=False, allow_blank=True)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    benchmark = serializers.CharField(required=False, allow_blank=True, max_length=32)
    rf = serializers.FloatField(required=False, default=0.0, min_value=-0.5, max_value=1.0)

    def validate(self, attrs):
        if attrs.get("start") and attrs.get("end") and attrs["start"] > attrs["end"]:
            raise serializers.ValidationError({"start": ["must be on or before end"]})
        return attrs


class PerformanceQuerySerializer(PeriodSerializer):
    series = serializers.BooleanField(required=False, default=True)


class RiskQuerySerializer(PeriodSerializer):
    window = serializers.IntegerField(required=False, default=252, min_value=2, max_value=2520)


class AllocationQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=list(ALLOCATION_KEYS), required=False, default="asset")
    as_of = serializers.DateField(required=False)


PERIOD_PARAMS = [
    OpenApiParameter(
        "period", str, enum=list(PERIODS), description="ytd, 1m, 3m, 6m, 1y, 3y, 5y, 10y or max (default)"
    ),
    OpenApiParameter("start", OpenApiTypes.DATE, description="custom range start (overrides period)"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="range end (default today)"),
    OpenApiParameter("benchmark", str, description="symbol of any stored asset, e.g. ^GSPC"),
    OpenApiParameter("rf", float, description="annual risk-free rate as a fraction"),
]


def _query(serializer_class, request):
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _cached_response(doc, hit):
    response = Response(doc)
    response["X-Cache"] = "hit" if hit else "miss"
    return response


def _json_response(body: bytes, hit: bool) -> HttpResponse:
    response = HttpResponse(body, content_type="application/json")
    response["X-Cache"] = "hit" if hit else "miss"
    return response


class PortfolioAnalyticsViewSet(viewsets.GenericViewSet):
    """`performance/`, `risk/` and `allocation/` of one of the user's portfolios (cached)."""

    def get_queryset(self):
        return PortfolioService(self.request.user).get_queryset()

    @extend_schema(
        parameters=[
            *PERIOD_PARAMS,
            OpenApiParameter("series", bool, description="include the daily series (default true)"),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def performance(self, request, pk=None):
        portfolio = self.get_object()
        body, hit = documents.performance_json(portfolio=portfolio, **_query(PerformanceQuerySerializer, request))
        return _json_response(body, hit)

    @extend_schema(
        parameters=[*PERIOD_PARAMS, OpenApiParameter("window", int, description="rolling window in days (252)")],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def risk(self, request, pk=None):
        portfolio = self.get_object()
        body, hit = documents.risk_json(portfolio=portfolio, **_query(RiskQuerySerializer, request))
        return _json_response(body, hit)

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=list(ALLOCATION_KEYS)),
            OpenApiParameter("as_of", OpenApiTypes.DATE),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    @action(detail=True, methods=["get"])
    def allocation(self, request, pk=None):
        portfolio = self.get_object()
        doc, hit = documents.allocation_document(portfolio=portfolio, **_query(AllocationQuerySerializer, request))
        return _cached_response(doc, hit)


class ReportSerializer(serializers.ModelSerializer):
    download = serializers.SerializerMethodField()

    class Meta:
        model = PerformanceReport
        fields = ["id", "portfolio", "format", "period", "status", "error", "created_at", "download"]
        read_only_fields = ["id", "portfolio", "status", "error", "created_at", "download"]

    def get_download(self, obj) -> str | None:
        if obj.status != PerformanceReport.Status.DONE:
            return None
        return f"/api/portfolios/{obj.portfolio_id}/reports/{obj.pk}/download/"


CONTENT_TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


class PerformanceReportViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Downloadable performance reports (HTML, PDF or CSV) of one of the user's portfolios."""

    serializer_class = ReportSerializer

    def get_portfolio(self):
        return PortfolioService(self.request.user).get(self.kwargs["portfolio_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return PerformanceReport.objects.none()
        return PerformanceReport.objects.filter(portfolio=self.get_portfolio(), owner=self.request.user.pk).defer(
            "content"
        )

    def create(self, request, *args, **kwargs):
        portfolio = self.get_portfolio()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = services.performance_report_request(
            owner=request.user,
            portfolio=portfolio,
            fmt=serializer.validated_data.get("format", "html"),
            period=serializer.validated_data.get("period", "max"),
        )
        report.refresh_from_db()
        return Response(
            ReportSerializer(report).data,
            status=status.HTTP_202_ACCEPTED if report.status == "queued" else status.HTTP_201_CREATED,
        )

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, portfolio_pk=None, pk=None):
        report = PerformanceReport.objects.get(pk=self.get_object().pk)
        if report.status != PerformanceReport.Status.DONE:
            return Response(
                {"detail": f"The report is {report.status}.", "errors": {}}, status=status.HTTP_409_CONFLICT
            )
        response = HttpResponse(bytes(report.content or b""), content_type=CONTENT_TYPES[report.format])
        response["Content-Disposition"] = (
            f'attachment; filename="performance-{report.portfolio_id}-{report.pk}.{report.format}"'
        )
        return response
