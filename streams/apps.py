"""Media Streams: a live call's audio to and from a tenant's websocket app (Twilio's `<Stream>`)."""

from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"

    def ready(self) -> None:
        # Registers <Connect><Stream>, <Start><Stream> and <Stop><Stream> with voice's interpreter,
        # the Streams API's start command, and the receiver that stops a call's streams as it ends.
        from streams import commands, receivers, verbs  # noqa: F401
