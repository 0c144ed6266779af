"""Websocket routes served by Channels."""

from django.urls import path, re_path

from contactcenter.consumers import QueuesConsumer
from contactcenter.taskrouter.consumers import RoutingBoardConsumer
from core.consumers import UnroutedSocketConsumer
from messaging.consumers import BulkProgressConsumer

websocket_urlpatterns = [
    path("ws/bulks/<str:sid>/", BulkProgressConsumer.as_asgi()),
    path("ws/routing/<str:sid>/", RoutingBoardConsumer.as_asgi()),
    path("ws/queues/", QueuesConsumer.as_asgi()),
    re_path(r"", UnroutedSocketConsumer.as_asgi()),  # last: any other path is refused, not a crash
]
