"""The OpenAI text-to-speech adapter against a local server that speaks the documented API:
https://platform.openai.com/docs/api-reference/audio/createSpeech (POST /v1/audio/speech, JSON body
with model, input, voice and response_format, `Authorization: Bearer`, the audio streamed back
chunked; `pcm` is 24 kHz 16-bit little-endian mono; errors are `{"error": {"message": ...}}`).

The server answers with a 1 kHz tone, its first 200 ms at once and the rest half a second later,
so the test can tell 8 kHz audio of the right pitch and length, played before the answer is done.
"""

import json

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.openai_tts import OpenAITextToSpeech
from tests.ai.tts_server import VendorHandler, local_server, pitch_hz, speak

KEY = "sk-test"


class _Speech(VendorHandler):
    requests: list[dict] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Speech.requests.append(body)
        if self.path != "/v1/audio/speech" or self.headers.get("Authorization") != f"Bearer {KEY}":
            self._error(401, "Incorrect API key provided")
            return
        if body.get("response_format") != "pcm":
            self._error(400, "this test server only makes pcm")
            return
        self.send_streamed_tone(24000)

    def _error(self, status: int, message: str) -> None:
        self.send_json(status, {"error": {"message": message, "type": "invalid_request_error"}})


@pytest.fixture
def server_url():
    _Speech.requests = []
    with local_server(_Speech) as url:
        yield f"{url}/v1/audio/speech"


def _engine(url: str, key: str = KEY) -> OpenAITextToSpeech:
    return OpenAITextToSpeech(api_key=key, url=url, model="gpt-4o-mini-tts", default_voice="alloy")


def test_the_streamed_answer_is_played_as_it_comes_at_8_khz(server_url):
    audio, first_at = speak(_engine(server_url), voice="nova")
    assert abs(len(audio) / 16000 - 1.0) < 0.02  # a second at 8 kHz
    assert pitch_hz(audio) == 1000
    assert first_at < _Speech.rest_sent_at  # the first 200 ms was out before the server sent the rest
    assert _Speech.requests == [
        {"model": "gpt-4o-mini-tts", "input": "Hello there.", "voice": "nova", "response_format": "pcm"}
    ]


def test_a_voice_openai_does_not_have_gets_the_default(server_url):
    speak(_engine(server_url), voice="Polly.Joanna")
    assert _Speech.requests[0]["voice"] == "alloy"


def test_a_refused_key_is_a_speech_error_with_openais_message(server_url):
    with pytest.raises(SpeechError, match="401: Incorrect API key provided") as refused:
        speak(_engine(server_url, key="sk-wrong"), voice="")
    assert not refused.value.transient


def test_an_unreachable_endpoint_is_a_speech_error():
    with pytest.raises(SpeechError, match="unreachable") as unreachable:
        speak(_engine("http://127.0.0.1:9/v1/audio/speech"), voice="")
    assert unreachable.value.transient
