"""What every speech-to-speech bridge shares: the session an agent asks for, the Media Streams side
(the caller's `start` and `media` in; the model's audio, and `clear` on barge-in, out), the reading
of the model's socket, and the agent's tools run through the guard.

A provider's module subclasses `Bridge` with its own protocol: where the model is (`url`, `headers`),
what opens the session (`_open`), how
the caller's audio goes to the model (`_caller_audio`), and what each of the model's messages means
(`_event`, `_binary`). What the model reports the caller and it said goes to a `Listener` (the
call's records), so the call's side (ai/stream_agent.py) never reads a provider's events.
"""

import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from websockets.exceptions import ConnectionClosed

from ai.brains.base import ToolCall, ToolSpec
from ai.brains.guard import tool_call_arguments
from ai.tool_arguments import Refused

logger = logging.getLogger(__name__)

Role = Literal["caller", "agent"]


class ProviderSocket(Protocol):
    """The open websocket to the model (a `websockets` client connection)."""

    async def send(self, message: str | bytes) -> None: ...

    def __aiter__(self) -> AsyncIterator[str | bytes]: ...


class ToolOutcome(Protocol):
    @property
    def content(self) -> str: ...  # JSON text for the model

    @property
    def ends_session(self) -> bool: ...  # the call leaves the model: it is not asked to answer on


class ToolRunner(Protocol):
    """Runs the agent's tools under the call's tenant (the runtime's ToolRunner)."""

    async def run(self, name: str, arguments: dict[str, Any]) -> ToolOutcome: ...


class Listener(Protocol):
    """Who keeps the call's records: each stretch of words the model reports heard or said, and the
    end of an exchange (the model has answered)."""

    async def heard(self, role: Role, text: str) -> None: ...

    async def turn_done(self) -> None: ...


SendToCaller = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class RealtimeAgent:
    """The session an agent asks of its model; each provider reads what it has a place for."""

    instructions: str
    model: str = "gpt-realtime"
    voice: str = ""  # blank: the provider's default
    tools: tuple[ToolSpec, ...] = ()
    transcription_model: str = "whisper-1"  # OpenAI's: the caller's words as text, for the records
    language: str = "en-US"


def websocket_url(url: str, *, path: str = "", query: str = "") -> str:
    """`url` (http or ws, secure or not) as a websocket URL, with `path` appended."""
    parts = urlsplit(url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit((scheme, parts.netloc, parts.path + path, query or parts.query, ""))


class Bridge:
    """One call: `from_caller` takes each Media Streams message the platform sends the app, `run`
    reads the model's messages until its socket closes (the call's cue to go on with its TwiML)."""

    name = "speech-to-speech"  # in the logs

    @staticmethod
    def url(endpoint: str, model: str) -> str:
        """The model's websocket URL under the agent's `llm_endpoint`."""
        raise NotImplementedError

    @staticmethod
    def headers(api_key: str) -> dict[str, str]:
        """The websocket upgrade's headers: the tenant's key as the provider takes it."""
        raise NotImplementedError

    def __init__(
        self,
        provider: ProviderSocket,
        *,
        agent: RealtimeAgent,
        tools: ToolRunner,
        send_to_caller: SendToCaller,
        listener: Listener | None = None,
    ) -> None:
        self.provider = provider
        self.agent = agent
        self.tools = tools
        self.send_to_caller = send_to_caller
        self.listener = listener
        self.stream_sid = ""
        self.media_ms = 0  # the stream's clock: the latest media timestamp from the caller
        self.is_closed = False

    async def from_caller(self, message: dict[str, Any]) -> None:
        """A Media Streams message; once the model's socket has closed, nothing more goes to it."""
        if self.is_closed:
            return
        try:
            event = message.get("event")
            if event == "start":
                self.stream_sid = str(
                    message.get("streamSid") or message.get("start", {}).get("streamSid", "")
                )
                await self._open()
            elif event == "media":
                media = message.get("media") or {}
                self.media_ms = int(media.get("timestamp") or self.media_ms)
                await self._caller_audio(str(media.get("payload", "")))
        except ConnectionClosed:
            self.is_closed = True

    async def run(self) -> None:
        try:
            async for raw in self.provider:
                if isinstance(raw, bytes):
                    await self._binary(raw)
                else:
                    await self._text(raw)
        except ConnectionClosed:
            pass
        finally:
            self.is_closed = True

    async def _text(self, raw: str | bytes) -> None:
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            logger.warning("%s: a message that is not a JSON object", self.name)
            return
        await self._event(event)

    # What a provider's protocol says.

    async def _open(self) -> None:
        """The stream has started: the session is asked for."""
        raise NotImplementedError

    async def _caller_audio(self, payload: str) -> None:
        """One Media Streams frame of the caller (base64 μ-law 8 kHz)."""
        raise NotImplementedError

    async def _event(self, event: dict[str, Any]) -> None:
        raise NotImplementedError

    async def _binary(self, raw: bytes) -> None:
        """A binary message: JSON unless the provider sends its audio so."""
        await self._text(raw)

    # What every provider's bridge does with it.

    async def _to_model(self, event: dict[str, Any]) -> None:
        await self.provider.send(json.dumps(event))

    async def _play(self, payload: str) -> None:
        """The model's μ-law (base64) to the caller, checked but never re-encoded."""
        try:
            base64.b64decode(payload, validate=True)
        except ValueError:
            logger.warning("%s: audio that is not base64", self.name)
            return
        await self.send_to_caller(
            {"event": "media", "streamSid": self.stream_sid, "media": {"payload": payload}}
        )

    async def _clear(self) -> None:
        """Barge-in: what the caller has not yet heard of the model is dropped."""
        await self.send_to_caller({"event": "clear", "streamSid": self.stream_sid})

    async def _heard(self, role: Role, text: str) -> None:
        if self.listener is not None and text.strip():
            await self.listener.heard(role, text.strip())

    async def _turn_done(self) -> None:
        if self.listener is not None:
            await self.listener.turn_done()

    async def _call(self, call: ToolCall) -> tuple[str, bool]:
        """Runs `call` if it is one of the agent's tools with arguments valid against its schema:
        its result, or the refusal (JSON text), and whether the call has left the model."""
        try:
            outcome = await self.tools.run(call.name, tool_call_arguments(call, self.agent.tools))
        except Refused as refused:
            return json.dumps({"error": refused.reason}), False
        return outcome.content, outcome.ends_session
