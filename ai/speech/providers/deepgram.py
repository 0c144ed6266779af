"""Deepgram's streaming speech-to-text: one websocket per call (wss://api.deepgram.com/v1/listen).

The protocol (https://developers.deepgram.com/reference/speech-to-text/listen-streaming): the query
names the audio (linear16 at 8 kHz, mono) and the model; `Authorization: Token <key>`; audio goes up
as binary frames; `Results` messages come back, interim ones with `is_final` false and the settled
text of a stretch with `is_final` true (`speech_final` marks Deepgram's own end of speech, which we
do not need: our VAD decides turns). At a turn's end we send `Finalize`
(https://developers.deepgram.com/docs/finalize), which flushes what is buffered and answers with
`from_finalize` true; `CloseStream` (https://developers.deepgram.com/docs/close-stream) ends the
session. A stream that carries no audio for 10 s is closed by Deepgram, so a quiet one is kept open
with `KeepAlive` (https://developers.deepgram.com/docs/audio-keep-alive). Hints go as `keyterm`s
(Nova-3's keyterm prompting), or `keywords` for earlier models.
"""

import asyncio
import contextlib
import json
from collections.abc import Sequence
from urllib.parse import urlencode

import websockets
from websockets.asyncio.client import ClientConnection

from ai.speech.base import SAMPLE_RATE, SpeechError
from ai.speech.providers import transient_status
from core.timeouts import within

CONNECT_TIMEOUT_SECONDS = 5.0
# Finalize answers only when audio was still buffered; past this the finals already in are the turn.
FINALIZE_WAIT_SECONDS = 1.5
CLOSE_WAIT_SECONDS = 2.0
KEEPALIVE_SECONDS = 4.0  # Deepgram asks for one every 3-5 s of silence


class DeepgramRecognizer:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._finals: list[str] = []
        self._finalized = asyncio.Event()
        self._failure: str | None = None
        self._sent_at = asyncio.get_running_loop().time()
        self._reader = asyncio.create_task(self._read())
        self._keepalive = asyncio.create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(max(0.1, self._sent_at + KEEPALIVE_SECONDS - loop.time()))
                if loop.time() - self._sent_at >= KEEPALIVE_SECONDS:
                    await self._send(json.dumps({"type": "KeepAlive"}))

    async def _send(self, message: str | bytes) -> None:
        await self._connection.send(message)
        self._sent_at = asyncio.get_running_loop().time()

    async def _read(self) -> None:
        try:
            async for raw in self._connection:
                message = json.loads(raw)
                if message.get("type") != "Results":
                    continue
                if message.get("is_final"):
                    alternatives = message.get("channel", {}).get("alternatives") or [{}]
                    if text := str(alternatives[0].get("transcript", "")).strip():
                        self._finals.append(text)
                if message.get("from_finalize"):
                    self._finalized.set()
        except (websockets.ConnectionClosed, json.JSONDecodeError, AttributeError) as error:
            self._failure = f"Deepgram's stream broke: {error}"
        finally:
            self._finalized.set()  # nothing more can come

    async def feed(self, pcm: bytes) -> None:
        if self._failure:
            raise SpeechError(self._failure, transient=True)
        try:
            await self._send(pcm)
        except websockets.ConnectionClosed as error:
            raise SpeechError(f"Deepgram closed the stream: {error}", transient=True) from error

    async def finish(self) -> str:
        self._finalized.clear()
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._send(json.dumps({"type": "Finalize"}))
        with contextlib.suppress(TimeoutError):
            await within(self._finalized.wait(), FINALIZE_WAIT_SECONDS)
        text, self._finals = " ".join(self._finals), []
        if self._failure and not text:
            raise SpeechError(self._failure, transient=True)
        return text

    async def close(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._send(json.dumps({"type": "CloseStream"}))
            with contextlib.suppress(TimeoutError):
                await within(asyncio.shield(self._reader), CLOSE_WAIT_SECONDS)
        self._reader.cancel()
        self._keepalive.cancel()
        await self._connection.close()


class DeepgramSpeechToText:
    name = "deepgram"

    def __init__(self, *, api_key: str, url: str, model: str) -> None:
        self.api_key, self.url, self.model = api_key, url, model

    def listen_url(self, *, language: str, hints: Sequence[str]) -> str:
        query = [
            ("encoding", "linear16"),
            ("sample_rate", str(SAMPLE_RATE)),
            ("channels", "1"),
            ("model", self.model),
            ("language", language),
            ("interim_results", "true"),
            ("punctuate", "true"),
        ]
        # Nova-3 takes hints as key terms; earlier models as keywords (https://developers.deepgram.com/docs/keywords)
        hint = "keyterm" if self.model.startswith("nova-3") else "keywords"
        query += [(hint, phrase) for phrase in hints if phrase.strip() and not phrase.startswith("$")]
        return f"{self.url}?{urlencode(query)}"

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> DeepgramRecognizer:
        try:
            connection = await websockets.connect(
                self.listen_url(language=language, hints=hints),
                additional_headers={"Authorization": f"Token {self.api_key}"},
                open_timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except websockets.InvalidStatus as error:
            status = error.response.status_code
            message = f"Deepgram refused the stream (HTTP {status})"
            raise SpeechError(message, transient=transient_status(status)) from error
        except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
            raise SpeechError(f"Deepgram is unreachable: {error}", transient=True) from error
        return DeepgramRecognizer(connection)
