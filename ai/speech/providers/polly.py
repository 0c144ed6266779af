"""Amazon Polly, ConversationRelay's `Amazon` ttsProvider: SynthesizeSpeech over REST.

The protocol (https://docs.aws.amazon.com/polly/latest/dg/API_SynthesizeSpeech.html): POST
/v1/speech on polly.{region}.amazonaws.com, signed with AWS Signature Version 4 (service `polly`),
JSON {`Engine`, `OutputFormat`: pcm, `SampleRate`: "8000", `Text`, `VoiceId`}; the answer's body is
the audio as it is made, pcm being 16-bit signed little-endian mono, here at 8 kHz already. A
refusal is JSON with a `message` (and the `x-amzn-ErrorType` header).

Voices as ConversationRelay and `<Say>` name them: "Joanna-Neural", "Polly.Matthew-Generative" (the
ID, then the engine; no engine is `neural`); none is the default voice.
"""

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime

from ai.speech.base import SAMPLE_RATE
from ai.speech.providers.aws_sigv4 import signed_headers
from ai.speech.providers.http_pcm import stream_pcm

ENGINES = ("standard", "neural", "long-form", "generative")


def voice_and_engine(voice: str, default_voice: str) -> tuple[str, str]:
    name = voice.strip().removeprefix("Polly.")
    voice_id, _, engine = name.partition("-")
    return voice_id or default_voice, engine.lower() if engine.lower() in ENGINES else "neural"


def _message(answer: dict) -> str:
    return answer.get("message") or answer["Message"]


class PollyTextToSpeech:
    name = "amazon"

    def __init__(
        self, *, access_key: str, secret_key: str, region: str, url: str, default_voice: str
    ) -> None:
        """`url` is the endpoint's base (https://polly.{region}.amazonaws.com); blank: the region's."""
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        self.url = (url or f"https://polly.{region}.amazonaws.com").rstrip("/") + "/v1/speech"
        self.default_voice = default_voice

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        """`language` is not sent: a Polly voice speaks its own language."""
        if not text.strip():
            return
        voice_id, engine = voice_and_engine(voice, self.default_voice)
        body = json.dumps(
            {
                "Engine": engine,
                "OutputFormat": "pcm",
                "SampleRate": str(SAMPLE_RATE),
                "Text": text,
                "VoiceId": voice_id,
            }
        ).encode()
        headers = signed_headers(
            method="POST",
            url=self.url,
            headers={"content-type": "application/json"},
            body=body,
            region=self.region,
            service="polly",
            access_key=self.access_key,
            secret_key=self.secret_key,
            at=datetime.now(UTC),
        )
        async with aclosing(
            stream_pcm(
                vendor="Amazon Polly",
                url=self.url,
                body=body,
                headers=headers,
                rate=SAMPLE_RATE,
                error_message=_message,
            )
        ) as stream:
            async for chunk in stream:
                yield chunk
