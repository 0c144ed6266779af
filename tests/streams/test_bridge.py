"""The media bridge on real sockets: a fake Asterisk connects over TCP as AudioSocket, the bridge opens a
real websocket to a local app, and the Reporter is a fake. Twilio's wire protocol, pacing and faults."""

import asyncio
import base64
import json
import socket
import ssl
import statistics
import subprocess
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from django.conf import settings
from websockets.asyncio.server import ServerConnection, serve

from streams.bridge import codec
from streams.bridge.playout import MAX_MARKS, MAX_SECONDS, Playout
from streams.bridge.stream import OUTBOX_MESSAGES
from streams.contract import Stop, commands_channel
from tests.streams.harness import (
    FRAME,
    FakeReporter,
    Heard,
    app,
    bridge,
    leg,
    media,
    payload,
    place,
    tone,
    tone_share,
)

SID = "MZ00000000000000000000000000000001"


def run(scenario: Coroutine[Any, Any, None], timeout: float = 30) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(timeout):
            await scenario

    asyncio.run(bounded())


def test_connected_then_start_then_media_with_twilios_fields_as_strings() -> None:
    reporter = FakeReporter()

    async def scenario() -> None:
        async with app() as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url), tone(0.5))
            await asyncio.sleep(0.2)
            (heard,) = sockets
            await heard.until(lambda: len(heard.events("media")) >= 10)
            await asterisk.close()
            await heard.closed.wait()
        texts = [m for _, m in heard.messages]
        assert all(isinstance(m, str) for m in texts)
        first, second, third = (json.loads(m) for m in texts[:3])
        assert first == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
        assert second == {
            "event": "start",
            "sequenceNumber": "1",
            "start": {
                "accountSid": "AC00000000000000000000000000000001",
                "streamSid": SID,
                "callSid": "CA00000000000000000000000000000001",
                "tracks": ["inbound"],
                "customParameters": {"from_number": "+15550100", "greeting": "hi"},
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            },
            "streamSid": SID,
        }
        assert third["event"] == "media" and third["streamSid"] == SID
        assert set(third["media"]) == {"track", "chunk", "timestamp", "payload"}
        numbered = heard.events()[1:]
        assert [m["sequenceNumber"] for m in numbered] == [str(n) for n in range(1, len(numbered) + 1)]
        chunks = [m["media"]["chunk"] for m in heard.events("media")]
        assert chunks == [str(n) for n in range(1, len(chunks) + 1)]
        assert {m["media"]["track"] for m in heard.events("media")} == {"inbound"}
        assert all(len(payload(m)) == 160 for m in heard.events("media"))
        assert heard.events()[-1]["event"] == "stop"
        assert reporter.named("app_connected") == [(SID,)]

    run(scenario())


def test_media_timestamps_follow_real_time() -> None:
    async def scenario() -> None:
        async with app() as (url, sockets), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url))
            await asyncio.sleep(0.1)
            (heard,) = sockets
            await heard.until(lambda: len(heard.events("media")) >= 50)
            await asterisk.close()
        timed = heard.timed("media")
        stamps = [int(m["media"]["timestamp"]) for _, m in timed]
        assert stamps == sorted(stamps)
        started = heard.timed("start")[0][0]
        # each timestamp is the ms since `start` at which the frame crossed the bridge
        offsets = [abs((at - started) * 1000 - stamp) for (at, _), stamp in zip(timed, stamps, strict=True)]
        assert statistics.median(offsets) < 10
        span = (timed[-1][0] - timed[0][0]) * 1000
        assert abs((stamps[-1] - stamps[0]) - span) < 40
        assert stamps[-1] - stamps[0] >= 20 * (len(stamps) - 1) - 40  # not a counter: real time

    run(scenario())


def test_the_callers_tone_reaches_the_app_unchanged() -> None:
    async def scenario() -> None:
        async with app() as (url, sockets), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url), tone(1.0))
            await asyncio.sleep(0.1)
            (heard,) = sockets
            await heard.until(lambda: len(heard.events("media")) >= 40)
            await asterisk.close()
        audio = b"".join(codec.ulaw_to_slin(payload(m)) for m in heard.events("media")[:40])
        assert tone_share(audio) > 0.95
        assert tone_share(audio, hz=1500) < 0.01

    run(scenario())


