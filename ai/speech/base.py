"""What the speech relay asks of a speech engine, whichever provider is behind it.

Audio is always 16-bit signed little-endian mono PCM at 8 kHz (slin), what the media bridge carries
to and from Asterisk, so no engine's own rate leaks into the relay. The calls are async because the
production providers are network streams; an offline engine runs its CPU work off the event loop.
"""

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2  # bytes


class SpeechError(Exception):
    """The engine failed (a provider down, refused, or unintelligible output); the relay reports it.
    `transient`: the same request may work later (a provider unreachable, overloaded or dropping the
    stream), as against refused for good (a bad key, an unknown provider, a language it lacks)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class Activity(Enum):
    STARTED = "started"
    ENDED = "ended"


@dataclass(frozen=True)
class ActivityEvent:
    kind: Activity
    at_ms: int  # audio time since the detector's first frame


class VoiceActivity(Protocol):
    """One per call: turns the caller's audio into speech-started and speech-ended events."""

    def feed(self, pcm: bytes) -> list[ActivityEvent]: ...


class Recognizer(Protocol):
    """One caller turn (or a whole call) being transcribed."""

    async def feed(self, pcm: bytes) -> None: ...

    async def finish(self) -> str:
        """The final text of what was fed since the last `finish` (empty when nothing was heard)."""
        ...

    async def close(self) -> None: ...


class SpeechToText(Protocol):
    name: str

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> Recognizer:
        """`hints` are words or phrases the caller is likely to say (ConversationRelay's `hints`)."""
        ...


class TextToSpeech(Protocol):
    name: str

    def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        """slin 8 kHz chunks as soon as each is made, so playback starts before the sentence is done."""
        ...
