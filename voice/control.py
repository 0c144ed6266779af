"""What the TwiML interpreter needs from a live call, independent of the media engine.

`voice/ari_control.py` implements it over ARI; tests can implement it in memory.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class CallHungUp(Exception):
    """The caller (or the platform) ended the call; the flow stops where it is."""


@dataclass(frozen=True)
class DigitsOutcome:
    digits: str
    finished_on_key: str  # the key that ended input, '' on timeout or num_digits


@dataclass(frozen=True)
class RecordOutcome:
    name: str
    duration_seconds: int
    audio: bytes
    ended_by: str  # a digit, 'hangup', 'timeout' (silence) or 'max-length'


@dataclass(frozen=True)
class DialOutcome:
    status: str  # completed, busy, no-answer, failed, canceled (Twilio's DialCallStatus)
    duration_seconds: int
    leg_channel_id: str
    caller_hung_up: bool
    recording: bytes = b""


class CallControl(Protocol):
    is_answered: bool

    async def answer(self) -> None: ...

    async def hangup(self) -> None: ...

    async def reject(self, reason: str) -> None: ...

    async def play(self, media: Sequence[str], *, interruptible: bool) -> str:
        """Play media in order; return the digit that interrupted it, or ''."""
        ...

    async def collect_digits(
        self, *, first: str, num_digits: int | None, timeout: float, finish_on_key: str
    ) -> DigitsOutcome: ...

    async def pause(self, seconds: float) -> None: ...

    async def record(
        self, *, name: str, max_length: int, silence_timeout: int, finish_on_key: str, play_beep: bool
    ) -> RecordOutcome: ...

    async def send_digits(self, digits: str) -> None: ...

    async def dial(
        self,
        *,
        endpoint: str,
        leg_id: str,
        caller_id: str,
        timeout: int,
        time_limit: int,
        record_name: str | None,
        on_answer: Callable[[], Awaitable[bool]] | None = None,
    ) -> DialOutcome:
        """Ring `endpoint` and bridge it when it answers; `on_answer` then decides whether the bridge
        goes ahead (False hangs the leg up: `canceled`)."""
        ...

    async def bridge_open(self, bridge_id: str) -> None:
        """A bridge holding this call, for another call to join."""
        ...

    async def bridge_join(self, bridge_id: str) -> bool:
        """Join a bridge another call opened; False when it is gone."""
        ...

    async def bridged(self, bridge_id: str) -> None:
        """Until the bridge ends for this call; CallHungUp when this call ends."""
        ...

    async def bridge_close(self, bridge_id: str) -> None:
        """Destroy the bridge (whoever ends first does), which ends it for the other call too."""
        ...
