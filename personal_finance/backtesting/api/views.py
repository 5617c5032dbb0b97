"""``backtests/`` and ``backtests/sweeps/``: start (202), watch (status, progress), read results,
cancel. Every read is scoped to the requesting user; another user's run answers 404."""

from django.db.models import Count
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from personal_finance.backtesting import selectors, services
from personal_finance.contrib.exceptions import ApplicationError

from .serializers import (
    BacktestCreateSerializer,
    BacktestRunDetailSerializer,
    BacktestRunListSerializer,
    CreatedSerializer,
    SweepCreateSerializer,
    SweepDetailSerializer,
    SweepListSerializer,
)

FALSE_TEXT = ("0", "false", "no", "off")
DEFAULT_TABLE_LIMIT = 50
MAX_TABLE_LIMIT = 20_000

_400 = OpenApiResponse(description='bad input: {"detail": message, "errors": {field: [messages]}}')
_409 = OpenApiResponse(description="the run has already finished")


def _accepted(request, obj, route: str) -> Response:
    obj.refresh_from_db(fields=["status"])  # in embedded mode the work has already run
    location = request.build_absolute_uri(reverse(f"api:{route}", kwargs={"pk": obj.pk}))
    return Response(
        CreatedSerializer({"id": obj.pk, "status": obj.status}).data,
        status=status.HTTP_202_ACCEPTED,
        headers={"Location": location},
    )


class _OwnedViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    lookup_value_regex = r"\d+"
    filter_backends = []


class BacktestViewSet(_OwnedViewSet):
    """Backtest runs of the signed-in user (docs/contracts.md §7 and §13)."""

    def get_serializer_class(self):
        return BacktestRunListSerializer if self.action == "list" else BacktestRunDetailSerializer

    def _with_equity(self) -> bool:
        return self.request.query_params.get("equity", "1").strip().lower() not in FALSE_TEXT

    def get_queryset(self):
        user = self.request.user
        if self.action == "list":
            return selectors.backtest_run_list(user=user)
        return selectors.backtest_run_detail_queryset(user=user, with_equity=self._with_equity())

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "with_equity": self._with_equity()}

    @extend_schema(
        summary="Start a backtest",
        description=(
            "Validates the strategy, its parameters, the settings and the stored prices of `symbols` "
            "(400 naming the field), stores a queued run and executes it on the `high` queue. Answers 202 "
            "with the run's id and status and a `Location` header; GET that URL for progress and results."
        ),
        request=BacktestCreateSerializer,
        responses={202: CreatedSerializer, 400: _400},
    )
    def create(self, request, *args, **kwargs):
        serializer = BacktestCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.backtest_create(owner=request.user, **serializer.validated_data)
        return _accepted(request, run, "backtest-detail")

    @extend_schema(
        summary="A backtest run: status, progress, settings, stats, trades, equity",
        parameters=[
            OpenApiParameter("equity", bool, description="include the equity and buy-and-hold curves (default true)")
        ],
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.backtest_delete(run=instance)

    @extend_schema(
        summary="Cancel a queued or running backtest",
        request=None,
        responses={200: BacktestRunListSerializer, 409: _409},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = services.backtest_cancel(run=self.get_object())
        return Response(BacktestRunListSerializer(run).data)


class SweepViewSet(_OwnedViewSet):
    """Parameter sweeps of the signed-in user: a grid fanned out over the workers, one ranked table."""

    def get_serializer_class(self):
        return SweepListSerializer if self.action == "list" else SweepDetailSerializer

    def get_queryset(self):
        qs = selectors.sweep_list(user=self.request.user).annotate(chunks_done=Count("chunks"))
        if self.action == "retrieve":
            qs = qs.defer(None).prefetch_related("chunks")
        return qs

    def _limit(self) -> int:
        raw = self.request.query_params.get("limit")
        if raw in (None, ""):
            return DEFAULT_TABLE_LIMIT
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= MAX_TABLE_LIMIT:
            raise ApplicationError(
                f"limit must be a whole number from 1 to {MAX_TABLE_LIMIT}",
                errors={"limit": [f"expected 1..{MAX_TABLE_LIMIT}, got {raw!r}"]},
            )
        return value

    @extend_schema(
        summary="Start a parameter sweep",
        description=(
            "Expands `grid` into every combination (invalid ones such as fast >= slow are skipped and "
            "listed), validates them against the stored prices, and fans the combinations out in chunks "
            "as a Celery group on the `default` queue; a chord callback ranks them by `metric`. Answers 202."
        ),
        request=SweepCreateSerializer,
        responses={202: CreatedSerializer, 400: _400},
    )
    def create(self, request, *args, **kwargs):
        serializer = SweepCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sweep = services.sweep_create(owner=request.user, **serializer.validated_data)
        return _accepted(request, sweep, "backtest-sweep-detail")

    @extend_schema(
        summary="A sweep: status, progress (chunks done / total) and the ranked table",
        parameters=[OpenApiParameter("limit", int, description=f"rows of the table (default {DEFAULT_TABLE_LIMIT})")],
    )
    def retrieve(self, request, *args, **kwargs):
        limit = self._limit()
        sweep = self.get_object()
        table = selectors.sweep_table(sweep=sweep, limit=limit)
        context = {**self.get_serializer_context(), "table": table}
        return Response(SweepDetailSerializer(sweep, context=context).data)

    def perform_destroy(self, instance):
        services.sweep_delete(sweep=instance)

    @extend_schema(
        summary="Cancel a queued or running sweep", request=None, responses={200: SweepListSerializer, 409: _409}
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        sweep = selectors.with_chunks_done(services.sweep_cancel(sweep=self.get_object()))
        return Response(SweepListSerializer(sweep).data)
