from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from personal_finance.realtime.tracker import status


class RealtimeStatusSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=["redis", "in-process"])
    processes = serializers.IntegerField(help_text="server or feed processes with live connections or a feed")
    connections = serializers.DictField(child=serializers.IntegerField(), help_text="total, prices, portfolios")
    subscriptions = serializers.IntegerField(help_text="symbol subscriptions over every connection")
    symbols = serializers.DictField(child=serializers.IntegerField(), help_text="subscribers per symbol (top 100)")
    distinct_symbols = serializers.IntegerField()
    portfolios_watched = serializers.IntegerField()
    portfolio_streams = serializers.IntegerField()
    counters = serializers.DictField(child=serializers.IntegerField())
    feeds = serializers.ListField(child=serializers.DictField())


class RealtimeStatusView(APIView):
    """Operators' view of the WebSocket streams: connections, subscriptions, drops. Staff only."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(summary="Realtime streams status (staff only)", responses=RealtimeStatusSerializer)
    def get(self, request):
        return Response(status())
