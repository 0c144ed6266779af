"""Amazon Transcribe streaming, ConversationRelay's `Amazon` transcriptionProvider, over its websocket.

The protocol (https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-websocket):
GET wss://transcribestreaming.{region}.amazonaws.com:8443/stream-transcription-websocket, presigned
with SigV4 (service `transcribe`, the query holding `language-code`, `media-encoding` pcm and
`sample-rate`, the signed payload the empty string's hash). Each websocket frame is one event-stream
message (ai/speech/providers/aws_eventstream.py): audio goes up as `AudioEvent`s (`:message-type`
event, `:content-type` application/octet-stream, the PCM as payload), and an empty `AudioEvent` ends
the stream. `TranscriptEvent`s come back, JSON {Transcript: {Results: [{Alternatives: [{Transcript}],
IsPartial}]}} (https://docs.aws.amazon.com/transcribe/latest/APIReference/API_streaming_TranscriptEvent.html),
a result being rewritten while `IsPartial` and settled once not; a refusal mid-stream is a message
with `:message-type` exception, its `:exception-type` and JSON {Message}. After the empty event
Transcribe settles what it heard and closes.

The relay makes a recognizer per caller turn, so one stream is one turn: `finish()` ends the stream
and waits for the settled results. Transcribe takes hints only as a custom vocabulary made
beforehand (`vocabulary-name`), so a call's `hints` are not sent.
"""

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import websockets
from websockets.asyncio.client import ClientConnection

from ai.speech.base import SAMPLE_RATE, SAMPLE_WIDTH, SpeechError
from ai.speech.providers import aws_eventstream, transient_status
from ai.speech.providers.aws_sigv4 import presigned_url
from core.timeouts import within

CONNECT_TIMEOUT_SECONDS = 5.0
SETTLE_WAIT_SECONDS = 3.0  # from the end of the stream to Transcribe's last result and close
CHUNK_BYTES = SAMPLE_RATE * SAMPLE_WIDTH // 10  # 100 ms: AWS suggests 50-200 ms an AudioEvent
# Refusals that may pass (https://docs.aws.amazon.com/transcribe/latest/APIReference/API_streaming_StartStreamTranscription.html#API_streaming_StartStreamTranscription_Errors)
TRANSIENT_EXCEPTIONS = ("LimitExceededException", "InternalFailureException", "ServiceUnavailableException")


def audio_event(pcm: bytes) -> bytes:
    headers = {
        ":content-type": "application/octet-stream",
        ":event-type": "AudioEvent",
        ":message-type": "event",
    }
    return aws_eventstream.encode(headers, pcm)


def settled_text(payload: bytes) -> list[str]:
    """The settled (not partial) transcripts of one TranscriptEvent."""
    results = json.loads(payload)["Transcript"]["Results"]
    return [
        text
        for result in results
        if not result.get("IsPartial") and result.get("Alternatives")
        if (text := str(result["Alternatives"][0].get("Transcript", "")).strip())
    ]


class TranscribeRecognizer:
    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._pending = b""
        self._settled: list[str] = []
        self._failure: SpeechError | None = None
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self._connection:
                if isinstance(frame, str):
                    raise aws_eventstream.EventStreamError("a text frame")
                self._take(aws_eventstream.decode(frame))
        except websockets.ConnectionClosedError as error:
            self._failure = self._failure or SpeechError(
                f"Amazon Transcribe's stream broke: {error}", transient=True
            )
        except (aws_eventstream.EventStreamError, ValueError, KeyError, TypeError) as error:
            self._failure = SpeechError(f"Amazon Transcribe sent what is not its protocol: {error}")

    def _take(self, message: aws_eventstream.Message) -> None:
        kind = message.headers.get(":message-type")
        if kind == "event" and message.headers.get(":event-type") == "TranscriptEvent":
            self._settled += settled_text(message.payload)
        elif kind == "exception":
            exception = str(message.headers.get(":exception-type"))
            detail = json.loads(message.payload or b"{}").get("Message", "")
            self._failure = SpeechError(
                f"Amazon Transcribe refused: {exception}: {detail}",
                transient=exception in TRANSIENT_EXCEPTIONS,
            )

    async def _send(self, pcm: bytes) -> None:
        try:
            await self._connection.send(audio_event(pcm))
        except websockets.ConnectionClosed as error:
            raise self._failure or SpeechError(
                f"Amazon Transcribe closed the stream: {error}", transient=True
            ) from error

    async def feed(self, pcm: bytes) -> None:
        if self._failure:
            raise self._failure
        self._pending += pcm
        if len(self._pending) >= CHUNK_BYTES:
            chunk, self._pending = self._pending, b""
            await self._send(chunk)

    async def finish(self) -> str:
        """Ends the stream: the rest of the audio, then the empty AudioEvent; the settled text."""
        with contextlib.suppress(SpeechError):
            if self._pending:
                await self._send(self._pending)
            await self._send(b"")
        with contextlib.suppress(TimeoutError):
            await within(asyncio.shield(self._reader), SETTLE_WAIT_SECONDS)
        text = " ".join(self._settled)
        if self._failure and not text:
            raise self._failure
        return text

    async def close(self) -> None:
        self._reader.cancel()
        await self._connection.close()


class TranscribeSpeechToText:
    name = "amazon"

    def __init__(self, *, access_key: str, secret_key: str, region: str, url: str) -> None:
        """`url` is the endpoint's base (wss://transcribestreaming.{region}.amazonaws.com:8443);
        blank: the region's."""
        self.access_key, self.secret_key, self.region = access_key, secret_key, region
        base = url or f"wss://transcribestreaming.{region}.amazonaws.com:8443"
        self.url = base.rstrip("/") + "/stream-transcription-websocket"

    def stream_url(self, *, language: str, at: datetime) -> str:
        query = {"language-code": language, "media-encoding": "pcm", "sample-rate": str(SAMPLE_RATE)}
        return presigned_url(
            url=self.url,
            query=query,
            region=self.region,
            service="transcribe",
            access_key=self.access_key,
            secret_key=self.secret_key,
            at=at,
        )

    async def recognizer(self, *, language: str, hints: Sequence[str]) -> TranscribeRecognizer:
        try:
            connection = await websockets.connect(
                self.stream_url(language=language, at=datetime.now(UTC)),
                open_timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except websockets.InvalidStatus as error:
            status = error.response.status_code
            body = error.response.body.decode(errors="replace")[:200]
            message = f"Amazon Transcribe refused the stream (HTTP {status}): {body}"
            raise SpeechError(message, transient=transient_status(status)) from error
        except (OSError, TimeoutError, websockets.InvalidHandshake) as error:
            raise SpeechError(f"Amazon Transcribe is unreachable: {error}", transient=True) from error
        return TranscribeRecognizer(connection)
