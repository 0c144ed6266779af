"""ElevenLabs' text-to-speech, Twilio ConversationRelay's default provider: the streaming endpoint.

The protocol (https://elevenlabs.io/docs/api-reference/text-to-speech/stream): POST
/v1/text-to-speech/{voice_id}/stream?output_format=pcm_16000 with `xi-api-key: <key>` and a JSON
body {`text`, `model_id`}; the answer's body is the audio as it is made, `pcm_16000` being raw
16-bit little-endian mono at 16 kHz. A refusal is JSON `{"detail": {"status", "message"}}`.
ConversationRelay names an ElevenLabs voice by its ID, optionally followed by
`-speed_stability_similarity` (tuning we do not pass on); a call naming none gets the default voice.
"""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from urllib.parse import quote

from ai.speech.providers.http_pcm import stream_pcm

PCM_RATE = 16000


def _detail(answer: dict) -> str:
    detail = answer["detail"]
    return detail["message"] if isinstance(detail, dict) else str(detail)


class ElevenLabsTextToSpeech:
    name = "elevenlabs"

    def __init__(self, *, api_key: str, url: str, model: str, default_voice: str) -> None:
        """`url` is the API's base, https://api.elevenlabs.io."""
        self.api_key, self.url, self.model, self.default_voice = (
            api_key,
            url.rstrip("/"),
            model,
            default_voice,
        )

    def stream_url(self, voice: str) -> str:
        voice_id = voice.strip().split("-")[0] or self.default_voice
        return f"{self.url}/v1/text-to-speech/{quote(voice_id, safe='')}/stream?output_format=pcm_{PCM_RATE}"

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        """`language` is not sent: only some models take `language_code`, and the others refuse it."""
        if not text.strip():
            return
        async with aclosing(
            stream_pcm(
                vendor="ElevenLabs",
                url=self.stream_url(voice),
                body=json.dumps({"text": text, "model_id": self.model}).encode(),
                headers={"xi-api-key": self.api_key},
                rate=PCM_RATE,
                error_message=_detail,
            )
        ) as stream:  # closed at once when the listener stops (barge-in), not when collected
            async for chunk in stream:
                yield chunk
