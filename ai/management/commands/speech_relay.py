"""`manage.py speech_relay`: the ConversationRelay speech relay (ai/relay), a Media Streams app the
media bridge streams relayed calls to, until SIGINT/SIGTERM.

It listens where SWITCHBOARD_SPEECH_RELAY_URL points (or --host/--port). Per call it runs voice
activity, speech-to-text and text-to-speech; a node may run one a core on the same port (each binds
it with SO_REUSEPORT and the kernel spreads the sessions).
"""

import asyncio
import signal
import tempfile
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from ai.relay.engines import engines_for
from ai.relay.server import RelayServer
from ai.speech import registry
from core import egress, webhooks
from voice.media import MediaCache


class Command(BaseCommand):
    help = "Relay ConversationRelay sessions: the call's speech as text to the tenant's app, and back."

    def add_arguments(self, parser: CommandParser) -> None:
        url = urlsplit(settings.SPEECH_RELAY_URL)
        parser.add_argument("--host", default=url.hostname or "127.0.0.1")
        parser.add_argument("--port", type=int, default=url.port or 80)

    def handle(self, *args: Any, **options: Any) -> None:
        uvloop.run(self._run(options["host"], options["port"]))

    async def _run(self, host: str, port: int) -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        registry.warm_text_to_speech()
        http = egress.async_client(timeout=webhooks.TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=50))
        with tempfile.TemporaryDirectory(prefix="speech-relay-") as media_dir:
            server = RelayServer(
                host=host,
                port=port,
                redis_url=settings.REDIS_URL,
                engines=engines_for,
                media=MediaCache(media_dir, http),  # `play` sources, fetched and converted once
                connect_timeout=settings.STREAMS_CONNECT_TIMEOUT_SECONDS,
            )
            await server.start()
            await stopping.wait()
            await server.stop()
        await http.aclose()
