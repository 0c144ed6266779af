"""What the API and the bridges' reports ask of a live call's streams, run by the worker that runs the
call beside its flow (voice's `on_command`): start a fork the Streams API created, hang up a stopped
stream's media."""

import uuid
from typing import Any

from streams import media, services
from streams.models import Stream
from streams.selectors import stream_get
from voice.interpreter import Interpreter, on_command


@on_command(services.START)
async def start(flow: Interpreter, payload: dict[str, Any]) -> None:
    stream: Stream = await flow.store.write(
        stream_get, account_id=flow.setup.account_id, stream_id=uuid.UUID(payload["stream_id"])
    )
    if stream.status == Stream.Status.IN_PROGRESS:  # not stopped while the command travelled
        await media.stream_fork(flow, stream)


@on_command(services.HANGUP)
async def hangup(flow: Interpreter, payload: dict[str, Any]) -> None:
    await media.media_hangup(
        flow,
        stream_sid=payload["stream_sid"],
        bridge_id=payload["bridge_id"],
        connection_ids=payload["connection_ids"],
    )
