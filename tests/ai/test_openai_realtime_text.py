"""A speech-to-speech agent's model answering the portal's test console in text, against a local
websocket server speaking the Realtime protocol as documented
(https://platform.openai.com/docs/guides/realtime-conversations, client events at
https://platform.openai.com/docs/api-reference/realtime-client-events, server events at
https://platform.openai.com/docs/api-reference/realtime-server-events)."""

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from ai.brains.base import BrainError, TextDelta, ToolCall, ToolSpec, Turn
from ai.brains.openai_realtime_text import OpenAIRealtimeTextBrain
from ai.console import console_say
from ai.models import Agent
from tests.live import free_port


class Model:
    """Reads the session and the conversation up to `response.create`, then answers with `script`."""

    def __init__(self, *script: dict[str, Any]) -> None:
        self.script = list(script)
        self.received: list[list[dict[str, Any]]] = []
        self.authorization: list[str] = []

    async def __call__(self, socket: ServerConnection) -> None:
        assert socket.request is not None
        self.authorization.append(socket.request.headers["Authorization"])
        messages: list[dict[str, Any]] = []
        while not messages or messages[-1]["type"] != "response.create":
            messages.append(json.loads(await socket.recv()))
        self.received.append(messages)
        for event in self.script:
            await socket.send(json.dumps({"event_id": "event_1", **event}))


@pytest.fixture
def serving() -> Iterator[tuple[int, list[Model]]]:
    """A model server on its own thread; the test sets `models[0]` before each session."""
    port, models, ready = free_port(), [Model()], threading.Event()
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        async def handler(socket: ServerConnection) -> None:
            await models[0](socket)

        async with serve(handler, "127.0.0.1", port):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield port, models
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def _collect(brain: OpenAIRealtimeTextBrain, turns: list[Turn], tools: list[ToolSpec]) -> list[Any]:
    async def run() -> list[Any]:
        return [reply async for reply in brain.respond(turns, tools)]

    return asyncio.run(run())


def test_the_conversation_goes_as_items_and_text_and_tool_calls_come_back(
    serving: tuple[int, list[Model]],
) -> None:
    port, models = serving
    call = {"type": "function_call", "call_id": "call_2", "name": "send_text", "arguments": '{"body": "Hi"}'}
    models[0] = Model(
        {"type": "response.output_text.delta", "delta": "Sending "},
        {"type": "response.output_text.delta", "delta": "it."},
        {"type": "response.output_item.done", "item": call},
        {"type": "response.done", "response": {"status": "completed"}},
    )
    brain = OpenAIRealtimeTextBrain(
        url=f"ws://127.0.0.1:{port}/v1/realtime?model=m", api_key="sk-t", model="m"
    )
    earlier = ToolCall("call_1", "lookup_history", "{}")
    turns = [
        Turn("system", "You are the desk."),
        Turn("user", "Who am I?"),
        Turn("assistant", "", tool_calls=(earlier,)),
        Turn("tool", '{"items": []}', tool_call_id="call_1"),
        Turn("assistant", "A new caller."),
        Turn("user", "Text me."),
    ]
    send_text = ToolSpec("send_text", "Text the caller", {"type": "object"})
    replies = _collect(brain, turns, [send_text])
    assert replies == [
        TextDelta("Sending "),
        TextDelta("it."),
        ToolCall("call_2", "send_text", '{"body": "Hi"}'),
    ]

    (messages,) = models[0].received
    assert models[0].authorization == ["Bearer sk-t"]
    session = messages[0]["session"]
    assert session["output_modalities"] == ["text"] and session["instructions"] == "You are the desk."
    assert [tool["name"] for tool in session["tools"]] == ["send_text"]
    items = [m["item"] for m in messages if m["type"] == "conversation.item.create"]
    assert [(i["type"], i.get("role")) for i in items] == [
        ("message", "user"),
        ("function_call", None),
        ("function_call_output", None),
        ("message", "assistant"),
        ("message", "user"),
    ]
    assert items[2] == {"type": "function_call_output", "call_id": "call_1", "output": '{"items": []}'}


def test_an_error_or_a_lost_model_is_a_brain_error_and_the_console_talks_to_the_model(
    serving: tuple[int, list[Model]],
) -> None:
    port, models = serving
    brain = OpenAIRealtimeTextBrain(url=f"ws://127.0.0.1:{port}/v1/realtime?model=m", api_key="", model="m")
    models[0] = Model({"type": "error", "error": {"type": "invalid_request_error", "message": "bad model"}})
    with pytest.raises(BrainError, match="bad model"):
        _collect(brain, [Turn("user", "Hi")], [])
    models[0] = Model()  # answers nothing, closes
    with pytest.raises(BrainError, match="connection ended"):
        _collect(brain, [Turn("user", "Hi")], [])

    # The console of an "openai-realtime" agent talks to that model, in text.
    models[0] = Model(
        {"type": "response.output_text.delta", "delta": "Nine to five."}, {"type": "response.done"}
    )
    agent = Agent(
        account_id=uuid.uuid4(),
        friendly_name="Voice desk",
        brain=Agent.Brain.OPENAI_REALTIME,
        llm_endpoint=f"http://127.0.0.1:{port}/v1",
        llm_model="gpt-realtime",
    )
    reply = console_say(agent=agent, history=[], text="When are you open?")
    assert [(line.role, line.text) for line in reply.lines] == [
        ("caller", "When are you open?"),
        ("agent", "Nine to five."),
    ]