def test_a_two_second_payload_plays_paced_at_20_ms() -> None:
    sent = codec.slin_to_ulaw(tone(2.0))

    async def behaviour(heard: Heard) -> None:
        await heard.send(media(sent))

    async def scenario() -> None:
        async with app(behaviour) as (url, _), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url))
            await asyncio.sleep(2.4)
            playout = running.streams[SID].playout
            assert playout is not None and sum(playout.lateness.counts.values()) == 100  # each frame timed
            await asterisk.close()
        frames = asterisk.audio()
        assert len(frames) == 100
        assert b"".join(codec.slin_to_ulaw(data) for _, data in frames) == sent
        times = [at for at, _ in frames]
        assert 1.95 < times[-1] - times[0] < 2.3  # paced, not sent at once (the machine may be busy)
        gaps = sorted(b - a for a, b in zip(times, times[1:], strict=False))
        assert abs(statistics.median(gaps) - FRAME) < 0.002
        assert gaps[len(gaps) // 10] > 0.01  # no burst: nine gaps in ten are more than half a frame

    run(scenario())


def test_a_mark_comes_back_only_after_the_audio_before_it_has_played() -> None:
    async def behaviour(heard: Heard) -> None:
        await heard.send(media(codec.slin_to_ulaw(tone(1.0))))
        await heard.send({"event": "mark", "streamSid": SID, "mark": {"name": "first"}})
        await heard.send({"event": "mark", "streamSid": SID})  # nameless, as the OpenAI demo sends

    async def scenario() -> None:
        async with app(behaviour) as (url, sockets), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url))
            (heard,) = await _first(sockets)
            await heard.until(lambda: len(heard.events("mark")) == 2)
            await asterisk.close()
        (at, first), (_, nameless) = heard.timed("mark")
        assert first["mark"] == {"name": "first"} and first["streamSid"] == SID
        assert nameless["mark"] == {"name": ""}
        last_frame = asterisk.audio()[-1][0]
        assert len(asterisk.audio()) == 50
        assert at >= last_frame + 0.015  # the last frame's 20 ms have played
        assert at - heard.timed("start")[0][0] > 0.95

    run(scenario())


def test_clear_cuts_playout_and_echoes_every_pending_mark_at_once() -> None:
    async def behaviour(heard: Heard) -> None:
        for name in ("one", "two"):
            await heard.send(media(codec.slin_to_ulaw(tone(2.0))))
            await heard.send({"event": "mark", "streamSid": SID, "mark": {"name": name}})
        await asyncio.sleep(0.5)
        heard.messages.append((time.monotonic(), json.dumps({"event": "cleared"})))
        await heard.send({"event": "clear", "streamSid": SID})

    async def scenario() -> None:
        async with app(behaviour) as (url, sockets), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url))
            (heard,) = await _first(sockets)
            await heard.until(lambda: len(heard.events("mark")) == 2)
            await asyncio.sleep(0.3)
            await asterisk.close()
        cleared_at = heard.timed("cleared")[0][0]
        marks = heard.timed("mark")
        assert [m["mark"]["name"] for _, m in marks] == ["one", "two"]
        assert all(at - cleared_at < 0.1 for at, _ in marks)
        after = [at for at, _ in asterisk.audio() if at > cleared_at + 0.03]
        assert after == []
        assert 20 <= len(asterisk.audio()) <= 35  # about 0.5 s of the 4 s played

    run(scenario())


@pytest.mark.parametrize(
    ("sent", "bidirectional", "expected"),
    [
        ("{not json", True, "not JSON"),
        (b"\x00\x01binary", True, "binary"),
        (json.dumps({"event": "dance", "streamSid": SID}), True, "unknown event 'dance'"),
        (json.dumps({"event": "media", "media": {"payload": "%%%"}}), True, "not base64"),
        (json.dumps(media(b"\xff" * 160)), False, "unidirectional"),
        (json.dumps({"event": "mark", "mark": {"name": "n" * 1_000_000}}), True, "mark name over"),
    ],
)
def test_a_message_twilio_would_refuse_is_a_31924_warning_and_the_stream_goes_on(
    sent: str | bytes, bidirectional: bool, expected: str
) -> None:
    reporter = FakeReporter()

    async def behaviour(heard: Heard) -> None:
        await heard.send(sent)
        await heard.send(sent)  # reported once

    async def scenario() -> None:
        async with app(behaviour) as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url, bidirectional=bidirectional))
            (heard,) = await _first(sockets)
            await heard.until(lambda: bool(reporter.named("app_warning")))
            count = len(heard.events("media"))
            await heard.until(lambda: len(heard.events("media")) > count + 5)  # audio still flows
            await asterisk.close()
        ((sid, code, message),) = reporter.named("app_warning")
        assert (sid, code) == (SID, 31924) and expected in message
        assert reporter.named("app_closed") == [] and reporter.named("app_failed") == []

    run(scenario())


