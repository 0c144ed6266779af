"""One Media Stream on the bridge: its AudioSocket legs, its websocket to the app, and the tasks that
carry audio between them, until the call hangs up, the platform stops it, or the app closes.

Per frame nothing is awaited but the sockets: the caller's audio is converted and queued for the app
in the leg's reader; the app's is queued for playout in the app's reader. Both queues are bounded:
an app that stops reading loses messages (logged once), one that floods loses audio beyond 60 s.
"""

import asyncio
import contextlib
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from core.error_codes import ErrorCode
from core.task_set import TaskSet
from core.timeouts import within
from streams.bridge import audiosocket, protocol
from streams.bridge.app_socket import AppUnreachable, connect_app
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from streams.bridge.playout import MAX_MARKS, Playout, play
from streams.contract import Reporter, StreamLeg, Track

log = logging.getLogger(__name__)

OUTBOX_MESSAGES = 250  # 5 s of one track's media: how far behind an app may read before we drop
CLOSE_SECONDS = 2.0  # for `stop` to reach the app and its socket to close


class End(enum.Enum):
    HANGUP = "hangup"  # a leg's AudioSocket connection ended: the call or the stream's channel went
    STOPPED = "stopped"  # the worker stopped the stream, or the bridge is shutting down
    APP_CLOSED = "app closed"
    APP_FAILED = "app failed"  # the app's websocket could not be opened


@dataclass
class Leg:
    """One AudioSocket connection from Asterisk, carrying one track."""

    track: Track
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def hang_up(self) -> None:
        """Ends the connection, which ends its channel in Asterisk."""
        if not self.writer.is_closing():
            self.writer.write(audiosocket.frame(audiosocket.Kind.HANGUP))
            self.writer.close()


@dataclass
class Reports:
    """A stream's calls to the Reporter: in a thread (they touch the database), in order, off the
    frame path; `flush` waits for the last."""

    reporter: Reporter
    _last: asyncio.Task[None] | None = field(default=None, init=False)

    def __call__(self, method: Callable[..., None], *args: Any) -> None:
        self._last = asyncio.create_task(self._run(self._last, method, args))

    @staticmethod
    async def _run(previous: asyncio.Task[None] | None, method: Callable[..., None], args: Any) -> None:
        if previous is not None:
            await previous
        try:
            await asyncio.get_running_loop().run_in_executor(None, method, *args)
        except Exception:
            log.exception("reporting %s%s failed", method.__name__, args)

    async def flush(self) -> None:
        if self._last is not None:
            await self._last


