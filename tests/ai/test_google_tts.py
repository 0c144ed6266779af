"""The Google text-to-speech adapter against a local server that speaks the documented REST method:
https://cloud.google.com/text-to-speech/docs/reference/rest/v1/text/synthesize (POST
/v1/text:synthesize, `x-goog-api-key`, JSON input/voice/audioConfig; the answer's `audioContent` is
base64, a WAV file for LINEAR16; a refusal is `{"error": {"code", "message", "status"}}`).

The server answers with a 1 kHz tone as a WAV whose header carries an extra LIST chunk, at the rate
it was asked for, or at 24 kHz when the test wants to see the adapter resample."""

import base64
import json

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.google_tts import GoogleTextToSpeech
from tests.ai.tts_server import VendorHandler, local_server, pitch_hz, speak, tone_pcm

KEY = "google-test-key"


def _wav(rate: int) -> bytes:
    pcm = tone_pcm(rate)
    fmt = (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + rate.to_bytes(4, "little")
    fmt += (rate * 2).to_bytes(4, "little") + (2).to_bytes(2, "little") + (16).to_bytes(2, "little")
    chunks = b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"LIST" + (3).to_bytes(4, "little") + b"abc\x00"
    chunks += b"data" + len(pcm).to_bytes(4, "little") + pcm
    return b"RIFF" + (4 + len(chunks)).to_bytes(4, "little") + b"WAVE" + chunks


class _Synthesize(VendorHandler):
    requests: list[dict] = []
    answer_rate: int | None = None  # None: the rate asked for

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Synthesize.requests.append(body)
        if self.path != "/v1/text:synthesize" or self.headers.get("x-goog-api-key") != KEY:
            refusal = {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}
            self.send_json(403, {"error": refusal})
            return
        rate = _Synthesize.answer_rate or body["audioConfig"]["sampleRateHertz"]
        self.send_json(200, {"audioContent": base64.b64encode(_wav(rate)).decode()})


@pytest.fixture
def url():
    _Synthesize.requests, _Synthesize.answer_rate = [], None
    with local_server(_Synthesize) as base_url:
        yield f"{base_url}/v1/text:synthesize"


def _speak(url: str, *, voice: str, language: str = "en-US", key: str = KEY) -> bytes:
    audio, _ = speak(GoogleTextToSpeech(api_key=key, url=url), voice=voice, language=language)
    return audio


def test_the_answer_is_a_second_of_8_khz_audio_for_the_named_voice(url):
    audio = _speak(url, voice="en-GB-Neural2-A", language="en-US")
    assert len(audio) == 16000 and pitch_hz(audio) == 1000
    assert _Synthesize.requests == [
        {
            "input": {"text": "Hello there."},
            "voice": {"languageCode": "en-GB", "name": "en-GB-Neural2-A"},  # the voice's language wins
            "audioConfig": {"audioEncoding": "LINEAR16", "sampleRateHertz": 8000},
        }
    ]


def test_no_voice_is_googles_default_for_the_language(url):
    _speak(url, voice="", language="fr-FR")
    assert _Synthesize.requests[0]["voice"] == {"languageCode": "fr-FR"}


def test_audio_at_another_rate_is_resampled(url):
    _Synthesize.answer_rate = 24000
    audio = _speak(url, voice="")
    assert abs(len(audio) - 16000) <= 4 and pitch_hz(audio) == 1000


def test_a_refused_key_is_a_speech_error_with_googles_message(url):
    with pytest.raises(SpeechError, match="answered 403: API key not valid") as refused:
        _speak(url, voice="", key="wrong")
    assert not refused.value.transient
