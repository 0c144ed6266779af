"""`<Connect><Stream>`, `<Start><Stream>` and `<Stop><Stream>`, registered with voice's interpreter."""

from core.documents import Fetch
from core.errors import TwilioError
from streams import media, services
from streams.models import Stream as StreamRow
from twiml.errors import Code
from twiml.verbs import Connect, Start, Stop, Stream
from voice.interpreter import Interpreter, handles


async def _open(flow: Interpreter, noun: Stream, *, is_bidirectional: bool) -> StreamRow | None:
    """The stream's row, or None when it cannot be had (the reason in the error log)."""
    parameters = {p.name: p.value for p in noun.parameters}
    try:
        stream: StreamRow = await flow.store.write(
            services.stream_open,
            account_id=flow.setup.account_id,
            call_id=flow.setup.call_id,
            url=noun.url or "",
            name=noun.name,
            track=StreamRow.Track.INBOUND if is_bidirectional else noun.track,
            is_bidirectional=is_bidirectional,
            parameters=parameters,
            status_callback=flow.absolute(noun.status_callback) if noun.status_callback else "",
            status_callback_method=noun.status_callback_method,
        )
    except TwilioError as refused:
        await flow.store.error(refused.twilio_code, f"<Stream> not started: {refused.message}")
        return None
    return stream


@handles(Connect, Stream)
async def connect_stream(flow: Interpreter, verb: Connect) -> Fetch | None:
    """Blocks the document until the app closes its socket (or the stream is stopped), then goes on
    with the next verb, or fetches `action`."""
    noun = verb.children[0]
    assert isinstance(noun, Stream)  # registered for <Connect><Stream> only
    await flow.control.answer()
    if noun.track != StreamRow.Track.INBOUND:
        await flow.store.error(
            Code.SCHEMA, "<Connect><Stream> streams the inbound track only; track ignored", warning=True
        )
    stream = await _open(flow, noun, is_bidirectional=True)
    if stream is not None:
        await media.stream_connect(flow, stream)
    return flow.action(verb.action, verb.method, {}) if verb.action else None


@handles(Start, Stream)
async def start_stream(flow: Interpreter, verb: Start) -> Fetch | None:
    """Forks each stream and goes on at once."""
    await flow.control.answer()
    for noun in verb.children:
        stream = await _open(flow, noun, is_bidirectional=False)
        if stream is not None:
            await media.stream_fork(flow, stream)
    return None


@handles(Stop, Stream)
async def stop_stream(flow: Interpreter, verb: Stop) -> Fetch | None:
    """Stops the call's live streams the nouns name (by `name`, else by `url`)."""
    for noun in verb.children:
        await flow.store.write(
            services.streams_stop_named,
            account_id=flow.setup.account_id,
            call_id=flow.setup.call_id,
            name=noun.name,
            url=noun.url,
        )
    return None
