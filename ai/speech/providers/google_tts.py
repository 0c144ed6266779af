"""Google Cloud Text-to-Speech, ConversationRelay's `Google` ttsProvider: the REST `text:synthesize`.

The protocol (https://cloud.google.com/text-to-speech/docs/reference/rest/v1/text/synthesize): POST
/v1/text:synthesize with the API key in `x-goog-api-key` and JSON {`input`: {`text`}, `voice`:
{`languageCode`, `name`}, `audioConfig`: {`audioEncoding`: LINEAR16, `sampleRateHertz`: 8000}}; the
answer is JSON {`audioContent`: base64}, a WAV file for LINEAR16
(https://cloud.google.com/text-to-speech/docs/reference/rest/v1/text/synthesize#response-body). A
refusal is JSON {`error`: {`code`, `message`, `status`}}. This endpoint answers whole, not streamed:
the relay synthesises clause by clause, so a clause's wait is what it costs.

ConversationRelay names a Google voice in full ("en-US-Journey-O"): its first two parts are its
language, which wins over `language`; no voice is Google's default for the language.
"""

import base64
import re
from collections.abc import AsyncIterator

from ai.speech.audio import resample
from ai.speech.base import SAMPLE_RATE, SpeechError
from ai.speech.providers.http_pcm import error_object_message, post

_VOICE_LANGUAGE = re.compile(r"^([a-z]{2,3}-[A-Z]{2})-")


def wav_pcm(wav: bytes) -> tuple[bytes, int]:
    """The samples and rate of a 16-bit mono PCM WAV (RIFF chunks walked, not a fixed header)."""
    if wav[:4] != b"RIFF" or wav[8:12] != b"WAVE":
        raise SpeechError("Google answered audio that is not WAV")
    rate, at = 0, 12
    while at + 8 <= len(wav):
        kind, size = wav[at : at + 4], int.from_bytes(wav[at + 4 : at + 8], "little")
        if kind == b"fmt ":
            rate = int.from_bytes(wav[at + 12 : at + 16], "little")
        elif kind == b"data":
            return wav[at + 8 : at + 8 + size], rate
        at += 8 + size + size % 2
    raise SpeechError("Google's WAV has no audio")


class GoogleTextToSpeech:
    name = "google"

    def __init__(self, *, api_key: str, url: str) -> None:
        self.api_key, self.url = api_key, url

    def request_body(self, text: str, *, voice: str, language: str) -> dict:
        named = _VOICE_LANGUAGE.match(voice.strip())
        selection = {"languageCode": named.group(1) if named else language}
        if voice.strip():
            selection["name"] = voice.strip()
        return {
            "input": {"text": text},
            "voice": selection,
            "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": SAMPLE_RATE},
        }

    async def synthesize(self, text: str, *, voice: str, language: str) -> AsyncIterator[bytes]:
        if not text.strip():
            return
        body = self.request_body(text, voice=voice, language=language)
        response = await post(
            vendor="Google text-to-speech",
            url=self.url,
            error_message=error_object_message,
            json=body,
            headers={"x-goog-api-key": self.api_key},
        )
        try:
            wav = base64.b64decode(response.json()["audioContent"])
        except (ValueError, KeyError, TypeError) as error:
            raise SpeechError("Google text-to-speech answered no audioContent") from error
        pcm, rate = wav_pcm(wav)
        yield resample(pcm, from_rate=rate, to_rate=SAMPLE_RATE)
