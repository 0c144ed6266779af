"""The OpenAI speech-to-text adapter against a local server that speaks the documented method:
https://platform.openai.com/docs/api-reference/audio/createTranscription (POST
/v1/audio/transcriptions, `Authorization: Bearer`, multipart/form-data with `file`, `model`,
`language`, `prompt`, `response_format`; the answer JSON {`text`}; an error {`error`: {`message`}}).

The server reads the WAV it was sent back with the standard library and, as it cannot understand
speech, "hears" its length: "heard N ms", which proves the whole turn arrived as a well-formed file.
"""

import asyncio
import io
import wave
from email.parser import BytesParser
from email.policy import HTTP

import pytest

from ai.speech.base import SpeechError
from ai.speech.providers.openai_stt import OpenAISpeechToText
from tests.ai.tts_server import VendorHandler, local_server

KEY = "sk-stt-test"


class _Transcriptions(VendorHandler):
    forms: list[dict[str, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/audio/transcriptions" or self.headers["Authorization"] != f"Bearer {KEY}":
            error = {"message": "Incorrect API key provided.", "type": "invalid_request_error"}
            self.send_json(401, {"error": error})
            return
        head = f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode()
        parts = BytesParser(policy=HTTP).parsebytes(head + body).iter_parts()
        fields = {str(part.get_param("name", header="content-disposition")): part for part in parts}
        _Transcriptions.forms.append(
            {name: part.get_content() for name, part in fields.items() if name != "file"}
        )
        wav_file = fields["file"].get_content()
        assert isinstance(wav_file, bytes)
        with wave.open(io.BytesIO(wav_file), "rb") as turn:
            shape = (turn.getnchannels(), turn.getsampwidth(), turn.getframerate())
            ms = turn.getnframes() * 1000 // turn.getframerate()
        assert shape == (1, 2, 8000)
        self.send_json(200, {"text": f" heard {ms} ms ", "usage": {"type": "tokens"}})


@pytest.fixture
def url():
    _Transcriptions.forms = []
    with local_server(_Transcriptions) as base_url:
        yield f"{base_url}/v1/audio/transcriptions"


def _turn(engine: OpenAISpeechToText, audio: bytes, hints: list[str]) -> str:
    async def run() -> str:
        recognizer = await engine.recognizer(language="en-US", hints=hints)
        try:
            for at in range(0, len(audio), 320):
                await recognizer.feed(audio[at : at + 320])
            return await recognizer.finish()
        finally:
            await recognizer.close()

    return asyncio.run(run())


def test_a_turn_is_sent_whole_as_a_wav_with_its_hints_as_the_prompt(url):
    engine = OpenAISpeechToText(api_key=KEY, url=url, model="gpt-4o-transcribe")
    hints = ["talk to a person", "opening hours", "$OOV_CLASS_DIGIT_SEQUENCE"]
    assert _turn(engine, bytes(9600), hints) == "heard 600 ms"
    assert _Transcriptions.forms == [
        {
            "model": "gpt-4o-transcribe",
            "response_format": "json",
            "language": "en",
            "prompt": "talk to a person, opening hours",
        }
    ]


def test_a_refused_key_is_a_speech_error_with_openais_message(url):
    engine = OpenAISpeechToText(api_key="wrong", url=url, model="gpt-4o-transcribe")
    with pytest.raises(SpeechError, match="answered 401: Incorrect API key") as refused:
        _turn(engine, bytes(3200), [])
    assert not refused.value.transient
