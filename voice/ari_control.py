"""CallControl over ARI for one channel: each method issues REST calls and waits on the call's events."""

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from core.timeouts import within
from mediaserver.ari.client import AriClient, AriError
from mediaserver.ari.router import EventRouter
from voice.control import (
    CallHungUp,
    DialOutcome,
    DigitsOutcome,
    MediaLeg,
    MediaUnreachable,
    NotDialling,
    RecordOutcome,
)

Event = dict[str, Any]
log = logging.getLogger(__name__)
CAUSE_STATUS = {17: "busy", 18: "no-answer", 19: "no-answer", 21: "busy"}
END_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed"})
START_SECONDS = 5.0
PLAYBACK_BATCH = 50  # media URIs in one ARI playback (one `media` list, kept well inside a request)
DIAL_STATUS = {
    "BUSY": "busy",
    "NOANSWER": "no-answer",
    "CANCEL": "canceled",
    "CHANUNAVAIL": "failed",
    "CONGESTION": "failed",
}


@dataclasses.dataclass
class _Dialling:
    """A dial in progress: the far end it follows (a consultation's leg once completed) and their bridge."""

    leg_id: str
    bridge_id: str
    consult_id: str = ""  # a consultation's leg, in the bridge with the far end once answered
    consult_events: "asyncio.Queue[Event] | None" = None  # its events, apart from the dial's
    consult_watch: "asyncio.Task[None] | None" = None  # ends the consultation when its leg goes