def test_ten_megabytes_in_one_message_are_capped_to_60_s_and_the_stream_goes_on() -> None:
    reporter = FakeReporter()
    huge = bytes([0x7F]) * (7_500_000)  # 10 MB of base64: 15 minutes of audio

    async def behaviour(heard: Heard) -> None:
        await heard.send(media(huge))
        await heard.send({"event": "mark", "streamSid": SID, "mark": {"name": "end"}})

    async def scenario() -> None:
        async with app(behaviour) as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url))
            (heard,) = await _first(sockets)
            await heard.until(lambda: bool(reporter.named("app_warning")))
            stream = running.streams[SID]
            assert stream.playout is not None and stream.playout.buffered <= MAX_SECONDS * 8000
            await heard.until(lambda: len(asterisk.audio()) >= 10)
            await heard.send({"event": "clear", "streamSid": SID})
            await heard.until(lambda: len(heard.events("mark")) == 1)
            await asterisk.close()
        ((_, code, message),) = reporter.named("app_warning")
        assert code == 31924 and "60 s" in message
        assert reporter.named("app_closed") == []

    run(scenario())


def test_an_app_that_never_answers_the_upgrade_fails_the_stream_and_ends_the_leg() -> None:
    reporter = FakeReporter()

    async def scenario() -> None:
        silent = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)  # accepts, never answers
        port = silent.sockets[0].getsockname()[1]
        async with silent, bridge(reporter, connect_timeout=0.5) as running:
            asterisk = await place(running.port, leg(f"ws://127.0.0.1:{port}/media"))
            await asyncio.wait_for(asterisk.ended.wait(), 3)
            await asterisk.close()
        ((sid, code, message),) = reporter.named("app_failed")
        assert (sid, code) == (SID, 31901) and "0.5 s" in message
        assert asterisk.received[-1][1] == 0x00  # AudioSocket's hangup

    run(scenario())


def test_an_app_on_a_refused_address_fails_the_stream(settings: Any) -> None:
    settings.EGRESS_ALLOW = []
    reporter = FakeReporter()

    async def scenario() -> None:
        async with app() as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url.replace("127.0.0.1", "localhost")))
            await asyncio.wait_for(asterisk.ended.wait(), 3)
            await asterisk.close()
        assert sockets == []
        ((_, code, message),) = reporter.named("app_failed")
        assert code == 31902 and "not an allowed destination" in message

    run(scenario())


