"""One router for the whole REST API, mounted at /api/ by config/urls.py."""

from django.conf import settings
from rest_framework.routers import DefaultRouter, SimpleRouter

from personal_finance.users.api.views import UserViewSet

router = DefaultRouter() if settings.DEBUG else SimpleRouter()
router.register("users", UserViewSet, basename="user")

app_name = "api"
urlpatterns = router.urls
