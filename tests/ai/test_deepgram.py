"""The Deepgram adapter against a local server that speaks Deepgram's live-streaming protocol:
https://developers.deepgram.com/reference/speech-to-text/listen-streaming (query, `Authorization:
Token`, binary audio, `Results` with `is_final`/`speech_final`), https://developers.deepgram.com/docs/finalize
(`Finalize`, answered with `from_finalize`), https://developers.deepgram.com/docs/close-stream
(`CloseStream`, answered with `Metadata` and a close) and https://developers.deepgram.com/docs/audio-keep-alive.

The server cannot understand speech, so what it "hears" is the audio it was sent: "heard N ms",
which proves every byte arrived, in the format the query announced.
"""

import asyncio
import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from ai.speech.base import SpeechError
from ai.speech.providers import deepgram
from ai.speech.providers.deepgram import DeepgramSpeechToText

KEY = "dg-test-key"


@dataclass
class FakeDeepgram:
    """One listen session at a time; records what the client did."""

    query: dict[str, list[str]] = field(default_factory=dict)
    controls: list[str] = field(default_factory=list)
    drop_after_bytes: int | None = None

    def check_key(self, connection: ServerConnection, request) -> Response | None:
        if request.headers.get("Authorization") != f"Token {KEY}":
            return Response(401, "Unauthorized", Headers(), b'{"err_code":"INVALID_AUTH"}')
        return None

    async def session(self, connection: ServerConnection) -> None:
        self.query = parse_qs(urlsplit(connection.request.path).query)
        rate = int(self.query["sample_rate"][0])
        pending = 0  # bytes not yet in a final result
        async for message in connection:
            if isinstance(message, bytes):
                pending += len(message)
                if self.drop_after_bytes is not None and pending >= self.drop_after_bytes:
                    await connection.close(1011, "NET-0000")
                    return
                if pending >= rate * 2:  # an interim guess every second of audio, which must not count
                    await connection.send(_results(f"guess {pending}", is_final=False))
                continue
            control = json.loads(message)["type"]
            self.controls.append(control)
            if control in ("Finalize", "CloseStream") and pending:
                heard = f"heard {pending * 1000 // (rate * 2)} ms"
                await connection.send(_results(heard, is_final=True, from_finalize=True))
                pending = 0
            if control == "CloseStream":
                await connection.send(json.dumps({"type": "Metadata", "request_id": "r1", "duration": 0.0}))
                await connection.close()
                return


def _results(transcript: str, *, is_final: bool, from_finalize: bool = False) -> str:
    return json.dumps(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "is_final": is_final,
            "speech_final": is_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.99, "words": []}]},
        }
    )


async def _with_server(fake: FakeDeepgram, scenario, *, key: str = KEY):
    async with serve(fake.session, "127.0.0.1", 0, process_request=fake.check_key) as server:
        port = server.sockets[0].getsockname()[1]
        engine = DeepgramSpeechToText(api_key=key, url=f"ws://127.0.0.1:{port}/v1/listen", model="nova-3")
        return await scenario(engine)


def test_turns_are_flushed_with_finalize_and_the_session_closed_with_closestream():
    fake = FakeDeepgram()

    async def scenario(engine):
        recognizer = await engine.recognizer(
            language="en-US", hints=["talk to a person", "$OOV_CLASS_DIGIT_SEQUENCE"]
        )
        turns = []
        for ms in (1500, 700):
            for _ in range(ms // 20):
                await recognizer.feed(bytes(320))
            turns.append(await recognizer.finish())
        await recognizer.close()
        return turns

    assert asyncio.run(_with_server(fake, scenario)) == [
        "heard 1500 ms",
        "heard 700 ms",
    ]  # no interim guesses
    assert fake.controls == ["Finalize", "Finalize", "CloseStream"]
    assert {k: v for k, v in fake.query.items() if k != "keyterm"} == {
        "encoding": ["linear16"],
        "sample_rate": ["8000"],
        "channels": ["1"],
        "model": ["nova-3"],
        "language": ["en-US"],
        "interim_results": ["true"],
        "punctuate": ["true"],
    }
    assert fake.query["keyterm"] == ["talk to a person"]  # a Google class token means nothing to Deepgram


def test_earlier_models_take_hints_as_keywords():
    engine = DeepgramSpeechToText(api_key=KEY, url="wss://api.deepgram.com/v1/listen", model="nova-2")
    query = parse_qs(urlsplit(engine.listen_url(language="en-US", hints=["opening hours"])).query)
    assert query["keywords"] == ["opening hours"] and "keyterm" not in query


def test_a_quiet_stream_is_kept_alive(monkeypatch):
    monkeypatch.setattr(deepgram, "KEEPALIVE_SECONDS", 0.2)
    fake = FakeDeepgram()

    async def scenario(engine):
        recognizer = await engine.recognizer(language="en-US", hints=[])
        await asyncio.sleep(0.7)
        await recognizer.close()

    asyncio.run(_with_server(fake, scenario))
    assert fake.controls.count("KeepAlive") >= 2 and fake.controls[-1] == "CloseStream"


def test_a_refused_key_is_a_speech_error():
    async def scenario(engine):
        await engine.recognizer(language="en-US", hints=[])

    with pytest.raises(SpeechError, match="HTTP 401") as refused:
        asyncio.run(_with_server(FakeDeepgram(), scenario, key="wrong"))
    assert not refused.value.transient


def test_a_stream_deepgram_drops_is_a_speech_error():
    fake = FakeDeepgram(drop_after_bytes=3200)

    async def scenario(engine):
        recognizer = await engine.recognizer(language="en-US", hints=[])
        with pytest.raises(SpeechError, match="Deepgram") as dropped:
            for _ in range(50):
                await recognizer.feed(bytes(320))
                await asyncio.sleep(0.01)
            await recognizer.finish()
        await recognizer.close()
        assert dropped.value.transient

    asyncio.run(_with_server(fake, scenario))


def test_an_unreachable_deepgram_is_a_speech_error():
    engine = DeepgramSpeechToText(api_key=KEY, url="ws://127.0.0.1:9/v1/listen", model="nova-3")
    with pytest.raises(SpeechError, match="unreachable") as unreachable:
        asyncio.run(engine.recognizer(language="en-US", hints=[]))
    assert unreachable.value.transient
