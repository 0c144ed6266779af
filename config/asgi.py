"""ASGI entry point: HTTP through Django, websockets through Channels (routes grow with the portal)."""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_asgi_application()

from config.routing import websocket_urlpatterns  # noqa: E402  (needs Django set up first)

application = ProtocolTypeRouter({"http": django_application, "websocket": URLRouter(websocket_urlpatterns)})
