"""Mounted at /api/realtime/ by config/urls.py."""

from django.urls import path

from .api.views import RealtimeStatusView

app_name = "realtime"
urlpatterns = [
    path("status/", RealtimeStatusView.as_view(), name="status"),
]
