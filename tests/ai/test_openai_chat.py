"""The OpenAI-compatible brain against a local server speaking the documented streaming protocol
(https://platform.openai.com/docs/api-reference/chat-streaming, tool calls as
https://platform.openai.com/docs/guides/function-calling streams them): tests/ai/chat_server.py."""

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import pytest

from ai.brains.base import BrainError, Reply, TextDelta, ToolCall, ToolSpec, Turn
from ai.brains.openai_chat import OpenAIChatBrain
from tests.ai.chat_server import DONE, Answer, chat_server, chunk, text_events, tool_fragment

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
TURNS = [Turn("system", "You are a clinic's receptionist."), Turn("user", "Hello")]


def collect(url: str, turns: Sequence[Turn] = TURNS, tools: Sequence[ToolSpec] = ()) -> list[Reply]:
    async def run() -> list[Reply]:
        brain = OpenAIChatBrain(base_url=url, api_key="sk-test", model="test-model")
        return [reply async for reply in brain.respond(turns, tools)]

    return asyncio.run(run())


def test_text_streams_delta_by_delta_with_the_documented_request() -> None:
    with chat_server(Answer(text_events("Good ", "morning", "!"), between_s=0.2)) as server:
        arrivals: list[tuple[float, Reply]] = []

        async def run() -> None:
            brain = OpenAIChatBrain(base_url=server.url + "/", api_key="sk-test", model="test-model")
            async for reply in brain.respond(TURNS, [WEATHER]):
                arrivals.append((time.monotonic(), reply))

        asyncio.run(run())
    assert [r for _, r in arrivals] == [TextDelta("Good "), TextDelta("morning"), TextDelta("!")]
    # each delta is passed on as it comes, not when the stream ends (0.2 s apart on the wire)
    assert arrivals[1][0] - arrivals[0][0] > 0.1
    (request,) = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["json"] == {
        "model": "test-model",
        "stream": True,
        "messages": [
            {"role": "system", "content": "You are a clinic's receptionist."},
            {"role": "user", "content": "Hello"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "The weather in a city",
                    "parameters": WEATHER.parameters,
                },
            }
        ],
    }


def test_a_tool_call_split_over_chunks_is_assembled() -> None:
    events = [
        chunk({"role": "assistant", "content": None}),
        tool_fragment(0, id="call_abc", name="get_weather"),
        tool_fragment(0, arguments='{"ci'),
        tool_fragment(0, arguments='ty": "Pa'),
        tool_fragment(0, arguments='ris"}'),
        chunk({}, "tool_calls"),
        DONE,
    ]
    with chat_server(Answer(events)) as server:
        replies = collect(server.url, tools=[WEATHER])
    assert replies == [ToolCall("call_abc", "get_weather", '{"city": "Paris"}')]


def test_two_parallel_tool_calls_interleaved_by_index() -> None:
    events = [
        chunk({"role": "assistant", "content": "Checking both. "}),
        tool_fragment(0, id="call_1", name="get_weather"),
        tool_fragment(1, id="call_2", name="get_weather"),
        tool_fragment(1, arguments='{"city": "Oslo"}'),
        tool_fragment(0, arguments='{"city": '),
        tool_fragment(0, arguments='"Lima"}'),
        chunk({}, "tool_calls"),
        DONE,
    ]
    with chat_server(Answer(events)) as server:
        replies = collect(server.url, tools=[WEATHER])
    assert replies == [
        TextDelta("Checking both. "),
        ToolCall("call_1", "get_weather", '{"city": "Lima"}'),
        ToolCall("call_2", "get_weather", '{"city": "Oslo"}'),
    ]


def test_tool_rounds_go_back_as_the_documented_messages() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Lima"}')
    turns = [*TURNS, Turn("assistant", "", tool_calls=(call,)), Turn("tool", '{"sky": "clear"}', "call_1")]
    with chat_server(Answer(text_events("Clear skies."))) as server:
        assert collect(server.url, turns, [WEATHER]) == [TextDelta("Clear skies.")]
    messages = server.requests[0]["json"]["messages"]
    assert messages[2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": call.arguments},
                }
            ],
        },
        {"role": "tool", "content": '{"sky": "clear"}', "tool_call_id": "call_1"},
    ]


def test_the_endpoint_is_reached_under_the_destination_policy(settings: Any) -> None:
    settings.EGRESS_ALLOW = []  # as in production: loopback is no tenant's
    with (
        chat_server(Answer(text_events("never"))) as server,
        pytest.raises(BrainError, match="not an allowed destination"),
    ):
        collect(server.url)
    assert server.requests == []
