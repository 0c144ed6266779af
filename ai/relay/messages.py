"""The two protocols the relay speaks: ConversationRelay's JSON with the tenant's app (Twilio's
https://www.twilio.com/docs/voice/conversationrelay/websocket-messages), and the app's side of Media
Streams with the media bridge (media, mark and clear out; media, dtmf, mark and stop in).

An app message is parsed into a typed value or refused with `Invalid(description)`, which the relay
sends back as ConversationRelay's `error` message; the session goes on.
"""

import base64
import json
from dataclasses import dataclass
from typing import Any

from ai.relay.contract import Interruptible


def _dumps(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


# To the app.


def setup(fields: dict[str, object]) -> str:
    return _dumps({"type": "setup", **fields})


def prompt(text: str, *, lang: str) -> str:
    return _dumps({"type": "prompt", "voicePrompt": text, "lang": lang, "last": True})


def dtmf(digit: str) -> str:
    return _dumps({"type": "dtmf", "digit": digit})


def interrupt(utterance: str, *, duration_ms: int) -> str:
    return _dumps(
        {"type": "interrupt", "utteranceUntilInterrupt": utterance, "durationUntilInterruptMs": duration_ms}
    )


def error(description: str) -> str:
    return _dumps({"type": "error", "description": description})


# From the app.


class Invalid(Exception):
    """A message the relay cannot act on; its text is the `error` message's description."""


@dataclass(frozen=True)
class Text:
    token: str
    last: bool
    lang: str | None
    interruptible: Interruptible | None
    preemptible: bool | None = None


@dataclass(frozen=True)
class Play:
    source: str
    loop: int
    interruptible: Interruptible | None
    preemptible: bool | None = None


@dataclass(frozen=True)
class SendDigits:
    digits: str


@dataclass(frozen=True)
class Language:
    tts_language: str | None
    transcription_language: str | None


@dataclass(frozen=True)
class End:
    handoff_data: str | None


AppMessage = Text | Play | SendDigits | Language | End
MAX_LOOP = 100  # (ours) a `play` repeated more is refused
# (ours) a `sendDigits` longer is refused: each digit is made as audio in the relay's memory, every
# tenant's sessions sharing it (a megabyte of digits would be about 100 GB)
MAX_DIGITS = 100
_DIGITS = frozenset("0123456789*#wW")


def _interruptible(value: object) -> Interruptible | None:
    """The per-message setting: Twilio's words, or true/false for any/none; absent is None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "any" if value else "none"
    if value in ("none", "dtmf", "speech", "any"):
        return value  # type: ignore[return-value]
    raise Invalid(f"interruptible must be none, dtmf, speech, any, true or false, not {value!r}")


def _flag(message: dict[str, Any], name: str) -> bool | None:
    value = message.get(name)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{message.get('type')}'s {name} must be true or false")
    return value


def _text(message: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = message.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{message.get('type')} needs {name} as a string")
    return value


def parse(raw: str | bytes) -> AppMessage:
    if isinstance(raw, bytes):
        raise Invalid("binary frames are not ConversationRelay messages; send JSON text")
    try:
        message = json.loads(raw)
    except ValueError:
        raise Invalid("the message is not valid JSON") from None
    if not isinstance(message, dict):
        raise Invalid("a message is a JSON object with a type")
    kind = message.get("type")
    if kind == "text":
        last = message.get("last", False)
        if not isinstance(last, bool):
            raise Invalid("text's last must be true or false")
        token = _text(message, "token")
        assert token is not None
        lang = _text(message, "lang", required=False)
        return Text(
            token, last, lang, _interruptible(message.get("interruptible")), _flag(message, "preemptible")
        )
    if kind == "play":
        loop = message.get("loop", 1)
        if not isinstance(loop, int) or isinstance(loop, bool) or not 0 < loop <= MAX_LOOP:
            raise Invalid(f"play's loop must be a whole number from 1 to {MAX_LOOP}")
        source = _text(message, "source")
        assert source is not None
        return Play(source, loop, _interruptible(message.get("interruptible")), _flag(message, "preemptible"))
    if kind == "sendDigits":
        digits = _text(message, "digits")
        if not digits or not set(digits) <= _DIGITS:
            raise Invalid("sendDigits' digits may hold 0-9, * and # (and w for a half-second pause)")
        if len(digits) > MAX_DIGITS:
            raise Invalid(f"sendDigits' digits are at most {MAX_DIGITS}")
        return SendDigits(digits)
    if kind == "language":
        tts = _text(message, "ttsLanguage", required=False)
        transcription = _text(message, "transcriptionLanguage", required=False)
        if tts is None and transcription is None:
            raise Invalid("language needs ttsLanguage or transcriptionLanguage")
        return Language(tts, transcription)
    if kind == "end":
        data = message.get("handoffData")
        return End(data if isinstance(data, str) or data is None else _dumps(data))
    raise Invalid(f"unknown message type {kind!r}")


# With the media bridge (the relay is the stream's app).


def media(stream_sid: str, ulaw: bytes) -> str:
    payload = base64.b64encode(ulaw).decode("ascii")
    return _dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def mark(stream_sid: str, name: str) -> str:
    return _dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear(stream_sid: str) -> str:
    return _dumps({"event": "clear", "streamSid": stream_sid})


def from_bridge(raw: str | bytes) -> dict[str, Any]:
    """The bridge's Media Streams message, flattened to what the session uses (media as μ-law bytes)."""
    message = json.loads(raw)
    event = message.get("event")
    if event == "media":
        return {"event": "media", "payload": base64.b64decode(message["media"]["payload"])}
    if event == "mark":
        return {"event": "mark", "name": message["mark"]["name"]}
    if event == "dtmf":
        return {"event": "dtmf", "digit": message["dtmf"]["digit"]}
    return {"event": event}
