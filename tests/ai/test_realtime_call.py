"""A speech-to-speech agent on a real call: sipp speaks (espeak-ng, as a μ-law pcap) through Asterisk,
the ARI worker and the real media bridge, which opens the agent's Media Streams socket on a real
uvicorn server (signed as Twilio signs it); the session bridges it to a local server speaking the
OpenAI Realtime protocol (https://platform.openai.com/docs/guides/realtime-conversations, server
events: https://platform.openai.com/docs/api-reference/realtime-server-events) or the Deepgram Voice
Agent protocol (https://developers.deepgram.com/docs/configure-voice-agent, function calls:
https://developers.deepgram.com/docs/voice-agent-function-call-request) or the Gemini Live API
(https://ai.google.dev/gemini-api/docs/live-api/get-started-websocket, messages at
https://ai.google.dev/api/live: PCM 16 kHz in, 24 kHz out). One call for each proves the
caller's speech reaches the model, the model's audio reaches the caller, and its `transfer_to_human`
puts the caller in the agent's TaskRouter queue with the model's summary and the transcript."""

import asyncio
import base64
import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from ai.models import Agent
from ai.services import agent_create
from ai.speech.audio import resample
from contactcenter.taskrouter.models import Task
from conversations.models import AgentTurn
from streams.bridge.codec import ulaw_to_slin
from tests.ai.speech import speech_pcap
from tests.asterisk import TEST_RTP
from tests.contactcenter.taskrouter.factories import make_workspace
from tests.live import AriWorker, ari_worker, asgi_server, free_port
from tests.voice.audio import rms, tone_spans, tone_ulaw, ulaw_decode
from tests.voice.rtp_capture import RtpCapture, audio_frames
from tests.voice.test_call_flows import Lab
from voice.models import MediaServer

pytestmark = pytest.mark.e2e

HEARD_FRAMES = 100  # 2 s of the caller before the model answers
ANSWER = tone_ulaw(1500, 1000)  # the model's voice: 1.5 s of 1 kHz, sent in 100 ms deltas
SUMMARY = "Wants to book a visit; asked for the desk."


@pytest.fixture(scope="module")
def platform(django_db_setup: None) -> Iterator[str]:
    """uvicorn serving the agents (their TwiML, hand-off and websocket) at the URL it tells itself."""
    port = free_port()
    with asgi_server(port, SWITCHBOARD_AGENTS_WS_URL=f"ws://127.0.0.1:{port}/ws/agents/") as base:
        yield base


@pytest.fixture(scope="module")
def worker(media_server: MediaServer, platform: str) -> Iterator[AriWorker]:
    agents = platform.replace("http://", "ws://") + "/ws/agents/"
    with ari_worker(media_server.name, SWITCHBOARD_AGENTS_WS_URL=agents) as running:
        yield running


