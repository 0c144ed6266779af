"""Twilio's side of a bidirectional Media Stream, played against a customer app without any call.

It speaks the protocol as media-streams.md §1 describes Twilio: `connected` and `start` as two text
frames, then the caller's audio as 20 ms `media` frames paced in real time (`sequenceNumber`, `chunk`
and `timestamp` as strings, the timestamp in ms since the start), `dtmf` at the script's times, and
`stop` at the end. What the app sends back goes into a playout queue drained at 20 ms per 160 bytes:
a `mark` is echoed when the audio queued before it has played, `clear` empties the queue and echoes
every pending mark at once. Like any real-time player it waits for a little audio (`PREBUFFER_S`)
before it starts, and again after running dry, so an app's uneven sending does not chop the sound.
The driver keeps what "played" and when, like the caller's ear.

It checks the apps (tests/streams/apps/) before there is a platform to call them, and is the
yardstick the real bridge must match.
"""

import asyncio
import base64
import json
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FRAME_BYTES = 160  # 20 ms of μ-law at 8 kHz
FRAME_S = 0.02
SILENCE = b"\xff" * FRAME_BYTES
PREBUFFER_S = 0.06


@dataclass
class Drive:
    """What happened, times in s since `start` was sent."""

    received: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # the app's messages
    played: list[tuple[float, bytes]] = field(default_factory=list)  # 20 ms frames the caller heard
    marks_echoed: list[tuple[float, str | None]] = field(default_factory=list)
    dtmf_sent: list[tuple[float, str]] = field(default_factory=list)
    app_closed_at: float | None = None

    def events(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, message) for at, message in self.received if message.get("event") == name]


@dataclass
class _Playout:
    queue: list[bytes | dict[str, Any]] = field(default_factory=list)  # audio bytes, or a mark
    pending: bytearray = field(default_factory=bytearray)
    playing: bool = False
    waiting_since: float | None = None  # when audio arrived at an idle player

    def buffered_s(self) -> float:
        queued = sum(len(item) for item in self.queue if isinstance(item, bytes))
        return (len(self.pending) + queued) / (FRAME_BYTES / FRAME_S)

    def ready(self, now: float) -> bool:
        """Playing, or enough audio waited long enough: start (again)."""
        if self.playing or not self.queue:
            return self.playing
        if self.waiting_since is None:
            self.waiting_since = now
        self.playing = self.buffered_s() >= PREBUFFER_S or now - self.waiting_since >= PREBUFFER_S
        return self.playing


async def drive(
    url: str,
    *,
    caller_audio: bytes,
    digits: dict[float, str] | None = None,
    parameters: dict[str, str] | None = None,
    hold_s: float = 0.0,
    account_sid: str = "AC" + "0" * 32,
    call_sid: str = "CA" + "1" * 32,
    stream_sid: str = "MZ" + "2" * 32,
    headers: dict[str, str] | None = None,
) -> Drive:
    """Stream `caller_audio` (μ-law, sent in 20 ms frames, then silence for `hold_s`), press each
    digit at its time (s), then send `stop` and close; or stop early when the app closes. `headers` go
    with the upgrade (X-Twilio-Signature)."""
    result = Drive()
    audio = caller_audio + SILENCE * int(hold_s / FRAME_S)
    async with connect(url, additional_headers=headers) as websocket:
        await websocket.send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
        start = {
            "streamSid": stream_sid,
            "accountSid": account_sid,
            "callSid": call_sid,
            "tracks": ["inbound"],
            "customParameters": parameters or {},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }
        await websocket.send(
            json.dumps({"event": "start", "sequenceNumber": "1", "start": start, "streamSid": stream_sid})
        )
        began = time.monotonic()
        playout = _Playout()
        reader = asyncio.create_task(_read(websocket, began, playout, result))
        sequence = 1
        pending_digits = sorted((digits or {}).items())
        try:
            for chunk in range(len(audio) // FRAME_BYTES):
                await asyncio.sleep(max(0.0, began + chunk * FRAME_S - time.monotonic()))
                if reader.done():
                    break
                now = time.monotonic() - began
                while pending_digits and pending_digits[0][0] <= now:
                    _, digit = pending_digits.pop(0)
                    sequence += 1
                    await websocket.send(
                        json.dumps(
                            {
                                "event": "dtmf",
                                "streamSid": stream_sid,
                                "sequenceNumber": str(sequence),
                                "dtmf": {"track": "inbound_track", "digit": digit},
                            }
                        )
                    )
                    result.dtmf_sent.append((now, digit))
                sequence += 1
                payload = audio[chunk * FRAME_BYTES : (chunk + 1) * FRAME_BYTES]
                media = {
                    "track": "inbound",
                    "chunk": str(chunk + 1),
                    "timestamp": str(chunk * 20),
                    "payload": base64.b64encode(payload).decode(),
                }
                await websocket.send(
                    json.dumps(
                        {
                            "event": "media",
                            "sequenceNumber": str(sequence),
                            "streamSid": stream_sid,
                            "media": media,
                        }
                    )
                )
                await _play_one(websocket, stream_sid, playout, result, now)
            if not reader.done():
                stop = {"accountSid": account_sid, "callSid": call_sid}
                await websocket.send(
                    json.dumps(
                        {
                            "event": "stop",
                            "sequenceNumber": str(sequence + 1),
                            "streamSid": stream_sid,
                            "stop": stop,
                        }
                    )
                )
        except ConnectionClosed:
            pass
        reader.cancel()
    return result


async def _read(websocket: ClientConnection, began: float, playout: _Playout, result: Drive) -> None:
    try:
        async for raw in websocket:
            message = json.loads(raw)
            now = time.monotonic() - began
            result.received.append((now, message))
            event = message.get("event")
            if event == "media":
                playout.queue.append(base64.b64decode(message["media"]["payload"]))
            elif event == "mark":
                playout.queue.append(message)
            elif event == "clear":
                marks = [item for item in playout.queue if isinstance(item, dict)]
                playout.queue.clear()
                playout.pending.clear()
                playout.playing, playout.waiting_since = False, None
                for mark in marks:
                    await _echo_mark(websocket, mark, result, now)
    except ConnectionClosed:
        pass
    result.app_closed_at = time.monotonic() - began


async def _play_one(
    websocket: ClientConnection, stream_sid: str, playout: _Playout, result: Drive, now: float
) -> None:
    """One 20 ms tick of playout: marks reached first, then the next 160 bytes."""
    if not playout.ready(now):
        return
    while len(playout.pending) < FRAME_BYTES and playout.queue:
        item = playout.queue[0]
        if isinstance(item, dict):
            if playout.pending:
                break  # the audio before this mark has not all played yet
            playout.queue.pop(0)
            await _echo_mark(websocket, item, result, now)
        else:
            playout.pending += playout.queue.pop(0)
    if playout.pending:
        frame = bytes(playout.pending[:FRAME_BYTES])
        del playout.pending[:FRAME_BYTES]
        result.played.append((now, frame))
    if not playout.pending and not playout.queue:
        playout.playing, playout.waiting_since = False, None  # ran dry


async def _echo_mark(websocket: ClientConnection, mark: dict[str, Any], result: Drive, now: float) -> None:
    name = (mark.get("mark") or {}).get("name")
    result.marks_echoed.append((now, name))
    await websocket.send(
        json.dumps({"event": "mark", "streamSid": mark.get("streamSid"), "mark": {"name": name or ""}})
    )
