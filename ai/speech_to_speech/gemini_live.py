"""Gemini Live as an agent's voice: one call's Media Streams session bridged to a Live API session
(`BidiGenerateContent` over a websocket).

Gemini hears 16-bit PCM at 16 kHz and speaks it at 24 kHz, so the caller's mu-law 8 kHz is decoded
and resampled up (`realtimeInput.audio`, `audio/pcm;rate=16000`) and the model's audio
(`serverContent.modelTurn` parts' `inlineData`) resampled down and encoded to mu-law, each way
through one streaming soxr resampler (ai/speech/audio.py) so the seams between pieces do not click:
the quick one going up (nothing to fold, and each 20 ms frame goes on at once), the band-limited one
going down (the end it holds back is let out when the model's turn is complete).
The first message is `setup` (model, instructions, voice, tools, both transcriptions); audio waits
for `setupComplete`, as the protocol asks. The model's own voice activity detection takes the
turns: `serverContent.interrupted` (the caller spoke over it) clears what the caller has not yet
heard (Media Streams `clear`). Transcripts come in pieces (`inputTranscription`,
`outputTranscription`) and go to the records whole, the caller's once the model answers, the
model's when its turn is complete or cut off. A `toolCall`'s function calls run only if they are the
agent's tools with arguments valid against their schema (`guard.tool_call_arguments`); the results,
or refusals, go back as one `toolResponse` and the model answers on.

Protocol: https://ai.google.dev/gemini-api/docs/live-api/get-started-websocket (endpoint, setup,
messages), https://ai.google.dev/api/live (BidiGenerateContent client and server messages) and
https://ai.google.dev/gemini-api/docs/live-tools (function calling). The key goes in the
`x-goog-api-key` header rather than the URL's `key=` query the guide shows, so it is in no URL that
might be logged. The socket is opened by the caller of this module, through the destination policy.
"""

import base64
import json
import logging
from typing import Any

from ai.brains.base import ToolCall
from ai.speech.audio import StreamResampler
from ai.speech_to_speech.base import (
    Bridge,
    Listener,
    ProviderSocket,
    RealtimeAgent,
    Role,
    SendToCaller,
    ToolRunner,
    websocket_url,
)
from streams.bridge.codec import slin_to_ulaw, ulaw_to_slin

logger = logging.getLogger(__name__)

LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
DEFAULT_VOICE = "Puck"
CALLER_RATE, MODEL_IN_RATE, MODEL_OUT_RATE = 8000, 16000, 24000
MODEL_IN_MIME = f"audio/pcm;rate={MODEL_IN_RATE}"