class Stream:
    def __init__(self, leg: StreamLeg, first: Leg, *, reporter: Reporter, connect_timeout: float) -> None:
        self.leg = leg
        self.sid = leg["stream_sid"]
        self.legs = [first]
        self.playout = Playout() if leg["bidirectional"] else None
        self._reporter = reporter
        self._reports = Reports(reporter)
        self._connect_timeout = connect_timeout
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX_MESSAGES)
        self._end: asyncio.Future[End] = asyncio.get_running_loop().create_future()
        self._tasks = TaskSet(self._task_failed)
        self._ws: ClientConnection | None = None
        self._writer: asyncio.Task[None] | None = None
        self._failure = (0, "")
        self._sequence = 0
        self._chunks: dict[str, int] = {}
        self._started_at = 0.0  # loop time when `start` was queued: media timestamps count from it
        self._warned: set[str] = set()
        self._is_dropping = False
        self._is_running = False

    # Commands from the server, on the loop.

    def add_leg(self, leg: Leg) -> None:
        """The second leg of a both_tracks stream."""
        self.legs.append(leg)
        if self._is_running:
            self._tasks.spawn(self._read_leg(leg))

    def finish(self, end: End) -> None:
        """End the stream (the first reason given is the one that counts)."""
        if not self._end.done():
            self._end.set_result(end)

    def dtmf(self, digit: str) -> None:
        if self._ws is not None:
            self._send(protocol.dtmf(self.sid, sequence=self._next(), digit=digit))

    async def run(self) -> End:
        """Connect to the app, carry audio until the stream ends, then close both sides."""
        self._is_running = True
        for leg in self.legs:
            self._tasks.spawn(self._read_leg(leg))
        self._tasks.spawn(self._open())
        end = await self._end
        if end in (End.HANGUP, End.STOPPED):
            await self._say_stop()
        elif end is End.APP_CLOSED:
            self._reports(self._reporter.app_closed, self.sid)
        elif end is End.APP_FAILED:
            self._reports(self._reporter.app_failed, self.sid, *self._failure)
        await self._tasks.cancel_all()
        if self._ws is not None:
            await self._ws.close()
        # The platform hears why before the legs' channels go, so it records the app's closing (and
        # runs what follows </Connect>) rather than taking it for media that dropped.
        await self._reports.flush()
        for leg in self.legs:
            leg.hang_up()
        if self.playout is not None:  # frames by how many ms late they left: {ms: frames}
            log.info("stream %s ended: %s; playout lateness %s", self.sid, end.value, self.playout.lateness)
        else:
            log.info("stream %s ended: %s", self.sid, end.value)
        return end

    # The stream's tasks.

    def _task_failed(self, error: BaseException) -> None:
        log.error("stream %s: a task failed", self.sid, exc_info=error)
        self.finish(End.STOPPED)

    async def _open(self) -> None:
        try:
            signature = self.leg.get("signature")
            headers = {"X-Twilio-Signature": signature} if signature else None
            ws = await connect_app(self.leg["url"], timeout=self._connect_timeout, headers=headers)
        except AppUnreachable as exc:
            log.info("stream %s: app unreachable (%s): %s", self.sid, exc.code, exc)
            self._failure = (exc.code, str(exc))
            self.finish(End.APP_FAILED)
            return
        if self._end.done():  # the call ended while the app was answering
            await ws.close()
            return
        self._ws = ws
        # Two frames before any media: clients such as Pipecat read exactly these two to recognise Twilio.
        self._send(protocol.connected())
        self._send(protocol.start(self.leg, sequence=self._next()))
        self._started_at = asyncio.get_running_loop().time()
        self._reports(self._reporter.app_connected, self.sid)
        self._writer = self._tasks.spawn(self._write_app(ws))
        self._tasks.spawn(self._read_app(ws))
        if self.playout is not None:
            self._tasks.spawn(play(self.playout, self._play_frame, self._echo_mark))

    async def _read_leg(self, leg: Leg) -> None:
        loop = asyncio.get_running_loop()
        track, chunks = leg.track, self._chunks
        try:
            while True:
                kind, payload = await audiosocket.read_frame(leg.reader)
                if kind == audiosocket.Kind.AUDIO:
                    if self._ws is None:
                        continue  # the app is not connected yet: Twilio's media starts after `start`
                    chunks[track] = chunk = chunks.get(track, 0) + 1
                    timestamp_ms = int((loop.time() - self._started_at) * 1000)
                    self._send(
                        protocol.media(
                            self.sid,
                            sequence=self._next(),
                            track=track,
                            chunk=chunk,
                            timestamp_ms=timestamp_ms,
                            ulaw=slin_to_ulaw(payload),
                        )
                    )
                elif kind in (audiosocket.Kind.HANGUP, audiosocket.Kind.ERROR):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        self.finish(End.HANGUP)

    async def _write_app(self, ws: ClientConnection) -> None:
        try:
            while (message := await self._outbox.get()) is not None:
                await ws.send(message)
        except websockets.ConnectionClosed:
            self.finish(End.APP_CLOSED)

    async def _read_app(self, ws: ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in ws:
                self._on_app_message(message)
        self.finish(End.APP_CLOSED)

    def _on_app_message(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            return self._warn("binary", "a binary frame: messages are JSON text")
        if self.playout is None:
            return self._warn("unidirectional", "a message on a unidirectional stream, which takes none")
        try:
            parsed = protocol.parse(message)
        except protocol.ProtocolError as exc:
            return self._warn(exc.kind, str(exc))
        if isinstance(parsed, protocol.Media):
            dropped = self.playout.push(parsed.ulaw)
            if dropped:
                seconds = self.playout.max_bytes // 8000
                self._warn("overflow", f"audio beyond {seconds} s queued for playout was dropped")
        elif isinstance(parsed, protocol.Mark):
            if not self.playout.mark(parsed.name):
                self._warn("marks", f"marks beyond {MAX_MARKS} waiting to play were dropped")
        else:
            for name in self.playout.clear():
                self._echo_mark(name)
        return None

    # Helpers.

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

    def _send(self, message: str) -> None:
        try:
            self._outbox.put_nowait(message)
        except asyncio.QueueFull:
            if not self._is_dropping:
                log.warning("stream %s: the app reads slower than real time; dropping messages", self.sid)
                self._is_dropping = True

    def _warn(self, kind: str, message: str) -> None:
        """31924, once per kind of fault and stream: a flood of bad messages is one report."""
        if kind not in self._warned:
            self._warned.add(kind)
            log.info("stream %s: %s", self.sid, message)
            self._reports(self._reporter.app_warning, self.sid, ErrorCode.STREAM_PROTOCOL_ERROR, message)

    def _play_frame(self, ulaw: bytes) -> None:
        writer = self.legs[0].writer
        if not writer.is_closing():
            writer.write(audiosocket.frame(audiosocket.Kind.AUDIO, ulaw_to_slin(ulaw)))

    def _echo_mark(self, name: str) -> None:
        self._send(protocol.mark(self.sid, sequence=self._next(), name=name))

    async def _say_stop(self) -> None:
        """`stop` after what is queued for the app, then the socket closes (an app that does not read
        gets what fits in the time)."""
        if self._ws is None or self._writer is None:
            return
        while self._outbox.qsize() > OUTBOX_MESSAGES - 2:
            self._outbox.get_nowait()
        self._outbox.put_nowait(protocol.stop(self.leg, sequence=self._next()))
        self._outbox.put_nowait(None)
        with contextlib.suppress(TimeoutError, websockets.ConnectionClosed):
            await within(asyncio.shield(self._writer), CLOSE_SECONDS)
