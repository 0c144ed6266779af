"""Twilio's Media Streams messages (media-streams.md section 1): what the bridge sends to an app, and
what an app may send back, parsed into typed values.

Every message but `connected` carries a `sequenceNumber`; numbers (sequence, chunk, timestamp) are
strings on the wire, as Twilio sends them and as clients parse them.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from streams.contract import StreamLeg

MEDIA_FORMAT = {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1}
# A mark's name is kept until its audio plays and then echoed: bounded, as the marks waiting are.
MAX_MARK_NAME = 1024


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def connected() -> str:
    return _dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"})


def start(leg: StreamLeg, *, sequence: int) -> str:
    sid = leg["stream_sid"]
    return _dumps(
        {
            "event": "start",
            "sequenceNumber": str(sequence),
            "start": {
                "accountSid": leg["account_sid"],
                "streamSid": sid,
                "callSid": leg["call_sid"],
                "tracks": list(leg["tracks"]),
                "customParameters": dict(leg["parameters"]),
                "mediaFormat": MEDIA_FORMAT,
            },
            "streamSid": sid,
        }
    )


def media(stream_sid: str, *, sequence: int, track: str, chunk: int, timestamp_ms: int, ulaw: bytes) -> str:
    return _dumps(
        {
            "event": "media",
            "sequenceNumber": str(sequence),
            "media": {
                "track": track,
                "chunk": str(chunk),
                "timestamp": str(timestamp_ms),
                "payload": base64.b64encode(ulaw).decode("ascii"),
            },
            "streamSid": stream_sid,
        }
    )


def dtmf(stream_sid: str, *, sequence: int, digit: str) -> str:
    return _dumps(
        {
            "event": "dtmf",
            "streamSid": stream_sid,
            "sequenceNumber": str(sequence),
            "dtmf": {"track": "inbound_track", "digit": digit},
        }
    )


def mark(stream_sid: str, *, sequence: int, name: str) -> str:
    return _dumps(
        {"event": "mark", "sequenceNumber": str(sequence), "streamSid": stream_sid, "mark": {"name": name}}
    )


def stop(leg: StreamLeg, *, sequence: int) -> str:
    return _dumps(
        {
            "event": "stop",
            "sequenceNumber": str(sequence),
            "streamSid": leg["stream_sid"],
            "stop": {"accountSid": leg["account_sid"], "callSid": leg["call_sid"]},
        }
    )


# From the app (a bidirectional stream): media, mark and clear; anything else is a ProtocolError.


@dataclass(frozen=True)
class Media:
    ulaw: bytes


@dataclass(frozen=True)
class Mark:
    name: str  # "" for a mark sent without one (the OpenAI Realtime demo does)


@dataclass(frozen=True)
class Clear:
    pass


class ProtocolError(ValueError):
    """A message Twilio answers with 31924; `kind` groups alike ones so each is reported once."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def parse(text: str) -> Media | Mark | Clear:
    """One text frame from the app. `streamSid` is not checked: the socket says which stream it is."""
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("json", "a message that is not JSON") from None
    event = message.get("event") if isinstance(message, dict) else None
    if event == "media":
        body = message.get("media")
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, str):
            raise ProtocolError("media", "a media message without media.payload")
        try:
            return Media(base64.b64decode(payload, validate=True))
        except binascii.Error:
            raise ProtocolError("media", "a media payload that is not base64") from None
    if event == "mark":
        body = message.get("mark")
        name = body.get("name") if isinstance(body, dict) else None
        if isinstance(name, str) and len(name) > MAX_MARK_NAME:
            raise ProtocolError("mark", f"a mark name over {MAX_MARK_NAME} characters")
        return Mark(name if isinstance(name, str) else "")
    if event == "clear":
        return Clear()
    shown = str(event)[:40]
    raise ProtocolError(f"event:{shown}", f"an unknown event {shown!r}: send only media, mark and clear")
