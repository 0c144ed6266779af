"""What the text-to-speech adapters' tests share: a local server of the test's own speaking a
vendor's documented HTTP API, the 1 kHz tone it answers with, and reading back what the adapter made
of it (the pitch, and when its first audio came)."""

import asyncio
import json
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ai.speech.base import TextToSpeech
from tests.voice.audio import dominant_hz

TEXT = "Hello there."


def tone_pcm(rate: int) -> bytes:
    """One second of a 1 kHz tone as 16-bit little-endian PCM at `rate` Hz."""
    return b"".join(
        int(8000 * math.sin(2 * math.pi * 1000 * n / rate)).to_bytes(2, "little", signed=True)
        for n in range(rate)
    )


def pitch_hz(slin: bytes, start: int = 8000) -> int:
    """The pitch of 100 ms of 8 kHz 16-bit audio from byte `start` (away from any resampler's edge)."""
    return dominant_hz(
        [int.from_bytes(slin[i : i + 2], "little", signed=True) for i in range(start, start + 1600, 2)]
    )


def speak(engine: TextToSpeech, *, voice: str, language: str = "en-US") -> tuple[bytes, float]:
    """The audio the engine makes of `TEXT`, and the `perf_counter` time its first chunk came."""

    async def collect() -> tuple[bytes, float]:
        first_at, audio = 0.0, b""
        async for chunk in engine.synthesize(TEXT, voice=voice, language=language):
            first_at = first_at or time.perf_counter()
            audio += chunk
        return audio, first_at

    return asyncio.run(collect())


class VendorHandler(BaseHTTPRequestHandler):
    """A vendor's endpoint: subclasses answer `do_POST` with these, quietly."""

    rest_sent_at = 0.0  # when `send_pcm`'s pieces after the first began to leave

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_pcm(self, *pieces: bytes, pause_s: float = 0.0) -> None:
        """200 with the audio chunked, a chunk a piece, `pause_s` before each piece after the first."""
        self.send_response(200)
        self.send_header("Content-Type", "audio/pcm")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(pause_s)
                type(self).rest_sent_at = time.perf_counter()
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def send_streamed_tone(self, rate: int) -> None:
        """A second of the tone at `rate`: its first 200 ms at once, the rest half a second later."""
        tone = tone_pcm(rate)
        self.send_pcm(tone[: len(tone) // 5], tone[len(tone) // 5 :], pause_s=0.5)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serves `handler` on a free port of this host, in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
