"""OpenAI Realtime as an agent's voice: one call's Media Streams session bridged to a Realtime session.

The caller's audio goes to the model as it arrives (`input_audio_buffer.append`) and the model's
audio comes back as it is made (`response.output_audio.delta`, `response.audio.delta` in the beta
protocol); both sides are G.711 mu-law at 8 kHz (Realtime's `audio/pcmu`), so the bytes pass through
unchanged, with no resampling. The model's own voice activity detection takes the turns; when it
hears the caller start speaking over an answer (`input_audio_buffer.speech_started`) the bridge
clears what the caller has not yet heard (Media Streams `clear`) and tells the model how much of the
answer was heard (`conversation.item.truncate`, by the stream's media clock), so its transcript
matches the call. A function call (`response.output_item.done` of type `function_call`) runs only if
it is one of the agent's tools with arguments valid against its schema (`guard.tool_call_arguments`);
its result, or the refusal, goes back as a `function_call_output` and the model answers on.

Protocol: https://platform.openai.com/docs/guides/realtime-conversations,
https://platform.openai.com/docs/api-reference/realtime-client-events and
https://platform.openai.com/docs/api-reference/realtime-server-events; the socket is opened by the
caller of this module (`realtime_url` and `headers`), through the destination policy as every
websocket to a tenant-chosen host.
"""

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from ai.brains.base import ToolCall, ToolSpec
from ai.speech_to_speech.base import Bridge, RealtimeAgent, websocket_url

logger = logging.getLogger(__name__)

AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")  # GA, beta
CALLER_TRANSCRIPT = "conversation.item.input_audio_transcription.completed"
AGENT_TRANSCRIPTS = ("response.output_audio_transcript.done", "response.audio_transcript.done")  # GA, beta
PCMU = {"type": "audio/pcmu"}
DEFAULT_VOICE = "alloy"


def realtime_url(base_url: str, model: str) -> str:
    """The websocket URL for `model` under an OpenAI-style base URL (`https://api.openai.com/v1`)."""
    return websocket_url(base_url, path="/realtime", query=f"model={quote(model)}")


def headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def realtime_tools(specs: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    """The agent's tools as a Realtime session declares functions."""
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters}
        for t in specs
    ]


def session_update(agent: RealtimeAgent) -> dict[str, Any]:
    return {
        "type": "session.update",
        "session": {
            "type": "realtime",
            "model": agent.model,
            "instructions": agent.instructions,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": PCMU,
                    "turn_detection": {"type": "server_vad"},
                    "transcription": {"model": agent.transcription_model},
                },
                "output": {"format": PCMU, "voice": agent.voice or DEFAULT_VOICE},
            },
            "tools": realtime_tools(agent.tools),
            "tool_choice": "auto",
        },
    }


class RealtimeBridge(Bridge):
    """One call on an OpenAI Realtime session."""

    name = "realtime"

    @staticmethod
    def url(endpoint: str, model: str) -> str:
        return realtime_url(endpoint, model)

    @staticmethod
    def headers(api_key: str) -> dict[str, str]:
        return headers(api_key)

    answer: tuple[str, int] | None = None  # the answer being spoken: item id, media_ms at its start

    async def _open(self) -> None:
        await self._to_model(session_update(self.agent))

    async def _caller_audio(self, payload: str) -> None:
        await self._to_model({"type": "input_audio_buffer.append", "audio": payload})

    async def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind in AUDIO_DELTAS:
            await self._speak(event)
        elif kind == "input_audio_buffer.speech_started":
            await self._barge_in()
        elif kind == "response.output_item.done" and (event.get("item") or {}).get("type") == "function_call":
            await self._function_call(event["item"])
        elif kind == CALLER_TRANSCRIPT:
            await self._heard("caller", str(event.get("transcript", "")))
        elif kind in AGENT_TRANSCRIPTS:
            await self._heard("agent", str(event.get("transcript", "")))
        elif kind == "response.done":
            await self._turn_done()
        elif kind == "error":
            logger.warning("realtime: the model reported %s", event.get("error"))

    async def _speak(self, event: dict[str, Any]) -> None:
        item_id = str(event.get("item_id", ""))
        if self.answer is None or self.answer[0] != item_id:
            self.answer = (item_id, self.media_ms)
        await self._play(str(event.get("delta", "")))

    async def _barge_in(self) -> None:
        """The caller's playout cleared, and the model told how much of its answer was heard (by the
        stream's media clock), so its transcript matches the call."""
        if self.answer is None:
            return
        item_id, started_ms = self.answer
        self.answer = None
        await self._clear()
        heard_ms = max(0, self.media_ms - started_ms)
        await self._to_model(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": heard_ms,
            }
        )

    async def _function_call(self, item: dict[str, Any]) -> None:
        call = ToolCall(
            str(item.get("call_id", "")), str(item.get("name", "")), str(item.get("arguments", ""))
        )
        output, ends_session = await self._call(call)
        await self._to_model(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call.id, "output": output},
            }
        )
        if not ends_session:
            await self._to_model({"type": "response.create"})
