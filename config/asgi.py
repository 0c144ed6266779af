"""ASGI entry point: HTTP through Django (messages are created in batches in front of it, see
messaging/api/lane.py), websockets through Channels."""

import os
import warnings

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.core.asgi import get_asgi_application


def static_files_warning_ignore() -> None:
    """WhiteNoise has no ASGI support yet (evansd/whitenoise#531): it answers a static file with a
    synchronous file iterator, which Django reads in a thread and warns about in each web process, again
    whenever the warnings filters change. Nothing is wrong, yet scripts/run's log reads as broken; no
    other response of ours streams, so the warning can only be WhiteNoise's."""
    warnings.filterwarnings("ignore", message="StreamingHttpResponse must consume synchronous iterators")


static_files_warning_ignore()
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
