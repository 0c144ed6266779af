"""The OpenAI Realtime bridge against a local websocket server speaking the Realtime protocol as
documented (https://platform.openai.com/docs/guides/realtime-conversations, client and server events
at https://platform.openai.com/docs/api-reference/realtime-client-events and
.../realtime-server-events): the caller's Media Streams audio in, the model's audio out byte for byte,
barge-in, and function calls run or refused."""

import asyncio
import base64
import json
from typing import Any

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from ai.speech_to_speech.openai_realtime import RealtimeAgent, RealtimeBridge, headers, realtime_url
from tests.ai.model_doubles import BOOK, Tools

SPOKEN = [bytes([0x7F - i, 0xFF, 0x00, i]) * 40 for i in range(3)]  # mu-law, as the model sends it


def event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "event_id": "event_1", **fields})


async def model(socket: ServerConnection, received: list[dict[str, Any]]) -> None:
    """The Realtime side: answers after five chunks of the caller's audio, calls `book` and then a tool
    the agent lacks, and hears the caller speak over its second answer."""

    async def expect(kind: str) -> dict[str, Any]:
        while True:
            message = json.loads(await socket.recv())
            received.append(message)
            if message["type"] == kind:
                return message

    await expect("session.update")
    await socket.send(event("session.updated", session={}))
    for _ in range(5):
        await expect("input_audio_buffer.append")
    await socket.send(event("input_audio_buffer.speech_stopped", audio_end_ms=100, item_id="item_caller"))
    for chunk in SPOKEN:
        payload = base64.b64encode(chunk).decode()
        await socket.send(
            event("response.output_audio.delta", response_id="r1", item_id="item_a1", delta=payload)
        )
    for call_id, name in (("call_1", "book"), ("call_2", "read_other_accounts")):
        item = {"type": "function_call", "call_id": call_id, "name": name, "arguments": '{"day": "monday"}'}
        await socket.send(event("response.output_item.done", response_id="r1", output_index=0, item=item))
        await expect("response.create")
    await socket.send(
        event("response.output_audio.delta", item_id="item_a2", delta=base64.b64encode(SPOKEN[0]).decode())
    )
    await expect("input_audio_buffer.append")  # the caller's audio goes on as the answer plays
    await expect("input_audio_buffer.append")
    await socket.send(event("input_audio_buffer.speech_started", audio_start_ms=200, item_id="item_caller2"))
    await expect("conversation.item.truncate")


def test_a_call_bridged_to_a_realtime_session() -> None:
    received: list[dict[str, Any]] = []
    to_caller: list[dict[str, Any]] = []
    tools = Tools()
    authorization: list[str] = []

    async def scenario() -> None:
        async def handler(socket: ServerConnection) -> None:
            assert socket.request is not None
            authorization.append(socket.request.headers["Authorization"])
            await model(socket, received)

        async with serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            url = realtime_url(f"http://127.0.0.1:{port}/v1", "gpt-realtime")
            assert url == f"ws://127.0.0.1:{port}/v1/realtime?model=gpt-realtime"
            async with connect(url, additional_headers=headers("sk-test")) as provider:

                async def send_to_caller(message: dict[str, Any]) -> None:
                    to_caller.append(message)

                agent = RealtimeAgent(instructions="You book appointments.", tools=(BOOK,))
                bridge = RealtimeBridge(provider, agent=agent, tools=tools, send_to_caller=send_to_caller)
                model_side = asyncio.create_task(bridge.run())
                await bridge.from_caller({"event": "connected", "protocol": "Call", "version": "1.0.0"})
                await bridge.from_caller(
                    {"event": "start", "streamSid": "MZ1", "start": {"streamSid": "MZ1"}}
                )
                audio = base64.b64encode(b"\xff" * 160).decode()
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
    assert authorization == ["Bearer sk-test"]
    session = received[0]["session"]
    assert (
        session["audio"]["input"]["format"] == {"type": "audio/pcmu"} == session["audio"]["output"]["format"]
    )
    assert session["instructions"] == "You book appointments." and session["tools"][0]["name"] == "book"
    # the model's mu-law reaches the caller unchanged, in order, on the stream it came from
    media = [m for m in to_caller if m["event"] == "media"]
    assert [base64.b64decode(m["media"]["payload"]) for m in media] == [*SPOKEN, SPOKEN[0]]
    assert {m["streamSid"] for m in to_caller} == {"MZ1"}
    # the agent's tool ran with its arguments; the one it lacks was refused, and both answers went back
    assert tools.calls == [("book", {"day": "monday"})]
    outputs = [m["item"] for m in received if m["type"] == "conversation.item.create"]
    assert outputs[0] == {"type": "function_call_output", "call_id": "call_1", "output": '{"booked": true}'}
    assert (
        outputs[1]["call_id"] == "call_2"
        and "there is no tool named 'read_other_accounts'" in outputs[1]["output"]
    )
    # barge-in: the caller's playout is cleared, and the model is told how much of its answer was heard
    assert to_caller[-1] == {"event": "clear", "streamSid": "MZ1"}
    truncate = received[-1]
    assert truncate["item_id"] == "item_a2" and truncate["content_index"] == 0
    assert 0 <= truncate["audio_end_ms"] <= 800
