"""The guard's faults, each against the local chat-completions server (tests/ai/chat_server.py, which
follows https://platform.openai.com/docs/api-reference/chat-streaming): an endpoint down, answering an
error, cut off, slow to its first token or stalling, and tool calls the runtime must refuse."""

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from ai.brains.base import BrainError, Reply, TextDelta, ToolCall, ToolSpec, Turn
from ai.brains.guard import Filler, Guarded, tool_call_arguments
from ai.brains.openai_chat import OpenAIChatBrain
from ai.tool_arguments import Refused
from tests.ai.chat_server import Answer, chat_server, chunk, text_events, tool_fragment
from tests.live import free_port

TURNS = [Turn("user", "What time do you open?")]
BOOK = ToolSpec(
    "book",
    "Book an appointment",
    {
        "type": "object",
        "properties": {"day": {"type": "string", "enum": ["monday", "tuesday"]}},
        "required": ["day"],
        "additionalProperties": False,
    },
)


def run(brain: Guarded, tools: Sequence[ToolSpec] = ()) -> list[tuple[float, Reply | BrainError]]:
    """Each reply (or the failure that ended them) with its time since the turn began."""

    async def go() -> list[tuple[float, Reply | BrainError]]:
        start, got = time.monotonic(), []
        try:
            async for reply in brain.respond(TURNS, tools):
                got.append((time.monotonic() - start, reply))
        except BrainError as exc:
            got.append((time.monotonic() - start, exc))
        return got

    return asyncio.run(go())


def guarded(url: str, **deadlines: float) -> Guarded:
    return Guarded(OpenAIChatBrain(base_url=url, api_key="k", model="m"), **deadlines)


def test_an_endpoint_down_is_a_brain_error_saying_so() -> None:
    ((_, failure),) = run(guarded(f"http://127.0.0.1:{free_port()}/v1"))
    assert isinstance(failure, BrainError) and str(failure) == "no answer from 127.0.0.1"


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (401, b'{"error": {"message": "Incorrect API key"}}', "HTTP 401: Incorrect API key"),
        (503, b"<html>overloaded</html>", "HTTP 503"),
    ],
)
def test_an_error_answer_is_a_brain_error_with_its_message(status: int, body: bytes, reason: str) -> None:
    with chat_server(Answer([body], status=status)) as server:
        ((_, failure),) = run(guarded(server.url))
    assert isinstance(failure, BrainError) and str(failure).endswith(reason)


def test_a_stream_cut_off_mid_reply_fails_after_what_came() -> None:
    with chat_server(Answer(text_events("We open at ")[:2])) as server:  # no finish_reason, no [DONE]
        replies = [r for _, r in run(guarded(server.url))]
    assert replies[0] == TextDelta("We open at ")
    assert isinstance(replies[1], BrainError) and "ended before the reply did" in str(replies[1])


def test_a_chunk_that_is_not_json_is_a_brain_error() -> None:
    with chat_server(Answer([chunk({"content": "Hi"}), b"data: {not json\n\n"])) as server:
        replies = [r for _, r in run(guarded(server.url))]
    assert replies[0] == TextDelta("Hi") and "not JSON" in str(replies[1])


def test_a_slow_first_token_gets_the_filler_once_then_the_reply() -> None:
    with chat_server(Answer(text_events("Nine ", "o'clock."), first_byte_delay_s=0.8)) as server:
        got = run(guarded(server.url, first_token_s=0.3, give_up_s=5))
    assert [r for _, r in got] == [Filler("One moment, please. "), TextDelta("Nine "), TextDelta("o'clock.")]
    assert 0.3 <= got[0][0] < 0.7 and got[1][0] >= 0.8


def test_no_first_token_by_the_second_deadline_is_a_brain_error() -> None:
    with chat_server(Answer(text_events("Too late."), first_byte_delay_s=3)) as server:
        got = run(guarded(server.url, first_token_s=0.2, give_up_s=0.8))
    (filler_at, filler), (failed_at, failure) = got
    assert filler == Filler("One moment, please. ") and 0.2 <= filler_at < 0.6
    assert isinstance(failure, BrainError) and "no answer within 0.8 s" in str(failure)
    assert 0.8 <= failed_at < 1.6


