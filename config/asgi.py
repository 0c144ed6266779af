"""ASGI entry point: HTTP through Django, websockets through Channels (routes grow with the portal)."""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from config.routing import websocket_urlpatterns  # noqa: E402  (needs Django set up first)

# Websockets are the portal's: its session cookie says who asks (consumers check the account and role),
# and only pages served from an allowed host may open them (no cross-site websocket hijacking).
application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