def setup(agent: RealtimeAgent) -> dict[str, Any]:
    session: dict[str, Any] = {
        "model": agent.model if agent.model.startswith("models/") else f"models/{agent.model}",
        "generationConfig": {
            "responseModalities": ["AUDIO"],
            "speechConfig": {
                "voiceConfig": {"prebuiltVoiceConfig": {"voiceName": agent.voice or DEFAULT_VOICE}},
                "languageCode": agent.language,
            },
        },
        "systemInstruction": {"parts": [{"text": agent.instructions}]},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    if agent.tools:
        declarations = [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in agent.tools
        ]
        session["tools"] = [{"functionDeclarations": declarations}]
    return {"setup": session}


class GeminiLiveBridge(Bridge):
    """One call on a Gemini Live session."""

    name = "gemini live"

    @staticmethod
    def url(endpoint: str, model: str) -> str:
        """The Live API's socket under the Gemini API's base URL (`https://generativelanguage.googleapis.com`);
        the model is named in the setup."""
        return websocket_url(endpoint, path=LIVE_PATH)

    @staticmethod
    def headers(api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}

    def __init__(
        self,
        provider: ProviderSocket,
        *,
        agent: RealtimeAgent,
        tools: ToolRunner,
        send_to_caller: SendToCaller,
        listener: Listener | None = None,
    ) -> None:
        super().__init__(provider, agent=agent, tools=tools, send_to_caller=send_to_caller, listener=listener)
        self.is_set_up = False
        # up in rate nothing folds, so the quick filter: a frame out for each frame in, where the
        # band-limited one holds the caller back and lets 100 ms out at a time
        self._up = StreamResampler(from_rate=CALLER_RATE, to_rate=MODEL_IN_RATE, quick=True)
        self._down = self._downsampler()
        self._words: dict[Role, str] = {"caller": "", "agent": ""}  # transcripts, piece by piece

    @staticmethod
    def _downsampler() -> StreamResampler:
        return StreamResampler(from_rate=MODEL_OUT_RATE, to_rate=CALLER_RATE)

    async def _open(self) -> None:
        await self._to_model(setup(self.agent))

    async def _caller_audio(self, payload: str) -> None:
        if not self.is_set_up:  # the protocol takes nothing before setupComplete
            return
        try:
            ulaw = base64.b64decode(payload, validate=True)
        except ValueError:
            return
        pcm = self._up.feed(ulaw_to_slin(ulaw))
        if pcm:
            audio = {"data": base64.b64encode(pcm).decode(), "mimeType": MODEL_IN_MIME}
            await self._to_model({"realtimeInput": {"audio": audio}})

    async def _event(self, event: dict[str, Any]) -> None:
        if "setupComplete" in event:
            self.is_set_up = True
        elif isinstance(event.get("serverContent"), dict):
            await self._content(event["serverContent"])
        elif isinstance(event.get("toolCall"), dict):
            await self._tool_call(event["toolCall"])
        elif "goAway" in event:
            logger.warning("gemini live: the server is closing the session: %s", event["goAway"])

    async def _content(self, content: dict[str, Any]) -> None:
        if "text" in (content.get("inputTranscription") or {}):
            self._words["caller"] += str(content["inputTranscription"]["text"])
        if "text" in (content.get("outputTranscription") or {}):
            await self._say("caller")  # the model has begun its answer: the caller's turn is over
            self._words["agent"] += str(content["outputTranscription"]["text"])
        for part in (content.get("modelTurn") or {}).get("parts") or []:
            data = (part.get("inlineData") or {}).get("data") if isinstance(part, dict) else None
            if data:
                await self._speak(str(data))
        if content.get("interrupted"):
            self._down = self._downsampler()  # what the filter holds of the cut-off answer is dropped
            await self._clear()
            await self._say("agent")
        if content.get("turnComplete"):
            await self._speak_rest()
            await self._say("caller")
            await self._say("agent")
            await self._turn_done()

    async def _say(self, role: Role) -> None:
        words, self._words[role] = self._words[role], ""
        await self._heard(role, words)

    async def _speak(self, data: str) -> None:
        try:
            pcm = base64.b64decode(data, validate=True)
        except ValueError:
            logger.warning("gemini live: audio that is not base64")
            return
        await self._play_slin(self._down.feed(pcm))

    async def _speak_rest(self) -> None:
        """The end of the answer that the resampler's filter still holds."""
        slin, self._down = self._down.feed(b"", last=True), self._downsampler()
        await self._play_slin(slin)

    async def _play_slin(self, slin: bytes) -> None:
        if slin:
            await self._play(base64.b64encode(slin_to_ulaw(slin)).decode())

    async def _tool_call(self, tool_call: dict[str, Any]) -> None:
        """The words so far go to the records first: a tool that ends the session ends them too."""
        await self._say("caller")
        await self._say("agent")
        responses, ends_session = [], False
        for function in tool_call.get("functionCalls") or []:
            if not isinstance(function, dict):
                continue
            call = ToolCall(
                str(function.get("id", "")),
                str(function.get("name", "")),
                json.dumps(function.get("args") or {}),
            )
            output, ends = await self._call(call)
            ends_session = ends_session or ends
            responses.append({"id": call.id, "name": call.name, "response": _response(output)})
        if responses and not ends_session:  # the call has left the model: nothing for it to answer
            await self._to_model({"toolResponse": {"functionResponses": responses}})


def _response(output: str) -> dict[str, Any]:
    """A tool's JSON text as the object a function response carries."""
    try:
        parsed = json.loads(output)
    except ValueError:
        parsed = output
    return parsed if isinstance(parsed, dict) else {"output": parsed}