class AriCallControl:
    def __init__(self, client: AriClient, router: EventRouter, channel_id: str) -> None:
        self.client = client
        self.router = router
        self.channel_id = channel_id
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.is_answered = False
        self.is_gone = False
        self.has_made_channel = False  # `originate` created it (Asterisk made every other call's)
        self.on_answer: Callable[[], Awaitable[None]] | None = None
        self._claimed = [channel_id]
        self._forks: set[asyncio.Task[None]] = set()  # media forks' followers (`media_fork`)
        self._dialling: _Dialling | None = None
        self._music: asyncio.Task[None] | None = None  # hold music's looper (`hold`)
        router.claim(channel_id, self.events)

    def claim(self, resource_id: str) -> None:
        self.router.claim(resource_id, self.events)
        self._claimed.append(resource_id)

    def release_all(self) -> None:
        self.router.release(*self._claimed)

    def _is_end(self, event: Event) -> bool:
        return event.get("type") in END_EVENTS and event.get("channel", {}).get("id") == self.channel_id

    async def next_event(self, timeout: float | None) -> Event | None:
        """The next event for this call, None on timeout; raises CallHungUp when the channel ends."""
        if self.is_gone:
            raise CallHungUp()
        try:
            event = await within(self.events.get(), timeout)
        except TimeoutError:
            return None
        if self._is_end(event):
            self.is_gone = True
            raise CallHungUp()
        return event

    async def answer(self) -> None:
        if not self.is_answered:
            await self._rest(self.client.answer(self.channel_id))
            self.is_answered = True
            if self.on_answer is not None:
                await self.on_answer()

    async def hangup(self) -> None:
        await self.client.hangup(self.channel_id)

    async def reject(self, reason: str) -> None:
        await self.client.hangup(self.channel_id, reason="busy" if reason == "busy" else "normal")

    async def _rest(self, call: Any) -> Any:
        try:
            return await call
        except AriError as exc:
            # 404: the channel is gone; 409 "Channel not in Stasis application": it hung up and left
            # the app between our last event and this command (hold music starting as a caller hangs up).
            if exc.status in (404, 409):
                self.is_gone = True
                raise CallHungUp() from exc
            raise

    async def play(self, media: Sequence[str], *, interruptible: bool) -> str:
        """Up to PLAYBACK_BATCH media are one ARI playback, which Asterisk plays through by itself: a
        prompt looped a thousand times (hold music) costs twenty commands, not a thousand."""
        for start in range(0, len(media), PLAYBACK_BATCH):
            digit = await self._play_batch(media[start : start + PLAYBACK_BATCH], interruptible)
            if digit:
                return digit
        return ""

    async def _play_batch(self, media: Sequence[str], interruptible: bool) -> str:
        playback_id = f"pb-{uuid.uuid4().hex}"
        self.claim(playback_id)
        try:
            await self._rest(self.client.play(self.channel_id, ",".join(media), playback_id))
            while True:
                event = await self.next_event(None)
                kind = event["type"] if event else ""
                if kind == "ChannelDtmfReceived" and interruptible:
                    await self.client.stop_playback(playback_id)
                    return str(event["digit"])  # type: ignore[index]
                if kind == "PlaybackFinished" and event["playback"]["id"] == playback_id:  # type: ignore[index]
                    return ""
        except asyncio.CancelledError:
            # The flow was replaced (a redirect) or the verb moved on (a queued caller dequeued): the
            # caller must not hear the rest of it.
            await self.client.stop_playback(playback_id)
            raise
        finally:
            self.router.release(playback_id)

    async def collect_digits(
        self, *, first: str, num_digits: int | None, timeout: float, finish_on_key: str
    ) -> DigitsOutcome:
        digits = ""
        pending = [first] if first else []
        while True:
            if pending:
                digit = pending.pop()
            else:
                event = await self.next_event(timeout)
                if event is None:
                    return DigitsOutcome(digits, "")
                if event["type"] != "ChannelDtmfReceived":
                    continue
                digit = str(event["digit"])
            if finish_on_key and digit in finish_on_key:
                return DigitsOutcome(digits, digit)
            digits += digit
            if num_digits is not None and len(digits) >= num_digits:
                return DigitsOutcome(digits, "")

    async def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            await self.next_event(left)

    async def record(
        self, *, name: str, max_length: int, silence_timeout: int, finish_on_key: str, play_beep: bool
    ) -> RecordOutcome:
        self.claim(name)
        await self._rest(
            self.client.record(
                self.channel_id,
                name=name,
                max_duration=max_length,
                max_silence=silence_timeout,
                beep=play_beep,
            )
        )
        ended_by, last_digit = "max-length", ""
        try:
            while True:
                event = await self.next_event(max_length + 10)
                if event is None:
                    await self.client.stop_recording(name)
                    continue
                if event["type"] == "ChannelDtmfReceived" and event["digit"] in finish_on_key:
                    # ARI's terminateOn knows only none/any/*/#, so Twilio's key set is ours to apply.
                    last_digit = str(event["digit"])
                    await self.client.stop_recording(name)
                if (
                    event["type"] in ("RecordingFinished", "RecordingFailed")
                    and event["recording"]["name"] == name
                ):
                    duration = int(event["recording"].get("duration") or 0)
                    silence = int(event["recording"].get("silence_duration") or 0)
                    ended_by = last_digit or (
                        "timeout" if silence else "max-length" if duration >= max_length else ""
                    )
                    break
        except CallHungUp:
            # Asterisk finishes the file when the channel goes; it is still worth keeping.
            ended_by = "hangup"
        audio = await self._fetch_recording(name)
        duration = _wav_seconds(audio)
        return RecordOutcome(
            name=name, duration_seconds=duration, audio=audio, ended_by=ended_by or "timeout"
        )

    async def _fetch_recording(self, name: str) -> bytes:
        failure: Exception | None = None
        for _ in range(20):  # after a hangup the file can take a moment to be closed
            try:
                audio = await self.client.stored_recording(name)
                await self.client.delete_stored_recording(name)
                return audio
            except AriError as exc:
                failure = exc
                await asyncio.sleep(0.1)
        log.warning("recording %s could not be fetched: %s", name, failure)
        return b""

    async def originate(self, *, endpoint: str, caller_id: str, timeout: int) -> None:
        """Create this call's own channel (an outbound call) and dial it for `timeout` seconds; its
        progress then arrives as Dial events. Raises CallHungUp if the channel ends before it is
        dialled, AriError if Asterisk refuses (`has_made_channel` says whether it had made the channel)."""
        await self.client.create_channel(
            endpoint=endpoint, channel_id=self.channel_id, app_args="outbound", caller_id=caller_id
        )
        self.has_made_channel = True
        await self._in_stasis(self.channel_id)
        await self._rest(self.client.dial(self.channel_id, timeout=timeout))

    async def send_digits(self, digits: str) -> None:
        await self._rest(self.client.send_dtmf(self.channel_id, digits.replace("w", ",")))

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
        bridge_id = f"br-{leg_id}"
        self.claim(leg_id)
        self.claim(bridge_id)
        await self._create_leg(endpoint=endpoint, leg_id=leg_id, caller_id=caller_id, sip_headers=sip_headers)
        await self.client.create_bridge(bridge_id)
        dialling = self._dialling = _Dialling(leg_id, bridge_id)
        try:
            await self._in_stasis(leg_id)
            await self.client.add_to_bridge(bridge_id, [self.channel_id, leg_id])
            await self.client.dial(leg_id, timeout=timeout, caller=self.channel_id)
            outcome = await self._follow_dial(dialling, timeout, time_limit, record_name, on_answer)
        finally:
            self._dialling = None
            await self._consult_drop_watch(dialling)
            await self._music_stop()
            legs = [dialling.leg_id, *([dialling.consult_id] if dialling.consult_id else [])]
            await asyncio.gather(*(self.client.hangup(leg) for leg in legs))
            await self.client.destroy_bridge(bridge_id)
        if record_name and outcome.duration_seconds:
            return dataclasses.replace(outcome, recording=await self._fetch_recording(record_name))
        return outcome

    async def _create_leg(
        self, *, endpoint: str, leg_id: str, caller_id: str, sip_headers: Mapping[str, str] | None = None
    ) -> None:
        """A dialled leg's channel, this call its originator, entering Stasis as a `dial-leg`;
        `sip_headers` go on its INVITE."""
        await self.client.create_channel(
            endpoint=endpoint,
            channel_id=leg_id,
            app_args="dial-leg",
            caller_id=caller_id,
            originator=self.channel_id,
            variables={f"PJSIP_HEADER(add,{name})": value for name, value in (sip_headers or {}).items()},
        )

    def _dial_now(self) -> _Dialling:
        if self._dialling is None:
            raise NotDialling("the call is not connected to a dialled leg")
        return self._dialling

    async def hold(self, media: str) -> None:
        dialling = self._dial_now()
        if self._music is not None:
            return
        await self._rest(self.client.remove_from_bridge(dialling.bridge_id, [self.channel_id]))
        self._music = asyncio.create_task(self._music_loop(media))

    async def _music_loop(self, media: str) -> None:
        """PLAYBACK_BATCH loops per playback, followed on a queue of its own (the dial's follower
        never sees them), played again as each ends."""
        events: asyncio.Queue[Event] = asyncio.Queue()
        while True:
            playback_id = f"hold-{uuid.uuid4().hex}"
            self.router.claim(playback_id, events)
            try:
                await self.client.play(self.channel_id, ",".join([media] * PLAYBACK_BATCH), playback_id)
                while (await events.get()).get("type") != "PlaybackFinished":
                    pass
            except asyncio.CancelledError:
                await self.client.stop_playback(playback_id)
                raise
            except AriError:  # the call is going: nothing left to play to
                log.info("hold music on %s ended: the channel is gone", self.channel_id)
                return
            finally:
                self.router.release(playback_id)

    async def _music_stop(self) -> None:
        music, self._music = self._music, None
        if music is not None:
            music.cancel()
            await asyncio.gather(music, return_exceptions=True)

    async def unhold(self) -> None:
        dialling = self._dial_now()
        if self._music is None:  # not held: already in the bridge
            return
        await self._music_stop()
        await self._rest(self.client.add_to_bridge(dialling.bridge_id, [self.channel_id]))

    async def consult(self, *, endpoint: str, leg_id: str, caller_id: str, timeout: int) -> str:
        """The consultation's events go to a queue of its own: the dial goes on following its far
        end. Once answered, a watcher ends the consultation when its leg goes (the target hung up)."""
        dialling = self._dial_now()
        if dialling.consult_id:
            raise NotDialling("a consultation is already on")
        events: asyncio.Queue[Event] = asyncio.Queue()
        self.router.claim(leg_id, events)
        dialling.consult_id, dialling.consult_events = leg_id, events
        status = "failed"
        try:
            await self._create_leg(endpoint=endpoint, leg_id=leg_id, caller_id=caller_id)
            await _entered(events, {leg_id})
            await self.client.dial(leg_id, timeout=timeout, caller=self.channel_id)
            status = await _rung(events, leg_id, timeout + 5)
            if status == "completed":
                await self.client.add_to_bridge(dialling.bridge_id, [leg_id])
                dialling.consult_watch = asyncio.create_task(self._consult_watch(dialling, leg_id))
        except AriError:
            log.exception("consultation leg %s failed", leg_id)
            status = "failed"
        if status != "completed":
            await self.consult_end()
        return status

    async def _consult_watch(self, dialling: _Dialling, leg_id: str) -> None:
        events = dialling.consult_events
        assert events is not None
        while True:
            event = await events.get()
            if event.get("type") in END_EVENTS and event.get("channel", {}).get("id") == leg_id:
                break
        if dialling.consult_id == leg_id:
            dialling.consult_id, dialling.consult_events, dialling.consult_watch = "", None, None
            self.router.release(leg_id)

    async def _consult_drop_watch(self, dialling: _Dialling) -> None:
        watch, dialling.consult_watch = dialling.consult_watch, None
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def consult_end(self) -> None:
        dialling = self._dialling
        if dialling is None or not dialling.consult_id:
            return
        await self._consult_drop_watch(dialling)
        leg_id, dialling.consult_id, dialling.consult_events = dialling.consult_id, "", None
        await self.client.hangup(leg_id)
        self.router.release(leg_id)

    async def consult_complete(self) -> None:
        """What the consultation's queue holds moves to the dial's, so a target that hung up just
        before ends the dial rather than leaving the caller in an empty bridge."""
        dialling = self._dial_now()
        await self._consult_drop_watch(dialling)
        events = dialling.consult_events
        if not dialling.consult_id or events is None:
            raise NotDialling("no consultation to complete")
        old, dialling.leg_id, dialling.consult_id = dialling.leg_id, dialling.consult_id, ""
        self.claim(dialling.leg_id)  # the dial follows it from now on
        dialling.consult_events = None
        while not events.empty():
            self.events.put_nowait(events.get_nowait())
        await self.client.hangup(old)
        await self._music_stop()
        await self._rest(self.client.add_to_bridge(dialling.bridge_id, [self.channel_id]))

    async def dial_drop(self) -> None:
        await self.client.hangup(self._dial_now().leg_id)

    async def bridge_open(self, bridge_id: str) -> None:
        """A mixing bridge holding this call, for another call to join (`bridge_join`)."""
        self.claim(bridge_id)
        await self.client.create_bridge(bridge_id)
        await self._rest(self.client.add_to_bridge(bridge_id, [self.channel_id]))

    async def bridge_join(self, bridge_id: str) -> bool:
        """Join a bridge another call opened; False when it is gone (that call ended)."""
        if not self.router.owns(bridge_id):  # the opener's claim, when it runs in this process too
            self.claim(bridge_id)
        try:
            await self.client.add_to_bridge(bridge_id, [self.channel_id])
        except AriError as exc:
            if exc.status == 404:
                return False
            if exc.status in (400, 422):  # this channel is gone
                self.is_gone = True
                raise CallHungUp() from exc
            raise
        return True

    async def bridged(self, bridge_id: str) -> None:
        """Until the bridge ends for this call: the other call left it, or whoever ended first
        destroyed it (`bridge_close`), which takes this call out of it. Raises CallHungUp when this
        call is hanging up (its hangup request comes before it leaves the bridge).

        With both calls in this process, the other's events go to its own task (the router routes by
        channel first): this call sees its own leaving, once the other side destroys the bridge."""
        while True:
            event = await self.next_event(None)
            kind = event["type"] if event else ""
            if kind == "ChannelHangupRequest" and event["channel"]["id"] == self.channel_id:  # type: ignore[index]
                raise CallHungUp()
            if kind in ("ChannelLeftBridge", "BridgeDestroyed") and event["bridge"]["id"] == bridge_id:  # type: ignore[index]
                return

    async def bridge_close(self, bridge_id: str) -> None:
        await self.client.destroy_bridge(bridge_id)

    async def media_connect(self, leg: MediaLeg, *, on_digit: Callable[[str], Awaitable[None]]) -> None:
        bridge_id = f"ms-{leg.connection_id}"
        self.claim(leg.connection_id)  # before it exists: its StasisStart is a leg of this call's
        self.claim(bridge_id)
        try:
            await self.client.create_bridge(bridge_id)
            await self._external_media(leg)
            await self._in_stasis(leg.connection_id)
            await self._rest(self.client.add_to_bridge(bridge_id, [self.channel_id, leg.connection_id]))
            while True:
                event = await self.next_event(None)
                kind = event["type"] if event else ""
                channel = event["channel"]["id"] if event and "channel" in event else ""
                if kind == "ChannelDtmfReceived" and channel == self.channel_id:
                    await on_digit(str(event["digit"]))  # type: ignore[index]
                elif kind in END_EVENTS and channel == leg.connection_id:
                    return
        finally:
            await self.client.hangup(leg.connection_id)
            await self.client.destroy_bridge(bridge_id)
            self.router.release(leg.connection_id, bridge_id)

    async def media_fork(self, legs: Sequence[MediaLeg], *, on_end: Callable[[], Awaitable[None]]) -> None:
        """Each leg is a snoop channel on this call and an ExternalMedia channel in a bridge of their
        own; their events go to the fork's own queue, followed by a task of its own, so the flow's
        verbs never see them."""
        events: asyncio.Queue[Event] = asyncio.Queue()
        channels = [c for leg in legs for c in (f"snoop-{leg.connection_id}", leg.connection_id)]
        bridges = [f"ms-{leg.connection_id}" for leg in legs]
        for resource_id in (*channels, *bridges):
            self.router.claim(resource_id, events)
        try:
            for leg, bridge_id in zip(legs, bridges, strict=True):
                snoop_id = f"snoop-{leg.connection_id}"
                await self.client.create_bridge(bridge_id)
                await self._rest(self.client.snoop(self.channel_id, snoop_id=snoop_id, spy=leg.spy))
                await self._external_media(leg)
                await _entered(events, {snoop_id, leg.connection_id})
                await self.client.add_to_bridge(bridge_id, [snoop_id, leg.connection_id])
        except BaseException:
            await self._fork_down(channels, bridges)
            raise
        follower = asyncio.create_task(self._follow_fork(events, channels, bridges, on_end))
        self._forks.add(follower)
        follower.add_done_callback(self._forks.discard)

    async def _external_media(self, leg: MediaLeg) -> None:
        """The leg's AudioSocket channel; Asterisk answers 500 when it cannot connect to the bridge."""
        try:
            await self.client.external_media(
                channel_id=leg.connection_id, external_host=leg.external_host, data=leg.connection_id
            )
        except AriError as exc:
            if exc.status == 500:
                raise MediaUnreachable(f"{leg.external_host}: {exc}") from exc
            raise

    async def _follow_fork(
        self,
        events: "asyncio.Queue[Event]",
        channels: list[str],
        bridges: list[str],
        on_end: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            while True:
                event = await events.get()
                if event.get("type") in END_EVENTS and event.get("channel", {}).get("id") in channels:
                    break
        finally:
            await self._fork_down(channels, bridges)
        await on_end()

    async def _fork_down(self, channels: list[str], bridges: list[str]) -> None:
        try:
            await asyncio.gather(*(self.client.hangup(c) for c in channels))
            await asyncio.gather(*(self.client.destroy_bridge(b) for b in bridges))
        finally:
            self.router.release(*channels, *bridges)

    async def media_hangup(self, connection_ids: Sequence[str]) -> None:
        await asyncio.gather(*(self.client.hangup(c) for c in connection_ids))

    async def _in_stasis(self, channel_id: str) -> None:
        """channels/create replies before the new channel enters Stasis; dial and bridges refuse it
        until then."""
        deadline = time.monotonic() + START_SECONDS
        while (remaining := deadline - time.monotonic()) > 0:
            event = await self.next_event(remaining)
            if event and event.get("type") == "StasisStart" and event["channel"]["id"] == channel_id:
                return
        raise AriError(504, f"channel {channel_id} did not enter Stasis within {START_SECONDS} s")

    async def _follow_dial(
        self,
        dialling: _Dialling,
        timeout: int,
        time_limit: int,
        record_name: str | None,
        on_answer: Callable[[], Awaitable[bool]] | None,
    ) -> DialOutcome:
        answered_at = None
        leg_cause = 0
        deadline = time.monotonic() + timeout + 5
        try:
            while True:
                leg_id = dialling.leg_id  # a completed consultation's leg replaces the first
                limit = (answered_at + time_limit) if answered_at else deadline
                event = await self.next_event(max(0.0, limit - time.monotonic()))
                if event is None:
                    status = "completed" if answered_at else "no-answer"
                    return DialOutcome(status, _since(answered_at), leg_id, caller_hung_up=False)
                kind = event["type"]
                leg_event = (event.get("peer") or event.get("channel") or {}).get("id") == leg_id
                if kind == "ChannelHangupRequest" and leg_event and event.get("cause"):
                    leg_cause = int(event["cause"])  # StasisEnd, which may follow, carries no cause
                elif kind == "Dial" and leg_event:
                    status = event.get("dialstatus", "")
                    if status == "ANSWER":
                        if on_answer is not None and not await on_answer():
                            return DialOutcome("canceled", 0, leg_id, caller_hung_up=False)
                        answered_at = time.monotonic()
                        if record_name:
                            self.claim(record_name)
                            await self.client.record_bridge(dialling.bridge_id, name=record_name)
                    elif status in DIAL_STATUS:
                        return DialOutcome(DIAL_STATUS[status], 0, leg_id, caller_hung_up=False)
                elif kind in END_EVENTS and leg_event:
                    if answered_at:
                        cause = leg_cause or int(event.get("cause") or 0)
                        return DialOutcome(
                            "completed", _since(answered_at), leg_id, caller_hung_up=False, hangup_cause=cause
                        )
                    # Unanswered: the Q.850 cause says why (a 486 from the far end arrives as 17).
                    status = CAUSE_STATUS.get(leg_cause or int(event.get("cause") or 0), "failed")
                    return DialOutcome(status, 0, leg_id, caller_hung_up=False)
        except CallHungUp:
            return DialOutcome(
                "completed" if answered_at else "canceled", _since(answered_at), leg_id, caller_hung_up=True
            )


async def _rung(events: "asyncio.Queue[Event]", leg_id: str, wait_s: float) -> str:
    """How a leg dialled on its own queue ended its ringing: completed (answered), busy, no-answer,
    failed."""
    cause = 0
    deadline = time.monotonic() + wait_s
    while True:
        try:
            event = await within(events.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            return "no-answer"
        kind = event.get("type")
        if kind == "ChannelHangupRequest" and event.get("cause"):
            cause = int(event["cause"])
        elif kind == "Dial" and (status := event.get("dialstatus", "")) == "ANSWER":
            return "completed"
        elif kind == "Dial" and status in DIAL_STATUS:
            return DIAL_STATUS[status]
        elif kind in END_EVENTS:
            return CAUSE_STATUS.get(cause or int(event.get("cause") or 0), "failed")


async def _entered(events: "asyncio.Queue[Event]", channel_ids: set[str]) -> None:
    """Until each of `channel_ids` has entered Stasis (they refuse bridges before); AriError after
    START_SECONDS."""
    waiting = set(channel_ids)
    deadline = time.monotonic() + START_SECONDS
    while waiting:
        try:
            event = await within(events.get(), max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise AriError(504, f"{sorted(waiting)} did not enter Stasis within {START_SECONDS} s") from None
        channel = event.get("channel", {}).get("id")
        if event.get("type") == "StasisStart":
            waiting.discard(channel)
        elif event.get("type") in END_EVENTS and channel in waiting:
            raise AriError(410, f"{channel} ended before it entered Stasis")


def _since(started: float | None) -> int:
    return round(time.monotonic() - started) if started else 0


def _wav_seconds(audio: bytes) -> int:
    """Duration of a PCM WAV from its header (Asterisk writes 8 kHz 16-bit mono)."""
    if len(audio) < 44 or audio[:4] != b"RIFF":
        return 0
    byte_rate = int.from_bytes(audio[28:32], "little") or 16000
    return round((len(audio) - 44) / byte_rate)