def test_wss_verifies_the_apps_certificate(tmp_path: Path) -> None:
    """A wss:// app is reached over TLS checked against the URL's name: a self-signed one fails (31910)."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    reporter = FakeReporter()
    handshakes: list[str] = []

    async def scenario() -> None:
        async def handle(socket: ServerConnection) -> None:
            handshakes.append(socket.request.path if socket.request else "")

        async with serve(handle, "127.0.0.1", 0, ssl=context) as server, bridge(reporter) as running:
            port = server.sockets[0].getsockname()[1]
            asterisk = await place(running.port, leg(f"wss://localhost:{port}/media"))
            await asyncio.wait_for(asterisk.ended.wait(), 5)
            await asterisk.close()
        ((_, code, message),) = reporter.named("app_failed")
        assert code == 31910 and "CERTIFICATE_VERIFY_FAILED" in message
        assert handshakes == []

    run(scenario())


def test_the_app_closing_is_reported_and_then_ends_the_leg() -> None:
    reported_at: list[float] = []

    class SlowReporter(FakeReporter):
        def app_closed(self, stream_sid: str) -> None:
            time.sleep(0.3)  # a database write taking its time
            super().app_closed(stream_sid)
            reported_at.append(time.monotonic())

    reporter = SlowReporter()

    async def behaviour(heard: Heard) -> None:
        await asyncio.sleep(0.2)
        assert heard.socket is not None
        await heard.socket.close()

    async def scenario() -> None:
        async with app(behaviour) as (url, _), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url))
            await asyncio.wait_for(asterisk.ended.wait(), 3)
            await asterisk.close()
            while running.streams:
                await asyncio.sleep(0.01)
        assert reporter.named("app_closed") == [(SID,)]
        hangup_at, kind, _ = asterisk.received[-1]
        assert kind == 0x00 and hangup_at >= reported_at[0]  # the platform knew why before the leg went

    run(scenario())


def test_the_leg_hanging_up_sends_stop_and_closes_the_socket() -> None:
    reporter = FakeReporter()

    async def scenario() -> None:
        async with app() as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url))
            (heard,) = await _first(sockets)
            await heard.until(lambda: len(heard.events("media")) >= 5)
            await asterisk.hang_up()
            await asyncio.wait_for(heard.closed.wait(), 3)
        stop = heard.events()[-1]
        assert stop == {
            "event": "stop",
            "sequenceNumber": str(len(heard.events()) - 1),
            "streamSid": SID,
            "stop": {
                "accountSid": "AC00000000000000000000000000000001",
                "callSid": "CA00000000000000000000000000000001",
            },
        }
        assert reporter.named("app_closed") == []

    run(scenario())


def test_both_tracks_share_one_websocket_with_a_chunk_count_each() -> None:
    async def scenario() -> None:
        both = leg("", tracks=["inbound", "outbound"], bidirectional=False, legs=2)
        async with app() as (url, sockets), bridge(FakeReporter()) as running:
            inbound = await place(running.port, {**both, "url": url, "track": "inbound"}, tone(1.0))
            outbound = await place(running.port, {**both, "url": url, "track": "outbound"}, tone(1.0, hz=500))
            (heard,) = await _first(sockets)
            await heard.until(lambda: len(heard.events("media")) >= 60)
            await inbound.close()
            await outbound.close()
            await heard.closed.wait()
        assert len(sockets) == 1
        assert heard.events("start")[0]["start"]["tracks"] == ["inbound", "outbound"]
        for track, hz in (("inbound", 1000), ("outbound", 500)):
            frames = [m["media"] for m in heard.events("media") if m["media"]["track"] == track]
            assert [f["chunk"] for f in frames] == [str(n) for n in range(1, len(frames) + 1)]
            audio = b"".join(codec.ulaw_to_slin(base64.b64decode(f["payload"])) for f in frames[:20])
            assert tone_share(audio, hz) > 0.95
        assert heard.events()[-1]["event"] == "stop"

    run(scenario())


def test_an_app_that_stops_reading_does_not_grow_the_bridges_queue() -> None:
    async def behaviour(heard: Heard) -> None:
        assert heard.socket is not None
        heard.socket.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        heard.socket.transport.pause_reading()  # reads nothing more, as a stuck app

    async def scenario() -> None:
        async with app(behaviour) as (url, sockets), bridge(FakeReporter()) as running:
            asterisk = await place(running.port, leg(url, bidirectional=False))
            await _first(sockets)
            await asyncio.sleep(0.1)
            stream = running.streams[SID]
            assert stream._ws is not None
            # kernel buffers small enough that the test need not send megabytes to fill them
            stream._ws.transport.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
            )
            queued, buffered = [], []
            for _ in range(10):
                await asterisk.burst(500)
                await asyncio.sleep(0.05)
                queued.append(stream._outbox.qsize())
                buffered.append(stream._ws.transport.get_write_buffer_size())
            await asterisk.close()
        assert queued[-3:] == [OUTBOX_MESSAGES] * 3
        assert max(buffered) < 64 * 1024  # websockets' write limit, plus a message


async def _first(sockets: list[Heard]) -> list[Heard]:
    while not sockets:
        await asyncio.sleep(0.005)
    return sockets


def test_a_stop_command_says_stop_to_the_app_and_hangs_up_the_leg() -> None:
    reporter = FakeReporter()

    async def scenario() -> None:
        async with app() as (url, sockets), bridge(reporter) as running:
            asterisk = await place(running.port, leg(url))
            (heard,) = await _first(sockets)
            await heard.until(lambda: len(heard.events("media")) >= 3)
            client = aioredis.from_url(settings.REDIS_URL)
            await client.publish(commands_channel(running.id), json.dumps(Stop(op="stop", stream_sid=SID)))
            await client.aclose()
            await asyncio.wait_for(heard.closed.wait(), 5)
            await asyncio.wait_for(asterisk.ended.wait(), 5)
            await asterisk.close()
        assert heard.events()[-1]["event"] == "stop"
        assert asterisk.received[-1][1] == 0x00
        assert reporter.named("app_closed") == []

    run(scenario())


def test_marks_waiting_to_play_are_bounded() -> None:
    """An app sending marks behind a minute of audio holds each until it plays: the bridge keeps at
    most one a frame of that minute, so marks cannot grow the bridge's memory without end."""
    playout = Playout()
    playout.push(b"\xff" * MAX_SECONDS * 8000)
    kept = [playout.mark(str(n)) for n in range(MAX_MARKS + 10)]
    assert kept.count(False) == 10 and all(kept[:MAX_MARKS])
