"""Websocket routes served by Channels."""

websocket_urlpatterns: list = []
