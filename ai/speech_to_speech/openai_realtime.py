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

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed

from ai.brains.base import ToolCall, ToolSpec
from ai.brains.guard import tool_call_arguments
from ai.tool_arguments import Refused

logger = logging.getLogger(__name__)

AUDIO_DELTAS = ("response.output_audio.delta", "response.audio.delta")  # GA, beta
PCMU = {"type": "audio/pcmu"}


class ProviderSocket(Protocol):
    """The open websocket to the Realtime endpoint (a `websockets` client connection)."""

    async def send(self, message: str) -> None: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...


class ToolOutcome(Protocol):
    @property
    def content(self) -> str: ...  # JSON text for the model

    @property
    def ends_session(self) -> bool: ...  # the call leaves the model: it is not asked to answer on


class ToolRunner(Protocol):
    """Runs the agent's tools under the call's tenant (the runtime's ToolRunner)."""

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...


SendToCaller = Callable[[dict[str, Any]], Awaitable[None]]
Observe = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class RealtimeAgent:
    instructions: str
    model: str = "gpt-realtime"
    voice: str = "alloy"
    tools: tuple[ToolSpec, ...] = ()
    transcription_model: str = "whisper-1"  # the caller's words as text, for the records


def realtime_url(base_url: str, model: str) -> str:
    """The websocket URL for `model` under an OpenAI-style base URL (`https://api.openai.com/v1`)."""
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path + "/realtime", f"model={quote(model)}", ""))


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
                "output": {"format": PCMU, "voice": agent.voice},
            },
            "tools": realtime_tools(agent.tools),
            "tool_choice": "auto",
        },
    }


class RealtimeBridge:
    """One call: `from_caller` takes each Media Streams message the platform sends the app, `run`
    reads the model's events until its socket closes (the call's cue to go on with its TwiML).
    `observe` gets every event the bridge does not act on itself (transcripts, `response.done`)."""

    def __init__(
        self,
        provider: ProviderSocket,
        *,
        agent: RealtimeAgent,
        tools: ToolRunner,
        send_to_caller: SendToCaller,
        observe: Observe | None = None,
    ) -> None:
        self.provider = provider
        self.agent = agent
        self.tools = tools
        self.send_to_caller = send_to_caller
        self.observe = observe
        self.stream_sid = ""
        self.media_ms = 0  # the stream's clock: the latest media timestamp from the caller
        self.answer: tuple[str, int] | None = None  # the answer being spoken: item id, media_ms at its start
        self.is_closed = False

    async def _to_model(self, event: dict[str, Any]) -> None:
        await self.provider.send(json.dumps(event))

    async def from_caller(self, message: dict[str, Any]) -> None:
        """A Media Streams message; once the model's socket has closed, nothing more goes to it."""
        try:
            await self._from_caller(message)
        except ConnectionClosed:
            self.is_closed = True

    async def _from_caller(self, message: dict[str, Any]) -> None:
        if self.is_closed:
            return
        event = message.get("event")
        if event == "start":
            self.stream_sid = str(message.get("streamSid") or message.get("start", {}).get("streamSid", ""))
            await self._to_model(session_update(self.agent))
        elif event == "media":
            media = message.get("media") or {}
            self.media_ms = int(media.get("timestamp") or self.media_ms)
            await self._to_model({"type": "input_audio_buffer.append", "audio": media.get("payload", "")})

    async def run(self) -> None:
        try:
            await self._events()
        except ConnectionClosed:
            pass
        finally:
            self.is_closed = True

    async def _events(self) -> None:
        async for raw in self.provider:
            try:
                event = json.loads(raw)
            except ValueError:
                event = None
            if not isinstance(event, dict):
                logger.warning("realtime: a message that is not a JSON object")
                continue
            kind = event.get("type")
            if kind in AUDIO_DELTAS:
                await self._speak(event)
            elif kind == "input_audio_buffer.speech_started":
                await self._barge_in()
            elif (
                kind == "response.output_item.done"
                and (event.get("item") or {}).get("type") == "function_call"
            ):
                await self._call(event["item"])
            elif kind == "error":
                logger.warning("realtime: the model reported %s", event.get("error"))
            elif self.observe is not None:
                await self.observe(event)

    async def _speak(self, event: dict[str, Any]) -> None:
        item_id = str(event.get("item_id", ""))
        if self.answer is None or self.answer[0] != item_id:
            self.answer = (item_id, self.media_ms)
        payload = str(event.get("delta", ""))
        try:
            base64.b64decode(payload, validate=True)  # mu-law as it is: checked, never re-encoded
        except ValueError:
            logger.warning("realtime: an audio delta that is not base64")
            return
        await self.send_to_caller(
            {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
        )

    async def _barge_in(self) -> None:
        if self.answer is None:
            return
        item_id, started_ms = self.answer
        self.answer = None
        await self.send_to_caller({"event": "clear", "streamSid": self.stream_sid})
        heard_ms = max(0, self.media_ms - started_ms)
        await self._to_model(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": 0,
                "audio_end_ms": heard_ms,
            }
        )

    async def _call(self, item: dict[str, Any]) -> None:
        call = ToolCall(
            str(item.get("call_id", "")), str(item.get("name", "")), str(item.get("arguments", ""))
        )
        ends_session = False
        try:
            outcome = await self.tools.run(call.name, tool_call_arguments(call, self.agent.tools))
            output, ends_session = outcome.content, outcome.ends_session
        except Refused as refused:
            output = json.dumps({"error": refused.reason})
        await self._to_model(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call.id, "output": output},
            }
        )
        if not ends_session:
            await self._to_model({"type": "response.create"})
