"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSocket connections pass the allowed-hosts origin check, then session (cookie) and API token
(``?token=``) authentication, then the URL router of the realtime app.
"""

import os
import sys
from pathlib import Path

from django.core.asgi import get_asgi_application

sys.path.append(str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Initialise Django (app registry) before importing code that touches models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from personal_finance.realtime.auth import TokenAuthMiddlewareStack  # noqa: E402
from personal_finance.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
