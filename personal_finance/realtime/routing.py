"""WebSocket URL patterns, routed by config/asgi.py (docs/contracts.md §8)."""

from django.urls import path

from .consumers import PortfolioConsumer, PriceConsumer

websocket_urlpatterns: list = [
    path("ws/prices/", PriceConsumer.as_asgi()),
    path("ws/portfolios/<int:portfolio_id>/", PortfolioConsumer.as_asgi()),
]
