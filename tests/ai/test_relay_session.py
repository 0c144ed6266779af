"""The speech relay against a ConversationRelay app of the test's own and "Twilio" played by the Media
Streams driver (tests/streams/twilio_driver.py: real-time 20 ms frames, a playout that echoes marks as
their audio plays and flushes on `clear`), with the caller's words spoken by espeak-ng
(tests/ai/speech.py) and the relay's real engines (ai/relay/engines.py). Messages as Twilio documents
them: https://www.twilio.com/docs/voice/conversationrelay/websocket-messages"""

import asyncio
import json
import os
import signal
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from websockets.asyncio.server import ServerConnection, serve

from ai.relay import contract
from ai.relay.engines import engines_for
from ai.relay.server import RelayServer
from ai.speech.audio import rms
from core import egress, webhooks
from core.throttling import redis_client
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from tests.ai.speech import espeak_workers, silence_slin, speech_slin
from tests.live import free_port
from tests.streams.twilio_driver import Drive, drive
from tests.voice.audio import has_tone
from tests.voice.test_call_flows import _tone_wav
from tests.voice.twiml_app import TwimlApp
from voice.media import MediaCache

pytestmark = pytest.mark.e2e


@dataclass
class App:
    """The tenant's ConversationRelay app: what it heard (time since the relay connected, message),
    the upgrade's headers, and a reply for each message it gets."""

    reply: Callable[["App", dict[str, Any]], Awaitable[None]]
    heard: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    sent: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    socket: ServerConnection | None = None
    began: float = 0.0

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [message for _, message in self.heard if message["type"] == kind]

    async def send(self, message: dict[str, Any]) -> None:
        assert self.socket is not None
        self.sent.append((self.now(), message))
        await self.socket.send(json.dumps(message))

    def now(self) -> float:
        return asyncio.get_running_loop().time() - self.began


@asynccontextmanager
async def running_app(app: App) -> AsyncIterator[str]:
    async def handle(socket: ServerConnection) -> None:
        assert socket.request is not None
        app.socket, app.began = socket, asyncio.get_running_loop().time()
        app.headers = dict(socket.request.headers)
        async for raw in socket:
            message = json.loads(raw)
            app.heard.append((app.now(), message))
            await app.reply(app, message)

    async with serve(handle, "127.0.0.1", 0) as server:
        yield f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/relay"


@asynccontextmanager
async def relay(tmp_path: Path) -> AsyncIterator[str]:
    async with egress.async_client(timeout=10) as http:
        server = RelayServer(
            host="127.0.0.1",
            port=0,
            redis_url=settings.REDIS_URL,
            engines=engines_for,
            media=MediaCache(str(tmp_path), http),
            connect_timeout=3,
        )
        await server.start()
        try:
            yield f"ws://127.0.0.1:{server.port}/relay"
        finally:
            await server.stop()


def session(**changes: Any) -> contract.Session:
    """A session as the worker records it; `converse` points it at the test's app."""

    def voice() -> contract.Voice:
        return contract.Voice(
            code="en-US", tts_provider="", voice="", transcription_provider="", speech_model="", hints=[]
        )

    record = contract.Session(
        session_id="VX" + uuid.uuid4().hex,
        url="",
        signature="",
        setup={"sessionId": "VX", "callSid": "CA" + "1" * 32, "customParameters": {"customer": "42"}},
        tts=voice(),
        transcription=voice(),
        languages=[],
        welcome_greeting="",
        welcome_greeting_interruptible="any",
        interruptible="any",
        report_input_during_agent_speech="none",
        dtmf_detection=True,
        partial_prompts=False,
        preemptible=False,
    )
    return contract.Session(**{**record, **changes})  # type: ignore[typeddict-item]


async def converse(
    tmp_path: Path, app: App, record: contract.Session, caller: bytes, digits: dict[float, str] | None = None
) -> tuple[Drive, contract.Outcome | None, str]:
    """The caller's audio (slin) through the relay to `app`, as the session `record` sets it up."""
    stream_sid = "MZ" + uuid.uuid4().hex
    async with running_app(app) as app_url, relay(tmp_path) as relay_url:
        record = contract.Session(
            **{**record, "url": app_url, "signature": webhooks.signature(app_url, {}, "token")}
        )  # type: ignore[typeddict-item]
        redis_client().set(contract.session_key(stream_sid), json.dumps(record), ex=60)
        driven = await drive(
            relay_url, caller_audio=slin_to_ulaw(caller), digits=digits, stream_sid=stream_sid
        )
    raw = redis_client().getdel(contract.outcome_key(stream_sid))
    return driven, json.loads(raw) if raw else None, app_url


def speech_played(driven: Drive, *, after_s: float) -> float:
    """Seconds of what the caller heard after `after_s` that hold speech."""
    frames = [ulaw_to_slin(frame) for at, frame in driven.played if at >= after_s]
    return sum(0.02 for frame in frames if rms(frame) > 300)


