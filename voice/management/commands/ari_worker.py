"""`manage.py ari_worker`: run calls in real time on every enabled media server until SIGINT/SIGTERM.

One process runs one Stasis app, and so uses at most one core. A media server with
`worker_processes` > 1 gets that many processes, one per app of `MediaServer.stasis_apps`: this
command then supervises them (restarting one that dies, passing SIGTERM on) rather than running calls
itself. With `--app` it is one of those processes.
"""

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvloop
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.processes import die_with_parent
from voice.models import MediaServer
from voice.worker import VoiceWorker

log = logging.getLogger(__name__)
RESTART_DELAY_SECONDS = 1.0


class Command(BaseCommand):
    help = "Hold each media server's ARI websocket and run calls' TwiML."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", action="append", help="media server name (default: all enabled)")
        parser.add_argument("--app", help="run only this Stasis app of the one --server (a child process)")

    def handle(self, *args: Any, **options: Any) -> None:
        servers = MediaServer.objects.filter(is_enabled=True)
        if options["server"]:
            servers = servers.filter(name__in=options["server"])
        apps = [(server, app) for server in servers for app in server.stasis_apps]
        if options["app"]:
            apps = [(server, app) for server, app in apps if app == options["app"]]
            if len(apps) != 1:
                raise CommandError(f"--app {options['app']} is not an app of exactly one --server")
        if not apps:
            self.stderr.write("no enabled media servers: run `manage.py asterisk setup` first")
            return
        if len(apps) == 1:
            server, app = apps[0]
            uvloop.run(self._run(VoiceWorker(server, app)))  # libuv's loop: less CPU per event
        else:
            supervise([(server.name, app) for server, app in apps])

    async def _run(self, worker: VoiceWorker) -> None:
        loop = asyncio.get_running_loop()
        # The call services' threads keep their database connections (voice.store.db): no more of
        # them than the pool holds.
        pool_size = settings.DATABASES["default"].get("OPTIONS", {}).get("pool", {}).get("max_size", 10)
        loop.set_default_executor(ThreadPoolExecutor(max_workers=min(pool_size, (os.cpu_count() or 1) + 4)))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, worker.stop.set)
        log.info("ARI worker %d started for %s (app %s)", os.getpid(), worker.server.name, worker.app)
        await worker.run()


def supervise(apps: list[tuple[str, str]]) -> None:
    """Run one child process per (server, app) until SIGINT/SIGTERM, restarting any that exits."""
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = {key: _start(*key) for key in apps}
    log.info("ARI worker supervising %d processes: %s", len(children), ", ".join(a for _, a in apps))
    while not stopping:
        time.sleep(0.2)
        for key, child in children.items():
            if child.poll() is not None and not stopping:
                log.error("ARI worker for app %s exited with %s; restarting", key[1], child.returncode)
                time.sleep(RESTART_DELAY_SECONDS)
                children[key] = _start(*key)
    for child in children.values():
        if child.poll() is None:
            child.terminate()
    for child in children.values():
        child.wait()


def _start(server: str, app: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, sys.argv[0], "ari_worker", "--server", server, "--app", app],
        preexec_fn=die_with_parent(),  # noqa: PLW1509
    )
