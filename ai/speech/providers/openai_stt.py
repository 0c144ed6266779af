"""OpenAI's speech-to-text, ConversationRelay-style name `OpenAI`: POST /v1/audio/transcriptions, once
a turn (ai/speech/providers/whole_turn.py: the turn's audio is sent whole when the VAD ends it).

The protocol (https://platform.openai.com/docs/api-reference/audio/createTranscription): a
multipart/form-data body with `file` (here a WAV of the turn's 8 kHz slin), `model`
(`gpt-4o-transcribe`, `gpt-4o-mini-transcribe`, `whisper-1`), `language` (ISO-639-1: `en` of
`en-US`), `prompt` (text that guides the transcript: the call's hints) and `response_format` json;
`Authorization: Bearer <key>`. The answer is JSON {`text`}; an error is JSON {`error`: {`message`}}.
"""

import functools
import io
import wave
from collections.abc import Sequence

import httpx

from ai.speech.base import SAMPLE_RATE, SAMPLE_WIDTH, SpeechError
from ai.speech.providers.http_pcm import error_object_message, post
from ai.speech.providers.whole_turn import WholeTurnRecognizer

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


def wav(slin: bytes) -> bytes:
    """`slin` as a 16-bit mono 8 kHz WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(SAMPLE_WIDTH)
        writer.setframerate(SAMPLE_RATE)
        writer.writeframes(slin)
    return out.getvalue()


class OpenAISpeechToText:
    name = "openai"

    def __init__(self, *, api_key: str, url: str, model: str) -> None:
        self.api_key, self.url, self.model = api_key, url, model

    def form(self, *, language: str, hints: Sequence[str]) -> dict[str, str]:
        """The form's fields but the file. Google's class tokens (`$OOV_CLASS_...`) mean nothing here."""
        fields = {"model": self.model, "response_format": "json"}
        if code := language.split("-")[0].lower():
            fields["language"] = code
        if phrases := [p.strip() for p in hints if p.strip() and not p.strip().startswith("$")]:
            fields["prompt"] = ", ".join(phrases)
        return fields

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> WholeTurnRecognizer:
        form = self.form(language=language, hints=hints)
        return WholeTurnRecognizer(functools.partial(self.recognize, form=form))

    async def recognize(self, audio: bytes, *, form: dict[str, str]) -> str:
        response = await post(
            vendor="OpenAI speech-to-text",
            url=self.url,
            error_message=error_object_message,
            timeout=TIMEOUT,
            data=form,
            files={"file": ("turn.wav", wav(audio), "audio/wav")},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        try:
            return str(response.json()["text"]).strip()
        except (ValueError, KeyError, TypeError) as error:
            raise SpeechError(f"OpenAI speech-to-text answered no text: {error}") from error