def test_a_stream_that_stalls_after_starting_is_a_brain_error() -> None:
    events = [chunk({"content": "We open "}), *text_events("at nine.")]
    with chat_server(Answer(events, between_s=1.2)) as server:
        replies = [r for _, r in run(guarded(server.url, first_token_s=1, stall_s=0.4))]
    assert replies[0] == TextDelta("We open ")
    assert isinstance(replies[-1], BrainError) and "stalled" in str(replies[-1])
    assert TextDelta("at nine.") not in replies


def test_a_brain_raising_anything_else_is_a_brain_error() -> None:
    class Broken:
        async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
            yield TextDelta("Hello")
            raise KeyError("choices")

    replies = [r for _, r in run(Guarded(Broken()))]
    assert replies[0] == TextDelta("Hello") and str(replies[1]) == "the brain failed: KeyError"


def tool_calls_from(*fragments: bytes) -> list[ToolCall]:
    events = [*fragments, chunk({}, "tool_calls"), b"data: [DONE]\n\n"]
    with chat_server(Answer(events)) as server:
        replies = [r for _, r in run(guarded(server.url), [BOOK])]
    assert all(isinstance(r, ToolCall) for r in replies)
    return replies  # type: ignore[return-value]


def test_malformed_and_unknown_tool_calls_are_refused_with_a_reason_the_model_reads() -> None:
    calls = tool_calls_from(
        tool_fragment(0, id="c0", name="book", arguments='{"day": "monday"}'),
        tool_fragment(1, id="c1", name="book", arguments='{"day": '),
        tool_fragment(2, id="c2", name="book", arguments='{"day": "sunday"}'),
        tool_fragment(3, id="c3", name="book", arguments='{"day": "monday", "account": "AC2"}'),
        tool_fragment(4, id="c4", name="read_other_tenant", arguments="{}"),
    )
    assert tool_call_arguments(calls[0], [BOOK]) == {"day": "monday"}
    reasons = []
    for call in calls[1:]:
        with pytest.raises(Refused) as refused:
            tool_call_arguments(call, [BOOK])
        reasons.append(refused.value.reason)
    assert reasons[0].startswith("the arguments are not valid JSON")
    assert reasons[1] == "day: 'sunday' is not one of ['monday', 'tuesday']"
    assert "Additional properties are not allowed ('account' was unexpected)" in reasons[2]
    assert reasons[3] == "there is no tool named 'read_other_tenant'; the tools are: book"


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        ([b"data: " + b"x" * 70_000], "a line over 65536 characters"),
        ([b"data:\n" * 70_000], "an event over 65536 characters"),
        ([chunk({"content": "y" * 60_000})] * 20, "the reply is over 1048576 characters"),
    ],
)
def test_an_endless_answer_is_cut_off(events: list[bytes], reason: str) -> None:
    with chat_server(Answer(events)) as server:
        replies = [r for _, r in run(guarded(server.url))]
    assert isinstance(replies[-1], BrainError) and reason in str(replies[-1])


def test_a_reply_cut_short_by_the_runtime_closes_the_brains_stream() -> None:
    """The runtime cancels a reply (an interrupt, its own turn deadline): the brain's stream is closed
    then, not left reading a model nobody listens to."""
    closed: list[bool] = []

    class Endless:
        async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
            try:
                while True:
                    yield TextDelta("la ")
                    await asyncio.sleep(0.05)
            finally:
                closed.append(True)

    async def go() -> None:
        async def consume() -> None:
            async for _ in Guarded(Endless()).respond(TURNS, ()):
                pass

        with pytest.raises(TimeoutError):
            await asyncio.wait_for(consume(), 0.2)
        assert closed == [True]  # now, not when the event loop shuts its generators down

    asyncio.run(go())
