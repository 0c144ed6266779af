"""A brain on any OpenAI-compatible chat endpoint: streamed chat completions with function tools.

The endpoint, model and key are a tenant's, so the request goes through `core.egress`, the destination
policy every tenant-chosen URL is reached under. The protocol: POST `{base_url}/chat/completions` with
`stream: true`; the answer is server-sent events, each `data:` a chunk whose `choices[0].delta` carries
text (`content`) or tool-call fragments keyed by `index` (the first fragment of a call brings its `id`
and function `name`, the later ones pieces of its `arguments` text), a `finish_reason` on the last
chunk, then `data: [DONE]` (https://platform.openai.com/docs/api-reference/chat-streaming,
https://platform.openai.com/docs/guides/function-calling). Text is passed on as it arrives, so speech
can start on the first words; a tool call is whole only at the end, so calls come after the text.
"""

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from ai.brains.base import BrainError, Reply, TextDelta, ToolCall, ToolSpec, Turn
from core import egress

TIMEOUT_S = 30.0  # connect, and between two pieces of the stream; the guard keeps the turn's deadlines
MAX_EVENT_CHARS = 64 * 1024  # one server-sent event; a stream that never ends a line is cut off here
MAX_REPLY_CHARS = 1024 * 1024  # of a whole reply's events: far beyond what a caller hears in a turn
MAX_ERROR_BYTES = 4096  # of an error answer's body, read for its message


def _message(turn: Turn) -> dict[str, Any]:
    message: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.role == "tool":
        message["tool_call_id"] = turn.tool_call_id
    if turn.tool_calls:
        message["content"] = turn.content or None
        message["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in turn.tool_calls
        ]
    return message


def request_body(model: str, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [_message(t) for t in turns], "stream": True}
    if tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": t.parameters},
            }
            for t in tools
        ]
    return body


async def _lines(text: AsyncIterator[str]) -> AsyncIterator[str]:
    buffer = ""
    async for piece in text:
        *lines, buffer = (buffer + piece).split("\n")
        for line in lines:
            yield line.removesuffix("\r")
        if len(buffer) > MAX_EVENT_CHARS:
            raise BrainError(f"the endpoint sent a line over {MAX_EVENT_CHARS} characters")
    if buffer:
        yield buffer.removesuffix("\r")


async def events(text: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each server-sent event (its `data:` lines joined); comments and other fields skipped."""
    data: list[str] = []
    size = 0
    async for line in _lines(text):
        if not line:
            if data:
                yield "\n".join(data)
            data, size = [], 0
        elif line == "data" or line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
            size += len(data[-1]) + 1  # with its newline: empty data lines count too
            if size > MAX_EVENT_CHARS:
                raise BrainError(f"the endpoint sent an event over {MAX_EVENT_CHARS} characters")
    if data:  # a last event without its blank line
        yield "\n".join(data)


@dataclass
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _error_message(payload: Any) -> str:
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        return str(payload["error"].get("message", ""))[:300]
    if isinstance(payload, dict) and isinstance(payload.get("error"), str):
        return payload["error"][:300]
    return ""


async def replies(text: AsyncIterator[str]) -> AsyncIterator[Reply]:
    """Text deltas as the chunks bring them, then the tool calls, once the model has finished."""
    calls: dict[int, _PartialCall] = {}
    finished = False
    size = 0
    async for data in events(text):
        size += len(data)
        if size > MAX_REPLY_CHARS:
            raise BrainError(f"the reply is over {MAX_REPLY_CHARS} characters")
        if data.strip() == "[DONE]":
            finished = True
            break
        try:
            chunk = json.loads(data)
        except ValueError as exc:
            raise BrainError("the endpoint sent a chunk that is not JSON") from exc
        if message := _error_message(chunk):
            raise BrainError(f"the endpoint reported an error mid-stream: {message}")
        try:
            for choice in chunk.get("choices") or []:  # usage-only chunks have none
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                if content := delta.get("content"):
                    yield TextDelta(str(content))
                for fragment in delta.get("tool_calls") or []:
                    call = calls.setdefault(int(fragment.get("index", 0)), _PartialCall())
                    function = fragment.get("function") or {}
                    call.id = call.id or str(fragment.get("id") or "")
                    call.name = call.name or str(function.get("name") or "")
                    call.arguments.append(str(function.get("arguments") or ""))
                finished = finished or bool(choice.get("finish_reason"))
        except (AttributeError, TypeError, ValueError) as exc:
            raise BrainError("the endpoint sent a chunk not shaped as a chat completion chunk") from exc
    if not finished:
        raise BrainError("the stream ended before the reply did")
    for index in sorted(calls):
        call = calls[index]
        yield ToolCall(id=call.id or f"call_{index}", name=call.name, arguments="".join(call.arguments))


async def _refusal(response: httpx.Response) -> str:
    body = b""
    async for piece in response.aiter_bytes():
        body += piece
        if len(body) >= MAX_ERROR_BYTES:
            break
    try:
        message = _error_message(json.loads(body[:MAX_ERROR_BYTES]))
    except ValueError:
        message = ""
    return f"the endpoint answered HTTP {response.status_code}" + (f": {message}" if message else "")


class OpenAIChatBrain:
    """One agent's model on one endpoint. Pass `http` (an `egress.async_client`) to keep connections
    across turns; without it each reply opens and closes its own."""

    def __init__(
        self, *, base_url: str, api_key: str, model: str, http: httpx.AsyncClient | None = None
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self._api_key = api_key
        self._http = http

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._http is not None:
            yield self._http
        else:
            async with egress.async_client(timeout=TIMEOUT_S) as http:
                yield http

    async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "text/event-stream"}
        body = request_body(self.model, turns, tools)
        try:
            async with (
                self._client() as http,
                http.stream("POST", self.url, json=body, headers=headers) as response,
            ):
                if response.status_code >= 400:
                    raise BrainError(await _refusal(response))
                async for reply in replies(response.aiter_text()):
                    yield reply
        except httpx.HTTPError as exc:
            raise BrainError(egress.failure(exc, self.url)[1]) from exc
        except (httpx.InvalidURL, ValueError) as exc:  # ValueError: IDNA's, for a host no name can have
            raise BrainError(f"{self.url} is not a valid URL") from exc
