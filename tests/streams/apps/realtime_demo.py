"""A customer app that behaves like the OpenAI Realtime Twilio demo (openai-realtime-twilio-demo,
websocket-server/src/sessionManager.ts), with the OpenAI model replaced by a small offline one.

What the demo does with Twilio's messages, kept here as it is there:

* `start`: keeps `start.streamSid`, sets the latest media timestamp to 0;
* `media`: keeps `media.timestamp` as the latest media timestamp and feeds the payload to the model;
  every other event (`stop` included) is ignored: the demo notices the end when the socket closes;
* each audio delta of the model's answer goes out as `media`, followed by a `mark` with no `mark`
  object at all; the first delta of an answer notes the latest media timestamp as its start;
* when the model hears the caller start speaking (barge-in), the truncation point is the latest media
  timestamp minus the answer's start (what the caller has heard of the answer, by Twilio's clock, in
  ms), and the app sends `clear`.

The model: an energy detector on the caller's audio. Once the caller has spoken and then been quiet
for `pause_ms`, it answers with `reply_ms` of a `reply_hz` tone, in `delta_ms` deltas sent at once
(the real model streams faster than real time too). Speech while an answer is out is a barge-in.
With `close_after_s`, the app closes the socket that long after a barge-in, as the demo does when its
model calls the `end_call` tool (closeAllConnections).
"""

import asyncio
import base64
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve

from tests.voice.audio import SAMPLE_RATE, is_silence, tone_ulaw, ulaw_decode


@dataclass
class DemoSession:
    stream_sid: str | None = None
    latest_media_timestamp: int = 0
    response_start_timestamp: int | None = None
    last_assistant_item: str | None = None
    events: list[str] = field(default_factory=list)  # every event received, in order
    marks: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (monotonic s, message)
    deltas_sent: list[float] = field(default_factory=list)  # monotonic s of each delta
    truncations: list[tuple[float, int]] = field(default_factory=list)  # (monotonic s, audio_end_ms)
    closed_at: float | None = None


class RealtimeDemoApp:
    """The app as a websocket server on loopback, in a thread of its own; `url` is its address."""

    def __init__(
        self,
        *,
        reply_ms: int = 2000,
        reply_hz: float = 600,
        delta_ms: int = 100,
        pause_ms: int = 300,
        close_after_s: float | None = None,
    ) -> None:
        self.close_after_s = close_after_s
        self.reply = tone_ulaw(reply_ms, reply_hz)
        self.delta_bytes = SAMPLE_RATE * delta_ms // 1000
        self.pause_ms = pause_ms
        self.sessions: list[DemoSession] = []
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="realtime-demo", daemon=True)
        self.url = ""

    def __enter__(self) -> "RealtimeDemoApp":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the realtime demo app did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        async with serve(self._session, "127.0.0.1", 0) as server:
            self._server = server
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}/media"
            self._ready.set()
            await server.wait_closed()

    async def _session(self, websocket: ServerConnection) -> None:
        session = DemoSession()
        self.sessions.append(session)
        speaking = False
        quiet_ms = 0
        heard_speech = False
        async for raw in websocket:
            message = json.loads(raw)
            event = message.get("event")
            session.events.append(str(event))
            if event == "start":
                session.stream_sid = message["start"]["streamSid"]
                session.latest_media_timestamp = 0
                session.last_assistant_item = None
                session.response_start_timestamp = None
            elif event == "mark":
                session.marks.append((time.monotonic(), message))
            elif event == "media":
                session.latest_media_timestamp = int(message["media"]["timestamp"])
                payload = base64.b64decode(message["media"]["payload"])
                loud = not is_silence(ulaw_decode(payload))
                if loud and not speaking:  # input_audio_buffer.speech_started
                    await self._truncate(websocket, session)
                speaking = loud
                heard_speech = heard_speech or loud
                quiet_ms = 0 if loud else quiet_ms + len(payload) * 1000 // SAMPLE_RATE
                if heard_speech and quiet_ms >= self.pause_ms and session.last_assistant_item is None:
                    heard_speech = False
                    await self._answer(websocket, session)
        session.closed_at = time.monotonic()

    async def _answer(self, websocket: ServerConnection, session: DemoSession) -> None:
        """response.audio.delta, once per delta."""
        for start in range(0, len(self.reply), self.delta_bytes):
            if session.response_start_timestamp is None:
                session.response_start_timestamp = session.latest_media_timestamp
            session.last_assistant_item = "item_answer"
            delta = base64.b64encode(self.reply[start : start + self.delta_bytes]).decode()
            await websocket.send(
                json.dumps({"event": "media", "streamSid": session.stream_sid, "media": {"payload": delta}})
            )
            await websocket.send(json.dumps({"event": "mark", "streamSid": session.stream_sid}))
            session.deltas_sent.append(time.monotonic())

    async def _truncate(self, websocket: ServerConnection, session: DemoSession) -> None:
        """handleTruncation: only while an answer is out."""
        if session.last_assistant_item is None or session.response_start_timestamp is None:
            return
        elapsed = session.latest_media_timestamp - session.response_start_timestamp
        session.truncations.append((time.monotonic(), max(elapsed, 0)))
        await websocket.send(json.dumps({"event": "clear", "streamSid": session.stream_sid}))
        session.last_assistant_item = None
        session.response_start_timestamp = None
        if self.close_after_s is not None:
            asyncio.get_running_loop().call_later(
                self.close_after_s, lambda: asyncio.ensure_future(websocket.close())
            )
