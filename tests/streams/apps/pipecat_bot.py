"""A Pipecat bot, written the way Pipecat's own Twilio examples are, as the customer app a call streams to.

Built on Pipecat's `parse_telephony_websocket`, `TwilioFrameSerializer` and FastAPI websocket
transport, unchanged but for `base_url`, which points its hang-up at our Calls API instead of
api.twilio.com. The pipeline is `transport.input() -> EchoBot -> transport.output()`:

* it first plays a greeting, `greeting_ms` of a `greeting_hz` tone (the stream's <Parameter>s;
  none by default), so there is queued audio for an interruption to cut;
* it echoes the caller's audio;
* DTMF 1 interrupts (Pipecat broadcasts an InterruptionFrame; its serializer sends `clear`);
* DTMF # ends the bot: Pipecat sends its end silence, then hangs up by REST (`Status=completed`,
  Basic auth with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN from the environment, as its examples read them).

What each session saw is kept for the test at GET /observed: the transport Pipecat detected, the call
data it parsed, the caller's audio as the pipeline got it (16-bit PCM at 8 kHz), and the digits.

Run: python -m tests.streams.apps.pipecat_bot --port 8765 --api-base http://127.0.0.1:8000
(the websocket is ws://127.0.0.1:8765/ws).
"""

import argparse
import base64
import math
import os
import struct
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    EndWorkerFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    OutputAudioRawFrame,
    StartFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.worker import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.runner.utils import parse_telephony_websocket
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport
from pipecat.workers.runner import WorkerRunner

RATE = 8000  # the pipeline runs at the phone's rate, so nothing is resampled on the way
app = FastAPI()
observed: list[dict[str, Any]] = []
API_BASE = ""


def tone_pcm(ms: int, hz: float, amplitude: int = 8000) -> bytes:
    count = RATE * ms // 1000
    return struct.pack(
        f"<{count}h", *(int(amplitude * math.sin(2 * math.pi * hz * n / RATE)) for n in range(count))
    )


class EchoBot(FrameProcessor):
    def __init__(self, session: dict[str, Any], greeting: bytes) -> None:
        super().__init__()
        self.session = session
        self.greeting = greeting
        self.heard = bytearray()

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            if self.greeting:
                greeting = OutputAudioRawFrame(audio=self.greeting, sample_rate=RATE, num_channels=1)
                await self.push_frame(greeting)
        elif isinstance(frame, InputAudioRawFrame):
            self.heard += frame.audio
            self.session["inbound_pcm"] = base64.b64encode(self.heard).decode()
            await self.push_frame(
                OutputAudioRawFrame(audio=frame.audio, sample_rate=frame.sample_rate, num_channels=1)
            )
        elif isinstance(frame, InputDTMFFrame):
            self.session["digits"].append(frame.button.value)
            if frame.button == KeypadEntry.ONE:
                await self.broadcast_interruption()
            elif frame.button == KeypadEntry.POUND:
                await self.push_frame(EndWorkerFrame(), FrameDirection.UPSTREAM)
        else:
            await self.push_frame(frame, direction)


@app.get("/observed")
async def sessions() -> list[dict[str, Any]]:
    return observed


@app.websocket("/ws")
async def media_stream(websocket: WebSocket) -> None:
    await websocket.accept()
    transport_type, call_data = await parse_telephony_websocket(websocket)
    body = dict(call_data.get("body") or {})
    session: dict[str, Any] = {
        "transport": transport_type,
        "stream_id": call_data.get("stream_id"),
        "call_id": call_data.get("call_id"),
        "body": body,
        "inbound_pcm": "",
        "digits": [],
        "finished": False,
    }
    observed.append(session)
    serializer = TwilioFrameSerializer(
        stream_sid=call_data["stream_id"],
        call_sid=call_data["call_id"],
        account_sid=os.environ["TWILIO_ACCOUNT_SID"],
        auth_token=os.environ["TWILIO_AUTH_TOKEN"],
        base_url=API_BASE,
    )
    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    greeting = tone_pcm(int(body.get("greeting_ms", 0)), float(body.get("greeting_hz", 500)))
    bot = EchoBot(session, greeting)
    task = PipelineTask(
        Pipeline([transport.input(), bot, transport.output()]),
        params=PipelineParams(audio_in_sample_rate=RATE, audio_out_sample_rate=RATE),
    )

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(transport: Any, client: Any) -> None:
        await task.cancel()

    runner = WorkerRunner(handle_sigint=False)
    await runner.add_workers(task)
    await runner.run()
    session["finished"] = True


def main() -> None:
    global API_BASE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-base", required=True, help="the Calls API's root, for the hang-up")
    args = parser.parse_args()
    API_BASE = args.api_base
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
