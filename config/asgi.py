"""ASGI entry point: HTTP through Django (messages are created in batches in front of it, see
messaging/api/lane.py), websockets through Channels."""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from config.routing import websocket_urlpatterns  # noqa: E402  (needs Django set up first)
from messaging.api.lane import MessagesCreateLane  # noqa: E402

# Websockets are the portal's: its session cookie says who asks (consumers check the account and role),
# and only pages served from an allowed host may open them (no cross-site websocket hijacking).
application = ProtocolTypeRouter(
    {
        # Creating messages is the one request made thousands of times a second: served in batches.
        "http": MessagesCreateLane(django_application),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
