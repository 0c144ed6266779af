"""The built-in agents' ConversationRelay endpoint (`/ws/agents/<sid>`): the relay connects here as
it would to any customer's app (a speech-to-speech agent's Media Streams endpoint, `/ws/agents/<sid>/
stream`, works the same way). The socket is accepted, its first message must be a `setup` the
upgrade's signature proves (ai/sessions.py), and then each message goes to the session's runtime."""

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from ai.runtime import AgentSession, TurnRecord
from ai.services import agent_session_audit
from ai.sessions import SessionStart, session_start, session_turn_log
from ai.stream_agent import StreamAgent
from ai.tools import CallTools

logger = logging.getLogger(__name__)

REFUSED = 4403
SETUP_SECONDS = 10.0  # a socket that has not proved itself by then is closed


def signed_urls(scope: dict[str, Any], *, path: str = "") -> list[str]:
    """What the platform may have signed for the agent's socket: the configured agents URL (with
    `path` after the SID), or this request's own."""
    sid = scope["url_route"]["kwargs"]["sid"]
    query = scope.get("query_string", b"").decode("latin-1")
    suffix = f"?{query}" if query else ""
    headers = dict(scope.get("headers", []))
    host = headers.get(b"host", b"").decode("latin-1")
    scheme = "wss" if scope.get("scheme") == "wss" else "ws"
    return [f"{settings.AGENTS_WS_URL}{sid}{path}{suffix}", f"{scheme}://{host}{scope['path']}{suffix}"]


class SignedAgentSocket(AsyncWebsocketConsumer):
    """A socket one of the platform's processes opens to an agent: accepted, then closed with 4403
    unless its first message is proved by the upgrade's signature within SETUP_SECONDS."""

    channel_layer_alias = None  # talks only to its peer: no channel layer

    @property
    def is_proved(self) -> bool:
        raise NotImplementedError

    async def connect(self) -> None:
        headers = dict(self.scope.get("headers", []))
        self.signature = headers.get(b"x-twilio-signature", b"").decode("latin-1")
        await self.accept()
        self.deadline = asyncio.get_running_loop().call_later(
            SETUP_SECONDS, lambda: asyncio.ensure_future(self._refuse("nothing proved in time"))
        )

    async def _refuse(self, why: str) -> None:
        if not self.is_proved:
            logger.warning("agent socket %s refused: %s", self.scope["path"], why)
            await self.close(code=REFUSED)

    async def _send(self, message: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(message))


class AgentRelayConsumer(SignedAgentSocket):
    start: SessionStart | None = None
    session: AgentSession | None = None

    @property
    def is_proved(self) -> bool:
        return self.session is not None

    def _urls(self) -> list[str]:
        return signed_urls(self.scope)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._send({"type": "error", "description": "messages must be JSON objects"})
            return
        if self.session is not None:
            await self.session.handle(message)
            return
        if message.get("type") != "setup":
            await self._refuse("first message not setup")
            return
        self.start = await sync_to_async(session_start)(
            agent_sid=self.scope["url_route"]["kwargs"]["sid"],
            setup=message,
            urls=self._urls(),
            signature=self.signature,
        )
        if self.start is None:
            await self._refuse("setup not proved by the signature, or agent or call not the account's")
            return
        self.deadline.cancel()
        self.session = AgentSession(
            profile=self.start.profile,
            brain=self.start.brain,
            tool_specs=self.start.tool_specs,
            tools=CallTools(self.start.context),
            send=self._send,
            record=self._record,
            redact=self.start.redact,
        )
        self.session.listen(self.start.profile.greeting)  # the relay speaks the greeting first

    async def _record(self, turn: TurnRecord) -> None:
        assert self.start is not None
        await sync_to_async(session_turn_log)(self.start, turn)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "deadline"):
            self.deadline.cancel()
        if self.session is None or self.start is None:
            return
        await self.session.wait_or_cancel()
        await sync_to_async(agent_session_audit)(
            account_id=self.start.context.account_id,
            agent_sid=self.start.profile.agent_sid,
            call_sid=self.start.context.call_sid,
            transcript=self.session.transcript,
            handoff=self.session.handoff,
        )


class AgentStreamConsumer(SignedAgentSocket):
    """A speech-to-speech agent's Media Streams endpoint (`/ws/agents/<sid>/stream`): the media bridge
    connects here as to any customer's app, signing its upgrade. `start` names the account and call;
    the signature must prove them before the agent is read, then ai/stream_agent.py runs the session."""

    agent: StreamAgent | None = None

    @property
    def is_proved(self) -> bool:
        return self.agent is not None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return  # as Twilio's own messages never are: nothing to answer
        if self.agent is not None:
            await self.agent.from_caller(message)
            return
        if message.get("event") == "connected":
            return
        if message.get("event") != "start":
            await self._refuse("no start before media")
            return
        start = await sync_to_async(session_start)(
            agent_sid=self.scope["url_route"]["kwargs"]["sid"],
            setup=message.get("start") or {},
            urls=signed_urls(self.scope, path="/stream"),
            signature=self.signature,
        )
        if start is None or start.realtime is None:
            await self._refuse("start not proved by the signature, or not a speech-to-speech agent's call")
            return
        self.deadline.cancel()
        self.agent = StreamAgent(start, send=self._send, close_stream=self.close, record=self._record)
        await self.agent.begin(message)

    async def _record(self, turn: TurnRecord) -> None:
        assert self.agent is not None
        await sync_to_async(session_turn_log)(self.agent.start, turn)

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "deadline"):
            self.deadline.cancel()
        if self.agent is None:
            return
        await self.agent.close()
        start = self.agent.start
        await sync_to_async(agent_session_audit)(
            account_id=start.context.account_id,
            agent_sid=start.profile.agent_sid,
            call_sid=start.context.call_sid,
            transcript=self.agent.transcript,
            handoff=self.agent.handoff,
        )
