"""Amazon Polly: the SigV4 signer against AWS's own test-suite vectors, then the adapter against a
local server that speaks SynthesizeSpeech as documented
(https://docs.aws.amazon.com/polly/latest/dg/API_SynthesizeSpeech.html: POST /v1/speech, SigV4 for
service `polly`, JSON Engine/OutputFormat/SampleRate/Text/VoiceId, pcm streamed back; a refusal is
JSON with a `message`). The server checks the signature by signing the request again (the vectors
are what make that signer trustworthy)."""

import json
from datetime import datetime

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.aws_sigv4 import signed_headers
from ai.speech.providers.polly import PollyTextToSpeech
from tests.ai.tts_server import VendorHandler, local_server, pitch_hz, speak, tone_pcm

ACCESS, SECRET = "AKIDPOLLYTEST", "polly-test-secret"


@pytest.mark.parametrize(
    "method, signature",
    [  # https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html
        ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),  # get-vanilla
        ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),  # post-vanilla
    ],
)
def test_the_signer_matches_aws_test_suite(method, signature):
    headers = signed_headers(
        method=method,
        url="https://example.amazonaws.com/",
        headers={},
        body=b"",
        region="us-east-1",
        service="service",
        access_key="AKIDEXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        at=datetime.fromisoformat("2015-08-30T12:36:00+00:00"),
    )
    assert headers["x-amz-date"] == "20150830T123600Z"
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        f"SignedHeaders=host;x-amz-date, Signature={signature}"
    )


class _Polly(VendorHandler):
    requests: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Polly.requests.append(json.loads(body))
        resigned = signed_headers(
            method="POST",
            url=f"http://{self.headers['Host']}{self.path}",
            headers={"content-type": self.headers["Content-Type"]},
            body=body,
            region="eu-west-1",
            service="polly",
            access_key=ACCESS,
            secret_key=SECRET,
            at=datetime.strptime(self.headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ"),
        )
        if self.path != "/v1/speech" or self.headers["Authorization"] != resigned["Authorization"]:
            refusal = {"message": "The request signature we calculated does not match"}
            self.send_json(403, refusal, {"x-amzn-ErrorType": "InvalidSignatureException"})
            return
        self.send_pcm(tone_pcm(8000))


@pytest.fixture
def base_url():
    _Polly.requests = []
    with local_server(_Polly) as url:
        yield url


def _speak(base_url: str, *, voice: str, secret: str = SECRET) -> bytes:
    engine = PollyTextToSpeech(
        access_key=ACCESS, secret_key=secret, region="eu-west-1", url=base_url, default_voice="Joanna"
    )
    audio, _ = speak(engine, voice=voice)
    return audio


def test_a_signed_request_gets_8_khz_audio_for_the_named_voice_and_engine(base_url):
    audio = _speak(base_url, voice="Polly.Matthew-Generative")
    assert abs(len(audio) - 16000) <= 4
    assert pitch_hz(audio, start=4000) == 1000
    assert _Polly.requests == [
        {
            "Engine": "generative",
            "OutputFormat": "pcm",
            "SampleRate": "8000",
            "Text": "Hello there.",
            "VoiceId": "Matthew",
        }
    ]


def test_no_voice_is_the_default_voice_on_the_neural_engine(base_url):
    _speak(base_url, voice="")
    assert (_Polly.requests[0]["VoiceId"], _Polly.requests[0]["Engine"]) == ("Joanna", "neural")


def test_a_wrong_secret_is_refused_with_amazons_message(base_url):
    with pytest.raises(SpeechError, match="Amazon Polly answered 403: The request signature") as refused:
        _speak(base_url, voice="", secret="wrong")
    assert not refused.value.transient
