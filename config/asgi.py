"""ASGI entry point: HTTP through Django (messages are created in batches in front of it, see
messaging/api/lane.py), websockets through Channels."""

import os

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from django.urls import re_path  # noqa: E402

from config.routing import (  # noqa: E402  (needs Django set up first)
    signed_websocket_urlpatterns,
    websocket_urlpatterns,
)
from messaging.api.lane import MessagesCreateLane  # noqa: E402

# Websockets are the portal's: its session cookie says who asks (consumers check the account and role),
# and only pages served from an allowed host may open them (no cross-site websocket hijacking); but
# for the signed ones of the platform's own processes (config/routing.py), which carry no cookie.
application = ProtocolTypeRouter(
    {
        # Creating messages is the one request made thousands of times a second: served in batches.
        "http": MessagesCreateLane(django_application),
        "websocket": URLRouter(
            [
                *signed_websocket_urlpatterns,
                re_path(
                    r"", AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
                ),
            ]
        ),
    }
)
