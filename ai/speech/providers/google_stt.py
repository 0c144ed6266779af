"""Google Cloud Speech-to-Text, ConversationRelay's `Google` transcriptionProvider: the REST
`speech:recognize`, once a turn.

Google streams recognition over gRPC only (StreamingRecognize); its REST API recognises a whole
recording. The relay makes a recognizer per caller turn and asks for the text when the VAD ends the
turn, so the turn's audio is sent then, whole: the text comes a round trip and a recognition after
the end of the turn rather than as the caller speaks (ai/speech/providers/whole_turn.py), and a turn
over a minute is refused by Google.

The protocol (https://cloud.google.com/speech-to-text/docs/reference/rest/v1/speech/recognize): POST
/v1/speech:recognize with the API key in `x-goog-api-key` and JSON {`config`: {`encoding`: LINEAR16,
`sampleRateHertz`: 8000, `languageCode`, `model`, `enableAutomaticPunctuation`, `speechContexts`:
[{`phrases`}]}, `audio`: {`content`: base64}}; the answer is JSON {`results`: [{`alternatives`:
[{`transcript`, `confidence`}]}]}, a result per stretch of speech, none for silence. A refusal is JSON
{`error`: {`code`, `message`, `status`}}. Hints go as phrases, Google's class tokens
(`$OOV_CLASS_DIGIT_SEQUENCE`) included, as ConversationRelay passes them.
"""

import base64
import functools
from collections.abc import Sequence

import httpx

from ai.speech.base import SAMPLE_RATE, SpeechError
from ai.speech.providers.http_pcm import error_object_message, post
from ai.speech.providers.whole_turn import WholeTurnRecognizer

TIMEOUT = httpx.Timeout(15.0, connect=5.0)  # a turn of up to a minute is recognised before answering


def transcript(answer: dict) -> str:
    """The best alternative of each result, in order."""
    texts = (
        str((result.get("alternatives") or [{}])[0].get("transcript", ""))
        for result in answer.get("results", [])
    )
    return " ".join(text.strip() for text in texts if text.strip())


class GoogleSpeechToText:
    name = "google"

    def __init__(self, *, api_key: str, url: str, model: str) -> None:
        """`model` is Google's (`telephony`, `latest_short`, ...); blank: Google's default."""
        self.api_key, self.url, self.model = api_key, url, model

    def config(self, *, language: str, hints: Sequence[str]) -> dict:
        config: dict = {
            "encoding": "LINEAR16",
            "sampleRateHertz": SAMPLE_RATE,
            "languageCode": language,
            "enableAutomaticPunctuation": True,
        }
        if self.model:
            config["model"] = self.model
        if phrases := [phrase.strip() for phrase in hints if phrase.strip()]:
            config["speechContexts"] = [{"phrases": phrases}]
        return config

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> WholeTurnRecognizer:
        config = self.config(language=language, hints=hints)
        return WholeTurnRecognizer(functools.partial(self.recognize, config=config))

    async def recognize(self, audio: bytes, *, config: dict) -> str:
        response = await post(
            vendor="Google speech-to-text",
            url=self.url,
            error_message=error_object_message,
            timeout=TIMEOUT,
            json={"config": config, "audio": {"content": base64.b64encode(audio).decode()}},
            headers={"x-goog-api-key": self.api_key},
        )
        try:
            return transcript(response.json())
        except (ValueError, AttributeError, TypeError) as error:
            raise SpeechError(f"Google speech-to-text answered what is not its protocol: {error}") from error
