"""What the bridge's tests drive it with: a fake Asterisk (an AudioSocket client sending a tone in real
time), a local websocket app that records what it hears, a Reporter that records its calls, and a
tone's frequency checked (tests/voice/audio.py) on slin."""

import array
import asyncio
import base64
import contextlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from streams.bridge import audiosocket, codec
from streams.bridge.server import Bridge, Config
from streams.contract import LEG_TTL_SECONDS, StreamLeg, Track, leg_key
from tests.voice import audio

TONE_HZ = 1000.0
FRAME = 0.02


def tone(seconds: float, hz: float = TONE_HZ, amplitude: int = 8000) -> bytes:
    """slin (16-bit little-endian, 8 kHz) of a sine."""
    return array.array("h", audio.tone_samples(seconds * 1000, hz, amplitude=amplitude)).tobytes()


def tone_share(slin: bytes, hz: float = TONE_HZ) -> float:
    """The share of the slin audio's energy at `hz`: about 1 for a clean tone, about 0 without it."""
    return audio.tone_share(array.array("h", slin).tolist(), hz)


class FakeReporter:
    """contract.Reporter recording its calls (they come from the bridge's threads)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def _record(self, name: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))

    def app_connected(self, stream_sid: str) -> None:
        self._record("app_connected", stream_sid)

    def app_closed(self, stream_sid: str) -> None:
        self._record("app_closed", stream_sid)

    def app_failed(self, stream_sid: str, code: int, message: str) -> None:
        self._record("app_failed", stream_sid, int(code), message)

    def app_warning(self, stream_sid: str, code: int, message: str) -> None:
        self._record("app_warning", stream_sid, int(code), message)

    def named(self, name: str) -> list[tuple[Any, ...]]:
        with self._lock:
            return [args for called, args in self.calls if called == name]


@dataclass
class Heard:
    """An app's view of one websocket: every message with its arrival time (time.monotonic())."""

    messages: list[tuple[float, str | bytes]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    socket: ServerConnection | None = None

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        parsed = [json.loads(m) for _, m in self.messages if isinstance(m, str)]
        return [m for m in parsed if name is None or m["event"] == name]

    def timed(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        timed = [(at, json.loads(m)) for at, m in self.messages if isinstance(m, str)]
        return [(at, m) for at, m in timed if m["event"] == name]

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.005)

    async def send(self, message: dict[str, Any] | str | bytes) -> None:
        assert self.socket is not None
        await self.socket.send(json.dumps(message) if isinstance(message, dict) else message)


Behaviour = Callable[[Heard], Awaitable[None]]


async def listen(heard: Heard) -> None:
    """The default app: it records everything until the socket closes."""
    assert heard.socket is not None
    with contextlib.suppress(ConnectionClosed):  # a bridge killed outright says no goodbye
        async for message in heard.socket:
            heard.messages.append((time.monotonic(), message))


@asynccontextmanager
async def app(behaviour: Behaviour | None = None) -> AsyncIterator[tuple[str, list[Heard]]]:
    """A websocket app on loopback; yields its ws:// URL and the connections it has had."""
    sockets: list[Heard] = []

    async def handle(socket: ServerConnection) -> None:
        heard = Heard(socket=socket)
        sockets.append(heard)
        try:
            reading = asyncio.create_task(listen(heard))
            if behaviour is not None:
                await behaviour(heard)
            await reading
        finally:
            heard.closed.set()

    async with serve(handle, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/media", sockets


def media(ulaw: bytes, sid: str = "MZ") -> dict[str, Any]:
    return {"event": "media", "streamSid": sid, "media": {"payload": base64.b64encode(ulaw).decode()}}


def payload(message: dict[str, Any]) -> bytes:
    return base64.b64decode(message["media"]["payload"])


class FakeAsterisk:
    """One AudioSocket leg as Asterisk opens it: the connection id, then slin frames every 20 ms on an
    absolute clock; every frame received is kept with its arrival time."""

    def __init__(self, port: int, connection_id: str) -> None:
        self.port = port
        self.connection_id = connection_id
        self.received: list[tuple[float, int, bytes]] = []  # (monotonic, kind, payload)
        self.sent_at: list[float] = []
        self.ended = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def connect(self, audio: bytes = b"", *, hold: bool = True) -> None:
        reader, self._writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer.write(audiosocket.frame(audiosocket.Kind.ID, uuid.UUID(self.connection_id).bytes))
        self._tasks = [asyncio.create_task(self._read(reader)), asyncio.create_task(self._send(audio, hold))]

    async def _send(self, audio: bytes, hold: bool) -> None:
        """`audio` in real time, then silence while `hold` (as a live channel keeps sending)."""
        assert self._writer is not None
        origin = time.monotonic()
        frames = [audio[i : i + codec.SLIN_FRAME_BYTES] for i in range(0, len(audio), codec.SLIN_FRAME_BYTES)]
        silence = bytes(codec.SLIN_FRAME_BYTES)
        n = 0
        while frames or hold:
            if self._writer.is_closing() or self.ended.is_set():
                return
            self.sent_at.append(time.monotonic())
            self._writer.write(
                audiosocket.frame(audiosocket.Kind.AUDIO, frames.pop(0) if frames else silence)
            )
            n += 1
            await asyncio.sleep(max(origin + n * FRAME - time.monotonic(), 0))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                kind, data = await audiosocket.read_frame(reader)
                self.received.append((time.monotonic(), kind, data))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.ended.set()

    async def burst(self, frames: int) -> None:
        """`frames` of silence at once, far faster than real time."""
        assert self._writer is not None
        silence = audiosocket.frame(audiosocket.Kind.AUDIO, bytes(codec.SLIN_FRAME_BYTES))
        for _ in range(frames):
            self._writer.write(silence)
            await self._writer.drain()

    def audio(self) -> list[tuple[float, bytes]]:
        return [(at, data) for at, kind, data in self.received if kind == audiosocket.Kind.AUDIO]

    async def hang_up(self) -> None:
        assert self._writer is not None
        self._writer.write(audiosocket.frame(audiosocket.Kind.HANGUP))
        await self._writer.drain()
        self._writer.close()
        self.ended.set()

    async def close(self) -> None:
        self.ended.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._writer is not None:
            self._writer.close()


def leg(
    url: str,
    *,
    sid: str = "MZ00000000000000000000000000000001",
    track: Track = "inbound",
    tracks: list[Track] | None = None,
    bidirectional: bool = True,
    legs: int = 1,
) -> StreamLeg:
    return StreamLeg(
        stream_sid=sid,
        account_sid="AC00000000000000000000000000000001",
        call_sid="CA00000000000000000000000000000001",
        url=url,
        name="talk",
        track=track,
        tracks=tracks or [track],
        legs=legs,
        bidirectional=bidirectional,
        parameters={"from_number": "+15550100", "greeting": "hi"},
    )


@asynccontextmanager
async def bridge(reporter: FakeReporter, *, connect_timeout: float = 3.0) -> AsyncIterator[Bridge]:
    running = Bridge(Config("127.0.0.1", 0, settings.REDIS_URL, connect_timeout), reporter)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


async def place(port: int, stream_leg: StreamLeg, audio: bytes = b"") -> FakeAsterisk:
    """Write the leg's key as the worker does, and connect a fake Asterisk leg to the bridge on `port`."""
    connection_id = str(uuid.uuid4())
    client = aioredis.from_url(settings.REDIS_URL)
    try:
        await client.set(leg_key(connection_id), json.dumps(stream_leg), ex=LEG_TTL_SECONDS)
    finally:
        await client.aclose()
    asterisk = FakeAsterisk(port, connection_id)
    await asterisk.connect(audio)
    return asterisk


class RunningApp:
    """`app` on a loop in a thread of its own, for tests that block on a real call (sipp)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour
        self.url = ""
        self.sockets: list[Heard] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._done: asyncio.Event | None = None
        self._thread = threading.Thread(
            target=self._loop.run_until_complete, args=(self._serve(),), daemon=True
        )

    async def _serve(self) -> None:
        self._done = asyncio.Event()
        async with app(self.behaviour) as (self.url, self.sockets):
            self._ready.set()
            await self._done.wait()

    def __enter__(self) -> "RunningApp":
        self._thread.start()
        assert self._ready.wait(5), "the app did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._done is not None
        self._loop.call_soon_threadsafe(self._done.set)
        self._thread.join(5)

    def wait(
        self, count: int = 1, *, closed: bool = False, media: int = 0, timeout: float = 10
    ) -> list[Heard]:
        """The connections once `count` have opened, each with `media` messages heard (and closed)."""
        deadline = time.monotonic() + timeout
        while True:
            found = list(self.sockets)
            if len(found) >= count and all(
                len(heard.events("media")) >= media and (heard.closed.is_set() or not closed)
                for heard in found
            ):
                return found
            assert time.monotonic() < deadline, f"app: {len(found)} connections, wanted {count}"
            time.sleep(0.05)
