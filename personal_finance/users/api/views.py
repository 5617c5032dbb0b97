from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from personal_finance.users.models import User
from personal_finance.users.services import user_token

from .serializers import TokenRequestSerializer, TokenResponseSerializer, UserSerializer


class UserViewSet(mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The signed-in user's own account. Other users are never listed nor visible."""

    serializer_class = UserSerializer
    lookup_field = "username"

    def get_queryset(self):
        user = self.request.user
        return User.objects.filter(pk=user.pk) if isinstance(user, User) else User.objects.none()

    @action(detail=False, methods=["get"])
    def me(self, request):
        return Response(self.get_serializer(request.user).data)


class TokenThrottle(AnonRateThrottle):
    rate = "30/min"


class ObtainTokenView(APIView):
    """`POST /api/auth/token/` with username and password answers `{"token": ...}`."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_classes = [TokenThrottle]

    @extend_schema(request=TokenRequestSerializer, responses=TokenResponseSerializer, auth=[])
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Unable to log in with the given username and password."]})
        return Response({"token": user_token(user=user)})
