"""The ElevenLabs text-to-speech adapter against a local server that speaks the documented streaming
endpoint: https://elevenlabs.io/docs/api-reference/text-to-speech/stream (POST
/v1/text-to-speech/{voice_id}/stream?output_format=pcm_16000, `xi-api-key`, JSON {text, model_id},
the audio streamed back as 16 kHz 16-bit PCM; a refusal is `{"detail": {"status", "message"}}`).

The server answers with a 1 kHz tone, 200 ms at once and the rest half a second later."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.elevenlabs import ElevenLabsTextToSpeech
from tests.ai.tts_server import VendorHandler, local_server, pitch_hz, speak

KEY = "xi-test"


class _Stream(VendorHandler):
    requests: list[tuple[str, dict, dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        url = urlsplit(self.path)
        _Stream.requests.append((url.path, parse_qs(url.query), body))
        if self.headers.get("xi-api-key") != KEY:
            self.send_json(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
            return
        if parse_qs(url.query).get("output_format") != ["pcm_16000"]:
            refusal = {"status": "invalid_output_format", "message": "this server makes pcm_16000"}
            self.send_json(400, {"detail": refusal})
            return
        self.send_streamed_tone(16000)


@pytest.fixture
def base_url():
    _Stream.requests = []
    with local_server(_Stream) as url:
        yield url


def _engine(url: str, key: str = KEY) -> ElevenLabsTextToSpeech:
    return ElevenLabsTextToSpeech(
        api_key=key, url=url, model="eleven_flash_v2_5", default_voice="defaultVoice01"
    )


def test_the_streamed_answer_is_played_as_it_comes_at_8_khz(base_url):
    audio, first_at = speak(_engine(base_url), voice="UgBBYS2sOqTuMpoF3BR0-0.9_0.8_0.6")
    assert abs(len(audio) / 16000 - 1.0) < 0.02  # a second at 8 kHz
    assert pitch_hz(audio) == 1000
    assert first_at < _Stream.rest_sent_at  # the first 200 ms was out before the server sent the rest
    # ConversationRelay's voice is the ID and its tuning: the ID names the voice in the path
    assert _Stream.requests == [
        (
            "/v1/text-to-speech/UgBBYS2sOqTuMpoF3BR0/stream",
            {"output_format": ["pcm_16000"]},
            {"text": "Hello there.", "model_id": "eleven_flash_v2_5"},
        )
    ]


def test_no_voice_is_the_default_voice(base_url):
    speak(_engine(base_url), voice="")
    assert _Stream.requests[0][0] == "/v1/text-to-speech/defaultVoice01/stream"


def test_a_refused_key_is_a_speech_error_with_elevenlabs_message(base_url):
    with pytest.raises(SpeechError, match="ElevenLabs answered 401: Invalid API key") as refused:
        speak(_engine(base_url, key="wrong"), voice="")
    assert not refused.value.transient