def test_a_conversation_setup_greeting_prompt_streamed_reply_digits_and_end(tmp_path: Path) -> None:
    async def reply(app: App, message: dict[str, Any]) -> None:
        if message["type"] == "setup":
            await app.send({"type": "bogus"})
            await app.send({"type": "language", "transcriptionLanguage": "en-GB"})
        elif message["type"] == "prompt":
            await app.send({"type": "text", "token": "Sure, I can book ", "last": False})
            await app.send({"type": "text", "token": "that for you.", "last": False})
            await asyncio.sleep(2.0)  # a tool call, say: what came so far must be spoken meanwhile
            await app.send({"type": "text", "token": "Which day suits you?", "last": True})
        elif message["type"] == "dtmf":
            await app.send({"type": "end", "handoffData": '{"reason": "booked"}'})

    app = App(reply)
    said = "I want to book an appointment"
    caller = silence_slin(2500) + speech_slin(said) + silence_slin(7000)
    record = session(welcome_greeting="Hello, how can I help?")
    record["transcription"]["hints"] = ["book an appointment"]
    driven, outcome, app_url = asyncio.run(converse(tmp_path, app, record, caller, digits={8.6: "5"}))

    (setup,) = app.of("setup")
    assert setup["customParameters"] == {"customer": "42"} and setup["callSid"] == "CA" + "1" * 32
    assert app.headers["x-twilio-signature"] == webhooks.signature(app_url, {}, "token")
    assert [e["description"] for e in app.of("error")] == ["unknown message type 'bogus'"]
    assert speech_played(driven, after_s=0) > 0.8  # the greeting, before the caller said anything
    (prompt,) = app.of("prompt")
    assert "appointment" in prompt["voicePrompt"] and (prompt["lang"], prompt["last"]) == ("en-GB", True)
    last_token_at = next(at for at, m in app.sent if m.get("last"))
    first_reply_audio = next(at for at, m in driven.received if m["event"] == "media" and at > 3.5)
    assert first_reply_audio < last_token_at  # speech began on the first clause, not at `last`
    before_last = speech_played(driven, after_s=first_reply_audio) - speech_played(
        driven, after_s=last_token_at
    )
    assert before_last > 1.0  # "that for you." too, though no token followed it for 2 s
    assert speech_played(driven, after_s=3.5) > 1.5  # the reply was heard
    assert app.of("dtmf") == [{"type": "dtmf", "digit": "5"}]
    assert driven.app_closed_at is not None and driven.app_closed_at < 11  # `end` closed the stream
    assert outcome is not None and outcome["status"] == "completed"
    assert outcome["handoff_data"] == '{"reason": "booked"}'


def test_barge_in_stops_the_agent_within_100_ms_and_tells_the_app_what_was_heard(
    tmp_path: Path,
) -> None:
    async def reply(app: App, message: dict[str, Any]) -> None:
        return None

    app = App(reply)
    greeting = (
        "Thank you for calling the clinic. Our opening hours are eight to six on weekdays, and nine to "
        "one on Saturdays. For appointments, please stay on the line."
    )
    onset_s = 1.2
    words = speech_slin("I want to talk to a person")
    caller = silence_slin(int(onset_s * 1000)) + words + silence_slin(2000)
    record = session(welcome_greeting=greeting)
    record["transcription"]["hints"] = ["talk to a person"]
    driven, _, _ = asyncio.run(converse(tmp_path, app, record, caller))

    first_loud = next(at for at in range(0, len(words), 320) if rms(words[at : at + 320]) > 300)
    spoken_at = onset_s + first_loud / 16000
    still_playing = [at for at, frame in driven.played if at >= spoken_at and rms(ulaw_to_slin(frame)) > 0]
    stopped_after_ms = (max(still_playing) - spoken_at) * 1000 if still_playing else 0.0
    print(f"barge-in: playback stopped {stopped_after_ms:.0f} ms after the caller began")
    assert stopped_after_ms <= 100
    (interrupt,) = app.of("interrupt")
    heard = interrupt["utteranceUntilInterrupt"]
    assert heard and greeting.startswith(heard) and heard != greeting
    assert abs(interrupt["durationUntilInterruptMs"] - spoken_at * 1000) < 600
    (prompt,) = app.of("prompt")
    assert "person" in prompt["voicePrompt"]


