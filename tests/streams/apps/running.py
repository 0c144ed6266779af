"""The Pipecat bot as a real process on loopback, for any test that needs it (it imports Pipecat,
which only the test-only `interop` extra installs, and keeps loguru and its event loop out of pytest)."""

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.live import free_port, http_process


@dataclass(frozen=True)
class PipecatBot:
    url: str  # the websocket, for <Stream url>
    http: str

    def observed(self) -> list[dict[str, Any]]:
        """What each session of the bot saw (see pipecat_bot.py)."""
        return list(httpx.get(f"{self.http}/observed", timeout=5).json())

    def wait_finished(self, count: int = 1, timeout_s: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while True:
            sessions = self.observed()
            if sum(1 for s in sessions if s["finished"]) >= count or time.monotonic() > deadline:
                return sessions
            time.sleep(0.1)


@contextmanager
def pipecat_bot(*, api_base: str, account_sid: str, auth_token: str) -> Iterator[PipecatBot]:
    """Start the bot; its hang-up goes to `api_base` with these credentials."""
    port = free_port()
    bot = PipecatBot(url=f"ws://127.0.0.1:{port}/ws", http=f"http://127.0.0.1:{port}")
    argv = [
        sys.executable,
        "-m",
        "tests.streams.apps.pipecat_bot",
        "--port",
        str(port),
        "--api-base",
        api_base,
    ]
    with http_process(
        argv,
        probe=f"{bot.http}/observed",
        log_name=f"test-pipecat-{port}.log",
        what="the Pipecat bot",
        start_seconds=60,  # importing Pipecat takes a few seconds on two busy cores
        env={"TWILIO_ACCOUNT_SID": account_sid, "TWILIO_AUTH_TOKEN": auth_token},
    ):
        yield bot
