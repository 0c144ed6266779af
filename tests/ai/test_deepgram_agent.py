"""The Deepgram Voice Agent bridge against a local websocket server speaking the Voice Agent protocol
as documented (Settings: https://developers.deepgram.com/docs/configure-voice-agent, encodings:
https://developers.deepgram.com/docs/voice-agent-media-inputs-outputs, function calls:
https://developers.deepgram.com/docs/voice-agent-function-call-request and
https://developers.deepgram.com/docs/voice-agent-function-call-response): the caller's Media Streams
audio in as binary messages, the agent's binary mu-law out byte for byte, barge-in on
UserStartedSpeaking, ConversationText to the records, and function calls run or refused."""

import asyncio
import base64
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ai.speech_to_speech.base import RealtimeAgent
from ai.speech_to_speech.deepgram_agent import DeepgramAgentBridge
from tests.ai.model_doubles import BOOK, Records, Tools

SPOKEN = [bytes([0x7F - i, 0xFF, 0x00, i]) * 40 for i in range(3)]  # mu-law, as the agent sends it
CALLER = b"\x10\x20\x30\x40" * 40  # one 20 ms frame of the caller's mu-law


async def agent(socket: ServerConnection, received: list[Any]) -> None:
    """The Voice Agent side: greets, answers after five frames of the caller's audio, asks for `book`
    and then for a function the agent lacks, and hears the caller speak over its second answer."""

    async def expect(kind: str) -> Any:
        while True:
            message = await socket.recv()
            received.append(message if isinstance(message, bytes) else json.loads(message))
            if kind == "audio" and isinstance(message, bytes):
                return message
            if isinstance(received[-1], dict) and received[-1]["type"] == kind:
                return received[-1]

    await socket.send(json.dumps({"type": "Welcome", "request_id": "req-1"}))
    await expect("Settings")
    await socket.send(json.dumps({"type": "SettingsApplied"}))
    for _ in range(5):
        await expect("audio")
    await socket.send(json.dumps({"type": "UserStoppedSpeaking"}))
    await socket.send(json.dumps({"type": "ConversationText", "role": "user", "content": "Monday please"}))
    for name, call_id in (("book", "fc_1"), ("read_other_accounts", "fc_2")):
        function = {"id": call_id, "name": name, "arguments": '{"day": "monday"}', "client_side": True}
        await socket.send(json.dumps({"type": "FunctionCallRequest", "functions": [function]}))
        await expect("FunctionCallResponse")
    await socket.send(json.dumps({"type": "AgentStartedSpeaking", "total_latency": 0.4}))
    await socket.send(json.dumps({"type": "ConversationText", "role": "assistant", "content": "Booked."}))
    for chunk in SPOKEN:
        await socket.send(chunk)
    await socket.send(json.dumps({"type": "AgentAudioDone"}))
    await socket.send(SPOKEN[0])  # a second answer, which the caller speaks over
    await expect("audio")
    await socket.send(json.dumps({"type": "UserStartedSpeaking"}))
    await expect("audio")


def test_a_call_bridged_to_a_deepgram_voice_agent() -> None:
    received: list[Any] = []
    to_caller: list[dict[str, Any]] = []
    tools, records = Tools(), Records()
    authorization: list[str] = []

    async def scenario() -> None:
        async def handler(socket: ServerConnection) -> None:
            assert socket.request is not None
            authorization.append(socket.request.headers["Authorization"])
            await agent(socket, received)

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            url = DeepgramAgentBridge.url(f"http://127.0.0.1:{port}/v1/agent/converse", "gpt-4o-mini")
            assert url == f"ws://127.0.0.1:{port}/v1/agent/converse"
            async with connect(url, additional_headers=DeepgramAgentBridge.headers("dg-test")) as provider:

                async def send_to_caller(message: dict[str, Any]) -> None:
                    to_caller.append(message)

                session = RealtimeAgent(
                    instructions="You book appointments.",
                    model="gpt-4o-mini",
                    tools=(BOOK,),
                    language="en-US",
                )
                bridge = DeepgramAgentBridge(
                    provider, agent=session, tools=tools, send_to_caller=send_to_caller, listener=records
                )
                model_side = asyncio.create_task(bridge.run())
                await bridge.from_caller({"event": "connected", "protocol": "Call", "version": "1.0.0"})
                await bridge.from_caller(
                    {"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1"}}
                )
                audio = base64.b64encode(CALLER).decode()
                for n in range(40):  # 20 ms frames, as the platform sends them
                    frame = {
                        "event": "media",
                        "streamSid": "MZ1",
                        "media": {"timestamp": str(20 * n), "payload": audio},
                    }
                    await bridge.from_caller(frame)
                    await asyncio.sleep(0.01)
                await asyncio.wait_for(model_side, 5)

    asyncio.run(scenario())
    assert authorization == ["Token dg-test"]
    settings = received[0]
    assert settings["audio"]["input"] == {"encoding": "mulaw", "sample_rate": 8000}
    assert settings["audio"]["output"] == {"encoding": "mulaw", "sample_rate": 8000, "container": "none"}
    think = settings["agent"]["think"]
    assert think["provider"] == {"type": "open_ai", "model": "gpt-4o-mini"}
    assert think["prompt"] == "You book appointments." and think["functions"][0]["name"] == "book"
    assert settings["agent"]["language"] == "en"
    assert settings["agent"]["speak"]["provider"]["model"] == "aura-2-thalia-en"
    # the caller's mu-law reached the agent as binary messages, byte for byte
    assert all(chunk == CALLER for chunk in received if isinstance(chunk, bytes))
    # the agent's mu-law reaches the caller unchanged, in order, on the stream it came from
    media = [m for m in to_caller if m["event"] == "media"]
    assert [base64.b64decode(m["media"]["payload"]) for m in media] == [*SPOKEN, SPOKEN[0]]
    assert {m["streamSid"] for m in to_caller} == {"MZ1"}
    # the agent's tool ran with its arguments; the one it lacks was refused, and both answers went back
    assert tools.calls == [("book", {"day": "monday"})]
    responses = [m for m in received if isinstance(m, dict) and m["type"] == "FunctionCallResponse"]
    assert responses[0] == {
        "type": "FunctionCallResponse",
        "id": "fc_1",
        "name": "book",
        "content": '{"booked": true}',
    }
    assert (
        responses[1]["id"] == "fc_2"
        and "there is no tool named 'read_other_accounts'" in responses[1]["content"]
    )
    # the words of both sides went to the records, the exchange ended with the agent's audio
    assert records.said == [("caller", "Monday please"), ("agent", "Booked."), ("", "turn done")]
    # barge-in: the caller's playout is cleared when the caller starts speaking
    assert to_caller[-1] == {"event": "clear", "streamSid": "MZ1"}
