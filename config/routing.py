"""Websocket routes served by Channels."""

from django.urls import path, re_path

from ai.consumers import AgentRelayConsumer, AgentStreamConsumer
from contactcenter.consumers import ConsoleConsumer, QueuesConsumer
from contactcenter.taskrouter.consumers import RoutingBoardConsumer
from core.consumers import UnroutedSocketConsumer
from messaging.consumers import BulkProgressConsumer

websocket_urlpatterns = [
    path("ws/bulks/<str:sid>/", BulkProgressConsumer.as_asgi()),
    path("ws/routing/<str:sid>/", RoutingBoardConsumer.as_asgi()),
    path("ws/queues/", QueuesConsumer.as_asgi()),
    path("ws/console/", ConsoleConsumer.as_asgi()),
    re_path(r"", UnroutedSocketConsumer.as_asgi()),  # last: any other path is refused, not a crash
]

# Sockets the platform's own processes open (the speech relay or the media bridge to a built-in
# agent), proved by their X-Twilio-Signature rather than a portal cookie: no Origin to validate, no
# session to read.
signed_websocket_urlpatterns = [
    re_path(r"^ws/agents/(?P<sid>AI[0-9a-f]{32})/?$", AgentRelayConsumer.as_asgi()),
    re_path(r"^ws/agents/(?P<sid>AI[0-9a-f]{32})/stream/?$", AgentStreamConsumer.as_asgi()),
]
