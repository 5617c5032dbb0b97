"""WebSocket URL patterns, routed by config/asgi.py."""

websocket_urlpatterns: list = []
