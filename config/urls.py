from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from personal_finance.contrib import health
from personal_finance.users.api.views import ObtainTokenView

urlpatterns = [
    path("", include("personal_finance.users.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(settings.ADMIN_URL, admin.site.urls),
    # Health (docs/contracts.md §4)
    path("health/", health.health_view, name="health"),
    path("health/database/", health.health_view, {"only": "database"}, name="health-database"),
    path("health/cache/", health.health_view, {"only": "cache"}, name="health-cache"),
    path("health/celery/", health.health_view, {"only": "celery"}, name="health-celery"),
    path("health/providers/", health.health_view, {"only": "providers"}, name="health-providers"),
    # REST API
    path("api/auth/token/", ObtainTokenView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/realtime/", include("personal_finance.realtime.urls")),
    path("api/", include("config.api_router")),
]