class ModelServer:
    """A model's server on its own thread's event loop: hears HEARD_FRAMES of the caller, says it
    heard a booking, speaks ANSWER and transfers the caller, in its protocol (`_session`)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.appended: list[list[int]] = []  # the caller's audio as the model got it, as samples
        self.authorization = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)

    def __enter__(self) -> "ModelServer":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", self.port):
            self._ready.set()
            await self._stop.wait()

    async def _session(self, socket: ServerConnection) -> None:
        raise NotImplementedError


class RealtimeModel(ModelServer):
    """OpenAI Realtime: the caller's audio as `input_audio_buffer.append`, JSON events back."""

    async def _session(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        self.authorization = socket.request.headers["Authorization"]
        with contextlib.suppress(ConnectionClosed):
            async for raw in socket:
                message = json.loads(raw)
                if message["type"] == "input_audio_buffer.append":
                    self.appended.append(ulaw_decode(base64.b64decode(message["audio"])))
                    if len(self.appended) == HEARD_FRAMES:
                        await self._answer(socket)

    async def _answer(self, socket: ServerConnection) -> None:
        def event(kind: str, **fields: Any) -> str:
            return json.dumps({"type": kind, "event_id": "event_1", **fields})

        said = "I would like to book a visit."
        kind = "conversation.item.input_audio_transcription.completed"
        await socket.send(event(kind, item_id="item_c1", content_index=0, transcript=said))
        for at in range(0, len(ANSWER), 800):
            delta = base64.b64encode(ANSWER[at : at + 800]).decode()
            await socket.send(event("response.output_audio.delta", item_id="item_a1", delta=delta))
        await socket.send(
            event("response.output_audio_transcript.done", item_id="item_a1", transcript="One moment.")
        )
        arguments = json.dumps({"summary": SUMMARY})
        item = {
            "type": "function_call",
            "call_id": "call_1",
            "name": "transfer_to_human",
            "arguments": arguments,
        }
        await socket.send(event("response.output_item.done", output_index=0, item=item))


class DeepgramModel(ModelServer):
    """Deepgram Voice Agent: the caller's audio as binary messages (mu-law, as the Settings asked),
    the agent's speech binary too, the rest JSON."""

    async def _session(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        self.authorization = socket.request.headers["Authorization"]
        with contextlib.suppress(ConnectionClosed):
            async for raw in socket:
                if isinstance(raw, bytes):
                    self.appended.append(ulaw_decode(raw))
                    if len(self.appended) == HEARD_FRAMES:
                        await self._answer(socket)

    async def _answer(self, socket: ServerConnection) -> None:
        said = {"type": "ConversationText", "role": "user", "content": "I would like to book a visit."}
        await socket.send(json.dumps(said))
        await socket.send(
            json.dumps({"type": "ConversationText", "role": "assistant", "content": "One moment."})
        )
        for at in range(0, len(ANSWER), 800):
            await socket.send(ANSWER[at : at + 800])
        arguments = json.dumps({"summary": SUMMARY})
        function = {"id": "fc_1", "name": "transfer_to_human", "arguments": arguments, "client_side": True}
        await socket.send(json.dumps({"type": "FunctionCallRequest", "functions": [function]}))


class GeminiModel(ModelServer):
    """Gemini Live: `setup` answered with `setupComplete`, the caller's audio as PCM 16 kHz in
    `realtimeInput`, the model's as PCM 24 kHz in `serverContent`, its transfer as a `toolCall`."""

    async def _session(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        self.authorization = socket.request.headers["x-goog-api-key"]
        with contextlib.suppress(ConnectionClosed):
            async for raw in socket:
                message = json.loads(raw)
                if "setup" in message:
                    await socket.send(json.dumps({"setupComplete": {}}))
                elif "realtimeInput" in message:
                    pcm = base64.b64decode(message["realtimeInput"]["audio"]["data"])
                    heard_before = sum(map(len, self.appended))
                    self.appended.append(np.frombuffer(pcm, dtype=np.int16).tolist())
                    if heard_before < HEARD_FRAMES * 320 <= heard_before + len(self.appended[-1]):  # 16 kHz
                        await self._answer(socket)

    async def _answer(self, socket: ServerConnection) -> None:
        def content(**fields: Any) -> bytes:
            return json.dumps({"serverContent": fields}).encode()

        await socket.send(content(inputTranscription={"text": "I would like to book a visit."}))
        await socket.send(content(outputTranscription={"text": "One moment."}))
        voice = resample(bytes(ulaw_to_slin(ANSWER)), from_rate=8000, to_rate=24000)
        for at in range(0, len(voice), 4800):  # 100 ms pieces
            data = base64.b64encode(voice[at : at + 4800]).decode()
            part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}
            await socket.send(content(modelTurn={"parts": [part]}))
        call = {"id": "fc_1", "name": "transfer_to_human", "args": {"summary": SUMMARY}}
        await socket.send(json.dumps({"toolCall": {"functionCalls": [call]}}))


@pytest.mark.parametrize(
    ("brain", "model_server", "path", "authorization"),
    [
        ("openai-realtime", RealtimeModel, "/v1", "Bearer sk-lab"),
        ("deepgram-agent", DeepgramModel, "/v1/agent/converse", "Token sk-lab"),
        ("gemini-live", GeminiModel, "", "sk-lab"),
    ],
)
def test_a_caller_talks_to_a_speech_to_speech_agent_and_is_transferred_with_its_summary(
    lab: Lab, platform: str, brain: str, model_server: type[ModelServer], path: str, authorization: str
) -> None:
    with lab.db():
        desk = make_workspace(lab.tenant.account)
        queue = desk.queue("Front desk")
        workflow = desk.workflow({"default_filter": {"queue": queue.sid}})
    with model_server() as model:
        with lab.db():
            agent: Agent = agent_create(
                account=lab.tenant.account,
                actor="test",
                friendly_name="Voice desk",
                brain=brain,
                llm_endpoint=f"http://127.0.0.1:{model.port}{path}",
                llm_model="gpt-realtime",
                llm_api_key="sk-lab",
                tools=["transfer_to_human"],
                handoff_workflow_sid=workflow.sid,
                handoff_queue="Front desk",
            )
        lab.give_number(voice_url=f"{platform}/agents/{agent.sid}/twiml")
        pcap = speech_pcap(("wait", 500), ("say", "I would like to book a visit please"), ("wait", 8000))
        with RtpCapture(*TEST_RTP) as capture:
            result = lab.call(pcap=pcap, hangup_after_ms=9000, timeout_s=30)  # hangs up in the queue
    assert result.ok, result.explain()

    assert model.authorization == authorization
    # the caller's speech reached the model (espeak's words are loud; the call's silence is not)
    assert max(rms(samples) for samples in model.appended) > 500
    ((port, sent),) = capture.from_callers().items()
    heard = tone_spans(audio_frames(capture.to_callers().get(port, []), sent[0].at_s), 1000)
    assert sum(span.end_s - span.start_s for span in heard) > 1.2  # the model's voice, to the caller

    (call,) = lab.calls()
    with lab.db():
        (task,) = Task.objects.filter(workflow=workflow)
        attributes = task.attributes_json
        (turn,) = AgentTurn.objects.filter(call=call)
    assert attributes["type"] == "ai-handoff" and attributes["call_sid"] == call.sid
    assert attributes["summary"] == SUMMARY and attributes["reason"] == "agent transferred the caller"
    assert attributes["transcript"] == [
        {"role": "caller", "text": "I would like to book a visit."},
        {"role": "agent", "text": "One moment."},
    ]
    assert turn.tool_calls[0]["name"] == "transfer_to_human" and turn.agent_text == "One moment."
