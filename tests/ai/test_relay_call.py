"""`<Connect><ConversationRelay>` on a real call: sipp plays a caller's words (espeak-ng, as a μ-law
pcap) through Asterisk into the ARI worker, the real media bridge and `manage.py speech_relay`, to a
ConversationRelay app of the test's own (Twilio's messages:
https://www.twilio.com/docs/voice/conversationrelay/websocket-messages). One call proves the app gets
`setup` and a `prompt` holding the caller's words, the caller hears the app's tokens spoken, and
`end`'s handoffData reaches the `<Connect action>` as HandoffData."""

import asyncio
import json
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ai.speech.audio import rms
from streams.bridge.codec import ulaw_to_slin
from tests.ai.speech import speech_pcap
from tests.asterisk import TEST_RTP
from tests.live import AriWorker, ari_worker, free_port, http_process
from tests.voice.rtp_capture import RtpCapture, audio_frames
from tests.voice.test_call_flows import Lab
from voice.models import MediaServer

pytestmark = pytest.mark.e2e

REPLY = "Sure. Your appointment is booked for Monday morning."


@pytest.fixture(scope="module")
def relay_url() -> Iterator[str]:
    port = free_port()
    with http_process(
        [sys.executable, "manage.py", "speech_relay", "--port", str(port)],
        probe=f"http://127.0.0.1:{port}/",  # a websocket server answers a plain GET with an error
        log_name=f"test-speech-relay-{port}.log",
        what="the speech relay",
    ):
        yield f"ws://127.0.0.1:{port}/relay"


@pytest.fixture(scope="module")
def worker(media_server: MediaServer, relay_url: str) -> Iterator[AriWorker]:
    """The module's worker (and its media bridge), told where the speech relay listens."""
    with ari_worker(media_server.name, SWITCHBOARD_SPEECH_RELAY_URL=relay_url) as running:
        yield running


class RelayApp:
    """The tenant's ConversationRelay app, on its own thread's event loop: it answers the first
    prompt with REPLY in three tokens, and ends the session with handoffData once it is spoken."""

    def __init__(self) -> None:
        self.heard: list[tuple[float, dict[str, Any]]] = []
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/app"
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def __enter__(self) -> "RelayApp":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None and self._loop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [message for _, message in self.heard if message["type"] == kind]

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", self.port):
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, socket: ServerConnection) -> None:
        async for raw in socket:
            message = json.loads(raw)
            self.heard.append((time.time(), message))  # as RtpPacket.at_s
            if message["type"] == "prompt" and len(self.of("prompt")) == 1:
                first, rest = REPLY.split(". ", 1)
                await socket.send(json.dumps({"type": "text", "token": first + ". ", "last": False}))
                await socket.send(json.dumps({"type": "text", "token": rest, "last": True}))
                await asyncio.sleep(4)  # while it is spoken
                await socket.send(json.dumps({"type": "end", "handoffData": '{"booked": "monday"}'}))


def test_a_caller_talks_to_a_conversation_relay_app_which_hands_off_to_the_action(lab: Lab) -> None:
    with RelayApp() as app:
        lab.serve(
            voice=f"<Response><Connect action='/after'><ConversationRelay url='{app.url}'"
            " welcomeGreeting='Hello.' hints='book an appointment' dtmfDetection='true'>"
            "<Parameter name='clinic' value='north'/></ConversationRelay></Connect></Response>",
            after="<Response><Hangup/></Response>",
        )
        lab.give_number()
        pcap = speech_pcap(("wait", 2000), ("say", "I want to book an appointment"), ("wait", 9000))
        with RtpCapture(*TEST_RTP) as capture:
            result = lab.call(pcap=pcap, timeout_s=25)

    assert result.ok, result.explain()
    (after,) = lab.app.wait_for("/after")
    call_sid = lab.app.wait_for("/voice")[0].form["CallSid"]
    (setup,) = app.of("setup")
    assert setup["callSid"] == call_sid and setup["customParameters"] == {"clinic": "north"}
    assert setup["sessionId"] == after.form["SessionId"] and setup["sessionId"].startswith("VX")
    (prompt,) = app.of("prompt")
    assert "appointment" in prompt["voicePrompt"]
    assert after.form["HandoffData"] == '{"booked": "monday"}'
    assert after.form["SessionStatus"] == "completed" and int(after.form["SessionDuration"]) >= 5

    ((port, sent),) = capture.from_callers().items()
    start = sent[0].at_s
    prompted_at = next(at for at, message in app.heard if message["type"] == "prompt")
    heard = audio_frames(capture.to_callers().get(port, []), start)
    loud = [at for at, payload in heard if rms(ulaw_to_slin(payload)) > 500]
    greeting = [at for at in loud if at < prompted_at - start]
    reply = [at for at in loud if at > prompted_at - start]
    assert len(greeting) * 0.02 > 0.3  # "Hello.", before there was anything to reply to
    assert len(reply) * 0.02 > 1.5  # the reply's speech reached the caller