def test_a_greeting_only_digits_interrupt_plays_on_under_speech_then_a_digit_cuts_it_and_play_plays(
    tmp_path: Path,
) -> None:
    """Speech over a greeting that only digits may interrupt is neither a barge-in nor a prompt; a
    digit cuts it; `play` fetches a WAV through the destination policy, and a source the policy
    refuses (a cloud's metadata address) is an `error`."""
    media = TwimlApp()
    media.routes["/tone.wav"] = lambda form: (200, "audio/wav", _tone_wav(1.0))

    async def reply(app: App, message: dict[str, Any]) -> None:
        if message["type"] == "setup":
            await app.send({"type": "play", "source": "http://169.254.169.254/latest/tone.wav"})
        elif message["type"] == "interrupt":
            await app.send({"type": "play", "source": media.url + "/tone.wav"})

    app = App(reply)
    greeting = (
        "Please listen to this whole message without interrupting me, because it is rather important "
        "and a little long."
    )
    caller = silence_slin(1000) + speech_slin("I want to talk to a person") + silence_slin(2700)
    record = session(welcome_greeting=greeting, welcome_greeting_interruptible="dtmf")
    with media:
        driven, _, _ = asyncio.run(converse(tmp_path, app, record, caller, digits={3.2: "1"}))

    (cleared_at,) = [at for at, m in driven.received if m["event"] == "clear"]
    ((pressed_at, _),) = driven.dtmf_sent
    assert 0 <= cleared_at - pressed_at < 0.1  # the digit, not the speech, cut the greeting
    assert speech_played(driven, after_s=1.5) - speech_played(driven, after_s=pressed_at) > 1.0
    assert app.of("prompt") == [] and app.of("dtmf") == [{"type": "dtmf", "digit": "1"}]
    (interrupt,) = app.of("interrupt")
    assert greeting.startswith(interrupt["utteranceUntilInterrupt"])
    tone = [
        at for at, frame in driven.played if has_tone(list(memoryview(ulaw_to_slin(frame)).cast("h")), 440)
    ]
    assert len([at for at in tone if at > pressed_at]) * 0.02 > 0.8  # the played WAV, after the digit
    (refused,) = app.of("error")
    assert "169.254.169.254" in refused["description"]
    assert "not an allowed destination" in refused["description"]


def test_an_app_that_cannot_be_reached_fails_the_session_with_twilios_code(tmp_path: Path) -> None:
    async def unreached() -> tuple[Drive, contract.Outcome | None]:
        stream_sid = "MZ" + uuid.uuid4().hex
        record = session(url=f"ws://127.0.0.1:{free_port()}/gone")
        redis_client().set(contract.session_key(stream_sid), json.dumps(record), ex=60)
        async with relay(tmp_path) as relay_url:
            driven = await drive(
                relay_url, caller_audio=slin_to_ulaw(silence_slin(3000)), stream_sid=stream_sid
            )
        raw = redis_client().getdel(contract.outcome_key(stream_sid))
        return driven, json.loads(raw) if raw else None

    driven, outcome = asyncio.run(unreached())

    assert driven.app_closed_at is not None and driven.app_closed_at < 2  # the relay let go at once
    assert outcome is not None and (outcome["status"], outcome["error_code"]) == ("failed", 31902)


def test_preemptible_speech_gives_way_to_the_apps_next_text_and_digits_wait_for_silence(
    tmp_path: Path,
) -> None:
    async def reply(app: App, message: dict[str, Any]) -> None:
        if message["type"] == "setup":
            long = "Please hold on while I look that up for you, it may take a little while to find."
            await app.send({"type": "text", "token": long, "last": True, "preemptible": True})
            await asyncio.sleep(1.0)
            await app.send({"type": "text", "token": "Found it.", "last": True})

    app = App(reply)
    record = session(interruptible="none")  # a digit over it neither cuts it nor reaches the app
    driven, _, _ = asyncio.run(
        converse(tmp_path, app, record, silence_slin(3500), digits={0.5: "9", 3.0: "7"})
    )

    assert app.of("dtmf") == [{"type": "dtmf", "digit": "7"}]  # pressed once the agent was quiet
    (cleared_at,) = [at for at, m in driven.received if m["event"] == "clear"]
    (sent_at,) = [at for at, m in app.sent if m["token"] == "Found it."]
    assert 0 <= cleared_at - sent_at < 0.1  # the next text cut the preemptible one at once
    assert app.of("interrupt") == []  # the app's own doing: no interrupt to tell it of
    assert speech_played(driven, after_s=cleared_at + 0.1) > 0.4  # "Found it." was spoken


def test_the_offline_voices_workers_killed_between_replies_the_next_reply_is_spoken(tmp_path: Path) -> None:
    """espeak-ng's synthesis workers (ai/speech/espeak.py) all killed, as the OOM killer might: the
    next clause finds them dead, another worker speaks it, and the call goes on with no error."""
    killed: list[float] = []

    async def reply(app: App, message: dict[str, Any]) -> None:
        if message["type"] == "setup":
            await app.send({"type": "text", "token": "Hello there.", "last": True})
            await asyncio.sleep(1.5)
            workers = espeak_workers()
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
            killed.append(app.now() if workers else -1.0)
            await app.send({"type": "text", "token": "I am still here, and I can still speak.", "last": True})

    app = App(reply)
    driven, outcome, _ = asyncio.run(converse(tmp_path, app, session(), silence_slin(8000)))

    (killed_at,) = killed
    assert killed_at > 0  # the first reply's workers were there to kill
    assert speech_played(driven, after_s=killed_at) > 1.0  # the second reply was heard
    assert app.of("error") == []
    assert outcome is not None and outcome["status"] == "ended"
