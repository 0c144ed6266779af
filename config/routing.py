"""Websocket routes served by Channels."""

from django.urls import path

from messaging.consumers import BulkProgressConsumer

websocket_urlpatterns = [
    path("ws/bulks/<str:sid>/", BulkProgressConsumer.as_asgi()),
]
