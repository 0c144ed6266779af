"""`manage.py ari_worker`: run calls in real time on every enabled media server until SIGINT/SIGTERM."""

import asyncio
import logging
import signal
from typing import Any

import uvloop
from django.core.management.base import BaseCommand, CommandParser

from voice.models import MediaServer
from voice.worker import VoiceWorker

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Hold each media server's ARI websocket and run calls' TwiML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", action="append", help="media server name (default: all enabled)")

    def handle(self, *args: Any, **options: Any) -> None:
        servers = MediaServer.objects.filter(is_enabled=True)
        if options["server"]:
            servers = servers.filter(name__in=options["server"])
        workers = [VoiceWorker(server) for server in servers]
        if not workers:
            self.stderr.write("no enabled media servers: run `manage.py asterisk setup` first")
            return
        uvloop.run(self._run(workers))  # libuv's loop: less CPU per event than asyncio's own

    async def _run(self, workers: list[VoiceWorker]) -> None:
        loop = asyncio.get_running_loop()

        def stop() -> None:
            for worker in workers:
                worker.stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        log.info("ARI worker started for %s", ", ".join(w.server.name for w in workers))
        await asyncio.gather(*(worker.run() for worker in workers))
