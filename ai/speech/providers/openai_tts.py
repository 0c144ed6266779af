"""OpenAI's text-to-speech: POST /v1/audio/speech with `response_format` pcm, read as it streams.

The protocol (https://platform.openai.com/docs/api-reference/audio/createSpeech): a JSON body with
`model`, `input` (at most 4096 characters), `voice` and `response_format`; `Authorization: Bearer
<key>`; the answer's body is the audio, sent chunked as it is made. `pcm` is raw 16-bit signed
little-endian mono at 24 kHz. An error is JSON `{"error": {"message": ...}}` with a 4xx or 5xx status.
"""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing

from ai.speech.providers.http_pcm import error_object_message, stream_pcm

PCM_RATE = 24000
MAX_INPUT_CHARACTERS = 4096
# OpenAI's built-in voices; a call's voice naming one picks it, any other name gets the default.
VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)


class OpenAITextToSpeech:
    name = "openai"

    def __init__(self, *, api_key: str, url: str, model: str, default_voice: str) -> None:
        self.api_key, self.url, self.model, self.default_voice = api_key, url, model, default_voice

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        """`language` is not sent: OpenAI's voices speak the language of the text."""
        if not text.strip():
            return
        body = {
            "model": self.model,
            "input": text[:MAX_INPUT_CHARACTERS],
            "voice": voice.lower() if voice.lower() in VOICES else self.default_voice,
            "response_format": "pcm",
        }
        async with aclosing(
            stream_pcm(
                vendor="OpenAI speech",
                url=self.url,
                body=json.dumps(body).encode(),
                headers={"Authorization": f"Bearer {self.api_key}"},
                rate=PCM_RATE,
                error_message=error_object_message,
            )
        ) as stream:  # closed at once when the listener stops (barge-in), not when collected
            async for chunk in stream:
                yield chunk
