from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, viewsets
from rest_framework.response import Response

from personal_finance.assets.models import Asset
from personal_finance.contrib.exceptions import NotFoundError
from personal_finance.data_profiler.selectors import asset_with_profile
from personal_finance.data_profiler.services import profile_asset

from .serializers import DataQualityQuerySerializer, DataQualitySerializer


class DataQualityViewSet(viewsets.GenericViewSet):
    """The data-quality profile of an asset's stored price series (docs/contracts.md §10).

    Profiles are shared reference data like the assets: every signed-in user reads them.
    """

    serializer_class = DataQualitySerializer
    permission_classes = [permissions.IsAuthenticated]
    queryset = Asset.objects.all()
    lookup_field = "symbol"
    lookup_value_regex = r"[A-Za-z0-9.\-=^]+"
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Data-quality profile of an asset's prices",
        description="The stored profile; it is computed and stored first when there is none, or with ?refresh=1.",
        parameters=[
            OpenApiParameter("refresh", bool, description="recompute the profile from the stored prices first"),
        ],
        responses=DataQualitySerializer,
    )
    def retrieve(self, request, symbol=None):
        query = DataQualityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        asset = asset_with_profile(symbol=symbol)
        if asset is None:
            raise NotFoundError("Asset not found.")
        profile = getattr(asset, "profile", None)
        if profile is None or query.validated_data["refresh"]:
            profile = profile_asset(asset)
        document = {"symbol": asset.symbol, "checked_at": profile.checked_at, **profile.report}
        return Response(DataQualitySerializer(document).data)
