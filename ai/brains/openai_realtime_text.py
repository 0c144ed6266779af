"""A speech-to-speech agent's model answering in text: what the portal's test console talks to, so
a person trying an "openai-realtime" agent by typing meets its own model, not another brain.

Each reply opens one Realtime session (the same URL and key as the agent's calls, through the
destination policy), asks for text only (`output_modalities: ["text"]`), gives it the conversation
so far as items (`conversation.item.create`: messages, function calls and their outputs) and one
`response.create`, then streams `response.output_text.delta` (`response.text.delta` in the beta
protocol) as text and each `function_call` item as a tool call, until `response.done`.
Protocol: https://platform.openai.com/docs/guides/realtime-conversations,
https://platform.openai.com/docs/api-reference/realtime-client-events and
https://platform.openai.com/docs/api-reference/realtime-server-events.
"""

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from websockets.exceptions import ConnectionClosed

from ai.brains.base import BrainError, Reply, TextDelta, ToolCall, ToolSpec, Turn
from ai.speech_to_speech.openai_realtime import headers, realtime_tools
from streams.bridge.app_socket import AppUnreachable, connect_app

CONNECT_TIMEOUT_S = 5.0
TEXT_DELTAS = ("response.output_text.delta", "response.text.delta")  # GA, beta


def _items(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """The conversation after its system turn (which is the session's instructions) as Realtime items."""
    items: list[dict[str, Any]] = []
    for turn in turns:
        if turn.role == "user":
            items.append(
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": turn.content}]}
            )
        elif turn.role == "assistant":
            if turn.content:
                content = [{"type": "output_text", "text": turn.content}]
                items.append({"type": "message", "role": "assistant", "content": content})
            items.extend(
                {"type": "function_call", "call_id": c.id, "name": c.name, "arguments": c.arguments}
                for c in turn.tool_calls
            )
        elif turn.role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": turn.tool_call_id, "output": turn.content}
            )
    return items


def session_update(model: str, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> dict[str, Any]:
    instructions = " ".join(turn.content for turn in turns if turn.role == "system")
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": model,
            "instructions": instructions,
            "output_modalities": ["text"],
            "tools": realtime_tools(tools),
            "tool_choice": "auto",
        },
    }


class OpenAIRealtimeTextBrain:
    def __init__(self, *, url: str, api_key: str, model: str) -> None:
        self.url = url
        self.model = model
        self._api_key = api_key

    async def respond(self, turns: Sequence[Turn], tools: Sequence[ToolSpec]) -> AsyncIterator[Reply]:
        try:
            socket = await connect_app(self.url, timeout=CONNECT_TIMEOUT_S, headers=headers(self._api_key))
        except AppUnreachable as unreachable:
            raise BrainError(f"the model could not be reached: {unreachable}") from None
        try:
            await socket.send(json.dumps(session_update(self.model, turns, tools)))
            for item in _items(turns):
                await socket.send(json.dumps({"type": "conversation.item.create", "item": item}))
            await socket.send(json.dumps({"type": "response.create"}))
            async for raw in socket:
                try:
                    event = json.loads(raw)
                except ValueError:
                    raise BrainError("the model sent a message that is not JSON") from None
                kind = event.get("type") if isinstance(event, dict) else None
                if kind in TEXT_DELTAS and event.get("delta"):
                    yield TextDelta(str(event["delta"]))
                elif (
                    kind == "response.output_item.done"
                    and (event.get("item") or {}).get("type") == "function_call"
                ):
                    item = event["item"]
                    yield ToolCall(
                        str(item.get("call_id", "")),
                        str(item.get("name", "")),
                        str(item.get("arguments", "")),
                    )
                elif kind == "error":
                    message = str((event.get("error") or {}).get("message", ""))[:300]
                    raise BrainError(f"the model reported an error: {message}")
                elif kind == "response.done":
                    return
            raise BrainError("the model's connection ended before its reply did")
        except ConnectionClosed:
            raise BrainError("the model's connection ended before its reply did") from None
        finally:
            await socket.close()
