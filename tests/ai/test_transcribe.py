"""Amazon Transcribe streaming: the event-stream codec and the presigner against AWS's published
vectors, then the adapter against a local websocket server that speaks the documented protocol:
https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-websocket (the
presigned GET of /stream-transcription-websocket, service `transcribe`), https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html
(the framing, CRC32s), AudioEvent in and an empty one to end the stream, TranscriptEvent out with
`IsPartial` (https://docs.aws.amazon.com/transcribe/latest/APIReference/API_streaming_TranscriptEvent.html),
and exceptions as `:message-type` exception.

The server checks the signature by presigning the request again (the S3 vector is what makes that
presigner trustworthy) and, as it cannot understand speech, "hears" the audio it was sent: "heard N
ms", which proves every byte arrived, in AudioEvents well framed.
"""

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from ai.speech.base import SpeechError
from ai.speech.providers import aws_eventstream
from ai.speech.providers.aws_sigv4 import presigned_url
from ai.speech.providers.transcribe import TranscribeSpeechToText
from tests.ai.speech import silence_slin, speech_slin
from tests.ai.test_relay_session import App, converse, session

ACCESS, SECRET, REGION = "AKIDTRANSCRIBETEST", "transcribe-test-secret", "eu-west-1"

# AWS's event-stream encoding vectors (aws-c-event-stream's test suite, which the SDKs share):
# the empty message, one string header with a payload, an error's three string headers.
EMPTY = bytes.fromhex("000000100000000005c248eb7d98c8ff")
ONE_STRING_HEADER = (
    bytes.fromhex("0000003d0000002007fd8396")
    + b"\x0ccontent-type\x07\x00\x10application/json{'foo':'bar'}"
    + bytes.fromhex("8d9c08b1")
)
ERROR = (
    bytes.fromhex("0000005200000042bf23637e")
    + b"\x0d:message-type\x07\x00\x05error\x0b:error-code\x07\x00\x04code"
    + b"\x0e:error-message\x07\x00\x07message"
    + bytes.fromhex("6b6cea3d")
)
ALL_HEADER_TYPES = (
    bytes.fromhex("000000620000005203b5cb9c")
    + b"\x010\x00\x011\x01\x012\x02\x02\x013\x03\x00\x03\x014\x04\x00\x00\x00\x04"
    + b"\x015\x05\x00\x00\x00\x00\x00\x00\x00\x05\x016\x06\x00\x05bytes\x017\x07\x00\x04utf8"
    + b"\x018\x08\x00\x00\x00\x00\x00\x00\x00\x08\x019\x090123456789abcdef"
    + bytes.fromhex("63353671")
)


@pytest.mark.parametrize(
    "encoded, headers, payload",
    [
        (EMPTY, {}, b""),
        (ONE_STRING_HEADER, {"content-type": "application/json"}, b"{'foo':'bar'}"),
        (ERROR, {":message-type": "error", ":error-code": "code", ":error-message": "message"}, b""),
    ],
)
def test_the_codec_matches_aws_vectors_both_ways(encoded, headers, payload):
    assert aws_eventstream.encode(headers, payload) == encoded
    assert aws_eventstream.decode(encoded) == aws_eventstream.Message(headers, payload)


def test_every_header_type_is_read():
    assert aws_eventstream.decode(ALL_HEADER_TYPES).headers == {
        "0": True,
        "1": False,
        "2": 2,
        "3": 3,
        "4": 4,
        "5": 5,
        "6": b"bytes",
        "7": "utf8",
        "8": 8,
        "9": b"0123456789abcdef",
    }


@pytest.mark.parametrize(
    "corrupt, reason",
    [
        (ONE_STRING_HEADER[:-6] + b"!" + ONE_STRING_HEADER[-5:], "message's CRC"),  # a payload byte
        (b"\x01" + ONE_STRING_HEADER[1:], "do not fit"),  # the total length
        (ONE_STRING_HEADER[:8] + b"\x00" + ONE_STRING_HEADER[9:], "prelude's CRC"),
    ],
)
def test_a_corrupt_message_is_refused(corrupt, reason):
    with pytest.raises(aws_eventstream.EventStreamError, match=reason):
        aws_eventstream.decode(corrupt)


