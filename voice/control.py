"""What the TwiML interpreter needs from a live call, independent of the media engine.

`voice/ari_control.py` implements it over ARI; tests can implement it in memory.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


class CallHungUp(Exception):
    """The caller (or the platform) ended the call; the flow stops where it is."""


class NotDialling(Exception):
    """A command for the call's dial (hold, consult) came while it has none, or no consultation."""


class MediaUnreachable(Exception):
    """The media server could not connect a media leg to its bridge (gone, or not reachable from
    there): nothing of the leg is left behind, and another bridge may take it."""


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
    hangup_cause: int = 0  # the far end's Q.850 cause when it ended an answered leg (16: it hung up)


@dataclass(frozen=True)
class MediaLeg:
    """One AudioSocket connection from Asterisk to a media bridge (an ExternalMedia channel whose id is
    `connection_id`, a UUID, which Asterisk sends the bridge first). `spy` is what a fork copies:
    `in` (what the caller says) or `out` (what the caller hears)."""

    connection_id: str
    external_host: str  # host:port of the bridge's AudioSocket listener
    spy: str = "in"


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
        sip_headers: Mapping[str, str] | None = None,
    ) -> DialOutcome:
        """Ring `endpoint` and bridge it when it answers; `on_answer` then decides whether the bridge
        goes ahead (False hangs the leg up: `canceled`). `sip_headers` go on the leg's INVITE."""
        ...

    async def hold(self, media: str) -> None:
        """Take this call out of its dial's bridge (the far end hears nothing of it) and loop `media`
        to it until `unhold`. Raises NotDialling."""
        ...

    async def unhold(self) -> None:
        """Stop the music and put this call back in its dial's bridge (nothing when not held). Raises
        NotDialling."""
        ...

    async def consult(self, *, endpoint: str, leg_id: str, caller_id: str, timeout: int) -> str:
        """With this call held, ring `endpoint` and, once it answers, add it to the dial's bridge with
        the far end (a consultation this call does not hear); its DialCallStatus (completed once
        answered). Raises NotDialling."""
        ...

    async def consult_end(self) -> None:
        """Hang up the consultation's leg, if any."""
        ...

    async def consult_complete(self) -> None:
        """The consulted leg becomes the dial's far end: the old far end is hung up and this call,
        its music stopped, joins the consulted one. Raises NotDialling without a consultation."""
        ...

    async def dial_drop(self) -> None:
        """Hang up the dial's far end: the dial ends `completed`, and the flow goes on."""
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

    async def media_connect(self, leg: MediaLeg, *, on_digit: Callable[[str], Awaitable[None]]) -> None:
        """Bridge the call both ways to the leg's channel until that channel ends (returns), each of
        the caller's digits to `on_digit` meanwhile; CallHungUp when the call ends, MediaUnreachable
        when the leg's bridge cannot be reached. The leg's channel is gone once this ends, however it
        ends."""
        ...

    async def media_fork(self, legs: Sequence[MediaLeg], *, on_end: Callable[[], Awaitable[None]]) -> None:
        """Copy the call's audio to each leg (a snoop channel bridged to the leg's channel) and return
        once they exist, the flow going on; when any of its channels ends (`media_hangup`, the
        bridge's connection dropped, the call's end) the whole fork is taken down and `on_end` runs.
        If making it fails, what was made is taken down and the error raised (MediaUnreachable when
        a leg's bridge cannot be reached)."""
        ...

    async def media_hangup(self, connection_ids: Sequence[str]) -> None:
        """End legs made by `media_connect` or `media_fork` (ended ones are no error)."""
        ...
