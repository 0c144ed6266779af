"""The Gemini Live bridge against a local websocket server speaking the Live API as documented
(https://ai.google.dev/gemini-api/docs/live-api/get-started-websocket, messages at
https://ai.google.dev/api/live, function calling at https://ai.google.dev/gemini-api/docs/live-tools):
`setup` first and no audio before `setupComplete`, the caller's mu-law 8 kHz reaching the model as
PCM 16 kHz and the model's PCM 24 kHz reaching the caller as mu-law 8 kHz (the same tone both ways),
transcripts to the records whole, a tool call run or refused, and barge-in on `interrupted`."""

import asyncio
import base64
import json
from typing import Any

import numpy as np
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ai.speech_to_speech.base import RealtimeAgent
from ai.speech_to_speech.gemini_live import GeminiLiveBridge
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin
from tests.ai.model_doubles import BOOK, Records, Tools

FRAMES = 200  # the most the caller sends: until the model's side is done


def tone(hz: int, rate: int, ms: int) -> bytes:
    t = np.arange(rate * ms // 1000) / rate
    return bytes((8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16).tobytes())


def peak_hz(pcm: bytes, rate: int) -> float:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


CALLER = slin_to_ulaw(tone(1000, 8000, 20 * FRAMES))  # the caller's 1 kHz, as mu-law frames
ANSWER = tone(600, 24000, 300)  # the model's 600 Hz at 24 kHz, sent in three pieces


def content(**fields: Any) -> bytes:
    """A server message as the Live API sends them: JSON in a binary frame."""
    return json.dumps({"serverContent": fields}).encode()


async def model(socket: ServerConnection, received: list[dict[str, Any]]) -> None:
    """The Live side: set up, hears the caller, asks for `book` and for a function the agent lacks,
    answers in a 600 Hz voice, then is interrupted in its second answer."""

    async def expect(key: str) -> dict[str, Any]:
        while True:
            message = json.loads(await socket.recv())
            received.append(message)
            if key in message:
                return message

    await expect("setup")
    await asyncio.sleep(0.1)  # the caller's first frames come before the session is set up
    await socket.send(json.dumps({"setupComplete": {}}))
    for _ in range(10):
        await expect("realtimeInput")
    await socket.send(content(inputTranscription={"text": "Monday "}))
    await socket.send(content(inputTranscription={"text": "please"}))
    calls = [
        {"id": "fc_1", "name": "book", "args": {"day": "monday"}},
        {"id": "fc_2", "name": "read_other_accounts", "args": {}},
    ]
    await socket.send(json.dumps({"toolCall": {"functionCalls": calls}}))
    await expect("toolResponse")
    await socket.send(content(outputTranscription={"text": "Booked."}))
    for at in range(0, len(ANSWER), len(ANSWER) // 3):
        data = base64.b64encode(ANSWER[at : at + len(ANSWER) // 3]).decode()
        await socket.send(
            content(modelTurn={"parts": [{"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": data}}]})
        )
    await socket.send(content(turnComplete=True))
    await socket.send(content(outputTranscription={"text": "And wou"}))
    await socket.send(content(interrupted=True))
    await expect("realtimeInput")


def test_a_call_bridged_to_a_gemini_live_session() -> None:
    received: list[dict[str, Any]] = []
    to_caller: list[dict[str, Any]] = []
    tools, records = Tools(), Records()
    keys: list[str] = []

    async def scenario() -> None:
        async def handler(socket: ServerConnection) -> None:
            assert socket.request is not None
            keys.append(socket.request.headers["x-goog-api-key"])
            await model(socket, received)

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            url = GeminiLiveBridge.url(f"http://127.0.0.1:{port}", "gemini-live-2.5-flash")
            assert url == (
                f"ws://127.0.0.1:{port}/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
            )
            async with connect(url, additional_headers=GeminiLiveBridge.headers("AIza-test")) as provider:

                async def send_to_caller(message: dict[str, Any]) -> None:
                    to_caller.append(message)

                session = RealtimeAgent(
                    instructions="You book appointments.", model="gemini-live-2.5-flash", tools=(BOOK,)
                )
                bridge = GeminiLiveBridge(
                    provider, agent=session, tools=tools, send_to_caller=send_to_caller, listener=records
                )
                model_side = asyncio.create_task(bridge.run())
                await bridge.from_caller(
                    {"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1"}}
                )
                for n in range(FRAMES):  # 20 ms frames, as the platform sends them
                    if model_side.done():
                        break
                    audio = base64.b64encode(CALLER[160 * n : 160 * (n + 1)]).decode()
                    frame = {
                        "event": "media",
                        "streamSid": "MZ1",
                        "media": {"timestamp": str(20 * n), "payload": audio},
                    }
                    await bridge.from_caller(frame)
                    await asyncio.sleep(0.01)
                await asyncio.wait_for(model_side, 1)

    asyncio.run(scenario())
    assert keys == ["AIza-test"]
    setup = received[0]["setup"]
    assert setup["model"] == "models/gemini-live-2.5-flash"
    assert setup["generationConfig"]["responseModalities"] == ["AUDIO"]
    assert setup["systemInstruction"] == {"parts": [{"text": "You book appointments."}]}
    assert setup["tools"][0]["functionDeclarations"][0]["name"] == "book"
    assert "inputAudioTranscription" in setup and "outputAudioTranscription" in setup
    # nothing but audio after the setup, and none of it before setupComplete (the first ~100 ms)
    inputs = [m["realtimeInput"]["audio"] for m in received[1:] if "realtimeInput" in m]
    assert len(inputs) == len([m for m in received[1:] if "toolResponse" not in m]) < FRAMES
    assert {a["mimeType"] for a in inputs} == {"audio/pcm;rate=16000"}
    heard = b"".join(base64.b64decode(a["data"]) for a in inputs)
    assert abs(peak_hz(heard, 16000) - 1000) < 20  # the caller's tone, at the model's rate
    # the model's answer reaches the caller as mu-law 8 kHz: the same tone, all of it
    media = [m for m in to_caller if m["event"] == "media"]
    spoken = b"".join(base64.b64decode(m["media"]["payload"]) for m in media)
    assert abs(len(spoken) - 2400) <= 16 and abs(peak_hz(ulaw_to_slin(spoken), 8000) - 600) < 20
    # the agent's tool ran with its arguments; the one it lacks was refused, both in one toolResponse
    assert tools.calls == [("book", {"day": "monday"})]
    (response,) = [m["toolResponse"]["functionResponses"] for m in received if "toolResponse" in m]
    assert response[0] == {"id": "fc_1", "name": "book", "response": {"booked": True}}
    assert response[1]["id"] == "fc_2" and "there is no tool named" in response[1]["response"]["error"]
    # transcripts whole; the cut-off answer's words are kept, and the caller's playout cleared
    assert records.said == [
        ("caller", "Monday please"),
        ("agent", "Booked."),
        ("", "turn done"),
        ("agent", "And wou"),
    ]
    assert to_caller[-1] == {"event": "clear", "streamSid": "MZ1"}
