"""A stream's media on the worker that runs its call: a bridge picked and told about the legs, then
Asterisk's channels made through the call's control (`<Connect>` holds the flow while they last; a
fork runs beside it). Nothing here waits on the database between frames: it is touched only as a
stream starts and ends.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from core import webhooks
from core.error_codes import ErrorCode
from streams import bridges, contract, services
from streams.models import Stream
from voice.control import CallHungUp, MediaLeg, MediaUnreachable
from voice.interpreter import Interpreter

log = logging.getLogger(__name__)
NO_BRIDGE = "No media bridge is running (and reachable from the media server) to carry the stream"
TRACKS: dict[str, list[contract.Track]] = {
    Stream.Track.INBOUND: ["inbound"],
    Stream.Track.OUTBOUND: ["outbound"],
    Stream.Track.BOTH: ["inbound", "outbound"],
}
SPY = {"inbound": "in", "outbound": "out"}


async def _media_for(flow: Interpreter, stream: Stream, skip: set[str]) -> tuple[str, list[MediaLeg]] | None:
    """The bridge that takes the stream (none of `skip`) and its legs, each leg's key written for the
    bridge; None when no bridge is left (the stream failed and stopped: the call goes on without it)."""
    picked = await asyncio.to_thread(bridges.bridge_pick, skip)
    if picked is None:
        await _failed(flow, stream, ErrorCode.INTERNAL_FAILURE, NO_BRIDGE)
        return None
    bridge_id, info = picked
    tracks: list[contract.Track] = ["inbound"] if stream.is_bidirectional else TRACKS[stream.track]
    legs = [MediaLeg(str(uuid.uuid4()), f"{info['host']}:{info['port']}", SPY[track]) for track in tracks]
    await asyncio.to_thread(
        bridges.legs_write,
        [
            (
                leg.connection_id,
                contract.StreamLeg(
                    stream_sid=stream.sid,
                    account_sid=flow.setup.account_sid,
                    call_sid=flow.setup.call_sid,
                    url=stream.url,
                    name=stream.name,
                    track=track,
                    tracks=tracks,
                    legs=len(legs),
                    bidirectional=stream.is_bidirectional,
                    parameters=stream.parameters,
                    signature=webhooks.signature(stream.url, {}, flow.setup.auth_token),
                ),
            )
            for leg, track in zip(legs, tracks, strict=True)
        ],
    )
    await flow.store.write(
        services.stream_media_set,
        account_id=flow.setup.account_id,
        stream_id=stream.id,
        bridge_id=bridge_id,
        connection_ids=[leg.connection_id for leg in legs],
    )
    return bridge_id, legs


async def _failed(flow: Interpreter, stream: Stream, code: int, message: str) -> None:
    ids = {"account_id": flow.setup.account_id, "stream_id": stream.id}
    await flow.store.write(services.stream_fail, **ids, code=code, message=message)
    await flow.store.write(services.stream_stop, **ids, ending=Stream.Ending.FAILED)


async def _stopped(flow: Interpreter, stream: Stream, ending: str) -> None:
    await flow.store.write(
        services.stream_stop, account_id=flow.setup.account_id, stream_id=stream.id, ending=ending
    )


MakeMedia = Callable[[str, list[MediaLeg]], Awaitable[None]]


async def _on_a_reachable_bridge(flow: Interpreter, stream: Stream, make: MakeMedia) -> None:
    """`make` the stream's media with a bridge's legs, trying the next live bridge while Asterisk
    cannot reach the one picked (it died since its last sign of life); when none is left, the
    stream fails (12400)."""
    unreachable: set[str] = set()
    while media := await _media_for(flow, stream, unreachable):
        try:
            await make(*media)
            return
        except MediaUnreachable as exc:
            log.warning(
                "stream %s: bridge %s cannot be reached (%s); trying another", stream.sid, media[0], exc
            )
            unreachable.add(media[0])


async def stream_connect(flow: Interpreter, stream: Stream) -> None:
    """`<Connect><Stream>`: the caller and the app both ways until the stream's channel goes (the app
    closed, the stream was stopped, its bridge died); the caller's digits go to the bridge. Raises
    CallHungUp when the call ends, the stream stopped."""

    async def connect(bridge_id: str, legs: list[MediaLeg]) -> None:
        async def digit(pressed: str) -> None:
            dtmf = contract.Dtmf(op="dtmf", stream_sid=stream.sid, digit=pressed)
            await asyncio.to_thread(bridges.bridge_command, bridge_id, dtmf)

        await flow.control.media_connect(legs[0], on_digit=digit)

    ending = Stream.Ending.MEDIA_ENDED
    try:
        await _on_a_reachable_bridge(flow, stream, connect)
    except CallHungUp:
        ending = Stream.Ending.CALL_ENDED
        raise
    except Exception as exc:
        log.exception("stream %s could not be connected", stream.sid)
        await _failed(
            flow, stream, ErrorCode.INTERNAL_FAILURE, f"The stream's media could not be set up: {exc}"
        )
    finally:
        await _stopped(flow, stream, ending)


async def stream_fork(flow: Interpreter, stream: Stream) -> None:
    """`<Start><Stream>` or the Streams API: the call's audio copied to the app, the flow going on at
    once; the stream stops when its media goes."""

    async def ended() -> None:
        await _stopped(flow, stream, Stream.Ending.MEDIA_ENDED)

    async def fork(bridge_id: str, legs: list[MediaLeg]) -> None:
        await flow.control.media_fork(legs, on_end=ended)

    try:
        await _on_a_reachable_bridge(flow, stream, fork)
    except CallHungUp:
        await _stopped(flow, stream, Stream.Ending.CALL_ENDED)
        raise
    except Exception as exc:
        log.exception("stream %s could not be forked", stream.sid)
        await _failed(
            flow, stream, ErrorCode.INTERNAL_FAILURE, f"The stream's media could not be set up: {exc}"
        )


async def media_hangup(
    flow: Interpreter, *, stream_sid: str, bridge_id: str, connection_ids: list[str]
) -> None:
    """A stopped stream's media: the bridge told first (it sends the app `stop`), then its channels
    hung up, which ends a `<Connect>` or a fork."""
    if bridge_id:
        await asyncio.to_thread(
            bridges.bridge_command, bridge_id, contract.Stop(op="stop", stream_sid=stream_sid)
        )
    await flow.control.media_hangup(connection_ids)
