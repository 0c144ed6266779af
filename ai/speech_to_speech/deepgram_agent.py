"""Deepgram Voice Agent as an agent's voice: one call's Media Streams session bridged to a Voice Agent
session (`wss://agent.deepgram.com/v1/agent/converse`), which listens, thinks and speaks itself.

The `Settings` message, sent as the stream starts, asks for G.711 mu-law at 8 kHz both ways
(`audio.input.encoding` "mulaw", `audio.output` "mulaw" with no container), so the caller's audio
goes to the agent as binary messages and the agent's comes back so, bytes unchanged, with no
resampling. The agent takes the turns; when it reports `UserStartedSpeaking` the bridge clears what
the caller has not yet heard (Media Streams `clear`), as the protocol asks of a client. The words of
both sides come as `ConversationText` (role "user" or "assistant"), and `AgentAudioDone` ends an
exchange. A `FunctionCallRequest` for a client-side function runs only if it is one of the agent's
tools with arguments valid against its schema (`guard.tool_call_arguments`); its result, or the
refusal, goes back as a `FunctionCallResponse`, and the agent answers on.

Protocol: https://developers.deepgram.com/docs/configure-voice-agent (Settings),
https://developers.deepgram.com/docs/voice-agent-media-inputs-outputs (encodings),
https://developers.deepgram.com/docs/voice-agent-function-call-request and
https://developers.deepgram.com/docs/voice-agent-function-call-response; the key goes as
`Authorization: Token <key>` (https://developers.deepgram.com/reference/voice-agent/voice-agent).
The socket is opened by the caller of this module, through the destination policy.
"""

import base64
import logging
from typing import Any

from ai.brains.base import ToolCall
from ai.speech_to_speech.base import Bridge, RealtimeAgent, Role, websocket_url

logger = logging.getLogger(__name__)

LISTEN_MODEL = "nova-3"
SPEAK_MODEL = "aura-2-thalia-en"
MULAW_8K = {"encoding": "mulaw", "sample_rate": 8000}
ROLES: dict[str, Role] = {"user": "caller", "assistant": "agent"}


def think_provider(model: str) -> dict[str, str]:
    """`provider/model` names the LLM the agent thinks with (`anthropic/claude-3-5-haiku-latest`); a
    bare model name is OpenAI's."""
    provider, _, name = model.rpartition("/")
    return {"type": provider or "open_ai", "model": name}


def settings(agent: RealtimeAgent) -> dict[str, Any]:
    return {
        "type": "Settings",
        "audio": {"input": MULAW_8K, "output": {**MULAW_8K, "container": "none"}},
        "agent": {
            "language": agent.language.split("-")[0],
            "listen": {"provider": {"type": "deepgram", "model": LISTEN_MODEL}},
            "think": {
                "provider": think_provider(agent.model),
                "prompt": agent.instructions,
                "functions": [
                    {"name": t.name, "description": t.description, "parameters": t.parameters}
                    for t in agent.tools
                ],
            },
            "speak": {"provider": {"type": "deepgram", "model": agent.voice or SPEAK_MODEL}},
        },
    }


class DeepgramAgentBridge(Bridge):
    """One call on a Deepgram Voice Agent session."""

    name = "deepgram agent"

    @staticmethod
    def url(endpoint: str, model: str) -> str:
        """The agent's endpoint (`https://agent.deepgram.com/v1/agent/converse`) as a websocket URL;
        the model is named in the Settings."""
        return websocket_url(endpoint)

    @staticmethod
    def headers(api_key: str) -> dict[str, str]:
        return {"Authorization": f"Token {api_key}"}

    async def _open(self) -> None:
        await self._to_model(settings(self.agent))

    async def _caller_audio(self, payload: str) -> None:
        try:
            audio = base64.b64decode(payload, validate=True)
        except ValueError:
            return
        await self.provider.send(audio)

    async def _binary(self, raw: bytes) -> None:
        """The agent's speech: mu-law 8 kHz, as the settings asked."""
        await self._play(base64.b64encode(raw).decode())

    async def _event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "UserStartedSpeaking":
            await self._clear()
        elif kind == "ConversationText" and event.get("role") in ROLES:
            await self._heard(ROLES[str(event["role"])], str(event.get("content", "")))
        elif kind == "AgentAudioDone":
            await self._turn_done()
        elif kind == "FunctionCallRequest":
            for function in event.get("functions") or []:
                if isinstance(function, dict) and function.get("client_side", True):
                    await self._function_call(function)
        elif kind in ("Error", "Warning"):
            logger.warning("deepgram agent: %s %s", kind, event.get("description") or event)

    async def _function_call(self, function: dict[str, Any]) -> None:
        call = ToolCall(
            str(function.get("id", "")), str(function.get("name", "")), str(function.get("arguments", ""))
        )
        output, ends_session = await self._call(call)
        if not ends_session:  # the call has left the agent: nothing for it to answer
            await self._to_model(
                {"type": "FunctionCallResponse", "id": call.id, "name": call.name, "content": output}
            )
