"""Websocket consumers that belong to no app: the answer to a path no route serves."""

from channels.generic.websocket import AsyncWebsocketConsumer

NOT_FOUND = 4404  # closing before accepting refuses the handshake (HTTP 403)


class UnroutedSocketConsumer(AsyncWebsocketConsumer):
    """The last websocket route. Without it Channels' router raises for an unknown path, which the
    server logs as a crash of the application and answers with a 500."""

    channel_layer_alias = None  # no channel layer: a refusal opens no channel in Redis

    async def connect(self) -> None:
        await self.close(code=NOT_FOUND)