def test_the_presigner_matches_s3s_documented_example():
    # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    url = presigned_url(
        url="https://examplebucket.s3.amazonaws.com/test.txt",
        query={},
        region="us-east-1",
        service="s3",
        access_key="AKIAIOSFODNN7EXAMPLE",
        secret_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        at=datetime.fromisoformat("2013-05-24T00:00:00+00:00"),
        expires_seconds=86400,
        payload_sha256="UNSIGNED-PAYLOAD",
    )
    assert url == (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def _transcript(text: str, *, partial: bool) -> bytes:
    result = {
        "ResultId": "r1",
        "StartTime": 0.0,
        "EndTime": 1.0,
        "IsPartial": partial,
        "Alternatives": [{"Transcript": text, "Items": []}],
    }
    headers = {
        ":event-type": "TranscriptEvent",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return aws_eventstream.encode(headers, json.dumps({"Transcript": {"Results": [result]}}).encode())


def _exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return aws_eventstream.encode(headers, json.dumps({"Message": message}).encode())


@dataclass
class FakeTranscribe:
    """One stream at a time; records the query and the AudioEvents' sizes."""

    query: dict[str, str] = field(default_factory=dict)
    events: list[int] = field(default_factory=list)

    def check_signature(self, connection: ServerConnection, request) -> Response | None:
        parts = urlsplit(request.path)
        self.query = dict(parse_qsl(parts.query))
        signed = {k: v for k, v in self.query.items() if not k.startswith("X-Amz-")}
        again = presigned_url(
            url=f"ws://{request.headers['Host']}{parts.path}",
            query=signed,
            region=REGION,
            service="transcribe",
            access_key=ACCESS,
            secret_key=SECRET,
            at=datetime.strptime(self.query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"),
        )
        if parts.path != "/stream-transcription-websocket" or urlsplit(again).query != parts.query:
            body = b'{"message":"The request signature we calculated does not match the signature"}'
            return Response(403, "Forbidden", Headers(), body)
        return None

    async def session(self, connection: ServerConnection) -> None:
        rate = int(self.query["sample-rate"])
        if self.query["language-code"] == "xx-XX":
            await connection.send(_exception("BadRequestException", "Unsupported language code xx-XX"))
            await connection.close()
            return
        heard = 0
        async for frame in connection:
            assert isinstance(frame, bytes)
            message = aws_eventstream.decode(frame)
            assert message.headers == {
                ":content-type": "application/octet-stream",
                ":event-type": "AudioEvent",
                ":message-type": "event",
            }
            self.events.append(len(message.payload))
            if message.payload:
                before, heard = heard, heard + len(message.payload)
                if heard // (rate * 2) > before // (rate * 2):  # a guess each second, which must not count
                    await connection.send(_transcript(f"guess {heard}", partial=True))
                continue
            await connection.send(_transcript(f"heard {heard * 1000 // (rate * 2)} ms", partial=False))
            await connection.close()
            return


async def _with_server(fake: FakeTranscribe, scenario, *, secret: str = SECRET):
    async with serve(fake.session, "127.0.0.1", 0, process_request=fake.check_signature) as server:
        port = server.sockets[0].getsockname()[1]
        engine = TranscribeSpeechToText(
            access_key=ACCESS, secret_key=secret, region=REGION, url=f"ws://127.0.0.1:{port}"
        )
        return await scenario(engine)


async def _say(engine: TranscribeSpeechToText, ms: int, *, language: str = "en-US") -> str:
    recognizer = await engine.recognizer(language=language, hints=["talk to a person"])
    try:
        for _ in range(ms // 20):
            await recognizer.feed(bytes(320))
        return await recognizer.finish()
    finally:
        await recognizer.close()


def test_a_turn_is_streamed_in_audio_events_and_settled_by_the_empty_one():
    fake = FakeTranscribe()

    async def scenario(engine):
        return [await _say(engine, 1500), await _say(engine, 740)]

    assert asyncio.run(_with_server(fake, scenario)) == ["heard 1500 ms", "heard 740 ms"]  # no guesses
    assert {k: v for k, v in fake.query.items() if not k.startswith("X-Amz-")} == {
        "language-code": "en-US",
        "media-encoding": "pcm",
        "sample-rate": "8000",
    }
    # the second turn: seven 100 ms events, the 40 ms left at finish(), the empty one that ends it
    assert fake.events[-9:] == [1600] * 7 + [640, 0]


def test_a_wrong_secret_is_refused_for_good():
    async def scenario(engine):
        await engine.recognizer(language="en-US", hints=[])

    with pytest.raises(SpeechError, match="HTTP 403.*signature") as refused:
        asyncio.run(_with_server(FakeTranscribe(), scenario, secret="wrong"))
    assert not refused.value.transient


def test_an_exception_event_is_a_speech_error_with_amazons_message():
    async def scenario(engine):
        return await _say(engine, 200, language="xx-XX")

    with pytest.raises(SpeechError, match="BadRequestException: Unsupported language code") as refused:
        asyncio.run(_with_server(FakeTranscribe(), scenario))
    assert not refused.value.transient


def test_an_unreachable_transcribe_is_a_speech_error():
    engine = TranscribeSpeechToText(
        access_key=ACCESS, secret_key=SECRET, region=REGION, url="ws://127.0.0.1:9"
    )
    with pytest.raises(SpeechError, match="unreachable") as unreachable:
        asyncio.run(engine.recognizer(language="en-US", hints=[]))
    assert unreachable.value.transient


@pytest.mark.e2e
def test_a_relayed_callers_turn_reaches_transcribe_when_the_session_names_amazon(tmp_path, settings):
    """The relay's real VAD and registry: the caller's spoken turn streamed to Transcribe, its text the
    app's prompt."""
    fake = FakeTranscribe()
    settings.SPEECH_AWS_ACCESS_KEY_ID, settings.SPEECH_AWS_SECRET_ACCESS_KEY = ACCESS, SECRET
    settings.SPEECH_AWS_REGION = REGION
    said = speech_slin("I want to talk to a person")
    record = session()
    record["transcription"]["transcription_provider"] = "Amazon"

    async def reply(app: App, message: dict) -> None:
        return None

    async def call() -> App:
        app = App(reply)
        async with serve(fake.session, "127.0.0.1", 0, process_request=fake.check_signature) as server:
            settings.SPEECH_TRANSCRIBE_URL = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
            await converse(tmp_path, app, record, silence_slin(1000) + said + silence_slin(2000))
        return app

    (prompt,) = asyncio.run(call()).of("prompt")
    heard_ms = int(prompt["voicePrompt"].split()[1])
    spoken_ms = len(said) * 1000 // 16000
    # the turn from a little before its onset (the preroll) to the VAD's end, 600 ms after the words
    assert spoken_ms <= heard_ms <= spoken_ms + 1200, (heard_ms, spoken_ms)
    assert prompt["lang"] == "en-US" and fake.query["language-code"] == "en-US"
