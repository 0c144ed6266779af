"""`manage.py media_bridge`: carry Media Streams' audio between Asterisk and tenants' websocket apps
until SIGINT/SIGTERM, which ends every stream cleanly (each app gets `stop`).

Run as many as the node's cores allow (each uses at most one): each listens on its own port (any free
one unless --port or SWITCHBOARD_BRIDGE_PORT says) and announces it; the ARI worker spreads streams.
"""

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from streams.bridge.server import Bridge, Config
from streams.events import reporter

log = logging.getLogger(__name__)
# Reports are a few per stream's life, each a short transaction: a few threads (and so database
# connections) serve them, whatever the number of streams.
REPORT_THREADS = 4


class Command(BaseCommand):
    help = "Carry Media Streams between Asterisk's AudioSocket connections and tenants' websocket apps."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.STREAMS_BRIDGE_HOST, help="address Asterisk reaches")
        parser.add_argument("--port", type=int, default=settings.STREAMS_BRIDGE_PORT, help="0: any free port")

    def handle(self, *args: Any, **options: Any) -> None:
        config = Config(
            host=options["host"],
            port=options["port"],
            redis_url=settings.REDIS_URL,
            connect_timeout=settings.STREAMS_CONNECT_TIMEOUT_SECONDS,
        )
        uvloop.run(self._run(config))  # libuv's loop: less CPU per frame

    async def _run(self, config: Config) -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=REPORT_THREADS))
        stopping = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
        bridge = Bridge(config, reporter)
        await bridge.start()
        await stopping.wait()
        await bridge.stop()
