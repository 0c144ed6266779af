"""The Google speech-to-text adapter against a local server that speaks the documented REST method:
https://cloud.google.com/speech-to-text/docs/reference/rest/v1/speech/recognize (POST
/v1/speech:recognize, `x-goog-api-key`, JSON config/audio with the audio base64; the answer's
`results`, each with its `alternatives`, none for silence; a refusal is `{"error": {"code",
"message", "status"}}`; https://cloud.google.com/speech-to-text/docs/reference/rest/v1/RecognitionConfig).

The server cannot understand speech, so what it "hears" is the audio it was sent, as Google answers
a turn of two stretches of speech: two results, "heard" and "N ms", which proves every byte arrived
in the format the config announced; all-zero audio is silence, answered with no results.
"""

import asyncio
import base64
import json

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.google_stt import GoogleSpeechToText
from tests.ai.tts_server import VendorHandler, local_server

KEY = "google-stt-test-key"


class _Recognize(VendorHandler):
    requests: list[dict] = []
    status = 200

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Recognize.requests.append(body)
        if self.path != "/v1/speech:recognize" or self.headers.get("x-goog-api-key") != KEY:
            refusal = {"code": 403, "message": "API key not valid.", "status": "PERMISSION_DENIED"}
            self.send_json(403, {"error": refusal})
            return
        if _Recognize.status != 200:
            refusal = {"code": _Recognize.status, "message": "The service is busy.", "status": "UNAVAILABLE"}
            self.send_json(_Recognize.status, {"error": refusal})
            return
        audio = base64.b64decode(body["audio"]["content"])
        if not any(audio):
            self.send_json(200, {"totalBilledTime": "1s", "requestId": "1"})
            return
        ms = len(audio) * 1000 // (body["config"]["sampleRateHertz"] * 2)
        results = [
            {"alternatives": [{"transcript": "heard", "confidence": 0.9}], "resultEndTime": "0.5s"},
            {"alternatives": [{"transcript": f" {ms} ms", "confidence": 0.8}], "resultEndTime": "1s"},
        ]
        self.send_json(200, {"results": results, "totalBilledTime": "2s", "requestId": "2"})


@pytest.fixture
def url():
    _Recognize.requests, _Recognize.status = [], 200
    with local_server(_Recognize) as base_url:
        yield f"{base_url}/v1/speech:recognize"


def _turns(engine: GoogleSpeechToText, *turns: bytes, hints: tuple[str, ...] = ()) -> list[str]:
    async def run() -> list[str]:
        heard = []
        for audio in turns:
            recognizer = await engine.recognizer(language="en-GB", hints=list(hints))
            try:
                for at in range(0, len(audio), 320):
                    await recognizer.feed(audio[at : at + 320])
                heard.append(await recognizer.finish())
            finally:
                await recognizer.close()
        return heard

    return asyncio.run(run())


def test_each_turn_is_recognised_whole_with_its_hints(url):
    engine = GoogleSpeechToText(api_key=KEY, url=url, model="telephony")
    speech = b"\x01\x00" * 12000  # 1.5 s of (not quite) silence the server takes for speech
    turns = _turns(engine, speech, bytes(6400), hints=("talk to a person", "$OOV_CLASS_DIGIT_SEQUENCE", " "))
    assert turns == ["heard 1500 ms", ""]  # the results joined; silence has none
    assert _Recognize.requests[0]["config"] == {
        "encoding": "LINEAR16",
        "sampleRateHertz": 8000,
        "languageCode": "en-GB",
        "enableAutomaticPunctuation": True,
        "model": "telephony",
        "speechContexts": [{"phrases": ["talk to a person", "$OOV_CLASS_DIGIT_SEQUENCE"]}],
    }


def test_no_model_and_no_hints_leave_googles_defaults(url):
    _turns(GoogleSpeechToText(api_key=KEY, url=url, model=""), b"\x01\x00" * 800)
    assert "model" not in _Recognize.requests[0]["config"]
    assert "speechContexts" not in _Recognize.requests[0]["config"]


def test_a_turn_with_no_audio_asks_nothing(url):
    assert _turns(GoogleSpeechToText(api_key=KEY, url=url, model=""), b"") == [""]
    assert _Recognize.requests == []


def test_a_refused_key_is_a_speech_error_with_googles_message(url):
    engine = GoogleSpeechToText(api_key="wrong", url=url, model="")
    with pytest.raises(SpeechError, match="answered 403: API key not valid") as refused:
        _turns(engine, b"\x01\x00" * 800)
    assert not refused.value.transient


def test_a_busy_google_is_a_transient_speech_error(url):
    _Recognize.status = 503
    with pytest.raises(SpeechError, match="answered 503: The service is busy") as busy:
        _turns(GoogleSpeechToText(api_key=KEY, url=url, model=""), b"\x01\x00" * 800)
    assert busy.value.transient


def test_an_unreachable_google_is_a_speech_error():
    engine = GoogleSpeechToText(api_key=KEY, url="http://127.0.0.1:9/v1/speech:recognize", model="")
    with pytest.raises(SpeechError, match="unreachable") as unreachable:
        _turns(engine, b"\x01\x00" * 800)
    assert unreachable.value.transient
